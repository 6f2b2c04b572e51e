package rewrite

import (
	"go/ast"
	"go/token"
	"go/types"

	"github.com/dave/dst"
	"github.com/dave/dst/dstutil"
)

// Reply waits (iodetect's replywait.go): a client whose own reader
// goroutine reads the connection and hands each reply to the caller that
// waits for it. ctx bounds the wait, never the connection:
//
//   - a receive from a channel the reader fills, as a statement
//     (<-ch, v := <-ch, v, ok = <-ch), becomes a select that also waits for
//     ctx.Done() and then returns ctx.Err() in the function's own result
//     shape (zero values, the error last); a select already waiting for it
//     gains that case. What the function defers (the client's own cleanup,
//     go-ldap's finishMessage) runs on that return as on any other.
//   - a sync.Cond wait on what the reader produces returns ctx.Err() when
//     ctx ends: condWait wakes it with context.AfterFunc and
//     Broadcast; the function must defer the Unlock of the Cond's lock (it
//     returns with the lock held otherwise).
//   - a wait whose reader's send selects only on a session's close
//     channel (iodetect's ReplyWait.Cut: amqp091-go) is cut off when ctx
//     ends: the connection is closed, the wait waits on for the reader
//     to let go, then returns ctx.Err() (cutOff).
//   - a go statement starting the reader (or the goroutines it feeds)
//     passes context.Background(): the reader belongs to the connection,
//     not to the operation that started it.
//   - no ctx deadline is set on a connection a reader reads, and no watch
//     is armed on it: cancelling one caller must not cut the reader's read,
//     which serves every caller (one note per package).
//
// A wait is left as it is, with a note, when a reply for a caller who left
// could block the reader (an unbuffered channel whose send does not select
// on a done channel) and the wait cannot be cut off, when the reader writes into memory the caller passed
// and the destination cannot be made private (see privateDst), when the
// function has no error result to return ctx.Err() in, or when the receive
// is part of an expression, an if's or switch's init, or a range.

// readerStart reports whether a go statement starts a reader goroutine.
func (r *pkgRewriter) readerStart(g *ast.GoStmt) bool {
	if len(r.readerGo) == 0 {
		return false
	}
	if lit, ok := ast.Unparen(g.Call.Fun).(*ast.FuncLit); ok {
		return r.readerGo[r.byLit[lit]]
	}
	if fn, _ := r.callee(unwrapFun(g.Call.Fun)); fn != nil {
		return r.readerGo[r.byObj[fn.Origin()]]
	}
	return false
}

// replyWaits applies the fates planning decided for the reply waits in
// fd's own body (planWaits), whose ctx is src, and reports whether it
// rewrote any.
func (r *pkgRewriter) replyWaits(fd *ast.FuncDecl, p *fnPlan, src ctxSource) bool {
	if p.private != nil {
		r.private = r.privateDst(fd, p.private, src)
	}
	defer func() {
		r.addPrivate(fd)
		r.private = nil
	}()
	sig := r.info.Defs[fd.Name].(*types.Func).Type().(*types.Signature)
	for _, w := range p.waits {
		switch w.fate {
		case waitSelect:
			r.selectWait(w, sig, src)
		case waitHoist:
			r.hoistWait(w, sig, src)
		case waitCase:
			r.caseWait(w, sig, src)
		case waitCond:
			r.condWait(w, sig, src)
		}
	}
	return len(p.waits) > 0
}

// selectWait makes a receive statement a select that also waits for
// ctx.Done().
func (r *pkgRewriter) selectWait(w *waitPlan, sig *types.Signature, src ctxSource) {
	stmt := w.stmt
	dstmt := r.dst(stmt).(dst.Stmt)
	var pre []dst.Stmt
	if as, ok := stmt.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
		// v, ok := <-ch: declare the new names, then assign them in the case
		das := dstmt.(*dst.AssignStmt)
		for _, lhs := range as.Lhs {
			id, ok := lhs.(*ast.Ident)
			if !ok || id.Name == "_" {
				continue
			}
			v, ok := r.info.Defs[id].(*types.Var)
			if !ok {
				continue // assigned, not declared
			}
			pre = append(pre, &dst.DeclStmt{Decl: &dst.GenDecl{Tok: token.VAR, Specs: []dst.Spec{
				&dst.ValueSpec{Names: []*dst.Ident{dst.NewIdent(id.Name)}, Type: r.typeExprFor(v.Type())},
			}}})
		}
		das.Tok = token.ASSIGN
	}
	comm := dstmt
	decs := *dstmt.Decorations()
	dstmt.Decorations().Before, dstmt.Decorations().After = dst.None, dst.None
	dstmt.Decorations().Start, dstmt.Decorations().End = nil, nil
	selStmt := &dst.SelectStmt{Body: &dst.BlockStmt{List: []dst.Stmt{
		&dst.CommClause{Comm: comm, Body: r.keepStmts()},
		&dst.CommClause{Comm: r.ctxDoneRecv(src), Body: r.leaveBody(w, sig, src)},
	}}}
	selStmt.Decs.NodeDecs = decs
	if len(pre) > 0 {
		pre[0].Decorations().Before = decs.Before
		pre[0].Decorations().Start = decs.Start
		selStmt.Decs.Before, selStmt.Decs.Start = dst.NewLine, nil
	}
	r.spliceStmt(w.block, stmt, append(pre, selStmt))
}

// hoistWait moves a reply receive out of the statement holding it
// (return <-ch, f(<-ch)), before it, into a variable of its own:
//
//	var reply T
//	select { case reply = <-ch: ; case <-ctx.Done(): return ..., ctx.Err() }
//	return reply
func (r *pkgRewriter) hoistWait(w *waitPlan, sig *types.Signature, src ctxSource) {
	recv, stmt := w.node.(*ast.UnaryExpr), w.stmt
	body := r.leaveBody(w, sig, src)
	name := r.freshName(r.curFunc, "reply")
	drecv := r.dst(recv)
	dstmt := r.dst(stmt).(dst.Stmt)
	dstutil.Apply(dstmt, func(c *dstutil.Cursor) bool {
		if c.Node() == drecv {
			c.Replace(dst.NewIdent(name))
			return false
		}
		return true
	}, nil)
	decl := &dst.DeclStmt{Decl: &dst.GenDecl{Tok: token.VAR, Specs: []dst.Spec{
		&dst.ValueSpec{Names: []*dst.Ident{dst.NewIdent(name)}, Type: r.typeExprFor(r.info.TypeOf(recv))},
	}}}
	decs := *dstmt.Decorations()
	decl.Decs.Before, decl.Decs.Start = decs.Before, decs.Start
	dstmt.Decorations().Before, dstmt.Decorations().Start = dst.NewLine, nil
	selStmt := &dst.SelectStmt{Body: &dst.BlockStmt{List: []dst.Stmt{
		&dst.CommClause{Comm: &dst.AssignStmt{Lhs: []dst.Expr{dst.NewIdent(name)}, Tok: token.ASSIGN, Rhs: []dst.Expr{drecv.(dst.Expr)}}, Body: r.keepStmts()},
		&dst.CommClause{Comm: r.ctxDoneRecv(src), Body: body},
	}}}
	selStmt.Decs.Before = dst.NewLine
	r.spliceStmt(w.block, stmt, []dst.Stmt{decl, selStmt, dstmt})
}

// caseWait adds the ctx case to a select that waits for a reply.
func (r *pkgRewriter) caseWait(w *waitPlan, sig *types.Signature, src ctxSource) {
	body := r.leaveBody(w, sig, src)
	dsel := r.dst(w.stmt).(*dst.SelectStmt)
	for _, cc := range w.keep {
		dcc := r.dst(cc).(*dst.CommClause)
		dcc.Body = append(r.keepStmts(), dcc.Body...)
	}
	dsel.Body.List = append(dsel.Body.List, &dst.CommClause{Comm: r.ctxDoneRecv(src), Body: body})
}

// leaveBody is what a wait runs when ctx ends: it returns ctx.Err(),
// after cutting the exchange off when planning said so (cutOff).
func (r *pkgRewriter) leaveBody(w *waitPlan, sig *types.Signature, src ctxSource) []dst.Stmt {
	ret := r.ctxReturn(sig, src)
	if !w.cut {
		return []dst.Stmt{ret}
	}
	return append(r.cutOff(w), ret)
}

// cutOff is what a wait that must be cut off (iodetect's ReplyWait.Cut)
// runs when ctx ends, before returning ctx.Err(): it closes the connection
// the client reads, so that the reply this caller leaves behind can go to
// no later caller, then waits, on the channels of the wait, for the
// reader to let go (it ends once its read fails, closing one of them):
//
//	c.conn.Close()
//	select {
//	case <-errors:
//	case <-rpc:
//	}
func (r *pkgRewriter) cutOff(w *waitPlan) []dst.Stmt {
	path := w.site.Reply.Cut
	var x dst.Expr = dst.NewIdent(path[0].Name())
	for _, f := range path[1:] {
		x = &dst.SelectorExpr{X: x, Sel: dst.NewIdent(f.Name())}
	}
	closeStmt := &dst.ExprStmt{X: &dst.CallExpr{Fun: &dst.SelectorExpr{X: x, Sel: dst.NewIdent("Close")}}}
	closeStmt.Decs.Before = dst.NewLine
	closeStmt.Decs.Start.Append("// asyncify: cut the exchange off (a reply left behind would go to the next caller),", "// then wait for the reader to let go")
	var drain []dst.Stmt
	for _, e := range w.recvs {
		drain = append(drain, &dst.CommClause{Comm: &dst.ExprStmt{X: &dst.UnaryExpr{Op: token.ARROW, X: dst.Clone(r.dst(e)).(dst.Expr)}}})
	}
	if len(drain) == 1 {
		return []dst.Stmt{closeStmt, drain[0].(*dst.CommClause).Comm}
	}
	return []dst.Stmt{closeStmt, &dst.SelectStmt{Body: &dst.BlockStmt{List: drain}}}
}

// ctxReturn is the statement that leaves the function, of signature sig,
// with ctx.Err() (ctxReturnWhy said it can).
func (r *pkgRewriter) ctxReturn(sig *types.Signature, src ctxSource) dst.Stmt {
	res := sig.Results()
	ret := &dst.ReturnStmt{}
	for i := 0; i < res.Len()-1; i++ {
		ret.Results = append(ret.Results, r.zeroExpr(res.At(i).Type()))
	}
	ret.Results = append(ret.Results, &dst.CallExpr{Fun: &dst.SelectorExpr{X: dst.NewIdent(src.name), Sel: dst.NewIdent("Err")}})
	return ret
}

func (r *pkgRewriter) ctxDoneRecv(src ctxSource) dst.Stmt {
	if r.private != nil {
		r.private.used = true
		return &dst.ExprStmt{X: &dst.UnaryExpr{Op: token.ARROW, X: dst.NewIdent(r.private.done)}}
	}
	return &dst.ExprStmt{X: &dst.UnaryExpr{Op: token.ARROW, X: &dst.CallExpr{Fun: &dst.SelectorExpr{X: dst.NewIdent(src.name), Sel: dst.NewIdent("Done")}}}}
}

// keepStmt copies the private destination to the caller's, on the reply.
func (r *pkgRewriter) keepStmts() []dst.Stmt {
	if r.private == nil {
		return nil
	}
	r.private.used = true
	return []dst.Stmt{&dst.ExprStmt{X: &dst.CallExpr{Fun: dst.NewIdent(r.private.keep)}}}
}

// privateState is a function's private destination for what the reader
// writes (DESIGN §4): the reader decodes into a fresh value, copied to the
// caller's once the reply has come; a caller who left never sees it.
type privateState struct {
	keep, done string
	def        dst.Stmt // the statement making it, added once used
	note       Diag
	used       bool
}

// privateDst gives fd's reply waits a private destination for mem, the
// parameter the reader writes into (privateMem): at the top,
//
//	reply, asyncifyKeep, asyncifyDone := replyPrivate(ctx, reply)
//
// the waits then end on asyncifyDone (ctx.Done(), or nil when the value
// cannot be made private: not a non-nil pointer), and the reply case calls
// asyncifyKeep first.
func (r *pkgRewriter) privateDst(fd *ast.FuncDecl, mem *types.Var, src ctxSource) *privateState {
	ps := &privateState{keep: r.freshName(fd, "asyncifyKeep"), done: r.freshName(fd, "asyncifyDone")}
	def := &dst.AssignStmt{
		Lhs: []dst.Expr{dst.NewIdent(mem.Name()), dst.NewIdent(ps.keep), dst.NewIdent(ps.done)},
		Tok: token.DEFINE,
		Rhs: []dst.Expr{&dst.CallExpr{Fun: dst.NewIdent(r.rt("replyPrivate")), Args: []dst.Expr{dst.NewIdent(src.name), dst.NewIdent(mem.Name())}}},
	}
	def.Decs.After = dst.NewLine
	ps.def = def
	ps.note = diagf(r.fset.Position(fd.Pos()), "%s: the reader goroutine writes the reply into %s, memory the caller passed: it writes into a private value instead, copied to %s once the reply has come (a caller whose ctx ended never sees it)", fd.Name.Name, mem.Name(), mem.Name())
	return ps
}

// addPrivate adds the private destination's statement once a wait uses it.
func (r *pkgRewriter) addPrivate(fd *ast.FuncDecl) {
	if r.private == nil || !r.private.used {
		return
	}
	dfd := r.dst(fd).(*dst.FuncDecl)
	dfd.Body.List = append([]dst.Stmt{r.private.def}, dfd.Body.List...)
	r.c.notes = append(r.c.notes, r.private.note)
}

// zeroExpr spells the zero value of t.
func (r *pkgRewriter) zeroExpr(t types.Type) dst.Expr {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsBoolean != 0:
			return dst.NewIdent("false")
		case u.Info()&types.IsString != 0:
			return &dst.BasicLit{Kind: token.STRING, Value: `""`}
		case u.Info()&types.IsNumeric != 0:
			return &dst.BasicLit{Kind: token.INT, Value: "0"}
		case u.Kind() == types.UnsafePointer:
			return dst.NewIdent("nil")
		}
		return nil
	case *types.Pointer, *types.Slice, *types.Map, *types.Chan, *types.Signature, *types.Interface:
		if _, ok := t.(*types.TypeParam); ok {
			break
		}
		return dst.NewIdent("nil")
	case *types.Struct, *types.Array:
		if _, ok := t.(*types.Named); ok {
			return &dst.CompositeLit{Type: r.typeExprFor(t)}
		}
	}
	return &dst.StarExpr{X: &dst.CallExpr{Fun: dst.NewIdent("new"), Args: []dst.Expr{r.typeExprFor(t)}}}
}

// hasZeroExpr reports whether zeroExpr can spell t's zero value.
func hasZeroExpr(t types.Type) bool {
	u, ok := t.Underlying().(*types.Basic)
	return !ok || u.Info()&(types.IsBoolean|types.IsString|types.IsNumeric) != 0 || u.Kind() == types.UnsafePointer
}

// typeExprFor is typeExpr, spelling the empty interface as interface{} for
// modules older than go 1.18.
func (r *pkgRewriter) typeExprFor(t types.Type) dst.Expr {
	if i, ok := t.(*types.Interface); ok && i.Empty() {
		return &dst.InterfaceType{Methods: &dst.FieldList{}}
	}
	return r.typeExpr(t)
}

// spliceStmt replaces stmt, in block b, with stmts.
func (r *pkgRewriter) spliceStmt(b *ast.BlockStmt, stmt ast.Stmt, stmts []dst.Stmt) {
	old := r.dst(stmt)
	var list *[]dst.Stmt
	switch p := r.parentList(b).(type) {
	case *dst.BlockStmt:
		list = &p.List
	case *dst.CaseClause:
		list = &p.Body
	case *dst.CommClause:
		list = &p.Body
	}
	if list == nil {
		return
	}
	for i, s := range *list {
		if s == old {
			*list = append((*list)[:i], append(stmts, (*list)[i+1:]...)...)
			return
		}
	}
}

// parentList finds the dst node holding the statements of b (a block, or
// the clause replyWaits made a block of).
func (r *pkgRewriter) parentList(b *ast.BlockStmt) dst.Node {
	if n, ok := r.dec.Dst.Nodes[b]; ok {
		return n
	}
	// a clause: find it by its colon
	var found dst.Node
	for _, f := range r.ast {
		if f.Pos() > b.Lbrace || b.Lbrace > f.End() {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch c := n.(type) {
			case *ast.CaseClause:
				if c.Colon == b.Lbrace {
					found = r.dst(c)
				}
			case *ast.CommClause:
				if c.Colon == b.Lbrace {
					found = r.dst(c)
				}
			}
			return found == nil
		})
	}
	return found
}

// condWait rewrites x.Wait() on a Cond the reader signals into
//
//	if condWait(ctx, x) { return ..., ctx.Err() }
func (r *pkgRewriter) condWait(w *waitPlan, sig *types.Signature, src ctxSource) {
	sel := r.dst(w.node).(*dst.CallExpr).Fun.(*dst.SelectorExpr)
	cond := &dst.CallExpr{Fun: dst.NewIdent(r.rt("condWait")), Args: []dst.Expr{dst.NewIdent(src.name), sel.X}}
	ifs := &dst.IfStmt{Cond: cond, Body: &dst.BlockStmt{List: []dst.Stmt{r.ctxReturn(sig, src)}}}
	ifs.Decs.NodeDecs = *r.dst(w.stmt).Decorations()
	r.spliceStmt(w.block, w.stmt, []dst.Stmt{ifs})
}
