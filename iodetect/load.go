package iodetect

import (
	"fmt"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// LoadConfig says which packages to analyse and how.
type LoadConfig struct {
	Dir   string // where patterns are resolved, as by the go command; "" is the current directory
	Tests bool   // include the packages' _test.go files
	Env   []string
}

// LoadError is a package that could not be loaded or type-checked; Errs
// holds its errors as "file:line:col: message".
type LoadError struct {
	Errs []string
}

func (e *LoadError) Error() string { return strings.Join(e.Errs, "\n") }

// Loaded is an analysed package with the go/packages view it came from.
type Loaded struct {
	*Package
	Pkg *packages.Package
}

// LoadMode is what Load asks go/packages for: syntax and types of the
// matched packages, export data for their dependencies.
const LoadMode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
	packages.NeedImports | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax |
	packages.NeedModule | packages.NeedForTest

// Load resolves patterns and analyses each matched package. With Tests, a
// package is analysed with its in-package tests, and its external test
// package (p_test) separately, after it: calls from the tests to p's async
// functions make them async. The result is ordered by import path (a
// package's external tests right after it).
func Load(cfg LoadConfig, patterns ...string) ([]*Loaded, error) {
	pcfg := &packages.Config{Mode: LoadMode, Dir: cfg.Dir, Tests: cfg.Tests, Env: cfg.Env}
	pkgs, err := packages.Load(pcfg, patterns...)
	if err != nil {
		return nil, err
	}
	pkgs = selectVariants(pkgs)
	if len(pkgs) == 0 {
		return nil, &LoadError{Errs: []string{fmt.Sprintf("%s: matched no packages", strings.Join(patterns, " "))}}
	}
	var errs []string
	for _, p := range pkgs {
		for _, e := range p.Errors {
			msg := e.Msg
			if e.Pos != "" && e.Pos != "-" {
				msg = e.Pos + ": " + msg
			}
			errs = append(errs, msg)
		}
		if len(p.Errors) == 0 && len(p.Syntax) == 0 {
			errs = append(errs, fmt.Sprintf("%s: no Go files", p.PkgPath))
		}
	}
	if len(errs) > 0 {
		return nil, &LoadError{Errs: dedupe(errs)}
	}

	async := make(map[string]*ExternalAsync) // by types.Func.FullName
	external := func(f *types.Func) *ExternalAsync { return async[f.FullName()] }
	var out []*Loaded
	for _, p := range pkgs {
		res := Analyze(p.Fset, p.Syntax, p.Types, p.TypesInfo, &Config{ExternalAsync: external})
		for _, fn := range res.Async {
			if fn.Obj != nil {
				async[fn.Obj.FullName()] = &ExternalAsync{Name: qualifiedName(fn), Func: fn}
			}
		}
		out = append(out, &Loaded{Package: res, Pkg: p})
	}
	return out, nil
}

// qualifiedName names a function of another package: "memcache.New",
// "(*memcache.Client).Get".
func qualifiedName(fn *Func) string {
	pkg := fn.Obj.Pkg().Name()
	if strings.HasPrefix(fn.Name, "(*") {
		return "(*" + pkg + "." + fn.Name[2:]
	}
	return pkg + "." + fn.Name
}

// selectVariants keeps one variant of each package: the one with its
// in-package tests when there is one, never the generated test main; and
// orders them so that a package comes before the packages importing it.
func selectVariants(pkgs []*packages.Package) []*packages.Package {
	withTests := make(map[string]bool)
	for _, p := range pkgs {
		if p.ForTest != "" && p.PkgPath == p.ForTest {
			withTests[p.PkgPath] = true
		}
	}
	var keep []*packages.Package
	for _, p := range pkgs {
		switch {
		case strings.HasSuffix(p.ID, ".test") && p.Name == "main" && p.ForTest == "":
			continue // the generated test main
		case p.ForTest == "" && withTests[p.PkgPath]:
			continue // superseded by its variant with tests
		}
		keep = append(keep, p)
	}
	// topological order by imports among the kept packages, ties by path
	sort.SliceStable(keep, func(i, j int) bool { return keep[i].ID < keep[j].ID })
	index := make(map[string]*packages.Package)
	for _, p := range keep {
		index[p.ID] = p
	}
	var order []*packages.Package
	done := make(map[string]bool)
	var visit func(p *packages.Package)
	visit = func(p *packages.Package) {
		if done[p.ID] {
			return
		}
		done[p.ID] = true
		ids := make([]string, 0, len(p.Imports))
		for _, imp := range p.Imports {
			ids = append(ids, imp.ID)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if q := index[id]; q != nil {
				visit(q)
			}
		}
		order = append(order, p)
	}
	for _, p := range keep {
		visit(p)
	}
	return order
}

func dedupe(ss []string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
