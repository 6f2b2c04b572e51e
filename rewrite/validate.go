package rewrite

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	pathpkg "path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/templates"
	"golang.org/x/tools/go/packages"
)

// The checks on the input that refuse it, or say what asyncify leaves alone,
// before anything is rewritten.

// refuseCgo refuses a package that uses cgo: the files go/packages
// type-checks for it are the ones cgo generates, not the ones the user
// wrote, and the rewrite would be of code nobody reads. Every import "C" is
// reported at its position.
func refuseCgo(loaded []*iodetect.Loaded) error {
	var errs []Diag
	seen := make(map[string]bool)
	for _, l := range loaded {
		for _, f := range l.Pkg.Syntax {
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p != "C" {
					continue
				}
				pos := l.Pkg.Fset.Position(imp.Pos())
				if seen[pos.String()] {
					continue
				}
				seen[pos.String()] = true
				errs = append(errs, diagf(pos, "the package uses cgo (import \"C\"): asyncify does not convert cgo packages, whose type-checked files are cgo's output rather than the ones you wrote; move the socket I/O into a package without cgo"))
			}
		}
	}
	if len(errs) > 0 {
		sortDiags(errs)
		return &Error{Errs: errs}
	}
	return nil
}

// ignoredFiles are the package's files that the current build does not see
// (build constraints, GOOS/GOARCH file names): they are not converted, -o
// copies them unchanged, and the tool names them. A file of overlay (a
// vendored package's test, which go mod vendor drops) is read from there.
func ignoredFiles(loaded []*iodetect.Loaded, moduleDir string, tests bool, overlay map[string][]byte) ([]File, error) {
	seen := make(map[string]bool)
	var out []File
	for _, l := range loaded {
		for _, name := range l.Pkg.IgnoredFiles {
			if seen[name] || !strings.HasSuffix(name, ".go") || (!tests && strings.HasSuffix(name, "_test.go")) {
				continue
			}
			seen[name] = true
			src, ok := overlay[name]
			if !ok {
				var err error
				if src, err = os.ReadFile(name); err != nil {
					return nil, err
				}
			}
			f := File{Path: name, Old: src, New: src}
			if rel, err := filepath.Rel(moduleDir, name); err == nil {
				f.Rel = filepath.ToSlash(rel)
			}
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Platform is the build configuration the files were selected for, as the
// messages about ignored files name it ("linux/amd64").
func Platform(env []string) string {
	goos, goarch := iodetect.Platform(env)
	return goos + "/" + goarch
}

// nothingToDo says why a conversion changed nothing: the package is
// asyncify's own output, it does no socket I/O, its client I/O is only
// where no function would use a ctx (dropUnusedCtx: net/mail's call
// through mime.WordDecoder's CharsetReader, in a literal stored in that
// field), or its I/O is server-side or already takes ctx.
func nothingToDo(pkgs []*pkgRewriter) string {
	generated, sites, async := false, 0, 0
	var client *iodetect.Site // the first client site that makes its function async
	var server, clients, other []*iodetect.Site
	for _, r := range pkgs {
		generated = generated || len(r.generated) > 0
		for _, s := range r.l.Sites {
			if !r.generated[r.fileOf(s.Pos.Filename)] {
				sites++
				if client == nil && s.Seeds() {
					client = s
				}
				switch {
				case s.Side&iodetect.Server != 0:
					server = append(server, s)
				case s.Seeds():
					clients = append(clients, s)
				default:
					other = append(other, s)
				}
			}
		}
		async += len(r.l.Async)
	}
	unused := false
	for _, p := range pkgs[0].c.plans {
		unused = unused || p.src.unused
	}
	switch {
	case generated:
		return "already converted by asyncify (its runtime files carry asyncify's header): nothing changes"
	case sites == 0 && async == 0:
		return "no socket I/O found (no client reads, writes or dials on a connection): nothing to convert"
	case client != nil && unused:
		return fmt.Sprintf("nothing to convert: its client I/O (%s at %s) is only in function values stored to be called later or behind func values that take no context: no function would use a ctx",
			client.Callee, client.Pos)
	default:
		// name the calls that decided it
		var why []string
		if len(server) > 0 {
			why = append(why, "server-side (on connections from a listener's Accept: "+siteList(server)+")")
		}
		if len(clients) > 0 {
			why = append(why, "already context-aware or kept sync ("+siteList(clients)+")")
		}
		if len(other) > 0 {
			why = append(why, "blocking calls that are not socket I/O ("+siteList(other)+")")
		}
		if len(why) == 0 {
			return "nothing to convert: its I/O is server-side or already context-aware"
		}
		return "nothing to convert: its I/O is " + strings.Join(why, ", or ")
	}
}

// siteList names sites by callee and position, the first three of them.
func siteList(sites []*iodetect.Site) string {
	var names []string
	for i, s := range sites {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(sites)-3))
			break
		}
		names = append(names, fmt.Sprintf("%s at %s", s.Callee, s.Pos))
	}
	return strings.Join(names, ", ")
}

// fileOf is the parsed file named name, or nil.
func (r *pkgRewriter) fileOf(name string) *ast.File {
	for _, f := range r.ast {
		if r.fset.File(f.Pos()).Name() == name {
			return f
		}
	}
	return nil
}

// generatedNotes warns about files that another tool generated and that
// the conversion had to change: regenerating them undoes the conversion.
// asyncify's own files are recognised by their header and left out.
func generatedNotes(pkgs []*pkgRewriter) []Diag {
	var notes []Diag
	for _, r := range pkgs {
		for i, f := range r.ast {
			if !r.modified[r.files[i]] || !ast.IsGenerated(f) || r.generated[f] {
				continue
			}
			name := r.fset.File(f.Pos()).Name()
			if src, err := readFile(name); err == nil && bytes.HasPrefix(src, []byte(templates.Header)) {
				continue
			}
			notes = append(notes, diagf(r.fset.Position(f.Package), "generated by another tool, and converted because it does socket I/O (or calls what does): regenerating it with that tool undoes the conversion"))
		}
	}
	return notes
}

// withoutGeneratedNotes drops the notes about asyncify's own generated
// files (the runtime of an earlier run): they are not the user's code.
func withoutGeneratedNotes(notes []Diag, pkgs []*pkgRewriter) []Diag {
	gen := make(map[string]bool)
	for _, r := range pkgs {
		for f := range r.generated {
			gen[r.fset.File(f.Pos()).Name()] = true
		}
	}
	if len(gen) == 0 {
		return notes
	}
	var out []Diag
	for _, n := range notes {
		if !gen[n.Pos.Filename] {
			out = append(out, n)
		}
	}
	return out
}

// morePackages is the refusal for a pattern that matches several packages,
// or nil when it matches at most one (and the error is another one). It is
// asked only when loading failed, so that "./..." over a module with a
// broken package says the pattern is wrong before listing that package's
// type errors.
func morePackages(cfg Config, pattern string) error {
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName, Dir: cfg.Dir, Env: cfg.Env}, pattern)
	if err != nil {
		return nil
	}
	var paths []string
	for _, p := range pkgs {
		if p.PkgPath != "" && !strings.HasSuffix(p.PkgPath, "_test") {
			paths = append(paths, p.PkgPath)
		}
	}
	return manyPackages(pattern, paths)
}

// manyPackages is the refusal for a pattern matching the packages paths,
// or nil for one.
func manyPackages(pattern string, paths []string) error {
	sort.Strings(paths)
	paths = compactStrings(paths)
	if len(paths) < 2 {
		return nil
	}
	list := paths
	more := ""
	if len(list) > 5 {
		list, more = list[:5], fmt.Sprintf(" and %d more", len(paths)-5)
	}
	return &Error{Errs: []Diag{fileDiag(pattern, "matches %d packages (%s%s); asyncify converts one package at a time: name one", len(paths), strings.Join(list, ", "), more)}}
}

func compactStrings(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// refuseHelperImportClash refuses a package that declares, at package
// level, the name under which asyncify's generated files (helpers,
// runtime) import a package (a func named context, say): those files
// cannot rename their imports per package. The error is at the
// declaration.
func refuseHelperImportClash(base *iodetect.Loaded, files []File) error {
	scope := base.Pkg.Types.Scope()
	var errs []Diag
	seen := make(map[string]bool)
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f.Path), "asyncify_") || !bytes.HasPrefix(f.New, []byte(templates.Header)) {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f.Path, f.New, parser.ImportsOnly)
		if err != nil {
			continue // verify reports it
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			name := pathpkg.Base(path)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			obj := scope.Lookup(name)
			if obj == nil || seen[name] || name == "_" || name == "." {
				continue
			}
			pos := base.Pkg.Fset.Position(obj.Pos())
			if strings.HasPrefix(filepath.Base(pos.Filename), "asyncify_") {
				continue // declared by an earlier run's generated file
			}
			seen[name] = true
			errs = append(errs, diagf(pos, "%s is declared by the package; asyncify's generated %s imports package %s under that name: rename the declaration", name, filepath.Base(f.Path), path))
		}
	}
	if len(errs) > 0 {
		sortDiags(errs)
		return &Error{Errs: errs}
	}
	return nil
}
