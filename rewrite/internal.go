package rewrite

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"golang.org/x/tools/go/packages"
)

// InternalPkg is a package of the client's own module under an internal
// directory that the client (or its tests) imports, directly or through
// another such package. A copy of the client elsewhere (asyncify -o) cannot
// import it from there, so it is copied along under the output directory,
// at Rel, and imports of it name the copy.
type InternalPkg struct {
	ImportPath string // upstream's
	Rel        string // under the output directory, slash-separated: internal/...
	Files      []File // its Go files (not its tests), unchanged; Rel relative to the module root
}

// internalPackages finds the internal packages of the client's module that
// the converted packages import, transitively.
func internalPackages(cfg Config, loaded []*iodetect.Loaded, moduleDir string) ([]InternalPkg, error) {
	base := loaded[0].Pkg
	if base.Module == nil || base.Module.Path == "" {
		return nil, nil
	}
	mod := base.Module.Path
	pkgPath := strings.TrimSuffix(base.PkgPath, "_test")
	isInternal := func(p string) bool {
		if p != mod && !strings.HasPrefix(p, mod+"/") {
			return false
		}
		for _, e := range strings.Split(strings.TrimPrefix(p, mod), "/") {
			if e == "internal" {
				return true
			}
		}
		return false
	}
	seen := make(map[string]bool)
	var todo []string
	add := func(imports map[string]*packages.Package) {
		for p := range imports {
			if isInternal(p) && !seen[p] {
				seen[p] = true
				todo = append(todo, p)
			}
		}
	}
	for _, l := range loaded {
		add(l.Pkg.Imports)
	}
	var out []InternalPkg
	for len(todo) > 0 {
		sort.Strings(todo)
		pkgs, err := packages.Load(&packages.Config{
			Mode: packages.NeedName | packages.NeedFiles | packages.NeedImports,
			Dir:  cfg.Dir, Env: cfg.Env,
		}, todo...)
		if err != nil {
			return nil, err
		}
		todo = nil
		for _, p := range pkgs {
			if len(p.Errors) > 0 {
				return nil, &Error{Errs: []string{fmt.Sprintf("%s: loading the internal package the client imports: %v", p.PkgPath, p.Errors[0])}}
			}
			ip := InternalPkg{ImportPath: p.PkgPath, Rel: internalRel(mod, pkgPath, p.PkgPath)}
			for _, name := range p.GoFiles {
				src, err := os.ReadFile(name)
				if err != nil {
					return nil, err
				}
				f := File{Path: name, Old: src, New: src}
				if rel, err := filepath.Rel(moduleDir, name); err == nil {
					f.Rel = filepath.ToSlash(rel)
				}
				ip.Files = append(ip.Files, f)
			}
			out = append(out, ip)
			add(p.Imports)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ImportPath < out[j].ImportPath })
	return out, nil
}

// internalRel places the internal package p of module mod under the output
// directory of the package pkg: its path relative to pkg when it is below
// it, else relative to the module, without its internal elements, under
// internal/ (mod/internal/proto -> internal/proto, mod/x/internal/y ->
// internal/x/y): everything under the copy's own internal directory, which
// the copy may import.
func internalRel(mod, pkg, p string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(p, mod), "/")
	if strings.HasPrefix(p, pkg+"/") {
		rest = strings.TrimPrefix(p, pkg+"/")
	}
	var elems []string
	for _, e := range strings.Split(rest, "/") {
		if e != "internal" && e != "" {
			elems = append(elems, e)
		}
	}
	return "internal/" + strings.Join(elems, "/")
}
