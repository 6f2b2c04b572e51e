package rewrite

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"slices"
	"sort"
	"strconv"

	"github.com/asyncify-dev/asyncify/iodetect"
	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"
)

// verify type-checks the converted packages, in order (the package, then
// its external tests), before anything is printed or written. Imports are
// the type-checked packages the input was checked against, plus export
// data for the standard packages the rewrite may add.
func verify(cfg Config, goVersion string, loaded []*iodetect.Loaded, perPkg [][]File) error {
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
		for _, imp := range l.Pkg.Types.Imports() {
			add(imp)
		}
	}
	var errs []string
	parsed := make([][]*ast.File, len(loaded))
	var imports []string
	for i := range loaded {
		for _, f := range perPkg[i] {
			af, err := parser.ParseFile(fset, f.Path, f.New, parser.SkipObjectResolution)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: the rewritten file does not parse: %v", f.Path, err))
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
	for _, l := range loaded {
		imports = slices.DeleteFunc(imports, func(p string) bool { return p == l.Pkg.PkgPath })
	}
	slices.Sort(imports)
	if err := loadExports(cfg, fset, known, slices.Compact(imports)...); err != nil {
		return err
	}
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
				errs = append(errs, fmt.Sprintf("%v (in the rewritten code: a construct asyncify does not handle yet)", err))
			},
		}
		pkg, _ := conf.Check(l.Pkg.PkgPath, fset, parsed[i], nil)
		checked[l.Pkg.PkgPath] = pkg
	}
	if len(errs) > 0 {
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
