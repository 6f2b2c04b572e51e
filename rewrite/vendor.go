package rewrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/templates"
	"golang.org/x/tools/go/packages"
)

// vendoredTests finds the tests of a vendored package, which go mod vendor
// drops: the _test.go files of the package in the module cache's copy of the
// exact vendored version (go mod download fetches it through the module
// proxy when missing; a module replaced by a directory has them there). It
// returns them as an overlay of the vendored directory, with a note saying
// where they come from, or no overlay and a warning saying why there are
// none. A package that is not vendored, or has tests, gets neither.
// srcDir is the directory the tests come from, whose test data -o copies.
func vendoredTests(cfg Config, p *packages.Package) (overlay map[string][]byte, note Diag, srcDir string) {
	if len(p.GoFiles) == 0 {
		return nil, Diag{}, ""
	}
	dir := filepath.Dir(p.GoFiles[0])
	if !strings.HasSuffix(filepath.ToSlash(dir), "/vendor/"+p.PkgPath) {
		return nil, Diag{}, ""
	}
	for _, f := range p.GoFiles {
		if strings.HasSuffix(f, "_test.go") {
			return nil, Diag{}, "" // it has tests already
		}
	}
	m := p.Module
	if m == nil || m.Path == "" {
		return nil, fileDiag(dir, "warning: a vendored package of no known module: converted without tests (go mod vendor drops them)"), ""
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(p.PkgPath, m.Path), "/")
	var src, from string
	if r := m.Replace; r != nil && r.Version == "" {
		// replaced by a directory, relative to the main module's root
		root := strings.TrimSuffix(filepath.ToSlash(dir), "/vendor/"+p.PkgPath)
		src = r.Path
		if !filepath.IsAbs(src) {
			src = filepath.Join(filepath.FromSlash(root), src)
		}
		from = "the directory " + r.Path + " that replaces " + m.Path
	} else {
		path, version := m.Path, m.Version
		if r != nil {
			path, version = r.Path, r.Version
		}
		if version == "" {
			return nil, fileDiag(dir, "warning: the vendored module %s has no version: converted without tests (go mod vendor drops them)", path), ""
		}
		d, err := moduleCacheDir(cfg, path, version)
		if err != nil {
			return nil, fileDiag(dir, "warning: converted without tests: go mod vendor drops them, and the module cache copy of %s@%s is not available: %v", path, version, err), ""
		}
		src = d
		from = fmt.Sprintf("the module cache copy of %s@%s", path, version)
	}
	src = filepath.Join(src, filepath.FromSlash(rel))
	names, err := filepath.Glob(filepath.Join(src, "*_test.go"))
	if err != nil || len(names) == 0 {
		return nil, Diag{}, ""
	}
	sort.Strings(names)
	overlay = make(map[string][]byte)
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, fileDiag(dir, "warning: converted without tests: %v", err), ""
		}
		overlay[filepath.Join(dir, filepath.Base(n))] = data
	}
	note = fileDiag(dir, "go mod vendor dropped the package's tests: %d test files taken from %s (%s)", len(names), from, src)
	if fi, err := os.Stat(filepath.Join(src, "testdata")); err == nil && fi.IsDir() {
		if cfg.InPlace {
			note.Msg += "; its testdata directory is not copied"
		} else {
			note.Msg += "; -o copies its testdata directory from there"
		}
	}
	return overlay, note, src
}

// moduleCacheDir returns the module cache's copy of path@version,
// downloading it through the module proxy when it is missing.
func moduleCacheDir(cfg Config, path, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", path+"@"+version)
	cmd.Dir = cfg.Dir
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	// vendor mode forbids downloads; this one is outside the build
	cmd.Env = append(append([]string(nil), env...), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		if runErr != nil {
			return "", fmt.Errorf("go mod download: %v: %s", runErr, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("go mod download: %v", err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download: %s", info.Error)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download: no directory for %s@%s", path, version)
	}
	return info.Dir, nil
}

// convertCacheCopy converts, for -o, the module cache copy of the vendored
// package base, in srcDir, with its tests, when the tests do not load in
// vendor mode (errs: they import what vendor/ does not hold, which go mod
// vendor leaves out): the go command reads the module cache, not vendor/
// (ModuleEnvNoVendor, with a copy of go.mod and go.sum). Only when the
// vendored files are the copy's, byte for byte; else errs stand.
func convertCacheCopy(cfg Config, userEnv []string, p *packages.Package, srcDir string, errs []string) (*Result, error) {
	vdir := filepath.Dir(p.GoFiles[0])
	for _, name := range append(p.GoFiles[:len(p.GoFiles):len(p.GoFiles)], p.IgnoredFiles...) {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		v, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		c, err := os.ReadFile(filepath.Join(srcDir, filepath.Base(name)))
		if err != nil || !bytes.Equal(v, c) {
			return nil, &Error{Errs: append(parseDiags(errs), fileDiag(vdir, "the package's tests do not load in vendor mode, and %s differs from the module cache copy's (%s), which could be converted with them: convert with -tests=false", name, srcDir))}
		}
	}
	env, cleanup, err := iodetect.ModuleEnvNoVendor(cfg.Dir, userEnv)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	cfg.Env = env
	loaded, deps, err := iodetect.LoadDeps(iodetect.LoadConfig{Dir: cfg.Dir, Tests: cfg.Tests, Env: cfg.Env, Overrides: cfg.Overrides, Progress: cfg.Progress, ExtraExports: templates.Imports()}, p.PkgPath)
	if err != nil {
		var le *iodetect.LoadError
		if errors.As(err, &le) {
			return nil, &Error{Errs: parseDiags(le.Errs)}
		}
		return nil, err
	}
	note := fileDiag(vdir, "go mod vendor dropped the package's tests, and they do not load in vendor mode (%s): converted the module cache copy (%s), whose files are the vendored ones, with its tests", strings.Join(errs, "; "), srcDir)
	res, err := convertLoaded(cfg, p.PkgPath, loaded, deps, note, nil)
	if err != nil {
		return nil, err
	}
	return withData(cfg, res, "")
}

// vendoredByDir recognises a pattern that names a vendored package by its
// directory (./vendor/example.com/m/p) and returns the package's metadata
// as vendor/modules.txt records it (go mod vendor writes "# module version",
// or "# module version => replacement [version]", then the module's
// packages, one per line): enough for vendoredTests, without a go command
// run, so that the package is listed once, with its tests. Anything else
// (an import path, a pattern with "...", a package modules.txt does not
// list) returns nil, and the load finds out (LoadConfig.Prepare).
func vendoredByDir(cfg Config, pattern string) *packages.Package {
	if strings.Contains(pattern, "...") || !(filepath.IsAbs(pattern) || strings.HasPrefix(pattern, "./") || strings.HasPrefix(pattern, "../")) {
		return nil
	}
	dir := pattern
	if !filepath.IsAbs(dir) {
		base := cfg.Dir
		if base == "" {
			var err error
			if base, err = os.Getwd(); err != nil {
				return nil
			}
		}
		dir = filepath.Join(base, dir)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	slash := filepath.ToSlash(dir)
	i := strings.LastIndex(slash, "/vendor/")
	if i < 0 {
		return nil
	}
	root, pkgPath := filepath.FromSlash(slash[:i]), slash[i+len("/vendor/"):]
	data, err := os.ReadFile(filepath.Join(root, "vendor", "modules.txt"))
	if err != nil {
		return nil
	}
	var mod *packages.Module
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
		case strings.HasPrefix(line, "# "):
			f := strings.Fields(line[2:])
			mod = nil
			if len(f) == 0 {
				continue
			}
			mod = &packages.Module{Path: f[0]}
			rest := f[1:]
			if len(rest) > 0 && rest[0] != "=>" {
				mod.Version, rest = rest[0], rest[1:]
			}
			if len(rest) >= 2 && rest[0] == "=>" {
				mod.Replace = &packages.Module{Path: rest[1]}
				if len(rest) >= 3 {
					mod.Replace.Version = rest[2]
				}
			}
		case mod != nil && strings.TrimSpace(line) == pkgPath:
			files, err := filepath.Glob(filepath.Join(filepath.FromSlash(slash), "*.go"))
			if err != nil || len(files) == 0 {
				return nil
			}
			return &packages.Package{PkgPath: pkgPath, GoFiles: files, Module: mod}
		}
	}
	return nil
}
