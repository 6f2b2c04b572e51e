package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// readOnlyPlaces are the directories asyncify never writes into, whatever
// the file permissions say (CI runs as root, which they do not stop): the
// module cache, whose contents the go command verifies against go.sum, and
// the Go installation.
type readOnlyPlaces struct {
	modCache, goroot string
}

// goPlaces asks the go command where the module cache and GOROOT are.
func goPlaces(dir string) (readOnlyPlaces, error) {
	cmd := exec.Command("go", "env", "GOMODCACHE", "GOROOT")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return readOnlyPlaces{}, fmt.Errorf("go env GOMODCACHE GOROOT: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var p readOnlyPlaces
	if len(lines) > 0 {
		p.modCache = realPath(strings.TrimSpace(lines[0]))
	}
	if len(lines) > 1 {
		p.goroot = realPath(strings.TrimSpace(lines[1]))
	}
	return p, nil
}

// packageDir is the directory of the package pattern names, as the go
// command finds it from dir (without loading it), or "" when it does not
// name exactly one package: the conversion then says why.
func packageDir(dir, pattern string) string {
	cmd := exec.Command("go", "list", "-find", "-f", "{{.Dir}}", "--", pattern)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || lines[0] == "" {
		return ""
	}
	return lines[0]
}

// refuse is the error for writing (with flag) into path when it lies in
// one of the places, or nil.
func (p readOnlyPlaces) refuse(flag, path string) error {
	real := realPath(path)
	switch {
	case within(real, p.modCache):
		return fmt.Errorf("%s %s: inside the module cache (GOMODCACHE=%s), which asyncify never writes into: the go command verifies its contents against go.sum; convert into a directory of your own module with -o DIR", flag, path, p.modCache)
	case within(real, p.goroot):
		return fmt.Errorf("%s %s: inside the Go installation (GOROOT=%s), which asyncify never writes into; convert into a directory of your own module with -o DIR", flag, path, p.goroot)
	}
	return nil
}

// checkOutDir refuses an -o DIR that is a file, that cannot be created
// because a file is in the way, or that lies in a read-only place.
func checkOutDir(out string, places readOnlyPlaces) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := places.refuse("-o", out); err != nil {
		return err
	}
	for d := abs; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			switch {
			case fi.IsDir():
				return nil
			case d == abs:
				return fmt.Errorf("-o %s: is a file, not a directory", out)
			default:
				return fmt.Errorf("-o %s: cannot be created: %s is a file, not a directory", out, d)
			}
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

// checkNotInput refuses an -o DIR that is the converted package's own
// directory.
func checkNotInput(out, pkgDir string) error {
	if realPath(out) == realPath(pkgDir) {
		return fmt.Errorf("-o %s: is the directory of the package being converted; the copy would replace its own input: use -w to rewrite a package in place, or name another directory", out)
	}
	return nil
}

// realPath is path made absolute with its symbolic links resolved, as far
// as it exists.
func realPath(path string) string {
	if path == "" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	var rest []string
	for d := abs; ; d = filepath.Dir(d) {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		if filepath.Dir(d) == d {
			return abs
		}
		rest = append([]string{filepath.Base(d)}, rest...)
	}
}

// within says whether path is root or lies under it.
func within(path, root string) bool {
	if root == "" {
		return false
	}
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
