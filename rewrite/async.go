package rewrite

import (
	"fmt"
	"go/ast"
	"go/types"
	"strconv"
	"strings"

	"github.com/dave/dst"
)

// makeAsync returns FAsync(ctx, ...) *Future[T] for an exported async
// function with a wrapper: it starts FContext on a runtime goroutine
// (templates' startOp) and returns at once. T is F's result: struct{}
// when F returns only an error, a generated FResult struct (TypeFResult for
// a method) when it returns several values, with a field per value: the
// result's name, exported, or V0, V1... Whether F gets one, and its name,
// planning decided (planAsync): not for a function with no error result, a
// parameter the call may write into or call back ([]byte, a func) since
// the operation may outlive the caller's wait, or both names taken.
func (r *pkgRewriter) makeAsync(wrapper *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan) []dst.Decl {
	sig := p.fn.Obj.Type().(*types.Signature)
	res := sig.Results()
	name := p.async // planAsync
	if name == "" {
		return nil
	}
	rt := r.runtime(true)
	if rt == nil {
		return nil
	}

	a := &dst.FuncDecl{Name: dst.NewIdent(name), Type: dst.Clone(wrapper.Type).(*dst.FuncType)}
	if wrapper.Recv != nil {
		a.Recv = dst.Clone(wrapper.Recv).(*dst.FieldList)
	}
	ctxName := p.src.name
	a.Type.Params.List = append([]*dst.Field{{Names: []*dst.Ident{dst.NewIdent(ctxName)}, Type: contextType()}}, a.Type.Params.List...)
	var t dst.Expr = dst.NewIdent("struct{}")
	var resultType *dst.GenDecl
	var fields []string
	switch {
	case res.Len() == 2:
		t = r.typeExpr(res.At(0).Type())
	case res.Len() > 2:
		typeName := fd.Name.Name + "Result"
		if fd.Recv != nil {
			typeName = recvTypeName(r.info.TypeOf(fd.Recv.List[0].Type)) + typeName
		}
		if obj := r.l.Pkg.Types.Scope().Lookup(typeName); obj != nil {
			r.c.note(r.fset.Position(fd.Name.Pos()), "%s gets no %s: its result type would be %s, which is declared at %s", fd.Name.Name, name, typeName, r.fset.Position(obj.Pos()))
			return nil
		}
		st := &dst.StructType{Fields: &dst.FieldList{}}
		for i := 0; i < res.Len()-1; i++ {
			name := fmt.Sprintf("V%d", i)
			if n := res.At(i).Name(); n != "" && n != "_" {
				name = strings.ToUpper(n[:1]) + n[1:]
			}
			fields = append(fields, name)
			st.Fields.List = append(st.Fields.List, &dst.Field{Names: []*dst.Ident{dst.NewIdent(name)}, Type: r.typeExpr(res.At(i).Type())})
		}
		resultType = &dst.GenDecl{Tok: typeTok, Specs: []dst.Spec{&dst.TypeSpec{Name: dst.NewIdent(typeName), Type: st}}}
		resultType.Decs.Before = dst.EmptyLine
		resultType.Decs.Start = dst.Decorations{fmt.Sprintf("// %s holds the results of %s.", typeName, p.newName)}
		t = dst.NewIdent(typeName)
	}
	a.Type.Results = &dst.FieldList{List: []*dst.Field{{Type: &dst.StarExpr{X: &dst.IndexExpr{X: dst.NewIdent(rt("Future")), Index: dst.Clone(t).(dst.Expr)}}}}}

	// The body calls FContext exactly as the wrapper does, with the
	// operation's ctx; or, when FContext runs a body of its own
	// (makeRunOp), that body, which the future's operation runs in FContext's
	// mode: a nested operation would only add its bookkeeping.
	inner := wrapperCall(wrapper, ctxName)
	mode := "opDetachable"
	if p.body != "" {
		fun := inner.Fun
		if il, ok := fun.(*dst.IndexListExpr); ok {
			fun = il.X
		}
		rename(fun, p.body)
		mode = r.opMode(p)
	}
	var ret dst.Stmt = &dst.ReturnStmt{Results: []dst.Expr{inner}}
	stmts := []dst.Stmt{ret}
	switch {
	case res.Len() == 1:
		ret = &dst.ReturnStmt{Results: []dst.Expr{&dst.CompositeLit{Type: dst.Clone(t).(dst.Expr)}, inner}}
		stmts = []dst.Stmt{ret}
	case res.Len() > 2:
		// var r FResult; r.A, r.B, err := FContext(...); return r, err
		// names that the receiver and the parameters do not use
		used := make(map[string]bool)
		for _, fl := range []*dst.FieldList{a.Recv, a.Type.Params} {
			if fl == nil {
				continue
			}
			for _, f := range fl.List {
				for _, n := range f.Names {
					used[n.Name] = true
				}
			}
		}
		fresh := func(name string) string {
			for i := 1; used[name]; i++ {
				name = strings.TrimRight(name, "0123456789") + strconv.Itoa(i)
			}
			used[name] = true
			return name
		}
		rv, ev := fresh("r"), fresh("err")
		decl := &dst.DeclStmt{Decl: &dst.GenDecl{Tok: varTok, Specs: []dst.Spec{&dst.ValueSpec{Names: []*dst.Ident{dst.NewIdent(rv)}, Type: dst.Clone(t).(dst.Expr)}}}}
		decl2 := &dst.DeclStmt{Decl: &dst.GenDecl{Tok: varTok, Specs: []dst.Spec{&dst.ValueSpec{Names: []*dst.Ident{dst.NewIdent(ev)}, Type: dst.NewIdent("error")}}}}
		assign := &dst.AssignStmt{Tok: assignTok, Rhs: []dst.Expr{inner}}
		for _, f := range fields {
			assign.Lhs = append(assign.Lhs, &dst.SelectorExpr{X: dst.NewIdent(rv), Sel: dst.NewIdent(f)})
		}
		assign.Lhs = append(assign.Lhs, dst.NewIdent(ev))
		ret = &dst.ReturnStmt{Results: []dst.Expr{dst.NewIdent(rv), dst.NewIdent(ev)}}
		stmts = []dst.Stmt{decl, decl2, assign, ret}
	}
	for _, st := range stmts {
		st.Decorations().Before = dst.NewLine
		st.Decorations().After = dst.NewLine
	}
	body := &dst.FuncLit{
		Type: &dst.FuncType{Func: true,
			Params:  &dst.FieldList{List: []*dst.Field{{Names: []*dst.Ident{dst.NewIdent(ctxName)}, Type: contextType()}}},
			Results: &dst.FieldList{List: []*dst.Field{{Type: dst.Clone(t).(dst.Expr)}, {Type: dst.NewIdent("error")}}},
		},
		Body: &dst.BlockStmt{List: stmts},
	}
	// A split operation (planned: p.split) commits its request before
	// FAsync returns: its body runs on the caller up to its first read,
	// then parks until its reply's turn (templates' startSplit).
	starter, doc := "startOp", []string{fmt.Sprintf("// %s starts %s on its own goroutine and returns its future.", name, p.newName)}
	if p.split {
		starter = "startSplit"
		doc = commentLines(fmt.Sprintf("%s starts %s and returns its future once the request is committed to the connection (or the call had to wait): the reply is read when its turn comes.", name, p.newName))
	}
	call := &dst.CallExpr{
		Fun:  dst.NewIdent(rt(starter)),
		Args: []dst.Expr{dst.NewIdent(ctxName), &dst.BasicLit{Kind: stringLit, Value: strconv.Quote(p.fn.Name)}, dst.NewIdent(rt(mode)), body},
	}
	if recv := r.holderRecv(fd); recv != "" {
		// The receiver holds a connection, as in FContext's runOpOn: its
		// futures' bodies run one after the other, in the order issued.
		call.Fun = dst.NewIdent(rt(starter + "On"))
		call.Args = append([]dst.Expr{call.Args[0], dst.NewIdent(recv)}, call.Args[1:]...)
	}
	start := &dst.ReturnStmt{Results: []dst.Expr{call}}
	a.Body = &dst.BlockStmt{List: []dst.Stmt{start}}
	a.Decs.Before = dst.EmptyLine
	a.Decs.Start = doc
	a.Decs.After = dst.EmptyLine
	if resultType != nil {
		return []dst.Decl{a, resultType}
	}
	return []dst.Decl{a}
}

// wrapperCall is a copy of the call of FContext that wrapper (F, kept as
// a wrapper: return FContext(context.Background(), ...)) makes, with ctx
// passed as ctxName.
func wrapperCall(wrapper *dst.FuncDecl, ctxName string) *dst.CallExpr {
	var call *dst.CallExpr
	switch s := dst.Clone(wrapper.Body.List[0]).(type) {
	case *dst.ReturnStmt:
		call = s.Results[0].(*dst.CallExpr)
	case *dst.ExprStmt:
		call = s.X.(*dst.CallExpr)
	}
	call.Args[0] = dst.NewIdent(ctxName)
	return call
}

// splitGoVersion is the oldest Go version of a module whose runtime gets
// split operations (startSplit uses iter.Pull); upstream's files may keep
// an older language version (-o), the runtime's do not.
const splitGoVersion = "go1.23"

// asyncForm names F's future-returning form: FAsync, or FFuture when the
// package declares FAsync already (go-ldap's SearchAsync returns a
// Response), with a note; "" when both are declared, with a note.
func (r *pkgRewriter) asyncForm(fd *ast.FuncDecl) string {
	name := fd.Name.Name
	var taken []string
	for _, suffix := range []string{"Async", "Future"} {
		obj := r.declaredObj(fd, name+suffix)
		if obj == nil {
			if len(taken) > 0 {
				r.c.note(r.fset.Position(fd.Name.Pos()), "%s's future form is named %s: %s", name, name+suffix, strings.Join(taken, "; "))
			}
			return name + suffix
		}
		taken = append(taken, fmt.Sprintf("%s is declared at %s (%s)", obj.Name(), r.fset.Position(obj.Pos()), objKind(obj)))
	}
	r.c.note(r.fset.Position(fd.Name.Pos()), "%s gets no future form: %s", name, strings.Join(taken, "; "))
	return ""
}

// recvTypeName is the name of a receiver's type, without pointer or type
// arguments.
func recvTypeName(t types.Type) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok {
		return n.Obj().Name()
	}
	return ""
}
