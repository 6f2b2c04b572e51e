package rewrite

import (
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
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

// replyWaitsOf lists the reply waits of the package by their syntax.
func (r *pkgRewriter) indexReplyWaits() {
	r.replySites = make(map[ast.Node]*iodetect.Site)
	for _, s := range r.l.Sites {
		if s.Kind == iodetect.KindReplyWait {
			r.replySites[s.Node] = s
		}
	}
	r.readerGo = make(map[*iodetect.Func]bool)
	for _, rd := range r.l.Readers {
		r.readerGo[rd.Func] = true
	}
	r.readerCtx = make(map[*ast.CallExpr]bool)
	// A context.Background() kept in a variable that a go statement
	// starting a reader (or a detached goroutine: iodetect's detached.go)
	// uses is the connection's lifetime (go-zookeeper's Connect: ctx :=
	// context.Background(); go func() { conn.loop(ctx) }()): it stays,
	// never the caller's ctx; so does one the go statement passes itself.
	vars := make(map[types.Object]bool)
	for _, f := range r.ast {
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok && (r.readerStart(g) || r.l.Detached(g.Call)) {
				for _, arg := range g.Call.Args {
					if c, ok := ast.Unparen(arg).(*ast.CallExpr); ok && r.detachedContext(c) {
						r.readerCtx[c] = true // a run on converted code
					}
				}
				ast.Inspect(g.Call, func(n ast.Node) bool {
					if id, ok := n.(*ast.Ident); ok {
						if v, ok := r.info.Uses[id].(*types.Var); ok && isContext(v.Type()) {
							vars[v] = true
						}
					}
					return true
				})
			}
			return true
		})
	}
	for _, f := range r.ast {
		ast.Inspect(f, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok {
				return true
			}
			for _, lhs := range as.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok || !vars[r.info.ObjectOf(id)] {
					continue
				}
				for _, rhs := range as.Rhs {
					ast.Inspect(rhs, func(n ast.Node) bool {
						if c, ok := n.(*ast.CallExpr); ok && r.detachedContext(c) {
							r.readerCtx[c] = true
						}
						return true
					})
				}
			}
			return true
		})
	}
}

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

// noteReaders says once what a package with a reader goroutine gets, and
// which of its reply waits are only reported.
func (r *pkgRewriter) noteReaders() {
	if len(r.l.Readers) == 0 || r.internal {
		return
	}
	for _, s := range r.l.Sites {
		if s.Kind == iodetect.KindReplyWait && !s.Seeds() && s.Reply != nil && !strings.HasSuffix(s.Pos.Filename, "_test.go") {
			r.c.note(s.Pos, "the wait %s is reported, not made cancellable: %s", s.Callee, s.Reply.Why)
		}
	}
	rd := r.l.Readers[0]
	r.c.note(rd.Go, "%s reads the connection on its own goroutine for every caller: ctx bounds each caller's wait for its reply, never the connection (no ctx deadline on it, no watch)", rd.Func.Name)
}

// replyWaits rewrites the reply waits in fd's own body (not in its
// literals), whose ctx is src.
func (r *pkgRewriter) replyWaits(df *dst.File, fd *ast.FuncDecl, src ctxSource) {
	if len(r.replySites) == 0 {
		return
	}
	sig := r.info.Defs[fd.Name].(*types.Func).Type().(*types.Signature)
	r.private = r.privateDst(df, fd, src)
	defer func() {
		r.addPrivate(df, fd)
		r.private = nil
	}()
	var blocks []*ast.BlockStmt
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			r.noteLitWaits(n)
			return false
		case *ast.BlockStmt:
			blocks = append(blocks, n)
		case *ast.SelectStmt:
			r.skipCutOff(n)
		case *ast.CaseClause:
			blocks = append(blocks, &ast.BlockStmt{List: n.Body, Lbrace: n.Colon})
		case *ast.CommClause:
			blocks = append(blocks, &ast.BlockStmt{List: n.Body, Lbrace: n.Colon})
		}
		return true
	})
	for _, b := range blocks {
		for _, stmt := range b.List {
			r.replyStmt(df, b, stmt, sig, src)
		}
	}
	// waits left in expressions, if inits, ranges
	for node, s := range r.replySites {
		if s.Func == nil || s.Func.Decl != fd || r.replyDone[node] || !s.Seeds() || strings.HasSuffix(s.Pos.Filename, "_test.go") {
			continue
		}
		if s.Reply != nil && s.Reply.Cond {
			r.c.note(s.Pos, "the wait %s is left as it is: a Cond wait is rewritten only as a statement in a function that defers the Unlock of its lock", s.Callee)
			continue
		}
		if _, why := r.ctxReturn(sig, src, s); why != "" && (s.Reply == nil || !s.Reply.Safe || len(s.Reply.Mem) > 0 || src.name == "") {
			r.c.note(s.Pos, "the wait %s is left as it is, not bounded by ctx: %s", s.Callee, why)
			continue
		}
		r.c.note(s.Pos, "the wait %s is left as it is, not bounded by ctx: only a receive that is a statement of its own, an assignment or a select case is rewritten", s.Callee)
	}
}

// noteLitWaits reports the reply waits inside a function literal: left as
// they are.
func (r *pkgRewriter) noteLitWaits(lit *ast.FuncLit) {
	for node, s := range r.replySites {
		if s.Seeds() && lit.Pos() <= node.Pos() && node.End() <= lit.End() && !r.replyDone[node] {
			r.replyDone[node] = true
			if strings.HasSuffix(s.Pos.Filename, "_test.go") {
				continue
			}
			r.c.note(s.Pos, "the wait %s in a function literal is left as it is, not bounded by ctx", s.Callee)
		}
	}
}

// replyStmt rewrites stmt when it is a reply wait.
func (r *pkgRewriter) replyStmt(df *dst.File, b *ast.BlockStmt, stmt ast.Stmt, sig *types.Signature, src ctxSource) {
	if sel, ok := stmt.(*ast.SelectStmt); ok {
		r.replySelect(df, sel, sig, src)
		return
	}
	// a receive as a statement of its own: <-ch, v := <-ch, v, ok = <-ch
	recv := iodetect.RecvExpr(stmt)
	if call := condWaitCall(stmt); call != nil {
		if s := r.replySites[call]; s != nil && s.Seeds() && s.Reply != nil && s.Reply.Cond {
			r.condWait(df, b, stmt, call, s, sig, src)
		}
		return
	}
	if recv == nil || r.replySites[recv] == nil {
		r.hoistWait(df, b, stmt, sig, src)
		return
	}
	s := r.replySites[recv]
	if !s.Seeds() || r.replyDone[recv] {
		return
	}
	r.replyDone[recv] = true
	ret, why := r.ctxReturn(sig, src, s)
	var body []dst.Stmt
	if ret != nil {
		body, why = r.leaveBody(s, ret, []ast.Expr{recv.X})
	}
	if body == nil {
		if why != "" {
			r.c.note(s.Pos, "the wait %s is left as it is, not bounded by ctx: %s", s.Callee, why)
		}
		return
	}
	dstmt := r.dst(stmt).(dst.Stmt)
	var pre []dst.Stmt
	if as, ok := stmt.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
		// v, ok := <-ch: declare the new names, then assign them in the case
		das := dstmt.(*dst.AssignStmt)
		for i, lhs := range as.Lhs {
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
			_ = i
		}
		das.Tok = token.ASSIGN
	}
	comm := dstmt
	decs := *dstmt.Decorations()
	dstmt.Decorations().Before, dstmt.Decorations().After = dst.None, dst.None
	dstmt.Decorations().Start, dstmt.Decorations().End = nil, nil
	selStmt := &dst.SelectStmt{Body: &dst.BlockStmt{List: []dst.Stmt{
		&dst.CommClause{Comm: comm, Body: r.keepStmts()},
		&dst.CommClause{Comm: r.ctxDoneRecv(src), Body: body},
	}}}
	selStmt.Decs.NodeDecs = decs
	if len(pre) > 0 {
		pre[0].Decorations().Before = decs.Before
		pre[0].Decorations().Start = decs.Start
		selStmt.Decs.Before, selStmt.Decs.Start = dst.NewLine, nil
	}
	r.spliceStmt(b, stmt, append(pre, selStmt))
	r.modified[df] = true
}

// hoistWait rewrites a statement holding one reply receive inside an
// expression (return <-ch, f(<-ch)): the receive moves before it, into a
// variable of its own,
//
//	var reply T
//	select { case reply = <-ch: ; case <-ctx.Done(): return ..., ctx.Err() }
//	return reply
//
// when nothing else in the statement that it would then run after calls a
// function (builtins and conversions aside) or sits beside it in && or ||.
func (r *pkgRewriter) hoistWait(df *dst.File, b *ast.BlockStmt, stmt ast.Stmt, sig *types.Signature, src ctxSource) {
	switch stmt.(type) {
	case *ast.ReturnStmt, *ast.ExprStmt, *ast.AssignStmt:
	default:
		return
	}
	var recv *ast.UnaryExpr
	n := 0
	ast.Inspect(stmt, func(node ast.Node) bool {
		if _, ok := node.(*ast.FuncLit); ok {
			return false
		}
		if u, ok := node.(*ast.UnaryExpr); ok && r.replySites[u] != nil && !r.replyDone[u] {
			recv = u
			n++
		}
		return true
	})
	if n != 1 || !r.replySites[recv].Seeds() {
		return
	}
	ok := true
	ast.Inspect(stmt, func(node ast.Node) bool {
		switch node := node.(type) {
		case *ast.FuncLit:
			return false
		case *ast.UnaryExpr:
			if node == recv {
				return false
			}
		case *ast.BinaryExpr:
			if (node.Op == token.LAND || node.Op == token.LOR) && node.Pos() <= recv.Pos() && recv.End() <= node.End() {
				ok = false
			}
		case *ast.CallExpr:
			if tv, found := r.info.Types[node.Fun]; found && (tv.IsType() || tv.IsBuiltin()) {
				return true
			}
			ok = false
		}
		return ok
	})
	s := r.replySites[recv]
	if !ok {
		return // noted by replyWaits
	}
	t := r.info.TypeOf(recv)
	if t == nil {
		return
	}
	ret, why := r.ctxReturn(sig, src, s)
	r.replyDone[recv] = true
	var body []dst.Stmt
	if ret != nil {
		body, why = r.leaveBody(s, ret, []ast.Expr{recv.X})
	}
	if body == nil {
		if why != "" {
			r.c.note(s.Pos, "the wait %s is left as it is, not bounded by ctx: %s", s.Callee, why)
		}
		return
	}
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
		&dst.ValueSpec{Names: []*dst.Ident{dst.NewIdent(name)}, Type: r.typeExprFor(t)},
	}}}
	decs := *dstmt.Decorations()
	decl.Decs.Before, decl.Decs.Start = decs.Before, decs.Start
	dstmt.Decorations().Before, dstmt.Decorations().Start = dst.NewLine, nil
	selStmt := &dst.SelectStmt{Body: &dst.BlockStmt{List: []dst.Stmt{
		&dst.CommClause{Comm: &dst.AssignStmt{Lhs: []dst.Expr{dst.NewIdent(name)}, Tok: token.ASSIGN, Rhs: []dst.Expr{drecv.(dst.Expr)}}, Body: r.keepStmts()},
		&dst.CommClause{Comm: r.ctxDoneRecv(src), Body: body},
	}}}
	selStmt.Decs.Before = dst.NewLine
	r.spliceStmt(b, stmt, []dst.Stmt{decl, selStmt, dstmt})
	r.modified[df] = true
}

// replySelect adds the ctx case to a select that waits for a reply.
func (r *pkgRewriter) replySelect(df *dst.File, sel *ast.SelectStmt, sig *types.Signature, src ctxSource) {
	var s *iodetect.Site
	for _, c := range sel.Body.List {
		cc := c.(*ast.CommClause)
		if cc.Comm == nil {
			return // a select with a default does not wait
		}
		if u := iodetect.RecvExpr(cc.Comm); u != nil && r.replySites[u] != nil && r.replySites[u].Seeds() {
			if r.replyDone[u] {
				return // a cut-off's wait (skipCutOff)
			}
			r.replyDone[u] = true
			if s == nil {
				s = r.replySites[u]
			} else if !r.replySites[u].Reply.Safe {
				s = r.replySites[u]
			}
		}
	}
	if s == nil || r.hasCtxCase(sel) {
		return
	}
	ret, why := r.ctxReturn(sig, src, s)
	if ret == nil {
		if why != "" {
			r.c.note(s.Pos, "the wait %s is left as it is, not bounded by ctx: %s", s.Callee, why)
		}
		return
	}
	var recvs []ast.Expr
	for _, c := range sel.Body.List {
		if x := iodetect.RecvOf(c.(*ast.CommClause).Comm); x != nil {
			recvs = append(recvs, x)
		}
	}
	body, why := r.leaveBody(s, ret, recvs)
	if body == nil {
		r.c.note(s.Pos, "the wait %s is left as it is, not bounded by ctx: %s", s.Callee, why)
		return
	}
	dsel := r.dst(sel).(*dst.SelectStmt)
	if r.private != nil {
		for _, c := range sel.Body.List {
			cc := c.(*ast.CommClause)
			if replyComm(cc, r.replySites) {
				dcc := r.dst(cc).(*dst.CommClause)
				dcc.Body = append(r.keepStmts(), dcc.Body...)
			}
		}
	}
	dsel.Body.List = append(dsel.Body.List, &dst.CommClause{Comm: r.ctxDoneRecv(src), Body: body})
	r.modified[df] = true
}

// leaveBody is what a wait runs when ctx ends: ret, after cutting the
// exchange off when the wait is not safe (cutOff); nil and why when that
// cannot be done.
func (r *pkgRewriter) leaveBody(s *iodetect.Site, ret dst.Stmt, recvs []ast.Expr) ([]dst.Stmt, string) {
	if s.Reply == nil || s.Reply.Safe {
		return []dst.Stmt{ret}, ""
	}
	cut, why := r.cutOff(s, recvs)
	if cut == nil {
		return nil, why
	}
	return append(cut, ret), ""
}

// cutOff is what a wait that must be cut off (iodetect's ReplyWait.Cut)
// runs when ctx ends, before returning ctx.Err(): it closes the connection
// the client reads, so that the reply this caller leaves behind can go to
// no later caller, then waits, on the channels recvs of the wait, for the
// reader to let go (it ends once its read fails, closing one of them):
//
//	c.conn.Close()
//	select {
//	case <-errors:
//	case <-rpc:
//	}
//
// Nil, and why, when a channel expression may have effects of its own
// (only names and field selections are received from again).
func (r *pkgRewriter) cutOff(s *iodetect.Site, recvs []ast.Expr) ([]dst.Stmt, string) {
	path := s.Reply.Cut
	var x dst.Expr = dst.NewIdent(path[0].Name())
	for _, f := range path[1:] {
		x = &dst.SelectorExpr{X: x, Sel: dst.NewIdent(f.Name())}
	}
	closeStmt := &dst.ExprStmt{X: &dst.CallExpr{Fun: &dst.SelectorExpr{X: x, Sel: dst.NewIdent("Close")}}}
	closeStmt.Decs.Before = dst.NewLine
	closeStmt.Decs.Start.Append("// asyncify: cut the exchange off (a reply left behind would go to the next caller),", "// then wait for the reader to let go")
	var drain []dst.Stmt
	for _, e := range recvs {
		if !r.pureExpr(e) {
			return nil, "the wait's channel " + types.ExprString(e) + " is not a name or a field, and the wait must receive from it again after cutting the exchange off"
		}
		drain = append(drain, &dst.CommClause{Comm: &dst.ExprStmt{X: &dst.UnaryExpr{Op: token.ARROW, X: dst.Clone(r.dst(e)).(dst.Expr)}}})
	}
	names := make([]string, len(path))
	for i, v := range path {
		names[i] = v.Name()
	}
	r.c.note(s.Pos, "the wait %s ends with ctx by cutting the exchange off, closing %s, and lasts until the reader lets go: %s", s.Callee, strings.Join(names, "."), s.Reply.Why)
	if len(drain) == 1 {
		return []dst.Stmt{closeStmt, drain[0].(*dst.CommClause).Comm}, ""
	}
	return []dst.Stmt{closeStmt, &dst.SelectStmt{Body: &dst.BlockStmt{List: drain}}}, ""
}

// pureExpr reports whether evaluating e again has no effect and gives the
// same channel: a name, or fields selected from one.
func (r *pkgRewriter) pureExpr(e ast.Expr) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		_, ok := r.info.Uses[e].(*types.Var)
		return ok
	case *ast.SelectorExpr:
		sel := r.info.Selections[e]
		return sel != nil && sel.Kind() == types.FieldVal && r.pureExpr(e.X)
	}
	return false
}

// hasCtxCase reports whether a select already waits for a ctx's Done or a
// private destination's done channel (a run on converted code).
func (r *pkgRewriter) hasCtxCase(sel *ast.SelectStmt) bool {
	return slices.ContainsFunc(sel.Body.List, func(c ast.Stmt) bool { return r.ctxCase(c.(*ast.CommClause)) })
}

// ctxCase reports whether a select case waits for a ctx's Done or a
// private destination's done channel.
func (r *pkgRewriter) ctxCase(cc *ast.CommClause) bool {
	es, ok := cc.Comm.(*ast.ExprStmt)
	if !ok {
		return false
	}
	u, ok := ast.Unparen(es.X).(*ast.UnaryExpr)
	if !ok || u.Op != token.ARROW {
		return false
	}
	if call, ok := ast.Unparen(u.X).(*ast.CallExpr); ok {
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Done" && isContext(r.info.TypeOf(sel.X)) {
			return true
		}
	}
	id, ok := ast.Unparen(u.X).(*ast.Ident)
	return ok && strings.HasPrefix(id.Name, "asyncifyDone")
}

// skipCutOff marks the waits inside the ctx case of a select as done: a
// run on converted code finds there the wait of a cut-off (cutOff), which
// must stay as it is.
func (r *pkgRewriter) skipCutOff(sel *ast.SelectStmt) {
	for _, c := range sel.Body.List {
		cc := c.(*ast.CommClause)
		if !r.ctxCase(cc) {
			continue
		}
		for _, st := range cc.Body {
			ast.Inspect(st, func(n ast.Node) bool {
				if r.replySites[n] != nil {
					r.replyDone[n] = true
				}
				return true
			})
		}
	}
}

// replyComm reports whether a select case receives a reply.
func replyComm(cc *ast.CommClause, sites map[ast.Node]*iodetect.Site) bool {
	u := iodetect.RecvExpr(cc.Comm)
	return u != nil && sites[u] != nil
}

// ctxReturn is the statement that leaves the function with ctx.Err(), or
// nil and why the wait stays.
func (r *pkgRewriter) ctxReturn(sig *types.Signature, src ctxSource, s *iodetect.Site) (dst.Stmt, string) {
	if src.name == "" {
		if strings.HasSuffix(s.Pos.Filename, "_test.go") {
			return nil, "" // a test's own wait: left as it is, silently
		}
		return nil, "the function has no ctx"
	}
	if s.Reply == nil || !s.Reply.Safe && s.Reply.Cut == nil {
		why := "a reply for a caller who left could block the reader"
		if s.Reply != nil && s.Reply.Why != "" {
			why = s.Reply.Why
		}
		return nil, why
	}
	if len(s.Reply.Mem) > 0 && r.private == nil {
		names := make([]string, len(s.Reply.Mem))
		for i, v := range s.Reply.Mem {
			names[i] = v.Name()
		}
		return nil, "the reader writes into memory the caller passed (" + strings.Join(names, ", ") + "), which cannot be made private (one parameter of type any or interface{}, holding a pointer, can): returning before it is done would race with the caller"
	}
	res := sig.Results()
	if res.Len() == 0 || !types.Identical(res.At(res.Len()-1).Type(), types.Universe.Lookup("error").Type()) {
		return nil, "the function has no error result to return ctx.Err() in"
	}
	ret := &dst.ReturnStmt{}
	for i := 0; i < res.Len()-1; i++ {
		z := r.zeroExpr(res.At(i).Type())
		if z == nil {
			return nil, "no zero value can be spelled for its result " + res.At(i).Type().String()
		}
		ret.Results = append(ret.Results, z)
	}
	ret.Results = append(ret.Results, &dst.CallExpr{Fun: &dst.SelectorExpr{X: dst.NewIdent(src.name), Sel: dst.NewIdent("Err")}})
	return ret, ""
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

// privateDst gives fd's reply waits a private destination when the reader
// writes into one parameter of fd of an empty interface type: at the top,
//
//	reply, asyncifyKeep, asyncifyDone := replyPrivate(ctx, reply)
//
// the waits then end on asyncifyDone (ctx.Done(), or nil when the value
// cannot be made private: not a non-nil pointer), and the reply case calls
// asyncifyKeep first. Nil when fd needs none or cannot have one.
func (r *pkgRewriter) privateDst(df *dst.File, fd *ast.FuncDecl, src ctxSource) *privateState {
	if src.name == "" {
		return nil
	}
	var mem *types.Var
	for _, s := range r.l.Sites {
		if s.Kind != iodetect.KindReplyWait || s.Func == nil || s.Func.Decl != fd || s.Reply == nil || len(s.Reply.Mem) == 0 {
			continue
		}
		if len(s.Reply.Mem) > 1 || mem != nil && mem != s.Reply.Mem[0] {
			return nil
		}
		mem = s.Reply.Mem[0]
	}
	if mem == nil || mem.Name() == "_" || mem.Name() == "" {
		return nil
	}
	if len(fd.Body.List) > 0 {
		if as, ok := fd.Body.List[0].(*ast.AssignStmt); ok && len(as.Rhs) == 1 {
			if call, ok := as.Rhs[0].(*ast.CallExpr); ok {
				if id, ok := call.Fun.(*ast.Ident); ok && id.Name == r.rtName("replyPrivate") {
					return nil // a run on converted code
				}
			}
		}
	}
	if i, ok := mem.Type().Underlying().(*types.Interface); !ok || !i.Empty() {
		return nil
	}
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
func (r *pkgRewriter) addPrivate(df *dst.File, fd *ast.FuncDecl) {
	if r.private == nil || !r.private.used {
		return
	}
	dfd := r.dst(fd).(*dst.FuncDecl)
	dfd.Body.List = append([]dst.Stmt{r.private.def}, dfd.Body.List...)
	r.c.notes = append(r.c.notes, r.private.note)
	r.modified[df] = true
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

// condWaitCall is the call of a statement that is only a call.
func condWaitCall(stmt ast.Stmt) *ast.CallExpr {
	if es, ok := stmt.(*ast.ExprStmt); ok {
		call, _ := ast.Unparen(es.X).(*ast.CallExpr)
		return call
	}
	return nil
}

// condWait rewrites x.Wait() on a Cond the reader signals into
//
//	if condWait(ctx, x) { return ..., ctx.Err() }
//
// when the function defers the Unlock of x's lock (an early return then
// releases it, as every other return does).
func (r *pkgRewriter) condWait(df *dst.File, b *ast.BlockStmt, stmt ast.Stmt, call *ast.CallExpr, s *iodetect.Site, sig *types.Signature, src ctxSource) {
	ret, why := r.ctxReturn(sig, src, s)
	if ret == nil {
		r.replyDone[call] = true
		if why != "" {
			r.c.note(s.Pos, "the wait %s is left as it is, not bounded by ctx: %s", s.Callee, why)
		}
		return
	}
	if !r.defersUnlock(r.curFunc) {
		return // noted by replyWaits
	}
	r.replyDone[call] = true
	sel := r.dst(call).(*dst.CallExpr).Fun.(*dst.SelectorExpr)
	cond := &dst.CallExpr{Fun: dst.NewIdent(r.rt("condWait")), Args: []dst.Expr{dst.NewIdent(src.name), sel.X}}
	ifs := &dst.IfStmt{Cond: cond, Body: &dst.BlockStmt{List: []dst.Stmt{ret}}}
	ifs.Decs.NodeDecs = *r.dst(stmt).Decorations()
	r.spliceStmt(b, stmt, []dst.Stmt{ifs})
	r.modified[df] = true
}

// defersUnlock reports whether fd's body defers an Unlock.
func (r *pkgRewriter) defersUnlock(fd *ast.FuncDecl) bool {
	if fd == nil {
		return false
	}
	for _, stmt := range fd.Body.List {
		if d, ok := stmt.(*ast.DeferStmt); ok {
			if sel, ok := d.Call.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Unlock") {
				return true
			}
		}
	}
	return false
}
