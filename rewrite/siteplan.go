package rewrite

import (
	"fmt"
	"go/ast"
	"go/types"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// The fate of detection's sites, decided in planning before any edit, once
// every function's ctx source is known: the rule files look the decisions
// up and apply them; they do not read iodetect's sites. Notes that report
// a decision are made here, with it.

// sitePlan is the fate of a call site: it runs where a ctx is in scope,
// and the blocking rule converts it if it is a dial, a deadline, a sleep,
// an exec or a lookup (ctx); or it is left as it is (why, noted when it is
// not cancellable).
type sitePlan struct {
	site *iodetect.Site
	ctx  bool
	why  string
}

// planSources plans the ctx in effect at every call and function value of
// the package's code (srcAt), from its function's ctx source, then the
// fate of each call site (planCall).
func (r *pkgRewriter) planSources() {
	r.srcAt = make(map[ast.Node]ctxSource)
	r.litCtx = make(map[*ast.FuncLit]string)
	r.calls = make(map[*ast.CallExpr]*sitePlan)
	r.serving = make(map[*ast.FuncDecl]bool)
	for _, f := range r.ast {
		if r.generated[f] {
			continue
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Body == nil || r.isIfaceHelper(d) {
					continue
				}
				if len(r.shareSites) > 0 {
					r.serving[d] = r.servesIn(d)
				}
				src := ctxSource{background: true}
				obj, _ := r.info.Defs[d.Name].(*types.Func)
				if p := r.c.plans[obj.FullName()]; p != nil {
					src = p.src
					src.honoured = p.honoured
				}
				r.planBody(d.Body, src)
			case *ast.GenDecl:
				// package-level initialisers
				r.planBody(d, ctxSource{background: true})
			}
		}
	}
}

// planBody plans the ctx in effect under root, whose ctx comes from src.
// Function literals capture the enclosing ctx, except that one with a
// testing parameter or an *http.Request uses its own, one passed to
// t.Cleanup runs after the test's context is cancelled, one a go statement
// starts as a reader or a detached goroutine belongs to the connection,
// one stored to be called later uses context.Background() (noted), and
// one stored in a slot whose type gains ctx takes a ctx parameter of its
// own (litCtx).
func (r *pkgRewriter) planBody(root ast.Node, src ctxSource) {
	called := make(map[ast.Expr]bool)
	cleanup := make(map[*ast.FuncLit]bool)
	// readers: what go statements start a reader goroutine with, which
	// belongs to the connection, not to this function (replywait.go)
	readers := make(map[ast.Node]bool)
	stored := make(map[ast.Expr]bool) // function values kept to be called later
	var visit func(root ast.Node, src ctxSource)
	visit = func(root ast.Node, src ctxSource) {
		ast.Inspect(root, func(n ast.Node) bool {
			r.markStored(n, stored)
			switch n := n.(type) {
			case *ast.FuncLit:
				if n == root {
					return true
				}
				litSrc := src
				if r.activeFlow(n) != nil {
					// stored in a slot whose type gains ctx: it takes the
					// ctx of the call through the slot
					name := r.freshName(n, "ctx")
					r.litCtx[n] = name
					visit(n.Body, ctxSource{name: name})
					return false
				}
				if t := r.testingParam(n.Type); t != "" {
					litSrc = r.testSource(t)
				} else if req := r.requestParam(n.Type); req != "" {
					litSrc = ctxSource{request: req}
				} else if cleanup[n] || readers[n] {
					litSrc = ctxSource{background: true}
				} else if stored[n] && (!src.background || src.unused) && (src.testVar == "" || r.kept[n] != "") {
					// called after the function that made it returned, when its
					// ctx may have ended: its calls must not use that ctx
					litSrc = ctxSource{background: true, stored: true}
					if r.callsAsync(n.Body) {
						r.c.note(r.fset.Position(n.Pos()), "a function literal stored to be called later, when the ctx in scope here may have ended: its calls use context.Background() and are not cancellable%s", r.why(n))
					}
				}
				visit(n.Body, litSrc)
				return false
			case *ast.GoStmt:
				if r.readerStart(n) || r.l.Detached(n.Call) {
					// it outlives the call that starts it (a reader, or a
					// goroutine that delivers nothing: iodetect's
					// detached.go): never that call's ctx
					readers[n.Call] = true
					readers[ast.Unparen(n.Call.Fun)] = true
				}
			case *ast.CallExpr:
				called[unwrapFun(n.Fun)] = true
				if isCleanup(r.info, n) {
					for _, a := range n.Args {
						if lit, ok := a.(*ast.FuncLit); ok {
							cleanup[lit] = true
						}
					}
				}
				callSrc := src
				if readers[n] {
					callSrc = ctxSource{background: true}
				}
				r.srcAt[n] = callSrc
				if s := r.sites[n]; s != nil {
					r.planCall(n, s, callSrc)
				}
				if callSrc.fixed != "" {
					if p := r.planOf(r.calleeOf(n)); p != nil {
						r.c.note(r.fset.Position(n.Pos()), "the call of %s is not cancellable: %s", p.fn.Name, callSrc.fixed)
					}
					if r.activeSlotCall(n) {
						r.c.note(r.fset.Position(n.Pos()), "the call through %s is not cancellable: %s", r.slots.calls[n].Name(), callSrc.fixed)
					}
				}
			case *ast.SelectorExpr:
				if r.activeFlow(n) == nil && !called[n] {
					r.planFuncValue(n, storedSource(src, stored[n], r.kept[n] != ""))
				}
				visit(n.X, src)
				return false
			case *ast.Ident:
				if r.activeFlow(n) == nil && !called[n] {
					r.planFuncValue(n, storedSource(src, stored[n], r.kept[n] != ""))
				}
			}
			return true
		})
	}
	visit(root, src)
}

// calleeOf is the function call calls, if it names one.
func (r *pkgRewriter) calleeOf(call *ast.CallExpr) *types.Func {
	fn, _ := r.callee(unwrapFun(call.Fun))
	return fn
}

// planFuncValue records the ctx of a function value e (funcValue), noting
// when the async function it refers to then calls with
// context.Background().
func (r *pkgRewriter) planFuncValue(e ast.Expr, src ctxSource) {
	r.srcAt[e] = src
	fn, _ := r.callee(e)
	p := r.planOf(fn)
	if p == nil || src.background && p.wrapper {
		return
	}
	if _, ok := r.info.TypeOf(e).(*types.Signature); !ok {
		return
	}
	switch {
	case src.stored:
		r.c.note(r.fset.Position(e.Pos()), "%s is stored to be called later, when the ctx in scope here may have ended: its calls use context.Background() and are not cancellable%s", p.fn.Name, r.why(e))
	case src.background:
		r.c.note(r.fset.Position(e.Pos()), "%s is used as a value where no ctx is in scope: its calls use context.Background()", p.fn.Name)
	}
}

// planCall decides the fate of a call site that runs under src. A site
// in a function whose ctx is fixed is not cancellable; under a ctx, a site
// the blocking rule cannot convert is left: a dial through a func-typed
// value whose type takes no context, or through an interface with no
// DialContext (ifaceDialForm), a deadline or sleep in the external
// test package (it cannot see the runtime), a lookup with no context form
// (net.ResolveXxxAddr), a deadline on a connection a reader goroutine
// reads (ctx bounds the waits for replies, not the socket: planReaders
// says so once).
func (r *pkgRewriter) planCall(call *ast.CallExpr, s *iodetect.Site, src ctxSource) {
	sp := &sitePlan{site: s, ctx: !src.background}
	r.calls[call] = sp
	leave := func(why, note string) {
		sp.ctx, sp.why = false, why
		if note != "" {
			r.c.note(s.Pos, "%s", note)
		}
	}
	if s.Seeds() && src.fixed != "" {
		sp.why = src.fixed
		r.c.note(s.Pos, "%s is not cancellable: %s", s.Callee, src.fixed)
	}
	if !sp.ctx {
		return
	}
	fn, _ := r.callee(unwrapFun(call.Fun))
	if r.ifaceCallOf(call, fn) != nil {
		return // through a companion's helper, which passes ctx
	}
	clientDial := s.Kind == iodetect.KindDial && s.Side&iodetect.Client != 0
	clientDeadline := s.Kind == iodetect.KindDeadline && s.Side&iodetect.Client != 0
	switch {
	case fn == nil:
		if clientDial && !takesContext(r.info.TypeOf(call.Fun)) {
			why := "its func type takes no context"
			leave(why, fmt.Sprintf("the dial through %s is not cancellable: %s", s.Callee, why))
		}
	case clientDial && recvType(fn) != nil && types.IsInterface(recvType(fn)) && ifaceDialForm(call, fn) == nil:
		recv := recvType(fn)
		why := fmt.Sprintf("%s has no %sContext(ctx, ...) form", types.TypeString(recv, types.RelativeTo(r.l.Pkg.Types)), fn.Name())
		leave(why, fmt.Sprintf("the dial through %s is not cancellable: %s", types.ExprString(call.Fun), why))
	case !r.seesHelpers() && (clientDeadline || s.Kind == iodetect.KindSleep && fn.FullName() == "time.Sleep"):
		why := "asyncify's helpers are not visible from the external test package"
		leave(why, fmt.Sprintf("%s is left as it is, not bounded by ctx: %s", s.Callee, why))
	case clientDeadline && len(r.l.Readers) > 0:
		leave("a reader goroutine reads the connection for every caller: ctx bounds the waits for replies, not the connection", "")
	case s.Kind == iodetect.KindDNS && fn.Pkg() != nil && fn.Pkg().Path() == "net" && fn.Type().(*types.Signature).Recv() == nil && !hasLookupContext(fn.Name()):
		leave("it has no context form", fmt.Sprintf("%s has no context form: not cancellable", s.Callee))
	}
}

// recvType is the type of fn's receiver, or nil.
func recvType(fn *types.Func) types.Type {
	if recv := fn.Type().(*types.Signature).Recv(); recv != nil {
		return recv.Type()
	}
	return nil
}

// hasLookupContext reports whether the net function name has a form on
// net.Resolver that takes ctx (blocking.go).
func hasLookupContext(name string) bool {
	switch name {
	case "LookupHost", "LookupAddr", "LookupCNAME", "LookupMX", "LookupNS", "LookupPort", "LookupSRV", "LookupTXT", "LookupIP":
		return true
	}
	return false
}

// watchPlan is where a watch goes (watch.go): before the statement at of
// the function's body, on v.field; local: v is a local the function
// obtained the connection in.
type watchPlan struct {
	at       int
	v, field string
	local    bool
}

// planWatch places the watch (watch.go) that makes the exchanges of an
// async function follow its ctx when the function holds a connection: a
// receiver or parameter of a type whose field is a client connection with
// deadlines (iodetect's field roots), or a local of that type. It goes
// before the first statement doing I/O on it: for a receiver or
// parameter, a socket site in the function's own body, so that the watch
// is where the I/O is; for a local, also a call to an async function or
// through a function value; never the client's own SetDeadline, which
// must come first. For a local, the statement must be a plain one that
// mentions it, or an if whose init does (not a for or switch, where it may
// still be nil). A function already watched (a run on converted code) is
// left alone; so is, noted, the external test package, which cannot see
// the runtime. When the package shares its connections, a receiver or
// parameter is bound before the first statement that does I/O at all, a
// call included: every exchange on a handle must belong to the operation
// it runs in, which ends it.
func (r *pkgRewriter) planWatch(fd *ast.FuncDecl, p *fnPlan) {
	body := fd.Body.List
	holder := func(t types.Type) string {
		if ptr, ok := t.(*types.Pointer); ok {
			t = ptr.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			return r.holders[n.Obj()]
		}
		return ""
	}
	insert := func(at int, v, field string, local bool) {
		if !r.seesHelpers() {
			// The external test package (p_test) cannot see the helpers,
			// which the package declares: its I/O is left as it is.
			r.c.note(r.fset.Position(fd.Body.List[at].Pos()), "the I/O on %s.%s is not interrupted when ctx ends: asyncify's helpers are not visible from the external test package", v, field)
			return
		}
		p.watch = &watchPlan{at: at, v: v, field: field, local: local}
	}
	for _, stmt := range body {
		if d, ok := stmt.(*ast.DeferStmt); ok {
			if inner, ok := d.Call.Fun.(*ast.CallExpr); ok && r.callsRuntime(inner) {
				return // watched already (a run on converted code)
			}
		}
	}
	var fields []*ast.Field
	if fd.Recv != nil {
		fields = append(fields, fd.Recv.List...)
	}
	fields = append(fields, fd.Type.Params.List...)
	for _, f := range fields {
		field := holder(r.info.TypeOf(f.Type))
		if field == "" {
			continue
		}
		for _, id := range f.Names {
			if id.Name == "_" {
				continue
			}
			for i, stmt := range body {
				if r.exchangeWork(stmt, len(r.shareSites) == 0) {
					insert(i, id.Name, field, false)
					return
				}
			}
		}
	}
	for i, stmt := range body {
		for _, v := range r.definedHolders(stmt, holder) {
			j := i + 1
			for j < len(body) && !r.exchangeWork(body[j], false) {
				j++
			}
			if j == len(body) || !mentions(r.info, body[j], v) {
				continue
			}
			switch s := body[j].(type) {
			case *ast.IfStmt:
				// its init runs whatever the condition says
				if s.Init == nil || !mentions(r.info, s.Init, v) {
					continue
				}
			case *ast.ReturnStmt, *ast.ExprStmt, *ast.AssignStmt, *ast.DeferStmt:
			default:
				continue
			}
			insert(j, v.Name(), holder(v.Type()), true)
			return
		}
	}
}

// definedHolders lists the locals of a holder type that stmt declares.
func (r *pkgRewriter) definedHolders(stmt ast.Stmt, holder func(types.Type) string) []*types.Var {
	var out []*types.Var
	add := func(id *ast.Ident) {
		if v, ok := r.info.Defs[id].(*types.Var); ok && holder(v.Type()) != "" {
			out = append(out, v)
		}
	}
	switch s := stmt.(type) {
	case *ast.AssignStmt:
		for _, lhs := range s.Lhs {
			if id, ok := lhs.(*ast.Ident); ok {
				add(id)
			}
		}
	case *ast.DeclStmt:
		if gd, ok := s.Decl.(*ast.GenDecl); ok {
			for _, spec := range gd.Specs {
				if vs, ok := spec.(*ast.ValueSpec); ok {
					for _, id := range vs.Names {
						add(id)
					}
				}
			}
		}
	}
	return out
}

func mentions(info *types.Info, n ast.Node, v *types.Var) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && info.Uses[id] == v {
			found = true
		}
		return !found
	})
	return found
}

// exchangeWork reports whether stmt does I/O on a connection, other than
// setting its deadline or dialing it: a socket site, or unless direct, a
// call to an async function or through a function value.
func (r *pkgRewriter) exchangeWork(stmt ast.Stmt, direct bool) bool {
	found := false
	ast.Inspect(stmt, func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			if s := r.sites[n]; s != nil && s.Seeds() && s.Kind != iodetect.KindDeadline && s.Kind != iodetect.KindDial {
				found = true
			}
			if r.callsConvertedInternal(n) {
				found = true // its I/O is on what this function hands it
			}
			if direct {
				return true
			}
			fun := unwrapFun(n.Fun)
			if fn, _ := r.callee(fun); fn != nil {
				if f := r.byObj[fn.Origin()]; f != nil && f.Async {
					found = true
				}
				return true
			}
			if tv, ok := r.info.Types[fun]; ok && !tv.IsType() && !tv.IsBuiltin() {
				if _, ok := tv.Type.Underlying().(*types.Signature); ok {
					if _, isLit := fun.(*ast.FuncLit); !isLit {
						found = true // through a function value
					}
				}
			}
		}
		return true
	})
	return found
}

// planUnwatched reports, once per package, the client I/O that no watcher
// can interrupt: watches (watch.go) interrupt I/O through a connection
// with deadlines kept in a struct field (r.holders), and the package keeps
// none (it keeps a bufio wrapper or an io.ReadWriteCloser, or its
// connections are locals and parameters). Its dials follow ctx.
func (r *pkgRewriter) planUnwatched() {
	for _, fn := range r.l.Funcs {
		if fn.External != nil && fn.Next == nil && fn.Site == nil && !strings.HasSuffix(fn.Pos.Filename, "_test.go") && r.c.plans[fn.External.Name] == nil && !r.convertedExternal(fn) {
			if why := r.fixedExternal(fn); why != "" {
				r.c.note(fn.Pos, "%s calls %s, which blocks on a connection: not cancellable: %s", fn.Name, fn.External.Name, why)
				continue
			}
			r.c.note(fn.Pos, "%s calls %s, which blocks on a connection in another package that is not converted: not cancellable", fn.Name, fn.External.Name)
		}
	}
	if len(r.holders) > 0 || r.internal && !r.dialsItself() || len(r.l.Readers) > 0 {
		// (a reader goroutine's package: planReaders said what ctx bounds)
		// an internal package reads and writes what the client hands it,
		// on connections the client's operations watch
		return
	}
	var first *iodetect.Site
	n, dials := 0, 0
	for _, s := range r.l.Sites {
		if !s.Seeds() || s.Kind == iodetect.KindDeadline || strings.HasSuffix(s.Pos.Filename, "_test.go") {
			continue
		}
		if s.Kind == iodetect.KindDial {
			dials++
			continue
		}
		if first == nil {
			first = s
		}
		n++
	}
	dialNote := ""
	if dials > 0 {
		dialNote = "; only the dials follow ctx"
	}
	switch {
	case first != nil && r.c.sequenced:
		r.c.note(first.Pos, "%d I/O calls on connections without deadlines to interrupt them: the exported operations that sequence them with textproto.Pipeline run detached when ctx can end (the caller returns ctx.Err(); the exchange completes on its own goroutine)", n)
	case first != nil:
		r.c.note(first.Pos, "%d I/O calls on connections are not cancellable: the converter interrupts I/O through a connection with deadlines (SetDeadline, Close) kept in a struct field, and this package keeps none%s", n, dialNote)
	}
}

// dialsItself reports whether the package dials connections of its own
// (not only reads and writes what it is handed).
func (r *pkgRewriter) dialsItself() bool {
	for _, s := range r.l.Sites {
		if s.Kind == iodetect.KindDial && s.Side&iodetect.Client != 0 {
			return true
		}
	}
	return false
}
