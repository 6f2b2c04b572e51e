package rewrite

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/templates"
	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"
)

// verify type-checks the converted packages, in order (the converted
// internal packages the client imports, in import order, then the package,
// then its external tests), before anything is printed or written. Imports
// are the converted packages checked before, then the type-checked
// packages the input was checked against, plus export data for the
// standard packages the rewrite may add.
//
// helpers are the client's test helpers (testHelpers): checked after the
// package, before its external tests, against the converted package; one
// converted with the client is in internal too, and checked there instead
// of first.
func verify(cfg Config, goVersion string, internal []*iodetect.Loaded, internalFiles [][]File, client []*iodetect.Loaded, clientFiles [][]File, helpers []InternalPkg) error {
	var loaded []*iodetect.Loaded
	var perPkg [][]File
	var paths []string // the packages checked, in order; loaded[i] is nil for a helper not converted
	isHelper := make(map[string]bool)
	for _, h := range helpers {
		isHelper[h.ImportPath] = true
	}
	for i, l := range internal {
		if !isHelper[l.Pkg.PkgPath] {
			loaded, perPkg, paths = append(loaded, l), append(perPkg, internalFiles[i]), append(paths, l.Pkg.PkgPath)
		}
	}
	for i, l := range client {
		loaded, perPkg, paths = append(loaded, l), append(perPkg, clientFiles[i]), append(paths, l.Pkg.PkgPath)
		if i > 0 {
			continue
		}
		for _, h := range helpers {
			var hl *iodetect.Loaded
			files := h.Files
			for j, il := range internal {
				if il.Pkg.PkgPath == h.ImportPath {
					hl, files = il, internalFiles[j]
				}
			}
			loaded, perPkg, paths = append(loaded, hl), append(perPkg, files), append(paths, h.ImportPath)
		}
	}
	fset := token.NewFileSet()
	known := make(map[string]*types.Package)
	var add func(p *types.Package)
	add = func(p *types.Package) {
		if known[p.Path()] != nil {
			return
		}
		known[p.Path()] = p
		for _, q := range p.Imports() {
			add(q)
		}
	}
	for _, l := range loaded {
		if l == nil {
			continue
		}
		for _, imp := range l.Pkg.Types.Imports() {
			add(imp)
		}
		// the standard packages the load read for the rewrite's imports
		// (LoadConfig.ExtraExports): loadExports needs no go command
		for _, path := range templates.Imports() {
			if p := l.Exports[path]; p != nil && p.Complete() {
				add(p)
			}
		}
	}
	var errs []Diag
	parsed := make([][]*ast.File, len(loaded))
	var imports []string
	for i := range loaded {
		for _, f := range perPkg[i] {
			af, err := parser.ParseFile(fset, f.Path, f.New, parser.SkipObjectResolution)
			if err != nil {
				errs = append(errs, fileDiag(f.Path, "the rewritten file does not parse: %v", err))
				continue
			}
			parsed[i] = append(parsed[i], af)
			for _, imp := range af.Imports {
				if p, err := strconv.Unquote(imp.Path.Value); err == nil && p != "C" && p != "unsafe" {
					imports = append(imports, p)
				}
			}
		}
	}
	if len(errs) > 0 {
		return &Error{Errs: errs}
	}
	for _, path := range paths {
		imports = slices.DeleteFunc(imports, func(p string) bool { return p == path })
	}
	slices.Sort(imports)
	if err := loadExports(cfg, fset, known, slices.Compact(imports)...); err != nil {
		return err
	}
	hint := importersHint(client, known)
	checked := make(map[string]*types.Package)
	for i, l := range loaded {
		conf := &types.Config{
			GoVersion:   goVersion,
			FakeImportC: true,
			Importer: importerFunc(func(path string) (*types.Package, error) {
				if p := checked[path]; p != nil {
					return p, nil
				}
				if p := known[path]; p != nil {
					return p, nil
				}
				return nil, fmt.Errorf("no type information for %q", path)
			}),
			Error: func(err error) {
				// "\tother declaration of x" continues the error before it
				if te, ok := err.(types.Error); ok && strings.HasPrefix(te.Msg, "\t") && len(errs) > 0 {
					errs[len(errs)-1].Msg += fmt.Sprintf("; %s: %s", te.Fset.Position(te.Pos), strings.TrimSpace(te.Msg))
					return
				}
				msg := err.Error()
				if l != nil {
					msg = inputError(l, parsed[i], err)
				}
				if hint != "" && crossingRE.MatchString(msg) {
					msg += hint
				}
				// the type checker's error, or inputError's, as text
				errs = append(errs, parseDiag(msg))
			},
		}
		pkg, _ := conf.Check(paths[i], fset, parsed[i], nil)
		checked[paths[i]] = pkg
	}
	if len(errs) > 0 {
		sortDiags(errs)
		return &Error{Errs: errs}
	}
	return nil
}

// loadExports reads the export data of the standard packages paths that
// known lacks, sharing known's packages for their dependencies.
func loadExports(cfg Config, fset *token.FileSet, known map[string]*types.Package, paths ...string) error {
	var missing []string
	for _, p := range paths {
		if known[p] == nil || !known[p].Complete() {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedExportFile, Dir: cfg.Dir, Env: cfg.Env}, missing...)
	if err != nil {
		return err
	}
	for _, p := range pkgs {
		if p.ExportFile == "" {
			return fmt.Errorf("no export data for %s", p.PkgPath)
		}
		f, err := os.Open(p.ExportFile)
		if err != nil {
			return err
		}
		r, err := gcexportdata.NewReader(f)
		if err == nil {
			_, err = gcexportdata.Read(r, fset, known, p.PkgPath)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("reading export data of %s: %v", p.PkgPath, err)
		}
	}
	return nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// inputError reports a type error in the rewritten code at the input
// declaration it comes from (found by name: FContext and FAsync come from
// F), since that is where the reader can see the construct asyncify did not
// handle; the rewritten line is kept in the message.
func inputError(l *iodetect.Loaded, rewritten []*ast.File, err error) string {
	te, ok := err.(types.Error)
	if !ok {
		return err.Error()
	}
	at := te.Fset.Position(te.Pos)
	msg := fmt.Sprintf("%s (asyncify produced code that does not type-check, at line %d of the rewritten %s: a construct it does not handle yet)", te.Msg, at.Line, filepath.Base(at.Filename))
	var name string
	for _, f := range rewritten {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Pos() <= te.Pos && te.Pos < fd.End() {
				name = declKey(fd)
			}
		}
	}
	if name != "" {
		for _, f := range l.Pkg.Syntax {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok {
					continue
				}
				key := declKey(fd)
				if key == name || key+"Context" == name || key+"Async" == name {
					return fmt.Sprintf("%s: in %s: %s", l.Pkg.Fset.Position(fd.Pos()), key, msg)
				}
			}
		}
	}
	return fmt.Sprintf("%s: %s", at, msg)
}

// declKey names a declared function: "F", "T.M".
func declKey(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// crossingRE matches the type errors of a value that passes between the
// converted package and a package that still sees the unconverted one.
var crossingRE = regexp.MustCompile(`cannot use |does not implement |mismatched types |impossible type assertion|impossible type switch case|cannot convert `)

// importersHint names the packages that the input imports and that import
// the converted package themselves (net/http's tests use
// net/http/httptest, which imports net/http): they were compiled against
// the unconverted package, so its values cannot pass between them and the
// converted code. "" when there are none.
func importersHint(loaded []*iodetect.Loaded, known map[string]*types.Package) string {
	converted := make(map[string]bool)
	for _, l := range loaded {
		converted[l.Pkg.PkgPath] = true
	}
	memo := make(map[*types.Package]bool)
	var reaches func(p *types.Package) bool
	reaches = func(p *types.Package) bool {
		if v, ok := memo[p]; ok {
			return v
		}
		memo[p] = false // cycles end here
		for _, q := range p.Imports() {
			if converted[q.Path()] || reaches(q) {
				memo[p] = true
				return true
			}
		}
		return false
	}
	var culprits []string
	seen := make(map[string]bool)
	for _, l := range loaded {
		for _, imp := range l.Pkg.Types.Imports() {
			if !converted[imp.Path()] && !seen[imp.Path()] && reaches(imp) {
				seen[imp.Path()] = true
				culprits = append(culprits, imp.Path())
			}
		}
	}
	if len(culprits) == 0 {
		return ""
	}
	sort.Strings(culprits)
	return fmt.Sprintf("; likely cause: %s import%s %s itself and so see%s its unconverted types, which the converted ones do not match (a documented limit: convert with -tests=false if only tests use them)",
		strings.Join(culprits, ", "), map[bool]string{true: "", false: "s"}[len(culprits) > 1], loaded[0].Pkg.PkgPath, map[bool]string{true: "", false: "s"}[len(culprits) > 1])
}
