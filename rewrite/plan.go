package rewrite

import (
	"fmt"
	"go/ast"
	"go/types"
	"go/version"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"golang.org/x/tools/go/packages"
)

// fnPlan is what happens to one declared async function.
type fnPlan struct {
	fn       *iodetect.Func
	addParam bool   // gains a ctx parameter
	wrapper  bool   // exported: renamed to newName, its old name becomes a wrapper
	newName  string // FContext, when wrapper
	src      ctxSource
	// iface names the interface that fixes the signature of a method with
	// a wrapper; noAsync: no FAsync (not API: reached through an interface).
	iface   string
	noAsync bool
	// ifaceM: the method of an interface that changes with its
	// implementations (ifaces.go); fn is a stand-in with Name and Obj only.
	ifaceM bool
	// async names the future form of a function with a wrapper
	// (planAsync); noAsyncWhy says why it has none.
	async, noAsyncWhy string
	// body names the body of an operation runOp runs (makeRunOp): the
	// operations it calls directly call it there (flatCall). bodyCall: the
	// deferred ctxErr of one runOp does not run names its results, and
	// FContext, with upstream's results, calls it (makeBodyCall).
	body     string
	bodyCall bool
	// split: its future form commits the request before it returns
	// (templates' startSplit): an operation runOp runs, in a module whose
	// runtime may import iter (splitGoVersion).
	split bool
	// waits are the reply waits of its body that the rules rewrite, in
	// order (planWaits); private is the parameter the reader writes into
	// when they get a private destination for it (privateMem).
	waits   []*waitPlan
	private *types.Var
	// honoured: its ctx already reaches ctx.Done() or context.AfterFunc
	// (honoursCtx): its body's ctx source is honoured, and it is not
	// watched.
	honoured bool
	// watch is where its watch goes, if it gets one (planWatch).
	watch *watchPlan
	// detach: an operation that sequences with textproto.Pipeline runs
	// detached when its ctx can end (textpipeline.go, detachWhy).
	detach bool
}

// ctxSource is where the ctx of a function body comes from.
type ctxSource struct {
	name       string // a parameter holding ctx
	testVar    string // a *testing.T or *testing.B: ctx is testVar.Context()
	request    string // an HTTP handler's *http.Request: ctx is request.Context()
	background bool   // context.Background()
	stored     bool   // background because the value is stored to be called later
	// unused: background because the function would not use a ctx
	// parameter (dropUnusedCtx); the values it stores are still noted
	// as stored.
	unused bool
	// fixed says why a function that needs a ctx cannot have one; its
	// calls that need one are reported.
	fixed string
	// honoured: the function's ctx already reaches ctx.Done() or
	// context.AfterFunc (upstream cancels its own way): the calls it
	// makes pass context.WithoutCancel(name), and it is not watched.
	honoured bool
}

// plan decides, for every declared async function of the package, whether
// its signature changes and where its ctx comes from.
func (r *pkgRewriter) plan() {
	r.findSlots()
	r.findIfaces()
	var decls []*ast.FuncDecl // the functions that gain a ctx parameter
	for _, f := range r.ast {
		if r.generated[f] {
			continue
		}
		testFile := strings.HasSuffix(r.fset.File(f.Pos()).Name(), "_test.go")
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			obj, _ := r.info.Defs[fd.Name].(*types.Func)
			fn := r.byObj[obj]
			// an implementation of an interface method that takes ctx
			// takes it too, async or not
			if fn == nil || !fn.Async && !r.c.ifaceBound[obj.FullName()] {
				continue
			}
			p := &fnPlan{fn: fn}
			r.c.plans[obj.FullName()] = p
			r.planned = append(r.planned, plannedFunc{fd, p})
			p.src = r.chooseSource(fd, fn, testFile, p)
			if p.addParam {
				decls = append(decls, fd)
			}
		}
	}
	r.dropUnusedCtx(decls)
	r.planCompanions()
	for _, pf := range r.planned {
		if pf.p.wrapper {
			r.planAsync(pf.fd, pf.p)
			if len(r.shareSites) > 0 && runOpShape(pf.p) {
				pf.p.body = r.bodyName(pf.fd)
				pf.p.split = version.Compare(r.c.rtVersion, splitGoVersion) >= 0
			} else {
				pf.p.bodyCall = namesResults(pf.fd, pf.p)
			}
		}
	}
	if r.internal {
		r.planInPlace()
	}
	for _, pf := range r.planned {
		if name := pf.p.src.name; name != "" && !r.isIfaceHelper(pf.fd) {
			if at := r.honoursCtx(pf.fd, name, nil); at != nil {
				pf.p.honoured = true
				r.c.note(r.fset.Position(pf.fd.Name.Pos()), "%s cancels its own way when %s ends (%s at %s): asyncify adds no watch under it, the functions it calls get context.WithoutCancel(%s), and its errors are its own",
					pf.p.fn.Name, name, types.ExprString(at.Fun), r.shortPos(at.Pos()), name)
			}
		}
	}
	for _, pf := range r.planned {
		if p := pf.p; p.wrapper && p.src.name != "" && r.c.seqReach[p.fn.Obj.FullName()] && !r.isIfaceHelper(pf.fd) {
			why := r.detachWhy(pf.fd, p)
			if p.detach = why == ""; !p.detach {
				r.c.note(r.fset.Position(pf.fd.Pos()), "%s runs attached to its caller (%s): when ctx ends, its exchange on a connection without deadlines is not interrupted", p.newName, why)
			}
		}
	}
	// the ctx in effect at each call and the sites' fates, once every
	// function's ctx source is known (siteplan.go)
	r.planSources()
	r.planReaders()
	for _, pf := range r.planned {
		if !r.isIfaceHelper(pf.fd) {
			r.planWaits(pf.fd, pf.p)
			if pf.p.src.name != "" && !pf.p.honoured {
				r.planWatch(pf.fd, pf.p)
			}
		}
	}
	r.planUnwatched()
}

// dropUnusedCtx keeps the signature of the functions that would not use a
// ctx parameter: those async only because they call a func-typed
// parameter, variable or field (a callback keeps its type; the closure
// handed to it captures ctx), and those whose only async uses are function
// values stored to be called later (returned, sent on a channel, put in a
// composite literal or a field: they call with context.Background()). A
// function uses ctx when its body (with the literals that capture it) has
// a socket or blocking site, a context.Background() or TODO() that ctx
// replaces, a call of, or a reference that is not stored to, a function
// that uses ctx (a value handed to a call or kept in a local captures
// ctx), or a call through a slot whose type gains ctx (slots.go); a slot's
// type gains ctx when a value stored in it uses ctx (a function that does,
// a literal whose body does): one fixpoint for both. A value stored in a
// slot does not use the ctx where it is stored.
func (r *pkgRewriter) dropUnusedCtx(decls []*ast.FuncDecl) {
	uses := make(map[*ast.FuncDecl]bool)
	planOfDecl := func(fd *ast.FuncDecl) *fnPlan {
		return r.c.plans[r.info.Defs[fd.Name].(*types.Func).FullName()]
	}
	// fnUses reports whether fn takes ctx and uses it.
	fnUses := func(fn *types.Func) bool {
		if fn == nil {
			return false
		}
		p := r.c.plans[fn.Origin().FullName()]
		if p != nil && p.ifaceM || r.ifaceMethod(fn) != nil {
			// a call through an interface method that takes ctx, or
			// whose companion may hold its Context form
			return true
		}
		return p != nil && p.addParam && p.fn.Decl != nil && (uses[p.fn.Decl] || !r.inPackage(p.fn.Decl))
	}
	var usesCtx func(body ast.Node) bool
	usesCtx = func(body ast.Node) bool {
		found := false
		// stored: function values kept to be called later (markStored, as
		// walk sees them): they call with context.Background(), never with
		// the ctx in scope where they are stored.
		stored := make(map[ast.Expr]bool)
		ast.Inspect(body, func(n ast.Node) bool {
			if found {
				return false
			}
			r.markStored(n, stored)
			switch n := n.(type) {
			case *ast.FuncLit:
				// a literal with a ctx of its own, or stored: its body uses
				// context.Background()
				return r.testingParam(n.Type) == "" && r.requestParam(n.Type) == "" && !r.candidateFlow(n) && !stored[n]
			case *ast.CallExpr:
				if s := r.sites[n]; s != nil && (s.Seeds() || s.Kind == iodetect.KindSleep) || r.detachedContext(n) && !r.readerCtx[n] || r.activeSlotCall(n) {
					found = true
				}
			case *ast.UnaryExpr, *ast.RangeStmt:
				if s := r.replySites[n]; s != nil && s.Seeds() {
					found = true // a reply wait: ctx bounds it
				}
			case *ast.SelectorExpr:
				if stored[n] {
					stored[n.Sel] = true // the method value or expression
				}
			case *ast.Ident:
				if fn, ok := r.info.Uses[n].(*types.Func); ok && fnUses(fn) && !r.candidateFlowID(n) && !stored[n] {
					found = true
				}
			}
			return !found
		})
		return found
	}
	// activates reports whether a value stored in a slot takes ctx: the
	// slot's type then changes.
	activates := func(e ast.Expr) bool {
		if lit, ok := e.(*ast.FuncLit); ok {
			return usesCtx(lit.Body)
		}
		fn, _ := r.callee(e)
		return fnUses(fn)
	}
	for _, fd := range decls {
		// the configuration made it async: it takes ctx, I/O or not
		if p := planOfDecl(fd); p != nil && p.fn.Rule != nil && p.fn.Rule.Verb == iodetect.RuleAsync {
			uses[fd] = true
		}
		// its interface's method takes ctx
		if r.c.ifaceBound[r.info.Defs[fd.Name].(*types.Func).FullName()] {
			uses[fd] = true
		}
	}
	groups := r.slots.candidates()
	for changed := true; changed; {
		changed = false
		for _, fd := range decls {
			if !uses[fd] && usesCtx(fd.Body) {
				uses[fd], changed = true, true
			}
		}
		for _, g := range groups {
			if !g.active && slices.ContainsFunc(g.flows, activates) {
				g.active, changed = true, true
			}
		}
	}
	for _, fd := range decls {
		if !uses[fd] {
			p := planOfDecl(fd)
			p.addParam, p.wrapper, p.newName = false, false, ""
			p.src = ctxSource{background: true, unused: true}
		}
	}
}

// inPackage reports whether fd is one of this package's declarations (not
// one of the package an external test package tests).
func (r *pkgRewriter) inPackage(fd *ast.FuncDecl) bool {
	_, ok := r.info.Defs[fd.Name]
	return ok
}

func (r *pkgRewriter) chooseSource(fd *ast.FuncDecl, fn *iodetect.Func, testFile bool, p *fnPlan) ctxSource {
	if t := r.testingParam(fd.Type); t != "" {
		return r.testSource(t)
	}
	if req := r.requestParam(fd.Type); req != "" {
		return ctxSource{request: req}
	}
	name := fd.Name.Name
	if fd.Recv == nil && (name == "init" || name == "main" && r.l.Pkg.Name == "main" ||
		testFile && (strings.HasPrefix(name, "Example") || name == "TestMain")) {
		return ctxSource{background: true}
	}
	if ctxName, ok := r.contextParam(fd); ok {
		if ctxName == "" || ctxName == "_" {
			return ctxSource{background: true, fixed: fmt.Sprintf("%s has an unnamed context.Context parameter", fn.Name)}
		}
		return ctxSource{name: ctxName}
	}
	// A method whose signature an interface fixes keeps it, and gains its
	// Context form like any exported operation; a method of an unexported
	// type, only when an interface of the package that gains a companion
	// fixes it (the companion reaches it). Otherwise (io.Reader's Read on
	// an unexported type) it uses context.Background(), noted.
	iface := r.fixedBy(fn)
	api := r.inAPI(fn) && !testFile
	if iface != "" && !api && !r.companionBound(fn) {
		return ctxSource{background: true, fixed: fmt.Sprintf("%s keeps its signature (it implements %s)", fn.Name, iface)}
	}
	if api || iface != "" {
		form, pair, why := r.contextForm(fd)
		switch {
		case pair:
			// Our own wrapper, or the package's own pair of forms: F
			// already calls FContext.
			return ctxSource{background: true}
		case form == "":
			if iface != "" {
				why += fmt.Sprintf(" (it implements %s)", iface)
			}
			return ctxSource{background: true, fixed: why}
		}
		p.addParam, p.wrapper, p.newName, p.iface = true, true, form, iface
		p.noAsync = !api
		return ctxSource{name: r.freshName(fd, "ctx")}
	}
	p.addParam = true
	return ctxSource{name: r.freshName(fd, "ctx")}
}

// contextForm names F's Context form: FContext, or FWithContext when
// FContext is declared already and is not F's own form (ctx first, then
// F's parameters: the package's own pair, or an earlier run's wrapper),
// with a note. pair: the form exists. When both names are taken by other
// declarations, F keeps its signature with no form: why says so.
func (r *pkgRewriter) contextForm(fd *ast.FuncDecl) (form string, pair bool, why string) {
	name := fd.Name.Name
	f, _ := r.info.Defs[fd.Name].(*types.Func)
	var taken []string
	for _, suffix := range []string{"Context", "WithContext"} {
		obj := r.declaredObj(fd, name+suffix)
		if obj == nil {
			if len(taken) > 0 {
				r.c.note(r.fset.Position(fd.Name.Pos()), "%s's Context form is named %s: %s", name, name+suffix, strings.Join(taken, "; "))
			}
			return name + suffix, false, ""
		}
		if g, ok := obj.(*types.Func); ok && f != nil && isContextForm(g, f) {
			return g.Name(), true, ""
		}
		taken = append(taken, fmt.Sprintf("%s is declared at %s (%s) and is not its Context form", obj.Name(), r.fset.Position(obj.Pos()), objKind(obj)))
	}
	why = fmt.Sprintf("%s keeps its signature and gets no Context form: %s", name, strings.Join(taken, "; "))
	r.c.note(r.fset.Position(fd.Name.Pos()), "%s", why)
	return "", false, why
}

// objKind says what a declaration is, for notes.
func objKind(obj types.Object) string {
	switch obj := obj.(type) {
	case *types.TypeName:
		return "a type"
	case *types.Var:
		if obj.IsField() {
			return "a field"
		}
		return "a variable"
	case *types.Const:
		return "a constant"
	case *types.Func:
		if obj.Type().(*types.Signature).Recv() != nil {
			return "a method"
		}
		return "a function"
	}
	return "declared"
}

// inAPI reports whether other packages can call fn: it is exported, or it
// is an exported method of an unexported type that an exported type embeds,
// which promotes it into the exported type's method set (Client embeds
// *session: c.Send is (*session).Send). Such a method keeps its signature
// and gains FContext and FAsync, promoted along.
func (r *pkgRewriter) inAPI(fn *iodetect.Func) bool {
	if fn.Exported() {
		return true
	}
	if fn.Obj == nil || !fn.Obj.Exported() {
		return false
	}
	scope := r.l.Pkg.Types.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || !tn.Exported() || tn.IsAlias() {
			continue
		}
		if _, ok := tn.Type().Underlying().(*types.Struct); !ok {
			continue
		}
		ms := types.NewMethodSet(types.NewPointer(tn.Type()))
		for i := range ms.Len() {
			sel := ms.At(i)
			if m, ok := sel.Obj().(*types.Func); ok && len(sel.Index()) > 1 && m.Origin() == fn.Obj.Origin() {
				return true
			}
		}
	}
	return false
}

func (r *pkgRewriter) testSource(t string) ctxSource {
	if version.Compare(r.c.goVersion, testContextGoVersion) < 0 {
		return ctxSource{background: true}
	}
	return ctxSource{testVar: t}
}

// testingParam returns the name of a *testing.T, *testing.B or testing.TB
// parameter.
func (r *pkgRewriter) testingParam(ft *ast.FuncType) string {
	for _, field := range ft.Params.List {
		t := r.info.TypeOf(field.Type)
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		n, ok := t.(*types.Named)
		if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != "testing" {
			continue
		}
		switch n.Obj().Name() {
		case "T", "B", "TB":
			for _, id := range field.Names {
				if id.Name != "_" {
					return id.Name
				}
			}
		}
	}
	return ""
}

// requestParam returns the name of an *http.Request parameter: a handler
// takes its ctx from the request.
func (r *pkgRewriter) requestParam(ft *ast.FuncType) string {
	for _, field := range ft.Params.List {
		p, ok := r.info.TypeOf(field.Type).(*types.Pointer)
		if !ok {
			continue
		}
		n, ok := p.Elem().(*types.Named)
		if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != "net/http" || n.Obj().Name() != "Request" {
			continue
		}
		for _, id := range field.Names {
			if id.Name != "_" {
				return id.Name
			}
		}
	}
	return ""
}

// contextParam returns the name of an existing context.Context parameter.
func (r *pkgRewriter) contextParam(fd *ast.FuncDecl) (string, bool) {
	for _, field := range fd.Type.Params.List {
		if !isContext(r.info.TypeOf(field.Type)) {
			continue
		}
		if len(field.Names) == 0 {
			return "", true
		}
		return field.Names[0].Name, true
	}
	return "", false
}

func isContext(t types.Type) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context"
}

// fixedBy names the interface that fixes fn's signature: one declared in
// another package or exported by this one (iodetect's Implements), or an
// unexported one of this package that does not change with its
// implementations (ifaces.go).
func (r *pkgRewriter) fixedBy(fn *iodetect.Func) string {
	if len(fn.Implements) > 0 {
		return fn.Implements[0]
	}
	if fn.Obj == nil {
		return ""
	}
	recv := fn.Obj.Type().(*types.Signature).Recv()
	if recv == nil {
		return ""
	}
	scope := r.l.Pkg.Types.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok {
			continue
		}
		iface, ok := tn.Type().Underlying().(*types.Interface)
		if !ok || iface.Empty() || slices.ContainsFunc(r.ifaces, func(ip *ifacePlan) bool { return ip.tn == tn && ip.change }) {
			continue
		}
		has := false
		for i := 0; i < iface.NumMethods(); i++ {
			has = has || iface.Method(i).Name() == fn.Obj.Name()
		}
		if has && types.Implements(recv.Type(), iface) {
			return tn.Name()
		}
	}
	return ""
}

// declared reports whether name is a package-level function or, for a
// method, a method of the same receiver type.
func (r *pkgRewriter) declared(fd *ast.FuncDecl, name string) bool {
	return r.declaredObj(fd, name) != nil
}

// declaredObj is what declared finds.
func (r *pkgRewriter) declaredObj(fd *ast.FuncDecl, name string) types.Object {
	if fd.Recv == nil {
		return r.l.Pkg.Types.Scope().Lookup(name)
	}
	recv := r.info.TypeOf(fd.Recv.List[0].Type)
	obj, _, _ := types.LookupFieldOrMethod(recv, true, r.l.Pkg.Types, name)
	return obj
}

// freshName returns base, or base1, base2... : a name used nowhere in fd
// and not declared at package level, so that it neither shadows nor is
// shadowed.
func (r *pkgRewriter) freshName(fd ast.Node, base string) string {
	used := make(map[string]bool)
	ast.Inspect(fd, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			used[id.Name] = true
		}
		return true
	})
	scope := r.l.Pkg.Types.Scope()
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name += strconv.Itoa(i)
		}
		if !used[name] && scope.Lookup(name) == nil {
			return name
		}
	}
}

// findHolders records the package's struct types that hold a client
// connection with deadlines in a field (iodetect's field roots).
func (r *pkgRewriter) findHolders() {
	if len(r.l.Readers) > 0 {
		// a reader goroutine reads the connection for every caller: no
		// caller's ctx may cut it (replywait.go)
		return
	}
	scope := r.l.Pkg.Types.Scope()
	for _, root := range r.l.Roots {
		if root.Kind != "field" {
			continue
		}
		if m, _, _ := types.LookupFieldOrMethod(root.Var.Type(), true, nil, "SetDeadline"); m == nil {
			continue
		}
		if m, _, _ := types.LookupFieldOrMethod(root.Var.Type(), true, nil, "Close"); m == nil {
			continue
		}
		for _, name := range scope.Names() {
			tn, ok := scope.Lookup(name).(*types.TypeName)
			if !ok {
				continue
			}
			st, ok := tn.Type().Underlying().(*types.Struct)
			if !ok {
				continue
			}
			for i := 0; i < st.NumFields(); i++ {
				if st.Field(i) == root.Var {
					r.holders[tn] = root.Var.Name()
				}
			}
		}
	}
}

// importNames resolves import paths to package names for the restorer:
// the package's own imports, then the standard library's last element.
type importNames struct{ pkg *packages.Package }

func (n importNames) ResolvePackage(p string) (string, error) {
	for _, imp := range n.pkg.Types.Imports() {
		if imp.Path() == p {
			return imp.Name(), nil
		}
	}
	return path.Base(p), nil
}

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }
