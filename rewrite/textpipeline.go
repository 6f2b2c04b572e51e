package rewrite

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"github.com/dave/dst"
)

// Clients built on net/textproto's Pipeline (go-beanstalk) sequence their
// exchanges on one shared connection with Next, StartRequest, EndRequest,
// StartResponse and EndResponse. An id that is obtained and then not taken
// through all four calls (the caller failed in between) stalls every later
// exchange on the connection, forever. And such a connection is often an
// io.ReadWriteCloser without deadlines, so a blocked read cannot be
// interrupted when ctx ends.
//
// The rewrite, in code that has a ctx:
//
//	id := c.c.Next()            ->  id := seqNext(ctx, c.c)
//	c.c.StartRequest(id)        ->  seqStartRequest(ctx, c.c, id)
//	... EndRequest, StartResponse, EndResponse likewise
//
// records every id an operation obtains and how far it got, and each exported
// operation that reaches these calls (FContext) begins with
//
//	if ctx.Done() != nil {
//		// detached: runs on its own goroutine; the caller leaves when ctx ends
//		r, err := detach(ctx, func(ctx context.Context) (r struct{...}, err error) {
//			r.V0, err = t.FContext(ctx, args...)
//			return
//		})
//		return r.V0, err
//	}
//	ctx, asyncifyEnd := sequenced(ctx)
//	defer asyncifyEnd(&err)
//
// asyncifyEnd completes, in order, the calls an id left undone when the
// operation fails (or panics), so a failed operation never stalls the
// connection; a successful one may have handed an id on, and is trusted. When
// ctx can end, the operation runs detached: the caller returns ctx.Err() as
// soon as ctx ends, while the operation goes on to read (and drop) its reply,
// so the replies of later exchanges stay in order. An operation whose
// parameters it may share with the caller after returning (pointers, maps,
// funcs; []byte arguments are copied) stays attached, and is reported.

// helperSeqEndLocal is the local that holds sequenced's end function.
const helperSeqEndLocal = "asyncifyEnd"

// pipelineMethods maps textproto.Pipeline's methods to the runtime's
// functions that record them (templates/sequence.go).
var pipelineMethods = map[string]string{
	"Next":          "seqNext",
	"StartRequest":  "seqStartRequest",
	"EndRequest":    "seqEndRequest",
	"StartResponse": "seqStartResponse",
	"EndResponse":   "seqEndResponse",
}

// isPipelineMethod reports whether fn is one of textproto.Pipeline's methods.
func isPipelineMethod(fn *types.Func) bool {
	if fn == nil || fn.Pkg() == nil || fn.Pkg().Path() != "net/textproto" {
		return false
	}
	recv := fn.Type().(*types.Signature).Recv()
	if recv == nil {
		return false
	}
	t := recv.Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Name() == "Pipeline" && pipelineMethods[fn.Name()] != ""
}

// findSequenced records whether the package (not its tests) sequences
// exchanges with textproto.Pipeline, and which of its functions reach such a
// call, directly or through calls of the package's functions.
func (r *pkgRewriter) findSequenced() {
	direct := make(map[*types.Func]bool)
	callees := make(map[*types.Func][]*types.Func)
	var decls []*types.Func
	for _, f := range r.ast {
		if r.generated[f] || strings.HasSuffix(r.fset.File(f.Pos()).Name(), "_test.go") {
			continue
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			obj, _ := r.info.Defs[fd.Name].(*types.Func)
			if obj == nil {
				continue
			}
			decls = append(decls, obj)
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				fn, _ := r.callee(unwrapFun(call.Fun))
				if isPipelineMethod(fn) {
					direct[obj] = true
					r.c.sequenced = true
				} else if fn != nil && fn.Pkg() == r.l.Pkg.Types {
					callees[obj] = append(callees[obj], fn.Origin())
				}
				return true
			})
		}
	}
	if r.c.seqReach == nil {
		r.c.seqReach = make(map[string]bool)
	}
	for obj := range direct {
		r.c.seqReach[obj.FullName()] = true
	}
	for changed := true; changed; {
		changed = false
		for _, obj := range decls {
			if r.c.seqReach[obj.FullName()] {
				continue
			}
			for _, c := range callees[obj] {
				if r.c.seqReach[c.FullName()] {
					r.c.seqReach[obj.FullName()] = true
					changed = true
					break
				}
			}
		}
	}
}

// pipelineCall rewrites a call of a textproto.Pipeline method in code with a
// ctx into its helper, which records the id's progress in the operation.
func (r *pkgRewriter) pipelineCall(call *ast.CallExpr, src ctxSource) bool {
	// the sequencing helpers live in the client, which an internal
	// package cannot import: its Pipeline calls stay as they are
	if src.background || src.fixed != "" || r.internal {
		return false
	}
	sel, ok := unwrapFun(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return false
	}
	fn, methodExpr := r.callee(sel)
	if methodExpr || !isPipelineMethod(fn) {
		return false
	}
	dcall := r.dst(call).(*dst.CallExpr)
	dsel, ok := dcall.Fun.(*dst.SelectorExpr)
	if !ok {
		return false
	}
	var on dst.Expr = dsel.X
	if _, isPtr := r.info.TypeOf(sel.X).Underlying().(*types.Pointer); !isPtr {
		on = &dst.UnaryExpr{Op: token.AND, X: on}
	}
	dcall.Fun = dst.NewIdent(r.rt(pipelineMethods[fn.Name()]))
	dcall.Args = append([]dst.Expr{src.expr(), on}, dcall.Args...)
	return true
}

// sequence makes an exported operation FContext that reaches a
// textproto.Pipeline call complete what it leaves undone, and run detached
// when its ctx can end (see the top of this file).
func (r *pkgRewriter) sequence(dfd *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan) {
	if !r.c.seqReach[p.fn.Obj.FullName()] || p.src.name == "" {
		return
	}
	ctxName := p.src.name
	var stmts []dst.Stmt
	if p.detach {
		stmts = append(stmts, r.detachStmt(fd, p))
	}
	// ctx, asyncifyEnd := sequenced(ctx); defer asyncifyEnd(&err)
	var endArg dst.Expr = dst.NewIdent("nil")
	if res := dfd.Type.Results; res != nil && len(res.List) > 0 {
		last := res.List[len(res.List)-1]
		if n := len(last.Names); n > 0 && last.Names[n-1].Name != "_" && types.Identical(r.info.TypeOf(fd.Type.Results.List[len(fd.Type.Results.List)-1].Type), types.Universe.Lookup("error").Type()) {
			endArg = &dst.UnaryExpr{Op: token.AND, X: dst.NewIdent(last.Names[n-1].Name)}
		}
	}
	stmts = append(stmts,
		&dst.AssignStmt{
			Lhs: []dst.Expr{dst.NewIdent(ctxName), dst.NewIdent(helperSeqEndLocal)},
			Tok: token.DEFINE,
			Rhs: []dst.Expr{&dst.CallExpr{Fun: dst.NewIdent(r.rt("sequenced")), Args: []dst.Expr{dst.NewIdent(ctxName)}}},
		},
		&dst.DeferStmt{Call: &dst.CallExpr{Fun: dst.NewIdent(helperSeqEndLocal), Args: []dst.Expr{endArg}}},
	)
	for _, s := range stmts {
		s.Decorations().Before = dst.NewLine
		s.Decorations().After = dst.NewLine
	}
	at := 0
	if len(dfd.Body.List) > 0 {
		if d, ok := dfd.Body.List[0].(*dst.DeferStmt); ok {
			if id, ok := d.Call.Fun.(*dst.Ident); ok && id.Name == r.rtName("ctxErr") {
				at = 1
			}
		}
	}
	dfd.Body.List = append(dfd.Body.List[:at], append(stmts, dfd.Body.List[at:]...)...)
}

// detachWhy says why FContext, planned by p, cannot run detached when ctx
// can end (detachStmt), or "" when it can.
func (r *pkgRewriter) detachWhy(fd *ast.FuncDecl, p *fnPlan) string {
	sig := p.fn.Obj.Type().(*types.Signature)
	res := sig.Results()
	if res.Len() == 0 || !types.Identical(res.At(res.Len()-1).Type(), types.Universe.Lookup("error").Type()) {
		return "it returns no error to report ctx's with"
	}
	if sig.TypeParams().Len() > 0 || sig.RecvTypeParams().Len() > 0 {
		return "it is generic"
	}
	for i := 0; i < sig.Params().Len(); i++ {
		v := sig.Params().At(i)
		if v.Name() == "" || v.Name() == "_" {
			return "a parameter has no name"
		}
		if clonedSlice(v.Type()) {
			if b := v.Type().Underlying().(*types.Slice).Elem().Underlying().(*types.Basic); b.Kind() == types.Byte && r.writesInto(fd, v) {
				return fmt.Sprintf("it may write into %s, the caller's memory", v.Name())
			}
			continue
		}
		switch u := v.Type().Underlying().(type) {
		case *types.Basic:
			if u.Kind() == types.UnsafePointer {
				return fmt.Sprintf("%s is a pointer the caller shares", v.Name())
			}
		default:
			return fmt.Sprintf("%s (%s) may be shared with the caller after it returns", v.Name(), types.TypeString(v.Type(), types.RelativeTo(r.l.Pkg.Types)))
		}
	}
	if recv := sig.Recv(); recv != nil && (recv.Name() == "" || recv.Name() == "_") {
		return "its receiver has no name"
	}
	return ""
}

// clonedSlice reports whether a parameter of type t is a slice of bytes,
// strings or numbers, which the detached operation gets a copy of.
func clonedSlice(t types.Type) bool {
	s, ok := t.Underlying().(*types.Slice)
	if !ok {
		return false
	}
	b, ok := s.Elem().Underlying().(*types.Basic)
	return ok && (b.Kind() == types.Byte || b.Info()&types.IsString != 0 || b.Info()&types.IsNumeric != 0)
}

// detachStmt is the statement that runs FContext detached when ctx can
// end (detachWhy said it can).
func (r *pkgRewriter) detachStmt(fd *ast.FuncDecl, p *fnPlan) dst.Stmt {
	sig := p.fn.Obj.Type().(*types.Signature)
	res := sig.Results()
	ctxName := p.src.name
	rName, eName := r.freshName(fd, "asyncifyR"), r.freshName(fd, "asyncifyE")
	var clones []dst.Stmt
	var args []dst.Expr
	for i := 0; i < sig.Params().Len(); i++ {
		v := sig.Params().At(i)
		if clonedSlice(v.Type()) {
			// p = append(p[:0:0], p...): the detached operation has its own
			// copy (nil stays nil, empty stays empty)
			clones = append(clones, &dst.AssignStmt{
				Lhs: []dst.Expr{dst.NewIdent(v.Name())},
				Tok: token.ASSIGN,
				Rhs: []dst.Expr{&dst.CallExpr{
					Fun: dst.NewIdent("append"),
					Args: []dst.Expr{
						&dst.SliceExpr{X: dst.NewIdent(v.Name()), High: &dst.BasicLit{Kind: intLit, Value: "0"}, Max: &dst.BasicLit{Kind: intLit, Value: "0"}, Slice3: true},
						dst.NewIdent(v.Name()),
					},
					Ellipsis: true,
				}},
			})
		}
		args = append(args, dst.NewIdent(v.Name()))
	}
	var fun dst.Expr = dst.NewIdent(p.newName)
	if recv := sig.Recv(); recv != nil {
		fun = &dst.SelectorExpr{X: dst.NewIdent(recv.Name()), Sel: dst.NewIdent(p.newName)}
	}
	inner := &dst.CallExpr{Fun: fun, Args: append([]dst.Expr{dst.NewIdent(ctxName)}, args...), Ellipsis: sig.Variadic()}

	st := &dst.StructType{Fields: &dst.FieldList{}}
	var lhs, outer []dst.Expr
	for i := 0; i < res.Len()-1; i++ {
		name := fmt.Sprintf("V%d", i)
		st.Fields.List = append(st.Fields.List, &dst.Field{Names: []*dst.Ident{dst.NewIdent(name)}, Type: r.typeExpr(res.At(i).Type())})
		lhs = append(lhs, &dst.SelectorExpr{X: dst.NewIdent(rName), Sel: dst.NewIdent(name)})
		outer = append(outer, &dst.SelectorExpr{X: dst.NewIdent(rName), Sel: dst.NewIdent(name)})
	}
	lhs = append(lhs, dst.NewIdent(eName))
	outer = append(outer, dst.NewIdent(eName))
	body := []dst.Stmt{
		&dst.AssignStmt{Lhs: lhs, Tok: token.ASSIGN, Rhs: []dst.Expr{inner}},
		&dst.ReturnStmt{},
	}
	for _, s := range body {
		s.Decorations().Before = dst.NewLine
		s.Decorations().After = dst.NewLine
	}
	var resType dst.Expr = st
	if res.Len() == 1 {
		resType = dst.NewIdent("struct{}")
	}
	lit := &dst.FuncLit{
		Type: &dst.FuncType{Func: true,
			Params: &dst.FieldList{List: []*dst.Field{{Names: []*dst.Ident{dst.NewIdent(ctxName)}, Type: contextType()}}},
			Results: &dst.FieldList{List: []*dst.Field{
				{Names: []*dst.Ident{dst.NewIdent(rName)}, Type: resType},
				{Names: []*dst.Ident{dst.NewIdent(eName)}, Type: dst.NewIdent("error")},
			}},
		},
		Body: &dst.BlockStmt{List: body},
	}
	first := dst.Expr(dst.NewIdent(rName))
	if res.Len() == 1 {
		first = dst.NewIdent("_")
	}
	call := &dst.AssignStmt{
		Lhs: []dst.Expr{first, dst.NewIdent(eName)},
		Tok: token.DEFINE,
		Rhs: []dst.Expr{&dst.CallExpr{Fun: dst.NewIdent(r.rt("detach")), Args: []dst.Expr{dst.NewIdent(ctxName), lit}}},
	}
	block := append(clones, call, &dst.ReturnStmt{Results: outer})
	for _, s := range block {
		s.Decorations().Before = dst.NewLine
		s.Decorations().After = dst.NewLine
	}
	block[0].Decorations().Start = dst.Decorations{"// detached: when ctx ends, the caller leaves and the exchange completes on its own"}
	return &dst.IfStmt{
		Cond: &dst.BinaryExpr{
			X:  &dst.CallExpr{Fun: &dst.SelectorExpr{X: dst.NewIdent(ctxName), Sel: dst.NewIdent("Done")}},
			Op: token.NEQ,
			Y:  dst.NewIdent("nil"),
		},
		Body: &dst.BlockStmt{List: block},
	}
}

// writesInto reports whether fd's body may write into the byte slice v: it
// assigns to an element, copies into it, or hands it to a Read method or to
// io.ReadFull / io.ReadAtLeast.
func (r *pkgRewriter) writesInto(fd *ast.FuncDecl, v *types.Var) bool {
	is := func(e ast.Expr) bool {
		for {
			switch x := e.(type) {
			case *ast.SliceExpr:
				e = x.X
				continue
			case *ast.ParenExpr:
				e = x.X
				continue
			case *ast.Ident:
				return r.info.Uses[x] == v
			}
			return false
		}
	}
	found := false
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if ix, ok := l.(*ast.IndexExpr); ok && is(ix.X) {
					found = true
				}
			}
		case *ast.CallExpr:
			name := ""
			switch f := unwrapFun(n.Fun).(type) {
			case *ast.Ident:
				name = f.Name
			case *ast.SelectorExpr:
				name = f.Sel.Name
			}
			for i, a := range n.Args {
				if !is(a) {
					continue
				}
				if name == "copy" && i == 0 || strings.HasPrefix(name, "Read") {
					found = true
				}
			}
		}
		return !found
	})
	return found
}
