package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/asyncify-dev/asyncify/scripts/internal/gorun"
)

// target is one package to sweep and where to run asyncify on it.
type target struct {
	Pkg    string
	Origin string // "std", or the module's path@version
	r      runner
}

// skipped is a package of the module graph that cannot be built here.
type skipped struct {
	Pkg, Why string
}

// module is a module of the project's module graph.
type module struct {
	Path, Version string
	Dir           string // for a main module
	Main          bool
}

// graph lists the modules of the project's module graph, as the go
// command sees it from root ("go list -m all", workspace included).
func graph(ctx context.Context, root string) ([]module, error) {
	out, err := gorun.Go(ctx, root, os.Environ(), "list", "-m", "-json", "all")
	if err != nil {
		return nil, err
	}
	var mods []module
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m module
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	return mods, nil
}

// writeGraphModule makes dir a module that requires every dependency in
// mods, pinned by replace directives to the graph's versions (requiring
// them all directly would let MVS raise some), with the repository's
// go.sum lines as a start.
func writeGraphModule(dir, root string, mods []module) error {
	var gomod strings.Builder
	gomod.WriteString("module sweep.invalid/graph\n\ngo 1.26.0\n\nrequire (\n")
	for _, m := range mods {
		if !m.Main {
			fmt.Fprintf(&gomod, "\t%s %s\n", m.Path, m.Version)
		}
	}
	gomod.WriteString(")\n\nreplace (\n")
	for _, m := range mods {
		if !m.Main {
			fmt.Fprintf(&gomod, "\t%s => %s %s\n", m.Path, m.Path, m.Version)
		}
	}
	gomod.WriteString(")\n")
	var sums []byte
	for _, name := range []string{"go.sum", "go.work.sum"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		sums = append(sums, b...)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod.String()), 0o644)
}

// listedPackage is what go list says about a package.
type listedPackage struct {
	ImportPath string
	Module     *struct {
		Path, Version string
		Replace       *struct{ Version string }
	}
	GoFiles, CgoFiles []string
	Error             *struct{ Err string }
}

// listPackages lists the packages matching patterns in dir: those that
// build here become targets of r, the others are skipped.
func listPackages(ctx context.Context, r runner, patterns ...string) ([]target, []skipped, error) {
	args := append([]string{"list", "-e", "-json=ImportPath,Module,GoFiles,CgoFiles,Error"}, patterns...)
	out, err := gorun.Go(ctx, r.dir, r.env, args...)
	if err != nil {
		return nil, nil, err
	}
	var targets []target
	var skips []skipped
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, nil, err
		}
		switch {
		case p.Error != nil:
			skips = append(skips, skipped{p.ImportPath, gorun.FirstLine(p.Error.Err)})
		case len(p.GoFiles)+len(p.CgoFiles) == 0:
			skips = append(skips, skipped{p.ImportPath, "no Go files for " + runtime.GOOS + "/" + runtime.GOARCH})
		default:
			origin := "std"
			if m := p.Module; m != nil {
				v := m.Version
				if m.Replace != nil && m.Replace.Version != "" {
					v = m.Replace.Version
				}
				origin = m.Path
				if v != "" {
					origin += "@" + v
				}
			}
			targets = append(targets, target{Pkg: p.ImportPath, Origin: origin, r: r})
		}
	}
	return targets, skips, nil
}

// networkStd runs detect over the standard library and keeps the
// packages that have client socket sites or async functions.
func networkStd(ctx context.Context, r runner) ([]string, error) {
	cmd := exec.CommandContext(ctx, r.bin, "detect", "-json", "-tests=false", "std")
	cmd.Dir, cmd.Env = r.dir, r.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("asyncify detect -json -tests=false std: %v\n%s", err, stderr.Bytes())
	}
	var report struct {
		Packages []struct {
			Path  string
			Sites []struct{ Side string }
			Async []json.RawMessage
		}
	}
	if err := json.Unmarshal(out, &report); err != nil {
		return nil, err
	}
	var pkgs []string
	for _, p := range report.Packages {
		client := false
		for _, s := range p.Sites {
			client = client || s.Side == "client"
		}
		if client || len(p.Async) > 0 {
			pkgs = append(pkgs, p.Path)
		}
	}
	return pkgs, nil
}
