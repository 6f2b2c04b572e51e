package rewrite

import (
	"fmt"
	"go/ast"
	"go/types"

	"github.com/dave/dst"
)

// call passes ctx to a call of an async function, and converts a blocking
// call. A call from code without a ctx of its own to an exported function
// keeps calling the old form, which is the same thing. It reports
// whether it edited the call.
func (r *pkgRewriter) call(call *ast.CallExpr, src ctxSource) bool {
	fun := unwrapFun(call.Fun)
	fn, methodExpr := r.callee(fun)
	if r.ifaceCall(call, fn, src) {
		// through an interface whose companion has the Context form
		if _, ok := r.shareSites[call]; ok {
			r.shareDial(call, src)
		}
		return true
	}
	edited := false
	if r.activeSlotCall(call) {
		dcall := r.dst(call).(*dst.CallExpr)
		if sig, ok := r.info.TypeOf(fun).(*types.Signature); ok && r.spreadsResults(call) {
			dcall.Fun = r.ctxClosure(fun, sig, false, nil, nil, src)
		} else {
			dcall.Args = append([]dst.Expr{src.expr()}, dcall.Args...)
		}
		edited = true
	}
	if p := r.planOf(fn); p != nil && !(src.background && p.wrapper) && r.spreadsResults(call) {
		// f(g()) with g's several results: f(ctx, g()) is not Go, so f
		// becomes a closure of its old type that passes ctx.
		if sig, ok := r.info.TypeOf(fun).(*types.Signature); ok {
			r.dst(call).(*dst.CallExpr).Fun = r.ctxClosure(fun, sig, methodExpr, fn, p, src)
			edited = true
		}
	} else if p != nil && !(src.background && p.wrapper) {
		dcall := r.dst(call).(*dst.CallExpr)
		at := 0
		if methodExpr {
			at = 1
		}
		args := append([]dst.Expr{}, dcall.Args[:at]...)
		args = append(args, src.expr())
		dcall.Args = append(args, dcall.Args[at:]...)
		if p.wrapper {
			name := p.newName
			if r.flatCall(call, r.curFunc, p) {
				name = p.body
			}
			rename(r.dst(fun), name)
		}
		edited = true
	}
	if src.name != "" && r.detachedContext(call) && !r.readerCtx[call] {
		// Code that had no ctx to pass made one up; it has one now.
		r.replace[r.dst(call)] = dst.NewIdent(src.name)
		return true
	}
	if r.pipelineCall(call, src) {
		return true
	}
	if sp := r.calls[call]; sp != nil && sp.ctx {
		edited = r.blocking(call, sp.site, src) || edited
	}
	if _, ok := r.shareSites[call]; ok && r.shareDial(call, src) || len(r.shareSites) > 0 && r.shareReaderCall(call) {
		edited = true
	}
	return edited
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
// It reports whether it edited e.
func (r *pkgRewriter) funcValue(e ast.Expr, src ctxSource) bool {
	fn, recvFirst := r.callee(e)
	edited := r.ifaceValue(e, fn, src) // ifaces.go
	p := r.planOf(fn)
	if p == nil || src.background && p.wrapper {
		return edited
	}
	sig, ok := r.info.TypeOf(e).(*types.Signature)
	if !ok {
		return edited
	}
	r.replace[r.dst(e)] = r.ctxClosure(e, sig, recvFirst, fn, p, src)
	return true
}

// ctxClosure is a function literal of e's old func type sig that calls the
// function e names, planned by p, with src's ctx first (fn nil: e is a slot
// whose type gains ctx, called as it is).
func (r *pkgRewriter) ctxClosure(e ast.Expr, sig *types.Signature, recvFirst bool, fn *types.Func, p *fnPlan, src ctxSource) *dst.FuncLit {
	lit, params := r.adapter(e, sig)
	var target dst.Expr
	switch {
	case fn == nil:
		target = dst.Clone(r.dst(e)).(dst.Expr)
	case recvFirst:
		target = &dst.SelectorExpr{X: params[0], Sel: dst.NewIdent(fn.Name())}
		params = params[1:]
	default:
		target = dst.Clone(r.dst(e)).(dst.Expr)
	}
	if fn != nil && p.wrapper {
		rename(target, p.newName)
	}
	call := &dst.CallExpr{Fun: target, Args: append([]dst.Expr{src.expr()}, params...), Ellipsis: sig.Variadic()}
	if sig.Results().Len() > 0 {
		lit.Body.List = []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{call}}}
	} else {
		lit.Body.List = []dst.Stmt{&dst.ExprStmt{X: call}}
	}
	return lit
}

// spreadsResults reports whether call's only argument is a call whose
// several results become the arguments (f(g())): ctx cannot go before them.
func (r *pkgRewriter) spreadsResults(call *ast.CallExpr) bool {
	if len(call.Args) != 1 {
		return false
	}
	t, ok := r.info.TypeOf(call.Args[0]).(*types.Tuple)
	return ok && t.Len() > 1
}
