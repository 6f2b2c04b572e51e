package iodetect

import (
	"cmp"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strconv"

	"golang.org/x/tools/go/types/typeutil"
)

// Config adjusts Analyze.
type Config struct {
	// ExternalAsync, if set, says whether a function declared in another
	// package is async, and why; calls to it then count as calls to an async
	// function. Nil means no function of another package is.
	ExternalAsync func(*types.Func) *ExternalAsync

	// Seeds are parameters of this package's functions that other packages
	// pass conn-derived values to (Package.Bindings of its importers).
	Seeds map[*types.Var]Side

	// Overrides are the user's configuration; nil for none.
	Overrides *Overrides
}

// Analyze computes the facts of one type-checked package. info must have
// Types, Defs, Uses, Selections and Instances filled in (NewInfo makes one).
func Analyze(fset *token.FileSet, files []*ast.File, pkg *types.Package, info *types.Info, cfg *Config) *Package {
	if cfg == nil {
		cfg = &Config{}
	}
	a := &analyzer{
		fset: fset, files: files, pkg: pkg, info: info, cfg: cfg,
		byObj:     make(map[*types.Func]*Func),
		byLit:     make(map[*ast.FuncLit]*Func),
		vals:      make(map[types.Object]*val),
		connTypes: make(map[*types.TypeName]bool),
		impls:     make(map[*types.Func][]*Func),
	}
	a.collectFuncs()
	for v, side := range cfg.Seeds {
		a.merge(v, val{side: side})
	}
	a.seedConnParams()
	// Local types whose Read or Write turns out to be async carry a
	// connection's bytes too (a type implementing io.Reader over a conn):
	// finding one can make more values conn-derived, so iterate.
	for round := 0; ; round++ {
		a.propagate()
		if round == 0 {
			a.seedUserConns()
			a.propagate()
		}
		a.findSites()
		a.computeAsync()
		if !a.findConnTypes() || round > 4 {
			break
		}
	}
	a.computeModes()
	a.applyShareRules()
	return a.result()
}

type analyzer struct {
	fset  *token.FileSet
	files []*ast.File
	pkg   *types.Package
	info  *types.Info
	cfg   *Config

	funcs []*Func
	byObj map[*types.Func]*Func
	byLit map[*ast.FuncLit]*Func
	init  *Func // package-level variable initialisers

	vals      map[types.Object]*val
	changed   bool
	connTypes map[*types.TypeName]bool
	impls     map[*types.Func][]*Func
	roots     []*Root

	sites      []*Site
	bindings   map[*types.Var]Side
	calledFuns map[ast.Node]bool
}

// funcRef is a function value: a function, method value or closure, or a
// method expression, whose receiver is then its first argument.
type funcRef struct {
	fn        *Func
	recvFirst bool
}

// val is what an expression or a variable may hold.
type val struct {
	side  Side
	funcs []funcRef
}

func (v val) union(w val) val {
	v.side |= w.side
	for _, f := range w.funcs {
		if !slices.Contains(v.funcs, f) {
			v.funcs = append(v.funcs, f)
		}
	}
	return v
}

// collectFuncs makes a node for every declared function and literal.
func (a *analyzer) collectFuncs() {
	a.init = &Func{Name: "init (package variables)"}
	for _, f := range a.files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				obj, _ := a.info.Defs[d.Name].(*types.Func)
				if obj == nil {
					continue
				}
				fn := &Func{Name: declName(d), Obj: obj, Decl: d, Pos: a.fset.Position(d.Pos())}
				a.add(fn)
				a.byObj[obj] = fn
				if d.Body != nil {
					a.collectLits(fn, d.Body)
				}
			case *ast.GenDecl:
				if a.init.Pos.Line == 0 && d.Tok == token.VAR {
					a.init.Pos = a.fset.Position(d.Pos())
				}
				a.collectLits(a.init, d)
			}
		}
	}
	a.add(a.init)
}

func (a *analyzer) add(fn *Func) { a.funcs = append(a.funcs, fn) }

// collectLits names the literals directly inside parent the way the Go
// toolchain does: F.func1, F.func2, and F.func1.1 for one inside F.func1.
func (a *analyzer) collectLits(parent *Func, root ast.Node) {
	n := 0
	ast.Inspect(root, func(node ast.Node) bool {
		lit, ok := node.(*ast.FuncLit)
		if !ok {
			return true
		}
		n++
		name := parent.Name + "." + strconv.Itoa(n)
		if parent.Lit == nil {
			name = parent.Name + ".func" + strconv.Itoa(n)
		}
		fn := &Func{Name: name, Lit: lit, Pos: a.fset.Position(lit.Pos())}
		a.add(fn)
		a.byLit[lit] = fn
		a.collectLits(fn, lit.Body)
		return false
	})
}

// declName is the usual name of a declared function: "F", "T.M", "(*T).M".
func declName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		return "(*" + types.ExprString(star.X) + ")." + d.Name.Name
	}
	return types.ExprString(t) + "." + d.Name.Name
}

// eachBody calls visit for every function node with the syntax of its body.
// Literals are visited as their own nodes, not as part of their parent.
func (a *analyzer) eachBody(visit func(fn *Func, n ast.Node)) {
	var walk func(fn *Func, root ast.Node)
	walk = func(fn *Func, root ast.Node) {
		ast.Inspect(root, func(n ast.Node) bool {
			if lit, ok := n.(*ast.FuncLit); ok && n != root {
				visit(fn, lit) // the enclosing function refers to the literal
				walk(a.byLit[lit], lit)
				return false
			}
			if n != nil {
				visit(fn, n)
			}
			return true
		})
	}
	for _, f := range a.files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if fn := a.byObj[a.defFunc(d)]; fn != nil && d.Body != nil {
					walk(fn, d.Body)
				}
			case *ast.GenDecl:
				if d.Tok == token.VAR {
					walk(a.init, d)
				}
			}
		}
	}
}

func (a *analyzer) defFunc(d *ast.FuncDecl) *types.Func {
	obj, _ := a.info.Defs[d.Name].(*types.Func)
	return obj
}

// sig is the signature of a function node.
func (a *analyzer) sig(fn *Func) *types.Signature {
	switch {
	case fn.Obj != nil:
		return fn.Obj.Type().(*types.Signature)
	case fn.Lit != nil:
		s, _ := a.info.TypeOf(fn.Lit).(*types.Signature)
		return s
	}
	return nil
}

// ---- values: which variables hold conn-derived values or function values ----

func (a *analyzer) valOf(obj types.Object) val {
	if v := a.vals[obj]; v != nil {
		return *v
	}
	return val{}
}

func (a *analyzer) merge(obj types.Object, v val) {
	if obj == nil || (v.side == 0 && len(v.funcs) == 0) {
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
	if n.side != old.side || len(n.funcs) != len(old.funcs) {
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
	if t := a.info.TypeOf(e); t != nil && a.isConnType(t) {
		v.side |= Client
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
	case callee != nil && callee.Pkg() != a.pkg && len(targets) == 0:
		// A library call: a new connection from a dialer or a listener, or a
		// wrapper around its operands (bufio.NewReader(nc), tls.Client(nc, cfg)).
		var side Side
		switch {
		case isDial(callee):
			side = Client
		case isAccept(callee):
			side = Server
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
		vs[0].side |= Client
	}
	return vs
}

// dialShaped reports whether a function of this signature returns a
// connection as its first result.
func (a *analyzer) dialShaped(sig *types.Signature) bool {
	return sig.Results().Len() > 0 && connType(sig.Results().At(0).Type(), a.pkg)
}

func isDial(f *types.Func) bool {
	if f.Pkg() == nil {
		return false
	}
	if recv := f.Type().(*types.Signature).Recv(); recv != nil {
		return dialMethods[namedKey(recv.Type())+"."+f.Name()]
	}
	return dialFuncs[f.Pkg().Path()+"."+f.Name()]
}

// isAccept reports whether f is a listener's Accept: a method named Accept*
// returning a connection.
func isAccept(f *types.Func) bool {
	sig := f.Type().(*types.Signature)
	return sig.Recv() != nil && len(f.Name()) >= 6 && f.Name()[:6] == "Accept" &&
		sig.Results().Len() > 0 && hasMethod(sig.Results().At(0).Type(), "Read")
}

// ---- roots ----

// seedUserConns makes the connection-typed parameters of exported functions
// client roots, unless the package itself passes them accepted (server)
// connections.
func (a *analyzer) seedUserConns() {
	for _, fn := range a.funcs {
		if fn.Decl == nil || !fn.Exported() {
			continue
		}
		params := a.sig(fn).Params()
		for i := 0; i < params.Len(); i++ {
			p := params.At(i)
			if userConnType(p.Type()) && a.valOf(p).side&Server == 0 {
				a.merge(p, val{side: Client})
				a.roots = append(a.roots, &Root{Pos: a.fset.Position(p.Pos()), Kind: "param", Var: p, Func: fn, Exported: true})
			}
		}
	}
}

// flowRoots lists the connection-typed parameters and fields that client
// connections flow into.
func (a *analyzer) flowRoots() []*Root {
	roots := slices.Clone(a.roots)
	seen := make(map[types.Object]bool)
	for _, r := range roots {
		seen[r.Var] = true
	}
	for _, fn := range a.funcs {
		if fn.Decl == nil {
			continue
		}
		params := a.sig(fn).Params()
		for i := 0; i < params.Len(); i++ {
			p := params.At(i)
			if !seen[p] && a.valOf(p).side&Client != 0 && connType(p.Type(), a.pkg) {
				seen[p] = true
				roots = append(roots, &Root{Pos: a.fset.Position(p.Pos()), Kind: "param", Var: p, Func: fn})
			}
		}
	}
	for obj, v := range a.vals {
		f, ok := obj.(*types.Var)
		if ok && f.IsField() && f.Pkg() == a.pkg && !seen[f] && v.side&Client != 0 && connType(f.Type(), a.pkg) {
			seen[f] = true
			roots = append(roots, &Root{Pos: a.fset.Position(f.Pos()), Kind: "field", Var: f})
		}
	}
	// fields and parameters holding a dial function: what they return is a client connection
	for _, id := range sortedDefs(a.info) {
		v, ok := a.info.Defs[id].(*types.Var)
		if !ok || seen[v] || v.Pkg() != a.pkg || !(v.IsField() || a.isParam(v)) {
			continue
		}
		if sig, ok := v.Type().Underlying().(*types.Signature); ok && a.dialShaped(sig) {
			seen[v] = true
			kind := "param"
			if v.IsField() {
				kind = "field"
			}
			roots = append(roots, &Root{Pos: a.fset.Position(v.Pos()), Kind: kind, Var: v})
		}
	}
	slices.SortFunc(roots, func(x, y *Root) int { return comparePos(x.Pos, y.Pos) })
	return roots
}

// isParam reports whether v is a parameter of a declared function.
func (a *analyzer) isParam(v *types.Var) bool {
	for _, fn := range a.funcs {
		if fn.Decl == nil {
			continue
		}
		params := a.sig(fn).Params()
		for i := 0; i < params.Len(); i++ {
			if params.At(i) == v {
				return true
			}
		}
	}
	return false
}

// sortedDefs lists the defining identifiers in source order.
func sortedDefs(info *types.Info) []*ast.Ident {
	ids := make([]*ast.Ident, 0, len(info.Defs))
	for id := range info.Defs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y *ast.Ident) int { return cmp.Compare(x.Pos(), y.Pos()) })
	return ids
}

// ---- sites ----

func (a *analyzer) findSites() {
	a.sites = nil
	a.bindings = make(map[*types.Var]Side)
	for _, fn := range a.funcs {
		fn.calls, fn.ext = nil, nil
	}
	a.eachBody(func(fn *Func, n ast.Node) {
		switch n := n.(type) {
		case *ast.CallExpr:
			a.classify(fn, n)
			for _, t := range a.callTargets(n) {
				a.edge(fn, t.fn)
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
		a.sites = append(a.sites, &Site{Call: call, Pos: a.fset.Position(call.Lparen), Kind: kind,
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

// ---- the async set ----

// computeAsync finds the async set and, for each member, its shortest chain:
// zero steps for a function holding a seeding site, one more than its
// nearest async callee otherwise.
func (a *analyzer) computeAsync() {
	const inf = 1 << 30
	for _, fn := range a.funcs {
		fn.Async, fn.Next, fn.Site, fn.External, fn.dist = false, nil, nil, nil, inf
	}
	for _, s := range a.sites {
		if s.Seeds() && s.Func.Site == nil {
			s.Func.Site, s.Func.dist = s, 0
		}
	}
	for _, fn := range a.funcs {
		if fn.Site == nil && len(fn.ext) > 0 {
			fn.External, fn.dist = fn.ext[0], 1
		}
	}
	sync := a.applyAsyncRules(inf)
	for changed := true; changed; {
		changed = false
		for _, fn := range a.funcs {
			if sync[fn] {
				continue
			}
			for _, c := range fn.calls {
				if c.dist+1 < fn.dist {
					fn.dist, fn.Next, fn.Site, fn.External = c.dist+1, c, nil, nil
					changed = true
				}
			}
		}
	}
	for _, fn := range a.funcs {
		fn.Async = fn.dist < inf
	}
}

// findConnTypes adds the local types whose Read or Write method is async,
// and reports whether there were new ones.
func (a *analyzer) findConnTypes() bool {
	grew := false
	for _, fn := range a.funcs {
		if !fn.Async || fn.Obj == nil || (fn.Obj.Name() != "Read" && fn.Obj.Name() != "Write") {
			continue
		}
		recv := fn.Obj.Type().(*types.Signature).Recv()
		if recv == nil {
			continue
		}
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := types.Unalias(t).(*types.Named); ok && !a.connTypes[n.Obj()] {
			a.connTypes[n.Obj()] = true
			grew = true
		}
	}
	return grew
}

// ---- result ----

func (a *analyzer) result() *Package {
	p := &Package{Path: a.pkg.Path(), Name: a.pkg.Name(), Fset: a.fset, Sites: a.sites, Roots: a.flowRoots(), Bindings: a.bindings}
	ifaces := a.interfaces()
	for _, fn := range a.funcs {
		if fn == a.init && len(fn.calls) == 0 && !fn.Async {
			continue
		}
		if fn.Obj != nil {
			fn.Implements = implementsOf(fn.Obj, ifaces)
		}
		p.Funcs = append(p.Funcs, fn)
		if fn.Async {
			p.Async = append(p.Async, fn)
		}
	}
	slices.SortStableFunc(p.Funcs, func(x, y *Func) int { return comparePos(x.Pos, y.Pos) })
	slices.SortStableFunc(p.Async, func(x, y *Func) int { return comparePos(x.Pos, y.Pos) })
	return p
}

// interfaces lists the interfaces a method's signature is bound by: those of
// other packages this package mentions, and its own exported ones.
func (a *analyzer) interfaces() []*types.Named {
	seen := make(map[*types.Named]bool)
	var out []*types.Named
	addType := func(t types.Type) {
		n, ok := types.Unalias(t).(*types.Named)
		if !ok || seen[n] || !types.IsInterface(n) || n.TypeParams().Len() > 0 {
			return
		}
		if n.Obj().Pkg() == a.pkg && !n.Obj().Exported() {
			return
		}
		seen[n] = true
		out = append(out, n)
	}
	for _, obj := range a.info.Uses {
		switch obj := obj.(type) {
		case *types.TypeName:
			addType(obj.Type())
		case *types.Func:
			// bufio.NewReader(rd io.Reader): a local type passed there is an io.Reader
			params := obj.Type().(*types.Signature).Params()
			for i := 0; i < params.Len(); i++ {
				addType(params.At(i).Type())
			}
		}
	}
	for _, tv := range a.info.Types {
		if tv.Type != nil {
			addType(tv.Type)
		}
	}
	addType(types.Universe.Lookup("error").Type())
	slices.SortFunc(out, func(x, y *types.Named) int {
		return cmp.Compare(x.String(), y.String())
	})
	return out
}

func implementsOf(m *types.Func, ifaces []*types.Named) []string {
	recv := m.Type().(*types.Signature).Recv()
	if recv == nil {
		return nil
	}
	t := recv.Type()
	if _, ok := t.(*types.Pointer); !ok {
		t = types.NewPointer(t) // a value method is in the pointer's method set too
	}
	var out []string
	for _, n := range ifaces {
		iface := n.Underlying().(*types.Interface)
		has := false
		for i := 0; i < iface.NumMethods(); i++ {
			if iface.Method(i).Name() == m.Name() {
				has = true
			}
		}
		if has && types.Implements(t, iface) {
			out = append(out, types.TypeString(n, func(p *types.Package) string {
				if p == m.Pkg() {
					return ""
				}
				return p.Name()
			}))
		}
	}
	return out
}

// under is t's underlying type, or nil for an expression the type checker
// could not type (code depending on cgo's C types).
func under(t types.Type) types.Type {
	if t == nil {
		return nil
	}
	return t.Underlying()
}

func comparePos(x, y token.Position) int {
	return cmp.Or(cmp.Compare(x.Filename, y.Filename), cmp.Compare(x.Line, y.Line), cmp.Compare(x.Column, y.Column))
}
