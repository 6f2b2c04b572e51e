package rewrite

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"go/types"
	"go/version"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/templates"
	"github.com/dave/dst"
	"github.com/dave/dst/decorator"
	"golang.org/x/tools/go/packages"
)

// Config says what to convert and how.
type Config struct {
	Dir   string // where the package pattern is resolved; "" is the current directory
	Tests bool   // convert the package's _test.go files too
	Env   []string
	// GoVersion is the version of the module that will hold the output
	// ("go1.24"); "" is the package's own module's.
	GoVersion string
	// Overrides are the configuration file's rules (ReadConfig); nil for none.
	Overrides *iodetect.Overrides
	// Progress, if set, is told each step as it starts, for a progress line.
	Progress func(step string)
	// InPlace says the output replaces the input (asyncify -d, -w) rather
	// than being a copy elsewhere (-o): an internal package of the module
	// that the conversion would change is then changed where it is, and is
	// left as it is when other packages import it too (internal.go).
	InPlace bool
}

// File is one file of the converted package.
type File struct {
	Path string // absolute
	Rel  string // relative to the module's root, slash-separated
	Old  []byte // nil for a file the conversion adds
	New  []byte
}

// Result is a converted package.
type Result struct {
	Files []File // changed and added files, by path
	All   []File // every file of the converted package and its tests
	// ModuleDir is the root of the module holding the package.
	ModuleDir string
	// FileVersion, when set, is the Go version ("go1.21") Output gives
	// each of upstream's files with a //go:build line: upstream's own
	// (at least go1.21), older than the module the copy goes into.
	FileVersion string
	// Notes say what could not be made cancellable, and what the
	// conversion chose where the user may want to know, sorted by position.
	Notes []Diag
	// Input names what was converted, for the record (RecordFile).
	Input Input
	// Ignored are the package's files that the current build does not
	// see (build constraints): not converted, copied unchanged by -o.
	Ignored []File
	// Internal are the internal packages of the client's module that it
	// imports: -o copies them along, converted where they do socket I/O
	// (internal.go). The converted ones' changed files are in Files too.
	Internal []InternalPkg
	// Nothing, when the conversion changes nothing, says why (the package
	// does no socket I/O, or is asyncify's own output).
	Nothing string
	// Facts are the detector's facts about the package (with its
	// in-package tests), which the conversion followed.
	Facts *iodetect.Package
	// XFacts are the detector's facts about the external test package
	// (PACKAGE_test), nil when there is none or tests are not converted.
	XFacts *iodetect.Package
	// Overlay are input files that are not on disk, by path: a vendored
	// package's tests, from the module cache's copy.
	Overlay map[string][]byte
	// Data are the files that -o copies beside the output, by slash path:
	// those of the package directory's folders that hold no Go package
	// (testdata/..., which go test expects beside the package; see
	// dataFiles), from the module cache copy the tests come from for a
	// vendored package. Not read for a conversion in place.
	Data map[string][]byte
	// Share says whether the package shares the connections it dials, and
	// why (shareplan.go); nil when nothing was converted.
	Share *ShareDecision
	// Plan is what the conversion decided for the package (planvalue.go).
	Plan *Plan
}

// Input names a converted package.
type Input struct {
	PkgPath string // import path
	Name    string // package name
	// Module is where the package came from, as Record.Module says.
	Module string
}

// Error is a conversion that failed, with what refused it, sorted by
// position.
type Error struct {
	Errs []Diag
}

func (e *Error) Error() string { return diagLines(e.Errs) }

// minGoVersion is the oldest Go language version the converted code
// compiles with: context.AfterFunc.
const minGoVersion = "go1.21"

// testContextGoVersion is the first version with testing.T.Context.
const testContextGoVersion = "go1.24"

// Convert converts the one package that pattern names.
//
// The go command it runs reads and updates a copy of the module's go.mod
// and go.sum (iodetect.ModuleEnv), never the user's.
func Convert(cfg Config, pattern string) (*Result, error) {
	userEnv := cfg.Env
	env, cleanup, err := iodetect.ModuleEnv(cfg.Dir, cfg.Env)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	cfg.Env = env
	lcfg := iodetect.LoadConfig{Dir: cfg.Dir, Tests: cfg.Tests, Env: cfg.Env, Overrides: cfg.Overrides, Progress: cfg.Progress, ExtraExports: templates.Imports()}
	// A vendored package's tests, which go mod vendor drops, come from the
	// module cache copy (vendoredTests), found from the package's metadata
	// so that the package is type-checked once, with them.
	var vendorNote Diag
	var dataDir string
	var overlay map[string][]byte
	var vendored *packages.Package
	if cfg.Tests {
		lcfg.Prepare = func(pkgs []*packages.Package) map[string][]byte {
			p := pkgs[0]
			for _, q := range pkgs {
				if !strings.HasSuffix(q.PkgPath, "_test") {
					p = q
					break
				}
			}
			ov, note, src := vendoredTests(cfg, p)
			vendorNote = note
			if ov != nil {
				overlay, dataDir, vendored = ov, src, p
			}
			return ov
		}
	}
	if p := vendoredByDir(cfg, pattern); cfg.Tests && p != nil {
		// found without the go command: listed once, with its tests
		if ov, note, src := vendoredTests(cfg, p); ov != nil {
			vendorNote, overlay, dataDir, vendored = note, ov, src, p
			lcfg.Overlay, lcfg.Prepare = ov, nil
		}
	}
	loaded, deps, err := iodetect.LoadDeps(lcfg, pattern)
	var le *iodetect.LoadError
	if err != nil && vendored != nil && errors.As(err, &le) {
		// the tests from the module cache import what vendor/ does not hold
		if !cfg.InPlace {
			return convertCacheCopy(cfg, userEnv, vendored, dataDir, le.Errs)
		}
		vendorNote = fileDiag(filepath.Dir(vendored.GoFiles[0]), "warning: converted without tests: go mod vendor drops them, and the module cache copy's do not load in vendor mode (%s); asyncify -o converts the module cache copy with them", strings.Join(le.Errs, "; "))
		overlay, dataDir, lcfg.Prepare, lcfg.Overlay = nil, "", nil, nil
		loaded, deps, err = iodetect.LoadDeps(lcfg, pattern)
	}
	if err != nil {
		if errors.As(err, &le) {
			if many := morePackages(cfg, pattern); many != nil {
				return nil, many
			}
			return nil, &Error{Errs: parseDiags(le.Errs)}
		}
		return nil, err
	}
	res, err := convertLoaded(cfg, pattern, loaded, deps, vendorNote, overlay)
	if err != nil {
		return nil, err
	}
	return withData(cfg, res, dataDir)
}

// withData reads into res the files that -o copies beside the output
// (dataFiles) from dataDir, "" for the package's directory.
func withData(cfg Config, res *Result, dataDir string) (*Result, error) {
	if cfg.InPlace || len(res.All) == 0 {
		return res, nil
	}
	if dataDir == "" {
		dataDir = filepath.Dir(res.All[0].Path)
	}
	var err error
	if res.Data, err = dataFiles(dataDir); err != nil {
		return nil, err
	}
	return res, nil
}

// convertLoaded converts the loaded package (and its external tests), and
// those of deps (the packages of its module that it imports) that are
// internal packages doing socket I/O; the fuzz target calls it with
// packages it type-checked itself.
func convertLoaded(cfg Config, pattern string, loaded, deps []*iodetect.Loaded, vendorNote Diag, overlay map[string][]byte) (*Result, error) {
	base := loaded[0]
	var paths []string
	for _, l := range loaded {
		paths = append(paths, strings.TrimSuffix(l.Pkg.PkgPath, "_test"))
	}
	if many := manyPackages(pattern, paths); many != nil {
		return nil, many
	}
	if err := refuseCgo(loaded); err != nil {
		return nil, err
	}
	goVersion := "go1.26"
	moduleDir := filepath.Dir(base.Pkg.GoFiles[0])
	if m := base.Pkg.Module; m != nil {
		if m.GoVersion != "" {
			goVersion = "go" + m.GoVersion
		}
		if m.Dir != "" {
			moduleDir = m.Dir
		} else if root := vendoredModuleRoot(moduleDir, m.Path); root != "" {
			moduleDir = root
		}
	}
	// With -o, the copy keeps upstream's language version, as the go
	// command builds a dependency with its own: a module older than the
	// one the copy goes into gets a go version line in each of its files
	// (Output), at least minGoVersion. Loop variables and vet's checks
	// (printf's non-constant formats from go1.24) stay as upstream has them.
	var fileVersion string
	if cfg.GoVersion != "" {
		src := goVersion
		if m := base.Pkg.Module; m != nil && m.GoVersion == "" {
			src = "go1.16" // the go command's default for a go.mod without a go line
		}
		// a language version (go1.24, not go1.24.0: a build constraint
		// names no release)
		src = version.Lang(src)
		if version.Compare(src, minGoVersion) < 0 {
			src = minGoVersion
		}
		goVersion = cfg.GoVersion
		if base.Pkg.Module != nil && src != "" && version.Compare(src, version.Lang(cfg.GoVersion)) < 0 {
			goVersion, fileVersion = src, src
		}
	}
	if version.Compare(goVersion, minGoVersion) < 0 {
		where := token.Position{Filename: pattern}
		if m := base.Pkg.Module; cfg.GoVersion == "" && m != nil {
			// the module's own go.mod (GoMod is the module cache's copy for a dependency)
			if gomod := filepath.Join(m.Dir, "go.mod"); m.Dir != "" && fileExists(gomod) {
				where = goDirectivePos(gomod)
			} else if m.GoMod != "" {
				where = goDirectivePos(m.GoMod)
			}
		}
		return nil, &Error{Errs: []Diag{diagf(where, "the module's Go version is %s; the converted code needs %s (context.AfterFunc): convert into a module of your own with -o", goVersion, minGoVersion)}}
	}

	c := &converter{
		goVersion: goVersion,
		rtVersion: cmp.Or(cfg.GoVersion, goVersion),
		moduleDir: moduleDir,
		plans:     make(map[string]*fnPlan),
		base:      base,
		overlay:   overlay,
	}
	if vendorNote.Msg != "" {
		c.notes = append(c.notes, vendorNote)
	}
	if len(base.Tags) > 0 {
		// the go command run from here on must see the files Load saw
		cfg.Env = iodetect.WithTags(cfg.Env, base.Tags)
		var names []string
		for _, f := range base.TagFiles {
			names = append(names, filepath.Base(f))
		}
		c.notes = append(c.notes, diagf(token.Position{Filename: base.TagFiles[0], Line: 1, Column: 1}, "loaded with -tags=%s, which bring in %s: converted with the rest (build and test the output with these tags)", strings.Join(base.Tags, ","), strings.Join(names, ", ")))
	}
	if cfg.Progress != nil {
		cfg.Progress("rewriting " + base.Pkg.PkgPath)
	}
	internal, err := internalPackages(cfg, loaded, moduleDir)
	if err != nil {
		return nil, err
	}
	toConvert, err := c.internalToConvert(cfg, base, internal, deps)
	if err != nil {
		return nil, err
	}
	// The internal packages first, in import order: their plans decide
	// whether the calls into them pass ctx.
	var ipkgs []*pkgRewriter
	for _, l := range toConvert {
		r, err := c.newPkgRewriter(l, true)
		if err != nil {
			return nil, err
		}
		r.plan()
		ipkgs = append(ipkgs, r)
	}
	var pkgs []*pkgRewriter
	for _, l := range loaded {
		r, err := c.newPkgRewriter(l, false)
		if err != nil {
			return nil, err
		}
		r.findSequenced()
		r.plan()
		pkgs = append(pkgs, r)
	}
	for _, r := range append(ipkgs, pkgs...) {
		r.rewrite()
	}
	if len(c.errs) > 0 {
		sortDiags(c.errs)
		return nil, &Error{Errs: c.errs}
	}

	all := append(ipkgs[:len(ipkgs):len(ipkgs)], pkgs...)
	if fileVersion != "" {
		// upstream's go line: its go.mod, or the go command's copy of it
		// (a vendored module has none of its own)
		where := token.Position{Filename: moduleDir}
		if gomod := filepath.Join(moduleDir, "go.mod"); fileExists(gomod) {
			where = goDirectivePos(gomod)
		} else if m := base.Pkg.Module; m != nil && m.GoMod != "" && fileExists(m.GoMod) {
			where = goDirectivePos(m.GoMod)
		}
		c.notes = append(c.notes, diagf(where, "the copy keeps upstream's language version: its Go files get //go:build %s (the module written to is %s; loop variables and vet's checks stay as upstream has them)", fileVersion, cfg.GoVersion))
	}
	rel := func(p token.Position) string {
		if r, err := filepath.Rel(moduleDir, p.Filename); err == nil {
			p.Filename = filepath.ToSlash(r)
		}
		return p.String()
	}
	var plan *Plan
	for _, r := range pkgs {
		if r.l.Pkg.Types == base.Pkg.Types {
			plan = r.planValue(rel)
		}
	}
	res := &Result{Plan: plan, FileVersion: fileVersion, ModuleDir: moduleDir, Notes: append(withoutGeneratedNotes(c.notes, all), generatedNotes(all)...), Input: inputOf(base), Facts: base.Package, Overlay: overlay, Internal: internal, Share: c.share}
	for _, l := range loaded[1:] {
		if strings.HasSuffix(l.Pkg.PkgPath, "_test") && l.Pkg.PkgPath != base.Pkg.PkgPath {
			res.XFacts = l.Package
		}
	}
	if res.Ignored, err = ignoredFiles(loaded, moduleDir, cfg.Tests, overlay); err != nil {
		return nil, err
	}
	var ifiles [][]File
	var iloaded []*iodetect.Loaded
	for _, r := range ipkgs {
		files, err := r.printInternal(res.Internal)
		if err != nil {
			return nil, err
		}
		if files != nil {
			ifiles = append(ifiles, files)
			iloaded = append(iloaded, r.l)
		}
	}
	perPkg := make([][]File, len(pkgs))
	changed := false
	for i, r := range pkgs {
		files, err := r.print()
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if !bytes.Equal(f.Old, f.New) {
				changed = true
			}
		}
		perPkg[i] = files
	}
	if !changed {
		res.Nothing = nothingToDo(pkgs)
	}
	if changed {
		rt, err := c.target(base).files()
		if err != nil {
			return nil, err
		}
		perPkg[0] = mergeFiles(perPkg[0], rt)
	}
	if err := refuseHelperImportClash(base, perPkg[0]); err != nil {
		return nil, err
	}
	if cfg.Progress != nil {
		cfg.Progress("verifying: type-checking the converted package")
	}
	helpers := testHelpers(internal, base.Pkg.PkgPath)
	if err := verify(cfg, goVersion, iloaded, ifiles, loaded, perPkg, helpers); err != nil {
		return nil, err
	}
	for _, files := range perPkg {
		for _, f := range files {
			if rel, err := filepath.Rel(moduleDir, f.Path); err == nil {
				f.Rel = filepath.ToSlash(rel)
			}
			res.Files = append(res.Files, f)
		}
	}
	res.All = append([]File(nil), res.Files...)
	for _, files := range ifiles {
		res.Files = append(res.Files, files...)
	}
	var out []File
	for _, f := range res.Files {
		if !bytes.Equal(f.Old, f.New) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	res.Files = out
	sortDiags(res.Notes)
	return res, nil
}

// converter holds what is shared by the packages of one conversion: the
// package and its external test package.
type converter struct {
	goVersion string
	// rtVersion is the Go version of the module the runtime files go
	// into (the output module with -o), which decides what they may
	// import (split.go: iter, go1.23).
	rtVersion string
	moduleDir string
	plans     map[string]*fnPlan // by types.Func.FullName
	notes     []Diag
	errs      []Diag

	base *iodetect.Loaded
	// rts: the runtime of each package that calls it, by its
	// *types.Package (runtime.go).
	rts map[any]*rtTarget
	// sequenced: the package sequences exchanges with textproto.Pipeline;
	// seqReach: the functions that reach such a call (textpipeline.go).
	sequenced bool
	seqReach  map[string]bool
	// overlay: files that are not on disk (a vendored package's tests)
	overlay map[string][]byte
	// share is the package's sharing decision (shareplan.go).
	share *ShareDecision
	// internalConv: the import paths of the internal packages converted
	// with the client (internal.go).
	internalConv map[string]bool
	// ifaceBound: the methods (by FullName) whose interface changes with
	// them: they take ctx, async or not; ifaceCalls: the interface methods
	// whose calls go through a companion's helper, several for a method
	// that interfaces share by embedding (ifaceCallFor picks one by the
	// receiver's type); genNames: names taken by
	// generated declarations (ifaces.go).
	ifaceBound map[string]bool
	ifaceCalls map[string][]*ifaceMethod
	genNames   map[string]bool
}

func (c *converter) note(pos token.Position, format string, args ...any) {
	c.notes = append(c.notes, diagf(pos, format, args...))
}

// pkgRewriter rewrites one package.
type pkgRewriter struct {
	c     *converter
	l     *iodetect.Loaded
	fset  *token.FileSet
	info  *types.Info
	dec   *decorator.Decorator
	files []*dst.File
	ast   []*ast.File

	byObj    map[*types.Func]*iodetect.Func
	byLit    map[*ast.FuncLit]*iodetect.Func
	sites    map[*ast.CallExpr]*iodetect.Site
	holders  map[*types.TypeName]string // struct type -> field holding its connection
	modified map[*dst.File]bool
	replace  map[dst.Node]dst.Node
	// generated are the files an earlier run added (helpers, runtime):
	// they are never converted.
	generated map[*ast.File]bool
	// shareSites are the dial sites that become shareConn (see
	// findShares), with the name every call of the dial's function shares
	// under when a share rule names it ("": owned by the receiver); none
	// when the package does not share its connections. serving: the
	// functions that do I/O on a connection's server side (servesIn).
	shareSites map[*ast.CallExpr]string
	serving    map[*ast.FuncDecl]bool
	curFunc    *ast.FuncDecl // the declaration being rewritten
	// typeAt is where typeExpr spells a type (adapter), or NoPos; hidden
	// are the package's types a local name hides there, spelled through
	// an alias declared at the end of hiddenIn (typeexpr.go).
	typeAt   token.Pos
	hidden   map[*types.TypeName]string
	hiddenIn map[*types.TypeName]*dst.File
	// kept are the function values handed to a call that keeps them to
	// call later (markStored); keeps caches the callees' parameters that do.
	kept  map[ast.Expr]string // the callee that keeps it
	keeps map[*types.Var]bool
	// slots are the unexported func-typed fields and variables (slots.go).
	slots *slots
	// internal: an internal package of the client's module, converted in
	// place of its copy (internal.go): no wrappers, helpers of its own.
	internal bool
	// ifaces: the package's interfaces with async methods; ifaceCalled:
	// the methods whose helper a call uses (ifaces.go).
	ifaces []*ifacePlan
	// planned are the functions planning decided on, in source order.
	planned     []plannedFunc
	ifaceCalled map[*ifaceMethod]bool
	// replySites are the reply waits by their syntax, waits their fates
	// (siteplan.go), readerGo the reader goroutines' functions.
	replySites map[ast.Node]*iodetect.Site
	waits      map[ast.Node]*waitPlan
	// srcAt is the ctx in effect at each call and function value, litCtx
	// the ctx parameter a function literal stored in a slot gains, calls
	// the call sites' fates (siteplan.go).
	srcAt     map[ast.Node]ctxSource
	litCtx    map[*ast.FuncLit]string
	calls     map[*ast.CallExpr]*sitePlan
	readerGo  map[*iodetect.Func]bool
	readerCtx map[*ast.CallExpr]bool // context.Background() a reader keeps
	private   *privateState          // the function being rewritten's, if any
}

func (c *converter) newPkgRewriter(l *iodetect.Loaded, internal bool) (*pkgRewriter, error) {
	r := &pkgRewriter{
		c: c, l: l, fset: l.Pkg.Fset, info: l.Pkg.TypesInfo, internal: internal,
		dec:      decorator.NewDecoratorFromPackage(l.Pkg),
		byObj:    make(map[*types.Func]*iodetect.Func),
		byLit:    make(map[*ast.FuncLit]*iodetect.Func),
		sites:    make(map[*ast.CallExpr]*iodetect.Site),
		holders:  make(map[*types.TypeName]string),
		modified: make(map[*dst.File]bool),
		replace:  make(map[dst.Node]dst.Node),

		ifaceCalled: make(map[*ifaceMethod]bool),

		generated: make(map[*ast.File]bool),
	}
	for _, f := range l.Pkg.Syntax {
		df, err := r.dec.DecorateFile(f)
		if err != nil {
			return nil, err
		}
		r.files = append(r.files, df)
		r.ast = append(r.ast, f)
		if name := r.fset.File(f.Pos()).Name(); strings.HasPrefix(filepath.Base(name), "asyncify_") {
			if src, err := readFile(name); err == nil && bytes.HasPrefix(src, []byte(templates.Header)) {
				r.generated[f] = true
			}
		}
	}
	for _, fn := range l.Funcs {
		if fn.Obj != nil {
			r.byObj[fn.Obj] = fn
		}
		if fn.Lit != nil {
			r.byLit[fn.Lit] = fn
		}
	}
	for _, s := range l.Sites {
		if s.Call != nil {
			r.sites[s.Call] = s
		}
	}
	r.indexReplyWaits()
	r.findHolders()
	if internal {
		// its connections come from the client, which shares them
		r.shareSites = make(map[*ast.CallExpr]string)
	} else {
		r.findShares()
	}
	return r, nil
}

// print restores every file; Old is the file's content on disk.
func (r *pkgRewriter) print() ([]File, error) {
	var out []File
	for i, df := range r.files {
		name := r.fset.File(r.ast[i].Pos()).Name()
		old, err := readFile(name)
		cur := old
		if src, ok := r.c.overlay[name]; ok {
			// not on disk: a file the output adds
			old, cur, err = nil, src, nil
		}
		if err != nil {
			return nil, err
		}
		if !r.modified[df] {
			out = append(out, File{Path: name, Old: old, New: cur})
			continue
		}
		r.addHeader(df, name)
		res := decorator.NewRestorerWithImports(r.l.Pkg.PkgPath, importNames{r.l.Pkg}).FileRestorer()
		res.Alias = r.aliases(r.ast[i])
		var buf bytes.Buffer
		if err := res.Fprint(&buf, df); err != nil {
			return nil, fmt.Errorf("%s: printing the rewritten file: %v", name, err)
		}
		src, err := format.Source(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s: formatting the rewritten file: %v", name, err)
		}
		out = append(out, File{Path: name, Old: old, New: src})
	}
	return out, nil
}

// aliases names the imports the rewrite may add whose package name the
// file also declares (a parameter named context, say): they are imported
// as stdcontext, stdnet... so that the new references are not shadowed.
func (r *pkgRewriter) aliases(f *ast.File) map[string]string {
	declared := make(map[string]bool)
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if obj := r.info.Defs[id]; obj != nil {
				if _, isPkg := obj.(*types.PkgName); !isPkg {
					declared[id.Name] = true
				}
			}
		}
		return true
	})
	alias := make(map[string]string)
	for _, p := range []string{"context", "net"} {
		// declared in this file, or at package level in another one
		if declared[p] || r.l.Pkg.Types.Scope().Lookup(p) != nil {
			alias[p] = "std" + p
		}
	}
	return alias
}

// mergeFiles adds the generated files to files, replacing a file of the
// same path (the package's copy from an earlier run).
func mergeFiles(files, generated []File) []File {
	for _, g := range generated {
		replaced := false
		for i := range files {
			if files[i].Path == g.Path {
				files[i], replaced = g, true
			}
		}
		if !replaced {
			files = append(files, g)
		}
	}
	return files
}

// goDirectivePos is the position of the go directive in a go.mod file, or
// the file alone when it has none or cannot be read.
func goDirectivePos(gomod string) token.Position {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return token.Position{Filename: gomod}
	}
	for i, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "go" {
			return token.Position{Filename: gomod, Line: i + 1, Column: strings.Index(line, "go") + 1}
		}
	}
	return token.Position{Filename: gomod}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
