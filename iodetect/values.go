package iodetect

import (
	"go/ast"
	"go/token"
	"go/types"
	"slices"

	"golang.org/x/tools/go/types/typeutil"
)

// Value flow: which variables hold conn-derived values or function values,
// through assignments, fields, parameters, results and calls.

func (a *analyzer) valOf(obj types.Object) val {
	if v := a.vals[obj]; v != nil {
		return *v
	}
	return val{}
}

func (a *analyzer) merge(obj types.Object, v val) {
	if obj == nil || v.empty() {
		return
	}
	if obj.Name() == "_" {
		return
	}
	old := a.vals[obj]
	if old == nil {
		old = &val{}
		a.vals[obj] = old
	}
	n := old.union(v)
	if n.side != old.side || len(n.funcs) != len(old.funcs) || len(n.chans) != len(old.chans) || len(n.mems) != len(old.mems) {
		*old = n
		a.changed = true
	}
}

// propagate pushes values through assignments, calls, returns, composite
// literals, ranges and sends until nothing changes.
func (a *analyzer) propagate() {
	for i := 0; i < 100; i++ {
		a.changed = false
		a.eachBody(a.propagateNode)
		if !a.changed {
			return
		}
	}
}

func (a *analyzer) propagateNode(fn *Func, n ast.Node) {
	switch n := n.(type) {
	case *ast.AssignStmt:
		if n.Tok != token.ASSIGN && n.Tok != token.DEFINE {
			return
		}
		a.assignAll(n.Lhs, n.Rhs)
	case *ast.ValueSpec:
		lhs := make([]ast.Expr, len(n.Names))
		for i, id := range n.Names {
			lhs[i] = id
		}
		a.assignAll(lhs, n.Values)
	case *ast.RangeStmt:
		v := a.eval(n.X)
		if n.Value != nil {
			a.assign(n.Value, v)
		} else if n.Key != nil {
			if _, ok := under(a.info.TypeOf(n.X)).(*types.Chan); ok {
				a.assign(n.Key, v)
			}
		}
	case *ast.SendStmt:
		a.assign(n.Chan, a.eval(n.Value))
	case *ast.ReturnStmt:
		sig := a.sig(fn)
		if sig == nil || len(n.Results) == 0 {
			return
		}
		vs := a.evalList(n.Results, sig.Results().Len())
		for i, v := range vs {
			a.merge(sig.Results().At(i), v)
		}
	case *ast.CompositeLit:
		a.fillStruct(n)
	case *ast.CallExpr:
		a.bindArgs(n)
	}
}

func (a *analyzer) assignAll(lhs, rhs []ast.Expr) {
	vs := a.evalList(rhs, len(lhs))
	for i, l := range lhs {
		if i < len(vs) {
			a.assign(l, vs[i])
		}
	}
}

// evalList evaluates expressions that produce n values: n expressions, or one
// call (or comma-ok form) with n results.
func (a *analyzer) evalList(es []ast.Expr, n int) []val {
	if len(es) == n {
		vs := make([]val, n)
		for i, e := range es {
			vs[i] = a.eval(e)
		}
		return vs
	}
	if len(es) == 1 && n > 0 {
		if call, ok := ast.Unparen(es[0]).(*ast.CallExpr); ok {
			return a.evalCall(call)
		}
		// v, ok := m[k] / x.(T) / <-ch
		vs := make([]val, n)
		vs[0] = a.eval(es[0])
		return vs
	}
	return nil
}

// assign records that the place written by lhs may hold v.
func (a *analyzer) assign(lhs ast.Expr, v val) {
	switch l := ast.Unparen(lhs).(type) {
	case *ast.Ident:
		obj := a.info.Defs[l]
		if obj == nil {
			obj = a.info.Uses[l]
		}
		if _, ok := obj.(*types.Var); ok {
			a.merge(obj, v)
		}
	case *ast.SelectorExpr:
		if sel := a.info.Selections[l]; sel != nil {
			if sel.Kind() == types.FieldVal {
				a.merge(sel.Obj(), v)
			}
			return
		}
		a.merge(a.info.Uses[l.Sel], v)
	case *ast.IndexExpr:
		a.assign(l.X, v) // a container holds what is put in it
	case *ast.StarExpr:
		a.assign(l.X, v)
	}
}

// fillStruct records what the fields of a struct literal of a local type hold.
func (a *analyzer) fillStruct(lit *ast.CompositeLit) {
	t := a.info.TypeOf(lit)
	if t == nil {
		return
	}
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return
	}
	for i, elt := range lit.Elts {
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok {
				for j := 0; j < st.NumFields(); j++ {
					if st.Field(j).Name() == id.Name {
						a.merge(st.Field(j), a.eval(kv.Value))
					}
				}
			}
		} else if i < st.NumFields() {
			a.merge(st.Field(i), a.eval(elt))
		}
	}
}

// bindArgs records what the parameters of the functions a call may reach
// receive.
func (a *analyzer) bindArgs(call *ast.CallExpr) {
	targets := a.callTargets(call)
	if len(targets) == 0 {
		return
	}
	args := a.evalArgs(call)
	for _, t := range targets {
		sig := a.sig(t.fn)
		if sig == nil {
			continue
		}
		args := args
		if t.recvFirst && len(args) > 0 {
			if sig.Recv() != nil {
				a.merge(sig.Recv(), args[0])
			}
			args = args[1:]
		}
		params := sig.Params()
		for i, v := range args {
			switch {
			case i < params.Len()-1 || (i < params.Len() && !sig.Variadic()):
				a.merge(params.At(i), v)
			case sig.Variadic() && params.Len() > 0:
				a.merge(params.At(params.Len()-1), v)
			}
		}
	}
}

// evalArgs evaluates a call's arguments, spreading f(g()).
func (a *analyzer) evalArgs(call *ast.CallExpr) []val {
	if len(call.Args) == 1 {
		if tup, ok := a.info.TypeOf(call.Args[0]).(*types.Tuple); ok {
			return a.evalList(call.Args, tup.Len())
		}
	}
	vs := make([]val, len(call.Args))
	for i, e := range call.Args {
		vs[i] = a.eval(e)
	}
	return vs
}

// callTargets lists the functions of this package a call may run: a static
// callee, the implementations of a method of an interface declared here, or
// the function values that may reach a func-typed variable, field or parameter.
func (a *analyzer) callTargets(call *ast.CallExpr) []funcRef {
	switch callee := typeutil.Callee(a.info, call).(type) {
	case *types.Func:
		callee = callee.Origin()
		if fn := a.byObj[callee]; fn != nil {
			if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
				if s := a.info.Selections[sel]; s != nil && s.Kind() == types.MethodExpr {
					return []funcRef{{fn, true}}
				}
			}
			return []funcRef{{fn: fn}}
		}
		if recv := callee.Type().(*types.Signature).Recv(); recv != nil && types.IsInterface(recv.Type()) {
			var refs []funcRef
			for _, impl := range a.implsOf(callee) {
				refs = append(refs, funcRef{fn: impl})
			}
			return refs
		}
		return nil
	case *types.Builtin, *types.TypeName:
		return nil
	}
	return a.eval(call.Fun).funcs
}

// implsOf lists the methods of types declared in this package that implement
// an interface method declared in this package.
func (a *analyzer) implsOf(m *types.Func) []*Func {
	if impls, ok := a.impls[m]; ok {
		return impls
	}
	var impls []*Func
	recv := m.Type().(*types.Signature).Recv().Type()
	iface, _ := recv.Underlying().(*types.Interface)
	if named, ok := types.Unalias(recv).(*types.Named); iface != nil && ok && named.Obj().Pkg() == a.pkg {
		scope := a.pkg.Scope()
		for _, name := range scope.Names() {
			tn, ok := scope.Lookup(name).(*types.TypeName)
			if !ok || types.IsInterface(tn.Type()) {
				continue
			}
			for _, t := range []types.Type{tn.Type(), types.NewPointer(tn.Type())} {
				if !types.Implements(t, iface) {
					continue
				}
				obj, _, _ := types.LookupFieldOrMethod(t, true, a.pkg, m.Name())
				if f, ok := obj.(*types.Func); ok {
					if fn := a.byObj[f.Origin()]; fn != nil && !slices.Contains(impls, fn) {
						impls = append(impls, fn)
					}
				}
				break
			}
		}
	}
	a.impls[m] = impls
	return impls
}

// eval says what an expression may hold.
func (a *analyzer) eval(e ast.Expr) val {
	v := a.eval1(e)
	t := a.info.TypeOf(e)
	if t != nil && a.isConnType(t) {
		v.side |= Client
	}
	if len(v.chans) > 0 && (t == nil || !holdsChan(t)) {
		v.chans = nil // a value received from a channel is not the channel
	}
	return v
}

// isConnType reports whether t is (a pointer to) a local type whose Read or
// Write is async.
func (a *analyzer) isConnType(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && a.connTypes[n.Origin().Obj()] || a.cfg.Overrides.connTypeRule(t, a.pkg)
}

func (a *analyzer) eval1(e ast.Expr) val {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return a.eval(e.X)
	case *ast.Ident:
		return a.evalObj(a.info.Uses[e])
	case *ast.SelectorExpr:
		sel := a.info.Selections[e]
		if sel == nil {
			return a.evalObj(a.info.Uses[e.Sel])
		}
		switch sel.Kind() {
		case types.FieldVal:
			v := a.valOf(sel.Obj()).union(a.pathVal(sel, e.X))
			if sel.Obj().Pkg() != a.pkg {
				// a field of a library type (rw.Reader of a bufio.ReadWriter)
				// wraps the same connection as the value it is selected from
				v.side |= a.eval(e.X).side
			}
			return v
		case types.MethodVal:
			var v val
			m := sel.Obj().(*types.Func)
			if fn := a.byObj[m.Origin()]; fn != nil {
				v.funcs = append(v.funcs, funcRef{fn: fn})
			} else if types.IsInterface(sel.Recv()) {
				for _, impl := range a.implsOf(m) {
					v.funcs = append(v.funcs, funcRef{fn: impl})
				}
			}
			return v
		case types.MethodExpr:
			if fn := a.byObj[sel.Obj().(*types.Func).Origin()]; fn != nil {
				return val{funcs: []funcRef{{fn, true}}}
			}
		}
	case *ast.StarExpr:
		return a.eval(e.X)
	case *ast.UnaryExpr:
		if e.Op == token.AND || e.Op == token.ARROW {
			return a.eval(e.X)
		}
	case *ast.IndexExpr:
		return a.eval(e.X)
	case *ast.IndexListExpr:
		return a.eval(e.X)
	case *ast.SliceExpr:
		return a.eval(e.X)
	case *ast.TypeAssertExpr:
		return a.eval(e.X)
	case *ast.KeyValueExpr:
		return a.eval(e.Value)
	case *ast.FuncLit:
		if fn := a.byLit[e]; fn != nil {
			return val{funcs: []funcRef{{fn: fn}}}
		}
	case *ast.CompositeLit:
		t := a.info.TypeOf(e)
		if t == nil {
			return val{}
		}
		if n, ok := types.Unalias(t).(*types.Named); ok && n.Obj().Pkg() == a.pkg {
			if _, ok := n.Underlying().(*types.Struct); ok {
				return val{} // its fields hold the values (fillStruct)
			}
		}
		var v val
		for _, elt := range e.Elts {
			v = v.union(a.eval(elt))
		}
		return v
	case *ast.CallExpr:
		if vs := a.evalCall(e); len(vs) > 0 {
			return vs[0]
		}
	}
	return val{}
}

func (a *analyzer) evalObj(obj types.Object) val {
	switch obj := obj.(type) {
	case *types.Var:
		return a.valOf(obj)
	case *types.Func:
		if fn := a.byObj[obj.Origin()]; fn != nil {
			return val{funcs: []funcRef{{fn: fn}}}
		}
	}
	return val{}
}

// pathVal is what the embedded fields a selection goes through hold: calling
// Read on a struct embedding a net.Conn reads from that connection.
func (a *analyzer) pathVal(sel *types.Selection, x ast.Expr) val {
	var v val
	t := a.info.TypeOf(x)
	if t == nil {
		return v
	}
	idx := sel.Index()
	for _, i := range idx[:len(idx)-1] {
		if p, ok := t.Underlying().(*types.Pointer); ok {
			t = p.Elem()
		}
		st, ok := t.Underlying().(*types.Struct)
		if !ok {
			break
		}
		f := st.Field(i)
		v = v.union(a.valOf(f))
		t = f.Type()
	}
	return v
}

// evalCall says what each result of a call may hold.
func (a *analyzer) evalCall(call *ast.CallExpr) []val {
	if tv, ok := a.info.Types[call.Fun]; ok && tv.IsType() {
		if len(call.Args) == 1 {
			return []val{a.eval(call.Args[0])} // conversion
		}
		return nil
	}
	sig, _ := under(a.info.TypeOf(call.Fun)).(*types.Signature)
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
		if b, ok := a.info.Uses[id].(*types.Builtin); ok {
			if b.Name() == "make" {
				if _, ok := under(a.info.TypeOf(call)).(*types.Chan); ok {
					return []val{{chans: []*ast.CallExpr{call}}}
				}
				return nil
			}
			if b.Name() == "append" {
				var v val
				for _, arg := range call.Args {
					v = v.union(a.eval(arg))
				}
				return []val{v}
			}
			return nil
		}
	}
	if sig == nil {
		return nil
	}
	res := sig.Results()
	vs := make([]val, res.Len())
	targets := a.callTargets(call)
	for _, t := range targets {
		if ts := a.sig(t.fn); ts != nil {
			for i := 0; i < ts.Results().Len() && i < len(vs); i++ {
				vs[i] = vs[i].union(a.valOf(ts.Results().At(i)))
			}
		}
	}
	callee, _ := typeutil.Callee(a.info, call).(*types.Func)
	switch {
	case callee != nil && a.ifaceDial(callee):
		// a dial through the client's own dialer interface
		vs[0].side |= Client | Dialed
	case callee != nil && callee.Pkg() != a.pkg && len(targets) == 0:
		// A library call: a new connection from a dialer or a listener, or a
		// wrapper around its operands (bufio.NewReader(nc), tls.Client(nc, cfg)).
		var side Side
		switch {
		case isDial(callee), isPacketListen(callee):
			side = Client | Dialed
		case isAccept(callee):
			side = Server
			a.accepts = true
		default:
			for _, arg := range a.evalArgs(call) {
				side |= arg.side
			}
			if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && a.info.Selections[sel] != nil {
				side |= a.eval(sel.X).side | a.pathVal(a.info.Selections[sel], sel.X).side
			}
		}
		for i := range vs {
			if ioCapable(res.At(i).Type()) {
				vs[i].side |= side
			}
		}
	case callee == nil && a.dialShaped(sig):
		// a call through a func-typed field, parameter or variable that
		// returns a connection: a dial function the user configured
		vs[0].side |= Client | Dialed
	}
	return vs
}
