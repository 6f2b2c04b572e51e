package rewrite

import (
	"fmt"
	"go/ast"
	"go/types"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/dave/dst"
	"github.com/dave/dst/dstutil"
)

// rewrite applies every rule to every declaration of the package.
func (r *pkgRewriter) rewrite() {
	defer r.noteUnwatched()
	r.retypeSlots()
	for i, f := range r.ast {
		if r.generated[f] {
			continue
		}
		df := r.files[i]
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				r.rewriteFunc(df, d)
			case *ast.GenDecl:
				// package-level initialisers
				r.walk(df, d, ctxSource{background: true})
			}
		}
		if len(r.replace) > 0 {
			dstutil.Apply(df, func(c *dstutil.Cursor) bool {
				if n, ok := r.replace[c.Node()]; ok {
					c.Replace(n)
					delete(r.replace, c.Node())
					r.modified[df] = true
					return false
				}
				return true
			}, nil)
		}
	}
}

func (r *pkgRewriter) rewriteFunc(df *dst.File, fd *ast.FuncDecl) {
	if fd.Body == nil {
		return
	}
	r.curFunc = fd
	defer func() { r.curFunc = nil }()
	obj, _ := r.info.Defs[fd.Name].(*types.Func)
	p := r.c.plans[obj.FullName()]
	if p == nil {
		r.walk(df, fd.Body, ctxSource{background: true})
		return
	}
	dfd := r.dst(fd).(*dst.FuncDecl)
	var wrapper *dst.FuncDecl
	if p.wrapper {
		wrapper = r.makeWrapper(dfd, fd, p)
	}
	r.walk(df, fd.Body, p.src)
	if p.src.name != "" {
		r.watch(dfd, fd, p)
	}
	if p.addParam {
		ctxField := &dst.Field{Names: []*dst.Ident{dst.NewIdent(p.src.name)}, Type: contextType()}
		for _, f := range dfd.Type.Params.List {
			if len(f.Names) == 0 { // parameters are all named or all unnamed
				f.Names = []*dst.Ident{dst.NewIdent("_")}
			}
		}
		dfd.Type.Params.List = append([]*dst.Field{ctxField}, dfd.Type.Params.List...)
		r.modified[df] = true
	}
	if wrapper != nil {
		r.mapErrors(dfd, fd, p)
		r.sequence(dfd, fd, p)
		dfd.Name.Name = p.newName
		added := []dst.Decl{wrapper, dfd}
		if len(r.shareSites) > 0 {
			if f := r.makeRunOp(wrapper, dfd, fd, p); f != nil {
				added = []dst.Decl{wrapper, f, dfd}
			}
		}
		added = append(added, r.makeAsync(wrapper, fd, p)...)
		for i, d := range df.Decls {
			if d == dfd {
				df.Decls = append(df.Decls[:i], append(added, df.Decls[i+1:]...)...)
				break
			}
		}
	}
}

// walk rewrites the calls, function values and blocking calls under root,
// whose ctx comes from src. Function literals capture the enclosing ctx,
// except that one with a testing parameter or an *http.Request uses its
// own, and one passed to t.Cleanup runs after the test's context is
// cancelled.
func (r *pkgRewriter) walk(df *dst.File, root ast.Node, src ctxSource) {
	called := make(map[ast.Expr]bool)
	cleanup := make(map[*ast.FuncLit]bool)
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
					addCtxParam(r.dst(n).(*dst.FuncLit).Type, name, true)
					r.modified[df] = true
					visit(n.Body, ctxSource{name: name})
					return false
				}
				if t := r.testingParam(n.Type); t != "" {
					litSrc = r.testSource(t)
				} else if req := r.requestParam(n.Type); req != "" {
					litSrc = ctxSource{request: req}
				} else if cleanup[n] {
					litSrc = ctxSource{background: true}
				} else if stored[n] && (!src.background || src.unused) && src.testVar == "" {
					// called after the function that made it returned, when its
					// ctx may have ended: its calls must not use that ctx
					litSrc = ctxSource{background: true, stored: true}
					if r.callsAsync(n.Body) {
						r.c.note(r.fset.Position(n.Pos()), "a function literal stored to be called later, when the ctx in scope here may have ended: its calls use context.Background() and are not cancellable%s", r.why(n))
					}
				}
				visit(n.Body, litSrc)
				return false
			case *ast.CallExpr:
				called[unwrapFun(n.Fun)] = true
				if isCleanup(r.info, n) {
					for _, a := range n.Args {
						if lit, ok := a.(*ast.FuncLit); ok {
							cleanup[lit] = true
						}
					}
				}
				r.call(df, n, src)
			case *ast.SelectorExpr:
				if r.activeFlow(n) != nil {
					r.slotValue(df, n)
				} else if !called[n] {
					r.funcValue(df, n, storedSource(src, stored[n]))
				}
				visit(n.X, src)
				return false
			case *ast.Ident:
				if r.activeFlow(n) != nil {
					r.slotValue(df, n)
				} else if !called[n] {
					r.funcValue(df, n, storedSource(src, stored[n]))
				}
			}
			return true
		})
	}
	visit(root, src)
}

// markStored records in stored the expressions under n that keep a function
// value to be called later, after the function that holds the current ctx
// may have returned: assigned to a field, an element or a package-level
// variable, put in a composite literal, returned, or sent on a channel.
// (Assigned to a local variable, a value is taken to be called while the
// function runs.)
func (r *pkgRewriter) markStored(n ast.Node, stored map[ast.Expr]bool) {
	mark := func(e ast.Expr) {
		e = ast.Unparen(e)
		if _, ok := r.info.TypeOf(e).Underlying().(*types.Signature); ok {
			stored[e] = true
		}
	}
	switch n := n.(type) {
	case *ast.AssignStmt:
		if len(n.Lhs) != len(n.Rhs) {
			return
		}
		for i, lhs := range n.Lhs {
			if id, ok := ast.Unparen(lhs).(*ast.Ident); ok {
				v, _ := r.info.ObjectOf(id).(*types.Var)
				if v == nil || v.Parent() != v.Pkg().Scope() {
					continue // a local: called while the function runs
				}
			}
			mark(n.Rhs[i])
		}
	case *ast.CompositeLit:
		for _, elt := range n.Elts {
			if kv, ok := elt.(*ast.KeyValueExpr); ok {
				elt = kv.Value
			}
			mark(elt)
		}
	case *ast.ReturnStmt:
		for _, res := range n.Results {
			mark(res)
		}
	case *ast.SendStmt:
		mark(n.Value)
	}
}

// callsAsync reports whether body calls, or refers to, a function that
// takes ctx after the conversion.
func (r *pkgRewriter) callsAsync(body ast.Node) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if found {
			return false
		}
		if e, ok := n.(ast.Expr); ok {
			if fn, _ := r.callee(e); fn != nil && r.planOf(fn) != nil {
				found = true
			}
		}
		if call, ok := n.(*ast.CallExpr); ok && r.activeSlotCall(call) {
			found = true
		}
		return true
	})
	return found
}

// storedSource is the ctx source for a function value that is stored to be
// called later: not the current ctx, which may have ended by then.
// A test's ctx lasts as long as the test, so values stored in a test keep
// it.
func storedSource(src ctxSource, stored bool) ctxSource {
	if !stored || src.background && !src.unused || src.testVar != "" {
		return src
	}
	return ctxSource{background: true, stored: true}
}

// unwrapFun strips parentheses and type arguments from a call's function.
func unwrapFun(e ast.Expr) ast.Expr {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		default:
			return e
		}
	}
}

func isCleanup(info *types.Info, call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Cleanup" {
		return false
	}
	fn, ok := info.Uses[sel.Sel].(*types.Func)
	return ok && fn.Pkg() != nil && fn.Pkg().Path() == "testing"
}

// callee returns the function that e names, and whether e is a method
// expression (whose receiver is then the first argument).
func (r *pkgRewriter) callee(e ast.Expr) (*types.Func, bool) {
	switch e := e.(type) {
	case *ast.Ident:
		fn, _ := r.info.Uses[e].(*types.Func)
		return fn, false
	case *ast.SelectorExpr:
		fn, _ := r.info.Uses[e.Sel].(*types.Func)
		sel := r.info.Selections[e]
		return fn, sel != nil && sel.Kind() == types.MethodExpr
	}
	return nil, false
}

// planOf returns the plan of a function whose signature gains ctx.
func (r *pkgRewriter) planOf(fn *types.Func) *fnPlan {
	if fn == nil {
		return nil
	}
	p := r.c.plans[fn.Origin().FullName()]
	if p == nil || !p.addParam {
		return nil
	}
	return p
}

// call passes ctx to a call of an async function, and converts a blocking
// call. A call from code without a ctx of its own to an exported function
// keeps calling the old form, which is the same thing.
func (r *pkgRewriter) call(df *dst.File, call *ast.CallExpr, src ctxSource) {
	fun := unwrapFun(call.Fun)
	fn, methodExpr := r.callee(fun)
	if p := r.planOf(fn); p != nil && src.fixed != "" {
		r.c.note(r.fset.Position(call.Pos()), "the call of %s is not cancellable: %s", p.fn.Name, src.fixed)
	}
	if s := r.sites[call]; s != nil && s.Seeds() && src.fixed != "" {
		r.c.note(s.Pos, "%s is not cancellable: %s", s.Callee, src.fixed)
	}
	if r.activeSlotCall(call) {
		if src.fixed != "" {
			r.c.note(r.fset.Position(call.Pos()), "the call through %s is not cancellable: %s", r.slots.calls[call].Name(), src.fixed)
		}
		dcall := r.dst(call).(*dst.CallExpr)
		dcall.Args = append([]dst.Expr{src.expr()}, dcall.Args...)
		r.modified[df] = true
	}
	if p := r.planOf(fn); p != nil && !(src.background && p.wrapper) {
		dcall := r.dst(call).(*dst.CallExpr)
		at := 0
		if methodExpr {
			at = 1
		}
		args := append([]dst.Expr{}, dcall.Args[:at]...)
		args = append(args, src.expr())
		dcall.Args = append(args, dcall.Args[at:]...)
		if p.wrapper {
			rename(r.dst(fun), p.newName)
		}
		r.modified[df] = true
	}
	if src.name != "" && r.detachedContext(call) {
		// Code that had no ctx to pass made one up; it has one now.
		r.replace[r.dst(call)] = dst.NewIdent(src.name)
		r.modified[df] = true
		return
	}
	if r.pipelineCall(call, src) {
		r.modified[df] = true
		return
	}
	if site := r.sites[call]; site != nil && !src.background {
		if r.blocking(call, site, src) {
			r.modified[df] = true
		}
	}
	if r.shareSites[call] && r.shareDial(call, src) || len(r.shareSites) > 0 && r.shareReaderCall(call) {
		r.modified[df] = true
	}
}

func rename(n dst.Node, name string) {
	switch n := n.(type) {
	case *dst.Ident:
		n.Name = name
	case *dst.SelectorExpr:
		n.Sel.Name = name
	default:
		panic(fmt.Sprintf("rewrite: cannot rename %T", n))
	}
}

// funcValue replaces a reference to an async function that is not called
// here (a method value, method expression or function name handed to
// someone who calls it) with a closure of the same func type that calls
// it with the enclosing ctx: the callee's parameter type does not change.
func (r *pkgRewriter) funcValue(df *dst.File, e ast.Expr, src ctxSource) {
	fn, recvFirst := r.callee(e)
	p := r.planOf(fn)
	if p == nil || src.background && p.wrapper {
		return
	}
	sig, ok := r.info.TypeOf(e).(*types.Signature)
	if !ok {
		return
	}
	switch {
	case src.stored:
		r.c.note(r.fset.Position(e.Pos()), "%s is stored to be called later, when the ctx in scope here may have ended: its calls use context.Background() and are not cancellable%s", p.fn.Name, r.why(e))
	case src.background:
		r.c.note(r.fset.Position(e.Pos()), "%s is used as a value where no ctx is in scope: its calls use context.Background()", p.fn.Name)
	}
	lit, params := r.adapter(e, sig)
	name := fn.Name()
	if p.wrapper {
		name = p.newName
	}
	var target dst.Expr
	if recvFirst {
		target = &dst.SelectorExpr{X: params[0], Sel: dst.NewIdent(name)}
		params = params[1:]
	} else {
		target = dst.Clone(r.dst(e)).(dst.Expr)
		rename(target, name)
	}
	call := &dst.CallExpr{Fun: target, Args: append([]dst.Expr{src.expr()}, params...), Ellipsis: sig.Variadic()}
	if sig.Results().Len() > 0 {
		lit.Body.List = []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{call}}}
	} else {
		lit.Body.List = []dst.Stmt{&dst.ExprStmt{X: call}}
	}
	r.replace[r.dst(e)] = lit
	r.modified[df] = true
}

func (r *pkgRewriter) dst(n ast.Node) dst.Node {
	d := r.dec.Dst.Nodes[n]
	if d == nil {
		panic(fmt.Sprintf("rewrite: no dst node for %T at %s", n, r.fset.Position(n.Pos())))
	}
	return d
}

// expr is the ctx expression at a use.
func (s ctxSource) expr() dst.Expr {
	switch {
	case s.name != "":
		return dst.NewIdent(s.name)
	case s.testVar != "":
		return &dst.CallExpr{Fun: &dst.SelectorExpr{X: dst.NewIdent(s.testVar), Sel: dst.NewIdent("Context")}}
	case s.request != "":
		return &dst.CallExpr{Fun: &dst.SelectorExpr{X: dst.NewIdent(s.request), Sel: dst.NewIdent("Context")}}
	}
	return &dst.CallExpr{Fun: &dst.Ident{Name: "Background", Path: "context"}}
}

func contextType() dst.Expr { return &dst.Ident{Name: "Context", Path: "context"} }

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

// noteUnwatched reports, once per package, the client I/O that no watcher
// can interrupt: watches (watch.go) interrupt I/O through a connection
// with deadlines kept in a struct field (r.holders), and the package keeps
// none (it keeps a bufio wrapper or an io.ReadWriteCloser, or its
// connections are locals and parameters). Its dials follow ctx.
func (r *pkgRewriter) noteUnwatched() {
	for _, fn := range r.l.Funcs {
		if fn.External != nil && fn.Next == nil && fn.Site == nil && !strings.HasSuffix(fn.Pos.Filename, "_test.go") && r.c.plans[fn.External.Name] == nil && !r.convertedExternal(fn) {
			if why := r.fixedExternal(fn); why != "" {
				r.c.note(fn.Pos, "%s calls %s, which blocks on a connection: not cancellable: %s", fn.Name, fn.External.Name, why)
				continue
			}
			r.c.note(fn.Pos, "%s calls %s, which blocks on a connection in another package that is not converted: not cancellable", fn.Name, fn.External.Name)
		}
	}
	if len(r.holders) > 0 || r.internal && !r.dialsItself() {
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
