package iodetect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"
)

// LoadConfig says which packages to analyse and how.
type LoadConfig struct {
	Dir   string // where patterns are resolved, as by the go command; "" is the current directory
	Tests bool   // include the packages' _test.go files
	Env   []string
	// Overrides are the user's corrections (asyncify's configuration file).
	Overrides *Overrides
	// Progress, if set, is told each step as it starts ("type-checking 3
	// packages"), for a progress line.
	Progress func(step string)
	// Overlay maps absolute file names to contents that replace (or add)
	// those on disk, as packages.Config.Overlay does: the tests of a
	// vendored package, which go mod vendor drops, say.
	Overlay map[string][]byte
	// Prepare, if set, is called with the matched packages' metadata
	// before anything is type-checked; an overlay it returns is added to
	// Overlay and the packages are listed again with it (the rewrite finds
	// a vendored package's tests this way, with one type-check).
	Prepare func(pkgs []*packages.Package) map[string][]byte
	// ExtraExports are packages (of the standard library) whose export
	// data is read with the dependencies' though the packages may not
	// import them: the rewrite adds imports of them and type-checks its
	// output against Loaded.Exports without running the go command again.
	ExtraExports []string
}

func (cfg LoadConfig) progress(format string, args ...any) {
	if cfg.Progress != nil {
		cfg.Progress(fmt.Sprintf(format, args...))
	}
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
	// Tags are the build tags of the package's own that Load turned on to
	// bring its files behind them into the build (tags.go); the go
	// command sees the same files with WithTags(env, Tags). TagFiles are
	// the files they brought in, sorted.
	Tags, TagFiles []string
	// Exports are the packages read from export data while type-checking
	// (the dependencies, and LoadConfig.ExtraExports), by path, shared by
	// every Loaded of one load; nil when go/packages type-checked them
	// itself.
	Exports map[string]*types.Package
}

// metaMode is what Load asks go list for about the matched packages: no
// export data and no cgo processing, so nothing is compiled (go vet does not
// compile them either).
const metaMode = packages.NeedName | packages.NeedFiles |
	packages.NeedImports | packages.NeedModule | packages.NeedForTest

// Load resolves patterns and analyses each matched package. With Tests, a
// package is analysed with its in-package tests, and its external test
// package (p_test) separately, after it: calls from the tests to p's async
// functions make them async. The result is ordered so that a package comes
// after the packages it imports.
//
// The packages that matched ones import from their own module (a driver's
// internal protocol package, say) are analysed with them, so that values and
// async functions are followed into them, but are not returned.
//
// The matched packages are parsed and type-checked from source; their
// dependencies are read from export data, which the go command builds (or
// finds in its cache) without compiling the matched packages themselves.
//
// Load runs the go command with a copy of the module's go.mod and go.sum
// (ModuleEnv): what the tests of a dependency import is found without
// editing the user's files.
func Load(cfg LoadConfig, patterns ...string) ([]*Loaded, error) {
	env, cleanup, err := ModuleEnv(cfg.Dir, cfg.Env)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	cfg.Env = env
	matched, _, err := LoadDeps(cfg, patterns...)
	return matched, err
}

// ModuleEnv returns env (nil is the process's environment) with GOFLAGS
// set so that the go command, run in dir, reads and updates a copy of the
// main module's go.mod and go.sum in a temporary directory (-modfile,
// -mod=mod), and cleanup, which removes the copy. A dependency's tests
// import modules that the user's module need not require, nor have sums
// for (go mod tidy leaves out the test dependencies of dependencies): the
// go command adds them to the copy, as go get would, and the user's
// go.mod and go.sum stay as they are.
//
// env is returned unchanged outside a module, in workspace mode (where
// -modfile is not allowed) and in vendor mode (vendor/ is what the user
// builds with).
func ModuleEnv(dir string, env []string) (out []string, cleanup func(), err error) {
	return moduleEnv(dir, env, false)
}

// ModuleEnvNoVendor is ModuleEnv that also takes a vendored module out of
// vendor mode: packages are read from the module cache, and what the
// tests of a vendored package import (which vendor/ does not hold) is
// found there.
func ModuleEnvNoVendor(dir string, env []string) (out []string, cleanup func(), err error) {
	return moduleEnv(dir, env, true)
}

func moduleEnv(dir string, env []string, noVendor bool) (out []string, cleanup func(), err error) {
	cleanup = func() {}
	if env == nil {
		env = os.Environ()
	}
	cmd := exec.Command("go", "env", "-json", "GOMOD", "GOWORK", "GOFLAGS")
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, cleanup, fmt.Errorf("go env: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var goenv struct{ GOMOD, GOWORK, GOFLAGS string }
	if err := json.Unmarshal(stdout.Bytes(), &goenv); err != nil {
		return nil, cleanup, fmt.Errorf("go env: %v", err)
	}
	if goenv.GOMOD == "" || goenv.GOMOD == os.DevNull || (goenv.GOWORK != "" && goenv.GOWORK != "off") {
		return env, cleanup, nil
	}
	gomod, mode := goenv.GOMOD, ""
	var flags []string
	for _, f := range strings.Fields(goenv.GOFLAGS) {
		switch {
		case strings.HasPrefix(f, "-modfile=") || strings.HasPrefix(f, "--modfile="):
			gomod = f[strings.Index(f, "=")+1:]
			if !filepath.IsAbs(gomod) {
				gomod = filepath.Join(dir, gomod)
			}
		case strings.HasPrefix(f, "-mod=") || strings.HasPrefix(f, "--mod="):
			mode = f[strings.Index(f, "=")+1:]
		default:
			flags = append(flags, f)
		}
	}
	if !noVendor && (mode == "vendor" || mode == "" && fileExists(filepath.Join(filepath.Dir(goenv.GOMOD), "vendor", "modules.txt"))) {
		return env, cleanup, nil
	}
	tmp, err := os.MkdirTemp("", "asyncify-modfile-")
	if err != nil {
		return nil, cleanup, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	for _, c := range [][2]string{{gomod, "go.mod"}, {strings.TrimSuffix(gomod, ".mod") + ".sum", "go.sum"}} {
		data, err := os.ReadFile(c[0])
		if errors.Is(err, os.ErrNotExist) && c[1] == "go.sum" {
			continue
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(tmp, c[1]), data, 0o644)
		}
		if err != nil {
			cleanup()
			return nil, func() {}, err
		}
	}
	flags = append(flags, "-mod=mod", "-modfile="+filepath.Join(tmp, "go.mod"))
	out = append(env[:len(env):len(env)], "GOFLAGS="+strings.Join(flags, " "))
	return out, cleanup, nil
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// LoadDeps is Load that also returns the packages of the matched packages'
// own module that they import, directly or not, analysed with them (their
// parameters seeded by what the matched packages hand them), in import
// order: asyncify converts a client's internal packages from them. deps is
// empty when the packages had to be type-checked by go/packages (see
// loadTyped).
func LoadDeps(cfg LoadConfig, patterns ...string) (matched, deps []*Loaded, err error) {
	cfg.progress("loading %s (go list)", strings.Join(patterns, " "))
	pcfg := &packages.Config{Mode: metaMode, Dir: cfg.Dir, Tests: cfg.Tests, Env: cfg.Env, Overlay: cfg.Overlay}
	meta, err := packages.Load(pcfg, patterns...)
	if err != nil {
		return nil, nil, err
	}
	// Packages with nothing to analyse (only tests, with -tests=false; only
	// files for other platforms) are left out, as go vet leaves them out.
	pkgs := slices.DeleteFunc(selectVariants(meta), func(p *packages.Package) bool {
		return len(p.Errors) == 0 && len(p.GoFiles) == 0
	})
	if len(pkgs) == 0 {
		return nil, nil, &LoadError{Errs: []string{fmt.Sprintf("%s: matched no packages", strings.Join(patterns, " "))}}
	}
	if cfg.Prepare != nil {
		if ov := cfg.Prepare(pkgs); len(ov) > 0 {
			merged := maps.Clone(cfg.Overlay)
			if merged == nil {
				merged = make(map[string][]byte)
			}
			maps.Copy(merged, ov)
			cfg.Overlay, pcfg.Overlay = merged, merged
			if meta, err = packages.Load(pcfg, patterns...); err != nil {
				return nil, nil, err
			}
			pkgs = slices.DeleteFunc(selectVariants(meta), func(p *packages.Package) bool {
				return len(p.Errors) == 0 && len(p.GoFiles) == 0
			})
			if len(pkgs) == 0 {
				return nil, nil, &LoadError{Errs: []string{fmt.Sprintf("%s: matched no packages", strings.Join(patterns, " "))}}
			}
		}
	}
	tags, tagFiles := ownBuildTags(pkgs, cfg.Tests, cfg.Env, cfg.Overlay)
	if len(tags) > 0 {
		cfg.Env = WithTags(cfg.Env, tags)
		pcfg.Env = cfg.Env
		cfg.progress("loading %s again with -tags=%s (files behind them)", strings.Join(patterns, " "), strings.Join(tags, ","))
		if meta, err = packages.Load(pcfg, patterns...); err != nil {
			return nil, nil, err
		}
		pkgs = slices.DeleteFunc(selectVariants(meta), func(p *packages.Package) bool {
			return len(p.Errors) == 0 && len(p.GoFiles) == 0
		})
	}
	isMatched := make(map[*packages.Package]bool)
	for _, p := range pkgs {
		isMatched[p] = true
	}
	depMeta, err := moduleDeps(cfg, pkgs)
	if err != nil {
		return nil, nil, err
	}
	pkgs = selectVariants(append(pkgs, depMeta...))
	if errs := listErrors(pkgs); len(errs) > 0 {
		return nil, nil, &LoadError{Errs: errs}
	}
	cfg.progress("type-checking %d packages", len(pkgs))
	exported, err := typeCheck(cfg, pkgs)
	if err == errTestVariantDeps {
		exported = nil
		if pkgs, err = loadTyped(cfg, patterns, isMatched); err != nil {
			return nil, nil, err
		}
	} else if err != nil {
		return nil, nil, err
	}
	cfg.progress("analysing %d packages", len(pkgs))
	for _, l := range analyzeAll(pkgs, cfg.Overrides) {
		l.Tags, l.TagFiles, l.Exports = tags, tagFiles, exported
		if isMatched[l.Pkg] {
			matched = append(matched, l)
		} else {
			deps = append(deps, l)
		}
	}
	return matched, deps, nil
}

// moduleDeps loads the metadata of the packages that the given ones import,
// directly or not, from their own module, and that they do not include.
func moduleDeps(cfg LoadConfig, pkgs []*packages.Package) ([]*packages.Package, error) {
	have := make(map[string]bool)
	for _, p := range pkgs {
		have[p.ID] = true
	}
	var deps []*packages.Package
	todo := pkgs
	for len(todo) > 0 {
		var want []string
		mods := make(map[string]bool)
		for _, p := range todo {
			if p.Module == nil {
				continue
			}
			mods[p.Module.Path] = true
			for _, imp := range p.Imports {
				inModule := !isTestVariant(imp.ID) && (imp.ID == p.Module.Path || strings.HasPrefix(imp.ID, p.Module.Path+"/"))
				if inModule && !have[imp.ID] {
					have[imp.ID] = true
					want = append(want, imp.ID)
				}
			}
		}
		if len(want) == 0 {
			break
		}
		sort.Strings(want)
		pcfg := &packages.Config{Mode: metaMode, Dir: cfg.Dir, Env: cfg.Env, Overlay: cfg.Overlay}
		metas, err := packages.Load(pcfg, want...)
		if err != nil {
			return nil, err
		}
		todo = nil
		for _, m := range metas {
			// a nested module's package shares the path prefix, not the module
			if m.Module != nil && mods[m.Module.Path] {
				deps = append(deps, m)
				todo = append(todo, m)
			}
		}
	}
	return deps, nil
}

// analyzeAll analyses packages given in import order. A package's async
// functions make its importers' callers async; the conn-derived values an
// importer passes to a package's functions (a driver handing its bufio.Writer
// to its internal protocol package) seed that package's parameters, and the
// packages are analysed again until no parameter gains a side.
func analyzeAll(pkgs []*packages.Package, ov *Overrides) []*Loaded {
	owner := make(map[*types.Package]*packages.Package)
	for _, p := range pkgs {
		owner[p.Types] = p
	}
	seeds := make(map[*packages.Package]map[*types.Var]Side)
	for round := 0; ; round++ {
		async := make(map[string]*ExternalAsync) // by types.Func.FullName
		external := func(f *types.Func) *ExternalAsync { return async[f.FullName()] }
		var out []*Loaded
		grew := false
		for _, p := range pkgs {
			res := Analyze(p.Fset, p.Syntax, p.Types, p.TypesInfo, &Config{ExternalAsync: external, Seeds: seeds[p], Overrides: ov})
			for _, fn := range res.Async {
				if fn.Obj != nil {
					async[fn.Obj.FullName()] = &ExternalAsync{Name: qualifiedName(fn), Func: fn}
				}
			}
			for v, side := range res.Bindings {
				q := owner[v.Pkg()]
				if q == nil || seeds[q][v]&side == side {
					continue
				}
				if seeds[q] == nil {
					seeds[q] = make(map[*types.Var]Side)
				}
				seeds[q][v] |= side
				grew = true
			}
			out = append(out, &Loaded{Package: res, Pkg: p})
		}
		if !grew || round >= 5 {
			return out
		}
	}
}

func listErrors(pkgs []*packages.Package) []string {
	var errs []string
	for _, p := range pkgs {
		for _, e := range p.Errors {
			errs = append(errs, errString(e))
		}
	}
	return dedupe(errs)
}

// errString is a go/packages error as file:line:col: msg, or the go
// command's message alone when it has no position (not "-: msg").
func errString(e packages.Error) string {
	msg := strings.TrimPrefix(e.Msg, "-: ")
	if e.Pos != "" && e.Pos != "-" {
		msg = e.Pos + ": " + msg
	}
	return msg
}

// typeCheck parses and type-checks the packages, in order, filling in their
// Fset, Syntax, Types, TypesInfo and TypesSizes. Imports among them use the
// checked packages; every other import is read from export data.
func typeCheck(cfg LoadConfig, pkgs []*packages.Package) (map[string]*types.Package, error) {
	checked := make(map[string]*packages.Package)
	for _, p := range pkgs {
		checked[p.ID] = p
	}
	var deps []string
	seen := make(map[string]bool)
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			if checked[imp.ID] == nil && !seen[imp.ID] && imp.ID != "unsafe" && imp.ID != "C" {
				seen[imp.ID] = true
				deps = append(deps, imp.ID)
			}
		}
	}
	for _, x := range cfg.ExtraExports {
		if !seen[x] && !slices.ContainsFunc(pkgs, func(p *packages.Package) bool { return p.ID == x }) {
			seen[x] = true
			deps = append(deps, x)
		}
	}
	sort.Strings(deps)
	exports := make(map[string]*packages.Package)
	if slices.ContainsFunc(deps, isTestVariant) {
		// A dependency recompiled for a test ("net [net/netip.test]": the
		// test imports it and it imports the package under test) has no
		// import path of its own to ask go list about.
		return nil, errTestVariantDeps
	}
	if len(deps) > 0 {
		ecfg := &packages.Config{Mode: packages.NeedName | packages.NeedExportFile, Dir: cfg.Dir, Env: cfg.Env}
		eps, err := packages.Load(ecfg, deps...)
		if err != nil {
			return nil, err
		}
		var errs []string
		for _, ep := range eps {
			exports[ep.ID] = ep
			for _, e := range ep.Errors {
				errs = append(errs, errString(e))
			}
		}
		if len(errs) > 0 {
			return nil, &LoadError{Errs: dedupe(errs)}
		}
		var missing []string
		for _, d := range deps {
			if ep := exports[d]; ep == nil || ep.ExportFile == "" {
				missing = append(missing, d)
			}
		}
		if len(missing) > 0 {
			// go/packages returns nothing, and no error, when the go
			// command fails as a whole (go: updates to go.mod needed),
			// and no export data without a word when a dependency of
			// the package failed
			return nil, &LoadError{Errs: goListFailures(cfg, missing)}
		}
	}

	fset := token.NewFileSet()
	sizes := types.SizesFor("gc", runtime.GOARCH)
	fromExport := make(map[string]*types.Package) // shared by every export data read, by package path
	var errs []string
	for _, p := range pkgs {
		p.Fset, p.TypesSizes = fset, sizes
		for _, name := range p.GoFiles {
			var src any // nil: read from disk
			if o, ok := cfg.Overlay[name]; ok {
				src = o
			}
			f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				errs = append(errs, scannerErrors(err)...)
				continue
			}
			p.Syntax = append(p.Syntax, f)
		}
		if len(errs) > 0 {
			continue
		}
		imp := importerFunc(func(path string) (*types.Package, error) {
			if path == "unsafe" {
				return types.Unsafe, nil
			}
			ip := p.Imports[path]
			if ip == nil {
				return nil, fmt.Errorf("no metadata for import %q", path)
			}
			if c := checked[ip.ID]; c != nil {
				if c.Types == nil {
					return nil, fmt.Errorf("import cycle through %s", ip.ID)
				}
				return c.Types, nil
			}
			ep := exports[ip.ID]
			if ep == nil || ep.ExportFile == "" {
				return nil, fmt.Errorf("no export data for %s", ip.ID)
			}
			if tp := fromExport[ep.PkgPath]; tp != nil && tp.Complete() {
				return tp, nil
			}
			f, err := os.Open(ep.ExportFile)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			r, err := gcexportdata.NewReader(f)
			if err != nil {
				return nil, fmt.Errorf("reading export data of %s: %v", ip.ID, err)
			}
			return gcexportdata.Read(r, fset, fromExport, ep.PkgPath)
		})
		info := NewInfo()
		usesCgo := slices.ContainsFunc(p.Syntax, func(f *ast.File) bool {
			return slices.ContainsFunc(f.Imports, func(s *ast.ImportSpec) bool { return s.Path.Value == `"C"` })
		})
		tc := &types.Config{
			// cgo's C.f calls are sites of their own; "C" needs no real package for that
			FakeImportC: true,
			Importer:    imp,
			Sizes:       sizes,
			Error: func(err error) {
				// With cgo, C's types are unknown here: what depends on them
				// does not type-check, and that is no fault of the package.
				if !usesCgo {
					errs = append(errs, err.Error())
				}
			},
		}
		if p.Module != nil && p.Module.GoVersion != "" {
			tc.GoVersion = "go" + p.Module.GoVersion
		}
		p.TypesInfo = info
		p.Types, _ = tc.Check(p.PkgPath, fset, p.Syntax, info)
		if p.Types != nil {
			// export data read later that mentions this package (hash_test
			// imports crypto/sha256, whose export data refers to hash) must
			// use this package, not make a second one from its own view
			fromExport[p.PkgPath] = p.Types
		}
	}
	if len(errs) > 0 {
		return nil, &LoadError{Errs: dedupe(errs)}
	}
	// the extra packages, which no package here imports
	for _, x := range cfg.ExtraExports {
		ep := exports[x]
		if ep == nil || ep.ExportFile == "" {
			continue
		}
		if tp := fromExport[ep.PkgPath]; tp != nil && tp.Complete() {
			continue
		}
		f, err := os.Open(ep.ExportFile)
		if err != nil {
			return nil, err
		}
		r, err := gcexportdata.NewReader(f)
		if err == nil {
			_, err = gcexportdata.Read(r, fset, fromExport, ep.PkgPath)
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading export data of %s: %v", x, err)
		}
	}
	return fromExport, nil
}

// goListFailures runs go list -export on pkgs, for which go/packages found
// no export data and no error, and returns what the go command says: the
// packages' errors and those of their dependencies (DepsErrors, which
// go/packages leaves out), or when it fails as a whole (go: updates to
// go.mod needed), its message.
func goListFailures(cfg LoadConfig, pkgs []string) []string {
	cmd := exec.Command("go", append([]string{"list", "-e", "-export", "-json=ImportPath,Export,Error,DepsErrors", "--"}, pkgs...)...)
	cmd.Dir = cfg.Dir
	cmd.Env = cfg.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	type listErr struct{ Pos, Err string }
	var errs []string
	add := func(e *listErr) {
		if e == nil {
			return
		}
		if e.Pos == "" {
			errs = append(errs, e.Err)
			return
		}
		pos := e.Pos
		if !filepath.IsAbs(pos) && cfg.Dir != "" {
			pos = filepath.Join(cfg.Dir, pos)
		}
		errs = append(errs, pos+": "+e.Err)
	}
	dec := json.NewDecoder(&stdout)
	for {
		var p struct {
			Error      *listErr
			DepsErrors []*listErr
		}
		if dec.Decode(&p) != nil {
			break
		}
		add(p.Error)
		for _, e := range p.DepsErrors {
			add(e)
		}
	}
	if len(errs) == 0 {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = fmt.Sprintf("go list -export %s: no export data (%v)", strings.Join(pkgs, " "), runErr)
		}
		errs = append(errs, msg)
	}
	return dedupe(errs)
}

var errTestVariantDeps = errors.New("test variants among the dependencies")

func isTestVariant(id string) bool { return strings.Contains(id, " [") }

// loadTyped is Load's slower way, for the rare patterns whose packages
// depend on test variants of others: go/packages type-checks them itself,
// with export data (compiling the matched packages) for everything else.
// matched is updated to hold the new values of the matched packages.
func loadTyped(cfg LoadConfig, patterns []string, matched map[*packages.Package]bool) ([]*packages.Package, error) {
	mode := metaMode | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax | packages.NeedTypesSizes
	pkgs, err := packages.Load(&packages.Config{Mode: mode, Dir: cfg.Dir, Tests: cfg.Tests, Env: cfg.Env, Overlay: cfg.Overlay}, patterns...)
	if err != nil {
		return nil, err
	}
	pkgs = slices.DeleteFunc(selectVariants(pkgs), func(p *packages.Package) bool {
		return len(p.Errors) == 0 && len(p.GoFiles) == 0
	})
	if errs := listErrors(pkgs); len(errs) > 0 {
		return nil, &LoadError{Errs: errs}
	}
	clear(matched)
	for _, p := range pkgs {
		matched[p] = true
	}
	return pkgs, nil
}

// NewInfo returns a types.Info with every map Analyze reads.
func NewInfo() *types.Info {
	return &types.Info{
		Types:        make(map[ast.Expr]types.TypeAndValue),
		Defs:         make(map[*ast.Ident]types.Object),
		Uses:         make(map[*ast.Ident]types.Object),
		Implicits:    make(map[ast.Node]types.Object),
		Selections:   make(map[*ast.SelectorExpr]*types.Selection),
		Scopes:       make(map[ast.Node]*types.Scope),
		Instances:    make(map[*ast.Ident]types.Instance),
		FileVersions: make(map[*ast.File]string),
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// scannerErrors lists a parse error's errors, one per position.
func scannerErrors(err error) []string {
	var list scanner.ErrorList
	if errors.As(err, &list) {
		var out []string
		for _, e := range list {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
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
