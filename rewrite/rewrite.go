package rewrite

import (
	"fmt"
	"go/ast"
	"go/types"

	"github.com/dave/dst"
	"github.com/dave/dst/dstutil"
)

// rewrite applies every rule to every declaration of the package.
func (r *pkgRewriter) rewrite() {
	defer r.noteIfaceFallbacks()
	defer r.rewriteIfaces()
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
				if r.walk(d) {
					r.modified[df] = true
				}
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
	if fd.Body == nil || r.isIfaceHelper(fd) {
		return
	}
	r.curFunc = fd
	defer func() { r.curFunc = nil }()
	obj, _ := r.info.Defs[fd.Name].(*types.Func)
	p := r.c.plans[obj.FullName()]
	if p == nil {
		if r.walk(fd.Body) {
			r.modified[df] = true
		}
		return
	}
	dfd := r.dst(fd).(*dst.FuncDecl)
	var wrapper *dst.FuncDecl
	if p.wrapper {
		wrapper = r.makeWrapper(dfd, fd, p)
	}
	src := p.src
	src.honoured = p.honoured
	edited := r.walk(fd.Body)
	if r.replyWaits(fd, p, src) || edited {
		r.modified[df] = true
	}
	if p.src.name != "" && !p.honoured {
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
		if len(r.shareSites) == 0 || !runOpShape(p) {
			// an operation runOp runs gets its error mapped there, once:
			// its body's results keep their names
			r.mapErrors(dfd, fd, p)
		}
		r.sequence(dfd, fd, p)
		dfd.Name.Name = p.newName
		added := []dst.Decl{wrapper, dfd}
		var f *dst.FuncDecl
		if len(r.shareSites) > 0 {
			f = r.makeRunOp(wrapper, dfd, fd, p)
		}
		if f == nil && p.bodyCall {
			// the deferred ctxErr named the results: FContext keeps
			// upstream's, and calls the body
			f = r.makeBodyCall(wrapper, dfd, fd, p)
		}
		if f != nil {
			added = []dst.Decl{wrapper, f, dfd}
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
// each under the ctx planning found in effect there (planBody), and
// reports whether it edited anything.
func (r *pkgRewriter) walk(root ast.Node) bool {
	edited := false
	ast.Inspect(root, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			if n == root {
				return true
			}
			if name := r.litCtx[n]; name != "" {
				// stored in a slot whose type gains ctx
				addCtxParam(r.dst(n).(*dst.FuncLit).Type, name, true)
				edited = true
			}
			edited = r.walk(n.Body) || edited
			return false
		case *ast.CallExpr:
			edited = r.call(n, r.srcAt[n]) || edited
		case *ast.SelectorExpr:
			edited = r.value(n) || edited
			edited = r.walk(n.X) || edited
			return false
		case *ast.Ident:
			edited = r.value(n) || edited
		}
		return true
	})
	return edited
}

// value rewrites a use of a function or slot that is not a call, and
// reports whether it did.
func (r *pkgRewriter) value(e ast.Expr) bool {
	if r.activeFlow(e) != nil {
		return r.slotValue(e)
	}
	if src, ok := r.srcAt[e]; ok {
		return r.funcValue(e, src)
	}
	return false
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
	case *ast.CallExpr:
		// handed to a call that keeps it (a pool's dial function, called
		// later by a goroutine of the pool's)
		for _, arg := range r.keptArgs(n) {
			mark(arg)
			if stored[arg] {
				if r.kept == nil {
					r.kept = make(map[ast.Expr]string)
				}
				r.kept[arg] = types.ExprString(n.Fun)
			}
		}
	}
}

// keptArgs returns the arguments of call, of func type, that the callee
// keeps to call later instead of calling them before it returns. A
// function of the package keeps a parameter that it stores (markStored),
// uses in a go statement, or uses in a literal that it stores; a function
// of another package is taken to keep what it is given when it returns
// something that could hold it (time.AfterFunc's *Timer, a pool), and to
// call it otherwise (sort.Slice, strings.Map).
func (r *pkgRewriter) keptArgs(call *ast.CallExpr) []ast.Expr {
	fn, methodExpr := r.callee(unwrapFun(call.Fun))
	if fn == nil {
		return nil
	}
	sig := fn.Type().(*types.Signature)
	var kept []ast.Expr
	for i, arg := range call.Args {
		if _, ok := r.info.TypeOf(arg).Underlying().(*types.Signature); !ok {
			continue
		}
		pi := i
		if methodExpr {
			pi--
		}
		if sig.Variadic() && pi >= sig.Params().Len()-1 {
			pi = sig.Params().Len() - 1
		}
		if pi < 0 || pi >= sig.Params().Len() {
			continue
		}
		if r.keepsParam(fn, sig, sig.Params().At(pi)) {
			kept = append(kept, ast.Unparen(arg))
		}
	}
	return kept
}

// keepsParam reports whether fn keeps its parameter v (keptArgs).
func (r *pkgRewriter) keepsParam(fn *types.Func, sig *types.Signature, v *types.Var) bool {
	if fn.Pkg() != r.l.Pkg.Types {
		for i := 0; i < sig.Results().Len(); i++ {
			if mayHoldFunc(sig.Results().At(i).Type()) {
				return true
			}
		}
		return false
	}
	if k, ok := r.keeps[v]; ok {
		return k
	}
	if r.keeps == nil {
		r.keeps = make(map[*types.Var]bool)
	}
	r.keeps[v] = false // recursion: not kept until shown
	f := r.byObj[fn.Origin()]
	if f == nil || f.Decl == nil || f.Decl.Body == nil {
		return false
	}
	// the parameter as declared (fn may be an instance)
	params := r.info.Defs[f.Decl.Name].(*types.Func).Type().(*types.Signature).Params()
	decl := v
	for i := 0; i < sig.Params().Len(); i++ {
		if sig.Params().At(i) == v {
			decl = params.At(i)
		}
	}
	usesParam := func(n ast.Node) bool {
		found := false
		ast.Inspect(n, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && r.info.Uses[id] == decl {
				found = true
			}
			return !found
		})
		return found
	}
	stored := make(map[ast.Expr]bool)
	kept := false
	ast.Inspect(f.Decl.Body, func(n ast.Node) bool {
		if kept {
			return false
		}
		if g, ok := n.(*ast.GoStmt); ok && usesParam(g.Call) {
			kept = true
			return false
		}
		r.markStored(n, stored)
		return true
	})
	for e := range stored {
		kept = kept || usesParam(e)
	}
	r.keeps[v] = kept
	return kept
}

// mayHoldFunc reports whether a value of type t can keep a function: a
// pointer, struct, func, chan, map or interface other than error.
func mayHoldFunc(t types.Type) bool {
	if named, ok := t.(*types.Named); ok && named.Obj().Pkg() == nil && named.Obj().Name() == "error" {
		return false
	}
	switch t.Underlying().(type) {
	case *types.Pointer, *types.Struct, *types.Signature, *types.Chan, *types.Map, *types.Interface:
		return true
	}
	return false
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
// it, unless a call keeps them (kept): what it keeps may call them after
// the test ended (a pool's goroutine).
func storedSource(src ctxSource, stored, kept bool) ctxSource {
	if !stored || src.background && !src.unused || src.testVar != "" && !kept {
		return src
	}
	return ctxSource{background: true, stored: true}
}

// unwrapFun strips parentheses and type arguments from a call's function.
// (explain's recvName strips a receiver's type alike, pointers too.)
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
	case s.name != "" && s.honoured:
		return &dst.CallExpr{Fun: &dst.Ident{Name: "WithoutCancel", Path: "context"}, Args: []dst.Expr{dst.NewIdent(s.name)}}
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

// honoursCtx returns the call through which fd's ctx parameter, named
// name, already reaches ctx.Done() or context.AfterFunc, in fd's body or
// in a function of the package fd hands it to; nil when it does not.
// seen guards recursion.
func (r *pkgRewriter) honoursCtx(fd *ast.FuncDecl, name string, seen map[*ast.FuncDecl]bool) *ast.CallExpr {
	if fd.Body == nil || seen[fd] {
		return nil
	}
	if seen == nil {
		seen = make(map[*ast.FuncDecl]bool)
	}
	seen[fd] = true
	var ctxVar types.Object
	for _, f := range fd.Type.Params.List {
		for _, id := range f.Names {
			if id.Name == name {
				ctxVar = r.info.Defs[id]
			}
		}
	}
	if ctxVar == nil {
		return nil
	}
	isCtx := func(e ast.Expr) bool {
		id, ok := ast.Unparen(e).(*ast.Ident)
		return ok && r.info.Uses[id] == ctxVar
	}
	var at *ast.CallExpr
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || at != nil {
			return at == nil
		}
		if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && sel.Sel.Name == "Done" && isCtx(sel.X) {
			at = call
			return false
		}
		fn, _ := r.callee(unwrapFun(call.Fun))
		if fn == nil {
			return true
		}
		if fn.Pkg() != nil && fn.Pkg().Path() == "context" && fn.Name() == "AfterFunc" && len(call.Args) > 0 && isCtx(call.Args[0]) {
			at = call
			return false
		}
		if f := r.byObj[fn.Origin()]; f != nil && f.Decl != nil {
			sig := r.info.Defs[f.Decl.Name].(*types.Func).Type().(*types.Signature)
			for i, arg := range call.Args {
				if !isCtx(arg) || i >= sig.Params().Len() {
					continue
				}
				if inner := r.honoursCtx(f.Decl, sig.Params().At(i).Name(), seen); inner != nil {
					at = inner
					return false
				}
			}
		}
		return true
	})
	return at
}
