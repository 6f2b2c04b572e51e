package rewrite

import (
	"bytes"
	"go/ast"
	"go/token"
	"go/types"
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
//
// One that does socket I/O (iodetect found async functions in it: the
// client hands it its connection, or a reader or writer on it) is
// converted with the client: its async functions take ctx first, its calls
// pass ctx, its blocking calls become their ctx forms, as in the client.
// Only the client's copy can import it, so its signatures change in place:
// no old-form wrappers, no XxxContext or XxxAsync. It gets no runtime of
// its own: the reader or writer it is handed already ends with the
// client's operation (the client's watch, or the pipelined runtime's bind,
// is set before the call, see watch), so threading ctx is enough; when it
// needs a helper itself (a sleep, a deadline, a watch on a connection it
// holds), it gets its own copy of asyncify_ctx.go, since it cannot import
// the client.
type InternalPkg struct {
	ImportPath string // upstream's
	Rel        string // under the output directory, slash-separated: internal/...
	// Files are its Go files (not its tests), Rel relative to the module
	// root; New is Old unless Converted, plus asyncify_ctx.go when its
	// converted code calls a helper.
	Files     []File
	Converted bool
	// Imports are its imports, by path.
	Imports []string
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
				return nil, &Error{Errs: []Diag{fileDiag(p.PkgPath, "loading the internal package the client imports: %v", p.Errors[0])}}
			}
			ip := InternalPkg{ImportPath: p.PkgPath, Rel: internalRel(mod, pkgPath, p.PkgPath)}
			for imp := range p.Imports {
				ip.Imports = append(ip.Imports, imp)
			}
			sort.Strings(ip.Imports)
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
	at := make(map[string]string)
	for _, ip := range out {
		if other, ok := at[ip.Rel]; ok {
			return nil, &Error{Errs: []Diag{fileDiag(ip.Files[0].Path, "the internal packages %s and %s would both be copied to %s under the output directory: not supported", other, ip.ImportPath, ip.Rel)}}
		}
		at[ip.Rel] = ip.ImportPath
	}
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
	if len(elems) == 0 {
		return "internal" // mod/internal itself
	}
	return "internal/" + strings.Join(elems, "/")
}

// internalToConvert returns those of deps (in import order) that are
// internal packages the client imports and that do socket I/O. In place
// (-d, -w), a package is left as it is, noted, when a package other than
// the client and the converted internal ones imports it, or when it has
// tests of its own: converting it where it is would break them.
func (c *converter) internalToConvert(cfg Config, base *iodetect.Loaded, internal []InternalPkg, deps []*iodetect.Loaded) ([]*iodetect.Loaded, error) {
	want := make(map[string]bool)
	for _, ip := range internal {
		want[ip.ImportPath] = true
	}
	var cands []*iodetect.Loaded
	for _, l := range deps {
		if want[l.Pkg.PkgPath] && doesIO(l) {
			cands = append(cands, l)
		}
	}
	if cfg.InPlace && len(cands) > 0 {
		why, err := inPlaceBlockers(cfg, strings.TrimSuffix(base.Pkg.PkgPath, "_test"), cands)
		if err != nil {
			return nil, err
		}
		var keep []*iodetect.Loaded
		for _, l := range cands {
			if w := why[l.Pkg.PkgPath]; w != "" {
				c.notes = append(c.notes, diagf(token.Position{Filename: l.Pkg.GoFiles[0], Line: 1, Column: 1}, "%s is left as it is (%s, which converting it in place would break): the calls into it are not cancellable; asyncify -o converts it with the copy", l.Pkg.PkgPath, w))
				continue
			}
			keep = append(keep, l)
		}
		cands = keep
	}
	c.internalConv = make(map[string]bool)
	for _, l := range cands {
		c.internalConv[l.Pkg.PkgPath] = true
	}
	return cands, nil
}

// doesIO reports whether one of the package's declared functions is async.
func doesIO(l *iodetect.Loaded) bool {
	for _, fn := range l.Funcs {
		if fn.Async && fn.Obj != nil {
			return true
		}
	}
	return false
}

// inPlaceBlockers says, for the candidate packages that cannot be
// converted in place, why: the first other package importing it, or its
// own tests. The packages that may import an internal package are those
// under the parent of its last internal element (go list pattern
// parent/...), tests included. A candidate left out may leave out others
// (one that imports it): to a fixpoint.
func inPlaceBlockers(cfg Config, client string, cands []*iodetect.Loaded) (map[string]string, error) {
	conv := make(map[string]bool)
	var patterns []string
	for _, l := range cands {
		p := l.Pkg.PkgPath
		conv[p] = true
		parent := p[:strings.LastIndex("/"+p+"/", "/internal/")]
		patterns = append(patterns, strings.TrimSuffix(parent, "/")+"/...")
	}
	sort.Strings(patterns)
	pkgs, err := packages.Load(&packages.Config{
		Mode:  packages.NeedName | packages.NeedImports | packages.NeedForTest,
		Tests: true, Dir: cfg.Dir, Env: cfg.Env,
	}, compactStrings(patterns)...)
	if err != nil {
		return nil, err
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].ID < pkgs[j].ID })
	why := make(map[string]string)
	for changed := true; changed; {
		changed = false
		for _, q := range pkgs {
			if q.Name == "main" && strings.HasSuffix(q.ID, ".test") {
				continue // a generated test main
			}
			owner := strings.TrimSuffix(q.PkgPath, "_test")
			if conv[owner] && why[owner] == "" && q.ForTest == owner {
				why[owner], changed = "it has tests of its own", true
				continue
			}
			if owner == client || conv[owner] && why[owner] == "" {
				continue
			}
			imps := make([]string, 0, len(q.Imports))
			for imp := range q.Imports {
				imps = append(imps, imp)
			}
			sort.Strings(imps)
			for _, imp := range imps {
				if conv[imp] && why[imp] == "" {
					why[imp], changed = owner+" imports it too", true
				}
			}
		}
	}
	return why, nil
}

// planInPlace keeps the names of the package's async functions: an
// internal package changes its signatures in place.
func (r *pkgRewriter) planInPlace() {
	for _, fn := range r.l.Funcs {
		if fn.Obj == nil {
			continue
		}
		if p := r.c.plans[fn.Obj.FullName()]; p != nil && p.iface == "" {
			// (a method whose signature an interface fixes keeps it, with
			// its Context form)
			p.wrapper, p.newName = false, ""
		}
	}
}

// printInternal prints a converted internal package, with the part of the
// runtime its code calls, records its files in internal, and returns them;
// nil when the conversion changed nothing.
func (r *pkgRewriter) printInternal(internal []InternalPkg) ([]File, error) {
	files, err := r.print()
	if err != nil {
		return nil, err
	}
	changed := false
	for _, f := range files {
		changed = changed || !bytes.Equal(f.Old, f.New)
	}
	if !changed {
		return nil, nil
	}
	rt, err := r.c.target(r.l).files()
	if err != nil {
		return nil, err
	}
	files = mergeFiles(files, rt)
	for i := range files {
		if rel, err := filepath.Rel(r.c.moduleDir, files[i].Path); err == nil {
			files[i].Rel = filepath.ToSlash(rel)
		}
	}
	for i := range internal {
		if internal[i].ImportPath == r.l.Pkg.PkgPath {
			internal[i].Files, internal[i].Converted = files, true
		}
	}
	return files, nil
}

// seesHelpers reports whether the package's code can call the helpers:
// the client (not its external tests) and the converted internal
// packages, which have their own.
func (r *pkgRewriter) seesHelpers() bool {
	return r.internal || r.l.Pkg.Types == r.c.base.Pkg.Types
}

// callsConvertedInternal reports whether call calls a function of a
// converted internal package that takes ctx now and is handed a client
// connection, or a value derived from one (a reader or writer on it:
// iodetect's bindings of the package), as a parameter or receiver: its I/O
// is then on the caller's connection, an exchange of the caller's own (see
// watch). One doing I/O only on connections of its own (it dials them)
// watches them itself.
func (r *pkgRewriter) callsConvertedInternal(call *ast.CallExpr) bool {
	fn, _ := r.callee(unwrapFun(call.Fun))
	if fn == nil || fn.Pkg() == r.l.Pkg.Types || !r.takesCtxInternal(fn) {
		return false
	}
	sig := fn.Origin().Type().(*types.Signature)
	vars := []*types.Var{sig.Recv()}
	for i := 0; i < sig.Params().Len(); i++ {
		vars = append(vars, sig.Params().At(i))
	}
	for _, v := range vars {
		if v != nil && r.l.Bindings[v]&iodetect.Client != 0 {
			return true
		}
	}
	return false
}

// takesCtxInternal reports whether fn is an async function of a converted
// internal package that takes ctx: it gains one, or has one already (its
// upstream took one, or a run on converted code).
func (r *pkgRewriter) takesCtxInternal(fn *types.Func) bool {
	if fn == nil || fn.Pkg() == nil || !r.c.internalConv[fn.Pkg().Path()] {
		return false
	}
	p := r.c.plans[fn.Origin().FullName()]
	return p != nil && p.src.name != ""
}

// convertedExternal reports whether the function of another package that
// made fn async was converted with the client (an internal package).
func (r *pkgRewriter) convertedExternal(fn *iodetect.Func) bool {
	ext := fn.External
	return ext != nil && ext.Func != nil && r.takesCtxInternal(ext.Func.Obj)
}

// fixedExternal says why the function of a converted internal package that
// made fn async takes no ctx (it implements an interface, say), or "".
func (r *pkgRewriter) fixedExternal(fn *iodetect.Func) string {
	ext := fn.External
	if ext == nil || ext.Func == nil || ext.Func.Obj == nil || ext.Func.Obj.Pkg() == nil || !r.c.internalConv[ext.Func.Obj.Pkg().Path()] {
		return ""
	}
	if p := r.c.plans[ext.Func.Obj.Origin().FullName()]; p != nil && p.src.fixed != "" {
		return p.src.fixed
	}
	return ""
}

// testHelpers returns those of internal that import the client, directly
// or through another of them, in import order: packages only its tests
// can import (an import cycle otherwise), such as a helper that dials a
// test server with the client (redigo's internal/redistest). They are
// copied along like the others, their import of the client naming the
// copy, so they are type-checked against the converted client, after it.
func testHelpers(internal []InternalPkg, client string) []InternalPkg {
	byPath := make(map[string]*InternalPkg)
	for i := range internal {
		byPath[internal[i].ImportPath] = &internal[i]
	}
	reach := make(map[string]bool)
	var reaches func(p string) bool
	reaches = func(p string) bool {
		if v, ok := reach[p]; ok {
			return v
		}
		reach[p] = false // cycles end here
		for _, imp := range byPath[p].Imports {
			if imp == client || byPath[imp] != nil && reaches(imp) {
				reach[p] = true
				return true
			}
		}
		return false
	}
	var out []InternalPkg
	done := make(map[string]bool)
	var visit func(p string)
	visit = func(p string) {
		if done[p] {
			return
		}
		done[p] = true
		for _, imp := range byPath[p].Imports {
			if byPath[imp] != nil && reaches(imp) {
				visit(imp)
			}
		}
		out = append(out, *byPath[p])
	}
	for _, ip := range internal {
		if reaches(ip.ImportPath) {
			visit(ip.ImportPath)
		}
	}
	return out
}
