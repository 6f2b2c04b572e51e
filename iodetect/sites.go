package iodetect

import (
	"go/ast"
	"go/types"
	"slices"

	"golang.org/x/tools/go/types/typeutil"
)

// Sites: the calls that read, write, dial or set deadlines on a
// conn-derived value, and the call graph between the package's functions.

func (a *analyzer) findSites() {
	a.sites = nil
	a.bindings = make(map[*types.Var]Side)
	for _, fn := range a.funcs {
		fn.calls, fn.ext = nil, nil
	}
	a.goStarts()
	a.goEdges = make(map[[2]*Func]bool)
	a.callEdges = make(map[[2]*Func]bool)
	a.eachBody(func(fn *Func, n ast.Node) {
		switch n := n.(type) {
		case *ast.CallExpr:
			a.classify(fn, n)
			for _, t := range a.callTargets(n) {
				a.edge(fn, t.fn)
				if a.goCalls[n] != nil {
					// started, not called: a reader's go statement is no
					// edge (replywait.go drops it)
					a.goEdges[[2]*Func{fn, t.fn}] = true
				} else {
					a.callEdges[[2]*Func{fn, t.fn}] = true
				}
			}
			if a.goCalls[n] != nil {
				break
			}
			if callee, ok := typeutil.Callee(a.info, n).(*types.Func); ok && callee.Pkg() != a.pkg && callee.Pkg() != nil {
				a.bindExternal(n, callee.Origin())
				if a.cfg.ExternalAsync != nil {
					if ext := a.cfg.ExternalAsync(callee.Origin()); ext != nil {
						fn.ext = append(fn.ext, ext)
					}
				}
			}
		case *ast.FuncLit:
			a.edge(fn, a.byLit[n])
			if a.goLits[n] {
				a.goEdges[[2]*Func{fn, a.byLit[n]}] = true
			} else {
				a.callEdges[[2]*Func{fn, a.byLit[n]}] = true
			}
		case *ast.Ident, *ast.SelectorExpr:
			// a function referred to as a value is handed to someone who calls it
			if !a.called(n) {
				for _, r := range a.eval1(n.(ast.Expr)).funcs {
					a.edge(fn, r.fn)
				}
				a.externalValue(fn, n.(ast.Expr))
			}
		}
	})
	a.findDetached()
	a.findReplyWaits()
	slices.SortStableFunc(a.sites, func(x, y *Site) int { return comparePos(x.Pos, y.Pos) })
}

// externalValue records a function of another package referred to as a
// value (proto.ReadReply handed to a caller, or kept in a local and
// called): like a call of it, it makes fn async when that function is.
func (a *analyzer) externalValue(fn *Func, e ast.Expr) {
	if a.cfg.ExternalAsync == nil {
		return
	}
	id, _ := e.(*ast.Ident)
	if sel, ok := e.(*ast.SelectorExpr); ok {
		id = sel.Sel
	}
	if id == nil {
		return
	}
	f, _ := a.info.Uses[id].(*types.Func)
	if f == nil || f.Pkg() == nil || f.Pkg() == a.pkg {
		return
	}
	if ext := a.cfg.ExternalAsync(f.Origin()); ext != nil && !slices.Contains(fn.ext, ext) {
		fn.ext = append(fn.ext, ext)
	}
}

// bindExternal records the conn-derived values a call passes to a function
// of another package, as that function's parameters (and receiver).
func (a *analyzer) bindExternal(call *ast.CallExpr, callee *types.Func) {
	sig := callee.Type().(*types.Signature)
	bind := func(v *types.Var, side Side) {
		if v != nil && side != 0 {
			a.bindings[v] |= side
		}
	}
	if sig.Recv() != nil {
		bind(sig.Recv(), a.recvVal(call).side)
	}
	params := sig.Params()
	for i, v := range a.evalArgs(call) {
		switch {
		case i < params.Len()-1 || (i < params.Len() && !sig.Variadic()):
			bind(params.At(i), v.side)
		case sig.Variadic() && params.Len() > 0:
			bind(params.At(params.Len()-1), v.side)
		}
	}
}

func (a *analyzer) edge(from, to *Func) {
	if to != nil && !slices.Contains(from.calls, to) {
		from.calls = append(from.calls, to)
	}
}

// called reports whether an identifier or selector is the function part of a
// call (or the selector part of one), rather than a function value.
func (a *analyzer) called(n ast.Node) bool {
	if a.calledFuns == nil {
		a.calledFuns = make(map[ast.Node]bool)
		for _, f := range a.files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					fun := ast.Unparen(n.Fun)
					a.calledFuns[fun] = true
					if ix, ok := fun.(*ast.IndexExpr); ok { // F[T](...)
						a.calledFuns[ast.Unparen(ix.X)] = true
					} else if ix, ok := fun.(*ast.IndexListExpr); ok {
						a.calledFuns[ast.Unparen(ix.X)] = true
					}
				case *ast.SelectorExpr:
					a.calledFuns[n.Sel] = true // x.F: F is part of the selector
				}
				return true
			})
		}
	}
	return a.calledFuns[n]
}

// classify records the call as a site if it blocks or touches a connection.
func (a *analyzer) classify(fn *Func, call *ast.CallExpr) {
	site := func(kind Kind, callee, on string, side Side) {
		if a.serverOnly(side) {
			// a connection from a listener's Accept reaches here: server
			// code, whatever connections handed to the package reach it (net/rpc's
			// ServeConn, exported and also called by Accept)
			side = Server
		}
		a.sites = append(a.sites, &Site{Call: call, Node: call, Pos: a.fset.Position(call.Lparen), Kind: kind,
			Callee: callee, On: on, Func: fn, Side: side})
	}
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
		if id, ok := sel.X.(*ast.Ident); ok {
			if pn, ok := a.info.Uses[id].(*types.PkgName); ok && pn.Imported().Path() == "C" {
				site(KindCgo, "C."+sel.Sel.Name, "", 0)
				return
			}
		}
	}
	switch callee := typeutil.Callee(a.info, call).(type) {
	case *types.Func:
		if a.ifaceDial(callee) {
			site(KindDial, a.calleeName(callee), a.recvText(call), Client)
			return
		}
		if callee.Pkg() == a.pkg || callee.Pkg() == nil {
			return
		}
		name := a.calleeName(callee)
		sig := callee.Type().(*types.Signature)
		if k := a.cfg.Overrides.blockingRule(callee); k != "" {
			var side Side
			if k.seeds() {
				side = Client
			}
			on := ""
			if sig.Recv() != nil {
				on = a.recvText(call)
			}
			site(k, name, on, side)
			return
		}
		if sig.Recv() == nil {
			key := callee.Pkg().Path() + "." + callee.Name()
			if dialFuncs[key] {
				site(KindDial, name, "", Client)
				return
			}
			if k := blockingFuncs[key]; k != "" {
				site(k, name, "", 0)
				return
			}
			if keepsIO[key] {
				return
			}
			a.classifyIOFunc(call, sig, func(k Kind, on string, side Side) { site(k, name, on, side) })
			return
		}
		recv := namedKey(sig.Recv().Type())
		if dialMethods[recv+"."+callee.Name()] {
			site(KindDial, name, "", Client)
			return
		}
		if isAccept(callee) {
			site(KindAccept, name, a.recvText(call), Server)
			return
		}
		if f := blockingMethods[recv]; f != nil {
			if k := f(callee.Name()); k != "" {
				site(k, name, a.recvText(call), 0)
			}
			return
		}
		side := a.recvVal(call).side
		if side == 0 {
			return
		}
		if k := methodKind(recv, callee); k != "" {
			site(k, name, a.recvText(call), side)
		}
	case *types.Var:
		// a call through a func-typed field, parameter or variable
		sig, _ := callee.Type().Underlying().(*types.Signature)
		if sig != nil && a.dialShaped(sig) {
			site(KindDial, types.ExprString(call.Fun), "", Client)
		}
	}
}

// classifyIOFunc records a library function given a conn-derived value for
// an io.Reader or io.Writer parameter (io.ReadFull, fmt.Fprintf, binary.Read).
// Wrappers, which return something that reads or writes, are not sites.
func (a *analyzer) classifyIOFunc(call *ast.CallExpr, sig *types.Signature, site func(Kind, string, Side)) {
	for i := 0; i < sig.Results().Len(); i++ {
		if ioCapable(sig.Results().At(i).Type()) {
			return
		}
	}
	params := sig.Params()
	for i, arg := range call.Args {
		if params.Len() == 0 {
			return
		}
		var pt types.Type
		if i < params.Len()-1 || !sig.Variadic() {
			if i >= params.Len() {
				return
			}
			pt = params.At(i).Type()
		} else {
			pt = params.At(params.Len() - 1).Type().(*types.Slice).Elem()
		}
		side := a.eval(arg).side
		if side == 0 {
			continue
		}
		if k := ioParamKind(pt); k != "" {
			site(k, types.ExprString(arg), side)
			return
		}
	}
}

// recvVal is what the receiver of a method call may hold, including the
// embedded fields the method is promoted through.
func (a *analyzer) recvVal(call *ast.CallExpr) val {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return val{}
	}
	s := a.info.Selections[sel]
	if s == nil {
		return val{}
	}
	if s.Kind() == types.MethodExpr {
		if len(call.Args) > 0 {
			return a.eval(call.Args[0])
		}
		return val{}
	}
	return a.eval(sel.X).union(a.pathVal(s, sel.X))
}

func (a *analyzer) recvText(call *ast.CallExpr) string {
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
		if s := a.info.Selections[sel]; s != nil && s.Kind() == types.MethodExpr && len(call.Args) > 0 {
			return types.ExprString(call.Args[0])
		}
		return types.ExprString(sel.X)
	}
	return ""
}

// calleeName names a library function the usual way: "fmt.Fprintf",
// "(*bufio.Reader).ReadSlice", "net.Conn.Read".
func (a *analyzer) calleeName(f *types.Func) string {
	sig := f.Type().(*types.Signature)
	if sig.Recv() == nil {
		return f.Pkg().Name() + "." + f.Name()
	}
	t := sig.Recv().Type()
	ptr := false
	if p, ok := t.(*types.Pointer); ok {
		t, ptr = p.Elem(), true
	}
	s := types.TypeString(t, func(p *types.Package) string { return p.Name() })
	if ptr {
		return "(*" + s + ")." + f.Name()
	}
	return s + "." + f.Name()
}
