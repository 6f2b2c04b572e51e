package rewrite

import (
	"fmt"
	"go/ast"
	"go/types"

	"github.com/dave/dst"
)

// makeWrapper returns F with its old signature, calling
// FContext(context.Background(), ...): the package's users keep compiling.
// F's doc comment moves to the wrapper; FContext gets one of its own.
func (r *pkgRewriter) makeWrapper(dfd *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan) *dst.FuncDecl {
	w := &dst.FuncDecl{Name: dst.NewIdent(fd.Name.Name), Type: dst.Clone(dfd.Type).(*dst.FuncType)}
	taken := make(map[string]bool)
	var fields []*dst.Field
	if dfd.Recv != nil {
		w.Recv = dst.Clone(dfd.Recv).(*dst.FieldList)
		fields = append(fields, w.Recv.List...)
	}
	fields = append(fields, w.Type.Params.List...)
	for _, f := range fields {
		for _, id := range f.Names {
			taken[id.Name] = true
		}
	}
	fresh := func() *dst.Ident {
		for i := 0; ; i++ {
			name := fmt.Sprintf("p%d", i)
			if !taken[name] {
				taken[name] = true
				return dst.NewIdent(name)
			}
		}
	}
	for _, f := range fields {
		if len(f.Names) == 0 {
			f.Names = []*dst.Ident{fresh()}
		}
		for i, id := range f.Names {
			if id.Name == "_" {
				f.Names[i] = fresh()
			}
		}
	}
	call := &dst.CallExpr{Args: []dst.Expr{ctxSource{background: true}.expr()}}
	for _, f := range w.Type.Params.List {
		for _, id := range f.Names {
			call.Args = append(call.Args, dst.NewIdent(id.Name))
		}
		if _, ok := f.Type.(*dst.Ellipsis); ok {
			call.Ellipsis = true
		}
	}
	var fun dst.Expr = dst.NewIdent(p.newName)
	if w.Recv != nil {
		fun = &dst.SelectorExpr{X: dst.NewIdent(w.Recv.List[0].Names[0].Name), Sel: dst.NewIdent(p.newName)}
	}
	if tp := w.Type.TypeParams; tp != nil {
		var idx []dst.Expr
		for _, f := range tp.List {
			for _, id := range f.Names {
				idx = append(idx, dst.NewIdent(id.Name))
			}
		}
		fun = &dst.IndexListExpr{X: fun, Indices: idx}
	}
	call.Fun = fun
	if w.Type.Results != nil && len(w.Type.Results.List) > 0 {
		w.Body = &dst.BlockStmt{List: []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{call}}}}
	} else {
		w.Body = &dst.BlockStmt{List: []dst.Stmt{&dst.ExprStmt{X: call}}}
	}
	w.Body.List[0].Decorations().Before = dst.NewLine
	w.Body.List[0].Decorations().After = dst.NewLine
	w.Decs.Before = dfd.Decs.Before
	w.Decs.Start = dfd.Decs.Start
	w.Decs.After = dst.EmptyLine
	dfd.Decs.Before = dst.EmptyLine
	dfd.Decs.Start = dst.Decorations{fmt.Sprintf("// %s is like %s, with a context that bounds the call.", p.newName, fd.Name.Name)}
	return w
}

// mapErrors makes FContext's error satisfy errors.Is(err, ctx.Err()) when
// ctx ended first and caused it (an interrupted read or write): the
// runtime's ctxErr, deferred, rewrites the error result, which is named
// for that when it has no name. Nothing else is wrapped or replaced. Not
// for an operation runOp runs (share.go), which maps its error itself.
// When the results get names upstream did not give them (p.bodyCall),
// FContext becomes the body of a function that keeps upstream's results
// (makeBodyCall).
func (r *pkgRewriter) mapErrors(dfd *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan) {
	res := p.fn.Obj.Type().(*types.Signature).Results()
	n := res.Len()
	if n == 0 || !types.Identical(res.At(n-1).Type(), types.Universe.Lookup("error").Type()) {
		return
	}
	list := dfd.Type.Results.List
	last := list[len(list)-1]
	var errName string
	if len(last.Names) > 0 {
		id := last.Names[len(last.Names)-1]
		if id.Name == "_" {
			id.Name = r.freshName(fd, "err")
		}
		errName = id.Name
	} else {
		for _, f := range list[:len(list)-1] {
			f.Names = []*dst.Ident{dst.NewIdent("_")}
		}
		errName = r.freshName(fd, "err")
		last.Names = []*dst.Ident{dst.NewIdent(errName)}
	}
	def := &dst.DeferStmt{Call: &dst.CallExpr{
		Fun:  dst.NewIdent(r.rt("ctxErr")),
		Args: []dst.Expr{p.src.expr(), &dst.UnaryExpr{Op: and, X: dst.NewIdent(errName)}},
	}}
	dfd.Body.List = append([]dst.Stmt{def}, dfd.Body.List...)
}

// namesResults reports whether mapErrors gives fd's results names upstream
// did not give them: its error result is last and unnamed.
func namesResults(fd *ast.FuncDecl, p *fnPlan) bool {
	res := p.fn.Obj.Type().(*types.Signature).Results()
	n := res.Len()
	if n == 0 || !types.Identical(res.At(n-1).Type(), types.Universe.Lookup("error").Type()) {
		return false
	}
	list := fd.Type.Results.List
	return len(list[len(list)-1].Names) == 0
}

// makeBodyCall returns FContext for an operation whose body (dfd, renamed
// fContext) maps its error with a deferred ctxErr, for which its results
// got names: FContext keeps upstream's results, unnamed, and calls the
// body, as the wrapper F calls FContext, so that its signature in the API
// is upstream's with ctx first.
func (r *pkgRewriter) makeBodyCall(wrapper, dfd *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan) *dst.FuncDecl {
	res := p.fn.Obj.Type().(*types.Signature).Results()
	bodyName := r.bodyName(fd)
	ctxName := p.src.name
	f := &dst.FuncDecl{Name: dst.NewIdent(p.newName), Type: dst.Clone(wrapper.Type).(*dst.FuncType)}
	if wrapper.Recv != nil {
		f.Recv = dst.Clone(wrapper.Recv).(*dst.FieldList)
	}
	f.Type.Params.List = append([]*dst.Field{{Names: []*dst.Ident{dst.NewIdent(ctxName)}, Type: contextType()}}, f.Type.Params.List...)
	f.Type.Results = &dst.FieldList{}
	for i := 0; i < res.Len(); i++ {
		f.Type.Results.List = append(f.Type.Results.List, &dst.Field{Type: r.typeExpr(res.At(i).Type())})
	}
	ret, ok := dst.Clone(wrapper.Body.List[0]).(*dst.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return nil
	}
	call, ok := ret.Results[0].(*dst.CallExpr)
	if !ok {
		return nil
	}
	call.Args[0] = dst.NewIdent(ctxName)
	fun := call.Fun
	if il, ok := fun.(*dst.IndexListExpr); ok {
		fun = il.X
	} else if ix, ok := fun.(*dst.IndexExpr); ok {
		fun = ix.X
	}
	rename(fun, bodyName)
	ret.Decs.Before, ret.Decs.After = dst.NewLine, dst.NewLine
	f.Body = &dst.BlockStmt{List: []dst.Stmt{ret}}
	f.Decs.Before, f.Decs.After = dst.EmptyLine, dst.EmptyLine
	f.Decs.Start = dfd.Decs.Start
	dfd.Name.Name = bodyName
	dfd.Decs.Start = dst.Decorations{fmt.Sprintf("// %s is the body of %s.", bodyName, p.newName)}
	return f
}
