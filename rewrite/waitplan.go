package rewrite

import (
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// The fate of the reply waits (replywait.go applies it), decided in
// planning before any edit, with the notes that report it.

// waitFate is what becomes of a reply wait.
type waitFate int

const (
	waitLeft   waitFate = iota // left as it is; why says why ("": silently)
	waitSelect                 // a receive statement becomes a select with a ctx case
	waitHoist                  // a receive inside a statement moves before it, into such a select
	waitCase                   // a select waiting for the reply gains a ctx case
	waitCond                   // a Cond wait becomes condWait
)

// waitPlan is the fate of a reply wait: of every reply receive of a select
// for waitCase.
type waitPlan struct {
	site *iodetect.Site
	fate waitFate
	why  string // waitLeft: why
	// cut: when ctx ends, the exchange is cut off first (cutOff), closing
	// site.Reply.Cut, and recvs, the wait's channels, are waited on for
	// the reader to let go.
	cut   bool
	recvs []ast.Expr
	// where the rule edits: the statement (the select for waitCase) and the
	// block holding it; the receive (waitSelect, waitHoist) or the Wait
	// call (waitCond); for waitCase with a private destination, the cases
	// receiving a reply, which copy it to the caller's first.
	stmt  ast.Stmt
	block *ast.BlockStmt
	node  ast.Node
	keep  []*ast.CommClause
}

// indexReplyWaits indexes the reply waits of the package by their syntax,
// the reader goroutines by their function, and the context.Background()
// calls a reader keeps.
func (r *pkgRewriter) indexReplyWaits() {
	r.replySites = make(map[ast.Node]*iodetect.Site)
	r.waits = make(map[ast.Node]*waitPlan)
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

// planReaders says once what a package with a reader goroutine gets, and
// leaves the reply waits that are only reported.
func (r *pkgRewriter) planReaders() {
	if len(r.l.Readers) == 0 || r.internal {
		return
	}
	for _, s := range r.l.Sites {
		if s.Kind == iodetect.KindReplyWait && !s.Seeds() && s.Reply != nil && !strings.HasSuffix(s.Pos.Filename, "_test.go") {
			r.waits[s.Node] = &waitPlan{site: s, why: s.Reply.Why}
			r.c.note(s.Pos, "the wait %s is reported, not made cancellable: %s", s.Callee, s.Reply.Why)
		}
	}
	rd := r.l.Readers[0]
	r.c.note(rd.Go, "%s reads the connection on its own goroutine for every caller: ctx bounds each caller's wait for its reply, never the connection (no ctx deadline on it, no watch)", rd.Func.Name)
}

// waitPlanner decides the reply waits of one function.
type waitPlanner struct {
	r    *pkgRewriter
	p    *fnPlan
	fd   *ast.FuncDecl
	sig  *types.Signature
	done map[ast.Node]bool // the waits decided
}

// planWaits decides the fate of the reply waits in fd's own body, whose
// ctx is p.src, statement by statement in the order of fd's blocks, as
// replyWaits then applies them. A wait in a function literal, in an
// expression it cannot move out of, an if's or switch's init or a range is
// left as it is, noted; so is one that ctx's end cannot leave (ctxReturnWhy,
// planCut).
func (r *pkgRewriter) planWaits(fd *ast.FuncDecl, p *fnPlan) {
	if len(r.replySites) == 0 {
		return
	}
	p.private = r.privateMem(fd, p.src)
	w := &waitPlanner{r: r, p: p, fd: fd, sig: r.info.Defs[fd.Name].(*types.Func).Type().(*types.Signature), done: make(map[ast.Node]bool)}
	var blocks []*ast.BlockStmt
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			w.lit(n)
			return false
		case *ast.BlockStmt:
			blocks = append(blocks, n)
		case *ast.SelectStmt:
			w.skipCutOff(n)
		case *ast.CaseClause:
			blocks = append(blocks, &ast.BlockStmt{List: n.Body, Lbrace: n.Colon})
		case *ast.CommClause:
			blocks = append(blocks, &ast.BlockStmt{List: n.Body, Lbrace: n.Colon})
		}
		return true
	})
	for _, b := range blocks {
		for _, stmt := range b.List {
			w.stmt(b, stmt)
		}
	}
	// waits left in expressions, if inits, ranges
	src := p.src
	for node, s := range r.replySites {
		if s.Func == nil || s.Func.Decl != fd || w.done[node] || !s.Seeds() || strings.HasSuffix(s.Pos.Filename, "_test.go") {
			continue
		}
		if s.Reply != nil && s.Reply.Cond {
			why := "a Cond wait is rewritten only as a statement in a function that defers the Unlock of its lock"
			r.waits[node] = &waitPlan{site: s, why: why}
			r.c.note(s.Pos, "the wait %s is left as it is: %s", s.Callee, why)
			continue
		}
		why := "only a receive that is a statement of its own, an assignment or a select case is rewritten"
		if _, retWhy := r.ctxReturnWhy(w.sig, src, s, p.private != nil); retWhy != "" && (s.Reply == nil || !s.Reply.Safe || len(s.Reply.Mem) > 0 || src.name == "") {
			why = retWhy
		}
		r.waits[node] = &waitPlan{site: s, why: why}
		r.c.note(s.Pos, "the wait %s is left as it is, not bounded by ctx: %s", s.Callee, why)
	}
}

// decide records wp as the fate of the waits at nodes.
func (w *waitPlanner) decide(wp *waitPlan, nodes ...ast.Node) {
	for _, n := range nodes {
		w.done[n] = true
		w.r.waits[n] = wp
	}
	if wp.fate != waitLeft {
		w.p.waits = append(w.p.waits, wp)
	}
}

// leave decides a wait that returns ctx.Err() when ctx ends (wp.fate),
// recvs being the channels it receives from; it is left, noted when there
// is a reason to say, when it cannot.
func (w *waitPlanner) leave(wp *waitPlan, recvs []ast.Expr, nodes ...ast.Node) {
	ok, why := w.r.ctxReturnWhy(w.sig, w.p.src, wp.site, w.p.private != nil)
	if ok {
		why = w.r.planCut(wp, recvs)
	}
	if !ok || why != "" {
		wp.fate, wp.why = waitLeft, why
		if why != "" {
			w.r.c.note(wp.site.Pos, "the wait %s is left as it is, not bounded by ctx: %s", wp.site.Callee, why)
		}
	}
	w.decide(wp, nodes...)
}

// lit leaves the reply waits inside a function literal as they are.
func (w *waitPlanner) lit(lit *ast.FuncLit) {
	for node, s := range w.r.replySites {
		if s.Seeds() && lit.Pos() <= node.Pos() && node.End() <= lit.End() && !w.done[node] {
			if strings.HasSuffix(s.Pos.Filename, "_test.go") {
				w.decide(&waitPlan{site: s}, node)
				continue
			}
			w.decide(&waitPlan{site: s, why: "it is in a function literal"}, node)
			w.r.c.note(s.Pos, "the wait %s in a function literal is left as it is, not bounded by ctx", s.Callee)
		}
	}
}

// skipCutOff leaves the waits inside the ctx case of a select: a run on
// converted code finds there the wait of a cut-off (cutOff), which must
// stay as it is.
func (w *waitPlanner) skipCutOff(sel *ast.SelectStmt) {
	for _, c := range sel.Body.List {
		cc := c.(*ast.CommClause)
		if !w.r.ctxCase(cc) {
			continue
		}
		for _, st := range cc.Body {
			ast.Inspect(st, func(n ast.Node) bool {
				if s := w.r.replySites[n]; s != nil {
					w.decide(&waitPlan{site: s}, n)
				}
				return true
			})
		}
	}
}

// stmt decides stmt, in block b, when it is a reply wait or holds one.
func (w *waitPlanner) stmt(b *ast.BlockStmt, stmt ast.Stmt) {
	r := w.r
	if sel, ok := stmt.(*ast.SelectStmt); ok {
		w.selectStmt(b, sel)
		return
	}
	if call := condWaitCall(stmt); call != nil {
		if s := r.replySites[call]; s != nil && s.Seeds() && s.Reply != nil && s.Reply.Cond {
			w.cond(b, stmt, call, s)
		}
		return
	}
	// a receive as a statement of its own: <-ch, v := <-ch, v, ok = <-ch
	recv := iodetect.RecvExpr(stmt)
	if recv == nil || r.replySites[recv] == nil {
		w.hoist(b, stmt)
		return
	}
	s := r.replySites[recv]
	if !s.Seeds() || w.done[recv] {
		return
	}
	w.leave(&waitPlan{site: s, fate: waitSelect, stmt: stmt, block: b, node: recv}, []ast.Expr{recv.X}, recv)
}

// hoist decides a statement holding one reply receive inside an
// expression (return <-ch, f(<-ch)): the receive can move before it
// (hoistWait) when nothing else in the statement that it would then run
// after calls a function (builtins and conversions aside) or sits beside
// it in && or ||.
func (w *waitPlanner) hoist(b *ast.BlockStmt, stmt ast.Stmt) {
	r := w.r
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
		if u, ok := node.(*ast.UnaryExpr); ok && r.replySites[u] != nil && !w.done[u] {
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
	if !ok || r.info.TypeOf(recv) == nil {
		return // noted by planWaits
	}
	w.leave(&waitPlan{site: r.replySites[recv], fate: waitHoist, stmt: stmt, block: b, node: recv}, []ast.Expr{recv.X}, recv)
}

// selectStmt decides a select that waits for a reply: it gains the ctx
// case. One without a default, and none already.
func (w *waitPlanner) selectStmt(b *ast.BlockStmt, sel *ast.SelectStmt) {
	r := w.r
	var s *iodetect.Site
	var nodes []ast.Node
	// the waits before the case that ends the decision stay as they are
	stay := func() {
		for _, n := range nodes {
			w.decide(&waitPlan{site: r.replySites[n]}, n)
		}
	}
	for _, c := range sel.Body.List {
		cc := c.(*ast.CommClause)
		if cc.Comm == nil {
			stay() // a select with a default does not wait
			return
		}
		if u := iodetect.RecvExpr(cc.Comm); u != nil && r.replySites[u] != nil && r.replySites[u].Seeds() {
			if w.done[u] {
				stay() // a cut-off's wait (skipCutOff)
				return
			}
			nodes = append(nodes, u)
			if s == nil || !r.replySites[u].Reply.Safe {
				s = r.replySites[u]
			}
		}
	}
	if s == nil {
		return
	}
	if r.hasCtxCase(sel) {
		stay() // a run on converted code
		return
	}
	wp := &waitPlan{site: s, fate: waitCase, stmt: sel, block: b, node: sel}
	var recvs []ast.Expr
	for _, c := range sel.Body.List {
		cc := c.(*ast.CommClause)
		if x := iodetect.RecvOf(cc.Comm); x != nil {
			recvs = append(recvs, x)
		}
		if u := iodetect.RecvExpr(cc.Comm); w.p.private != nil && u != nil && r.replySites[u] != nil {
			wp.keep = append(wp.keep, cc)
		}
	}
	w.leave(wp, recvs, nodes...)
}

// cond decides x.Wait() on a Cond the reader signals: it becomes
// condWait when the function defers the Unlock of x's lock (an early
// return then releases it, as every other return does).
func (w *waitPlanner) cond(b *ast.BlockStmt, stmt ast.Stmt, call *ast.CallExpr, s *iodetect.Site) {
	ok, why := w.r.ctxReturnWhy(w.sig, w.p.src, s, w.p.private != nil)
	if !ok {
		w.decide(&waitPlan{site: s, why: why}, call)
		if why != "" {
			w.r.c.note(s.Pos, "the wait %s is left as it is, not bounded by ctx: %s", s.Callee, why)
		}
		return
	}
	if !defersUnlock(w.fd) {
		return // noted by planWaits
	}
	w.decide(&waitPlan{site: s, fate: waitCond, stmt: stmt, block: b, node: call}, call)
}

// defersUnlock reports whether fd's body defers an Unlock.
func defersUnlock(fd *ast.FuncDecl) bool {
	for _, stmt := range fd.Body.List {
		if d, ok := stmt.(*ast.DeferStmt); ok {
			if sel, ok := d.Call.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Unlock") {
				return true
			}
		}
	}
	return false
}

// ctxReturnWhy reports whether a wait s of a function with signature sig,
// whose ctx is src, can leave it with ctx.Err() (ctxReturn), or why not
// ("": silently, a test's own wait). private: the function has a private
// destination for what the reader writes (privateMem).
func (r *pkgRewriter) ctxReturnWhy(sig *types.Signature, src ctxSource, s *iodetect.Site, private bool) (bool, string) {
	if src.name == "" {
		if strings.HasSuffix(s.Pos.Filename, "_test.go") {
			return false, "" // a test's own wait: left as it is, silently
		}
		return false, "the function has no ctx"
	}
	if s.Reply == nil || !s.Reply.Safe && s.Reply.Cut == nil {
		why := "a reply for a caller who left could block the reader"
		if s.Reply != nil && s.Reply.Why != "" {
			why = s.Reply.Why
		}
		return false, why
	}
	if len(s.Reply.Mem) > 0 && !private {
		names := make([]string, len(s.Reply.Mem))
		for i, v := range s.Reply.Mem {
			names[i] = v.Name()
		}
		return false, "the reader writes into memory the caller passed (" + strings.Join(names, ", ") + "), which cannot be made private (one parameter of type any or interface{}, holding a pointer, can): returning before it is done would race with the caller"
	}
	res := sig.Results()
	if res.Len() == 0 || !types.Identical(res.At(res.Len()-1).Type(), types.Universe.Lookup("error").Type()) {
		return false, "the function has no error result to return ctx.Err() in"
	}
	for i := 0; i < res.Len()-1; i++ {
		if !hasZeroExpr(res.At(i).Type()) {
			return false, "no zero value can be spelled for its result " + res.At(i).Type().String()
		}
	}
	return true, ""
}

// planCut decides whether a wait that is not safe is cut off when ctx ends
// (iodetect's ReplyWait.Cut; cutOff), noted; why it cannot be: a channel
// expression of recvs that may have effects of its own (only names and
// field selections are received from again).
func (r *pkgRewriter) planCut(wp *waitPlan, recvs []ast.Expr) string {
	s := wp.site
	if s.Reply == nil || s.Reply.Safe {
		return ""
	}
	for _, e := range recvs {
		if !r.pureExpr(e) {
			return "the wait's channel " + types.ExprString(e) + " is not a name or a field, and the wait must receive from it again after cutting the exchange off"
		}
	}
	wp.cut, wp.recvs = true, recvs
	names := make([]string, len(s.Reply.Cut))
	for i, v := range s.Reply.Cut {
		names[i] = v.Name()
	}
	r.c.note(s.Pos, "the wait %s ends with ctx by cutting the exchange off, closing %s, and lasts until the reader lets go: %s", s.Callee, strings.Join(names, "."), s.Reply.Why)
	return ""
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

// privateMem is the parameter of fd, of an empty interface type, that the
// reader writes the reply into, when fd's waits get a private destination
// for it (privateDst); nil when fd needs none or cannot have one.
func (r *pkgRewriter) privateMem(fd *ast.FuncDecl, src ctxSource) *types.Var {
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
	return mem
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

// condWaitCall is the call of a statement that is only a call.
func condWaitCall(stmt ast.Stmt) *ast.CallExpr {
	if es, ok := stmt.(*ast.ExprStmt); ok {
		call, _ := ast.Unparen(es.X).(*ast.CallExpr)
		return call
	}
	return nil
}
