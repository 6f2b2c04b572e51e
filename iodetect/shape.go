package iodetect

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"
)

// Mode says whether an operation can share a connection with others.
type Mode string

const (
	// Pipelined: one round of writes, then reads. Write phases are
	// serialised in wire order, so connection state set while writing (a
	// "use tube" line before a put) stays right.
	Pipelined Mode = "pipelined"
	// Exclusive: a write after a read — several rounds, each depending on
	// the reply to the one before — so no other exchange may come between.
	Exclusive Mode = "exclusive"
)

// shape is what the statically known I/O of a piece of code looks like:
// its first write and first read, and the first read followed by a write.
// It is a summary, not a trace: branches join, loops run twice.
type shape struct {
	w, r       *Site
	badR, badW *Site // a read, and a write after it
	// lead is a read that may come before any write (a reply nobody in
	// this code asked for); dial is a dial (the code obtains a connection
	// of its own). Both feed the sharing evidence (evidence.go).
	lead, dial *Site
}

func (s shape) key() [5]bool {
	return [5]bool{s.w != nil, s.r != nil, s.badW != nil, s.lead != nil, s.dial != nil}
}

// seq is s followed by t.
func seq(s, t shape) shape {
	out := s
	if out.badW == nil {
		switch {
		case t.badW != nil:
			out.badR, out.badW = t.badR, t.badW
		case s.r != nil && t.w != nil:
			out.badR, out.badW = s.r, t.w
		}
	}
	if out.lead == nil && s.w == nil {
		out.lead = t.lead
	}
	out.fill(t)
	return out
}

// join is s or t.
func join(s, t shape) shape {
	out := s
	if out.badW == nil {
		out.badR, out.badW = t.badR, t.badW
	}
	if out.lead == nil {
		out.lead = t.lead
	}
	out.fill(t)
	return out
}

// fill takes from t the write, read and dial that out lacks.
func (out *shape) fill(t shape) {
	if out.w == nil {
		out.w = t.w
	}
	if out.r == nil {
		out.r = t.r
	}
	if out.dial == nil {
		out.dial = t.dial
	}
}

// direction says whether a client site writes (or begins a request) or
// reads (or waits for a reply); "" for sites that do neither.
func direction(s *Site) byte {
	if s == nil || s.Side&Client == 0 {
		return 0
	}
	switch s.Kind {
	case KindWrite, KindFlush:
		return 'w'
	case KindRead:
		return 'r'
	case KindDial:
		return 'd'
	case KindPipeline:
		if strings.HasSuffix(s.Callee, "Response") {
			return 'r'
		}
		return 'w'
	}
	return 0
}

// computeModes decides, for every async function, whether it is one round
// of writes then reads. Function shapes are computed together, until none
// changes (recursion).
func (a *analyzer) computeModes() {
	siteOf := make(map[*ast.CallExpr]*Site, len(a.sites))
	for _, s := range a.sites {
		if s.Call != nil {
			siteOf[s.Call] = s
		}
	}
	shapes := make(map[*Func]shape)
	body := func(fn *Func) ast.Node {
		switch {
		case fn.Decl != nil:
			return fn.Decl.Body
		case fn.Lit != nil:
			return fn.Lit.Body
		}
		return nil
	}
	for round := 0; round < 50; round++ {
		changed := false
		memo := make(map[bindingKey]shape)
		for _, fn := range a.funcs {
			if !fn.Async || body(fn) == nil {
				continue
			}
			w := &shapeWalker{a: a, siteOf: siteOf, shapes: shapes, memo: memo}
			s := w.stmt(body(fn).(*ast.BlockStmt))
			for i := len(w.deferred) - 1; i >= 0; i-- {
				s = seq(s, w.deferred[i])
			}
			if s.key() != shapes[fn].key() {
				changed = true
			}
			shapes[fn] = s
		}
		if !changed {
			break
		}
	}
	for _, fn := range a.funcs {
		if !fn.Async {
			continue
		}
		s := shapes[fn]
		fn.Mode, fn.ModeRead, fn.ModeWrite = Pipelined, nil, nil
		if s.badW != nil {
			fn.Mode, fn.ModeRead, fn.ModeWrite = Exclusive, s.badR, s.badW
		}
	}
	a.findEvidence(shapes)
	a.applyModeRules()
}

type shapeWalker struct {
	a        *analyzer
	siteOf   map[*ast.CallExpr]*Site
	shapes   map[*Func]shape
	deferred []shape
	// env holds what the func-typed parameters of the function being walked
	// do, when they are bound by the call being followed (depth > 0): the
	// callback a call site passes, not every callback any caller passes.
	env   map[*types.Var]shape
	depth int
	memo  map[bindingKey]shape // for one round of computeModes: shapes change between rounds
	// starts, when set, records the code this function starts running
	// apart from itself: go statements and callbacks handed to
	// time.AfterFunc or context.AfterFunc (evidence.go).
	starts *[]start
}

// maxDepth bounds how deep calls passing callbacks are followed into.
const maxDepth = 4

// bindingKey identifies a function walked with its parameters bound: the
// same function with the same callbacks has the same shape.
type bindingKey struct {
	fn    *Func
	env   string
	depth int
}

// walkFunc is the shape of fn's body with its func-typed parameters bound.
func (w *shapeWalker) walkFunc(fn *Func, env map[*types.Var]shape, depth int) shape {
	var b strings.Builder
	vars := make([]*types.Var, 0, len(env))
	for v := range env {
		vars = append(vars, v)
	}
	slices.SortFunc(vars, func(x, y *types.Var) int { return cmp.Compare(x.Pos(), y.Pos()) })
	for _, v := range vars {
		fmt.Fprintf(&b, "%p=%v;", v, env[v])
	}
	key := bindingKey{fn, b.String(), depth}
	if s, ok := w.memo[key]; ok {
		return s
	}
	s := w.walkBound(fn, env, depth)
	w.memo[key] = s
	return s
}

func (w *shapeWalker) walkBound(fn *Func, env map[*types.Var]shape, depth int) shape {
	inner := &shapeWalker{a: w.a, siteOf: w.siteOf, shapes: w.shapes, memo: w.memo, env: env, depth: depth}
	body := bodyOf(fn)
	if body == nil {
		return shape{}
	}
	s := inner.stmt(body)
	for i := len(inner.deferred) - 1; i >= 0; i-- {
		s = seq(s, inner.deferred[i])
	}
	return s
}

func (w *shapeWalker) stmts(list []ast.Stmt) shape {
	var s shape
	for _, st := range list {
		s = seq(s, w.stmt(st))
	}
	return s
}

func (w *shapeWalker) stmt(st ast.Stmt) shape {
	switch st := st.(type) {
	case nil:
		return shape{}
	case *ast.BlockStmt:
		if st == nil {
			return shape{}
		}
		return w.stmts(st.List)
	case *ast.IfStmt:
		return seq(seq(w.stmt(st.Init), w.expr(st.Cond)), join(w.stmt(st.Body), w.stmt(st.Else)))
	case *ast.ForStmt:
		iter := seq(seq(w.expr(st.Cond), w.stmt(st.Body)), w.stmt(st.Post))
		return seq(w.stmt(st.Init), seq(iter, iter))
	case *ast.RangeStmt:
		iter := w.stmt(st.Body)
		return seq(w.expr(st.X), seq(iter, iter))
	case *ast.SwitchStmt:
		return seq(seq(w.stmt(st.Init), w.expr(st.Tag)), w.clauses(st.Body))
	case *ast.TypeSwitchStmt:
		return seq(seq(w.stmt(st.Init), w.stmt(st.Assign)), w.clauses(st.Body))
	case *ast.SelectStmt:
		return w.clauses(st.Body)
	case *ast.CaseClause:
		var s shape
		for _, e := range st.List {
			s = seq(s, w.expr(e))
		}
		return seq(s, w.stmts(st.Body))
	case *ast.CommClause:
		return seq(w.stmt(st.Comm), w.stmts(st.Body))
	case *ast.LabeledStmt:
		return w.stmt(st.Stmt)
	case *ast.GoStmt:
		// another goroutine: its exchange does not follow this one's
		s := w.expr(st.Call)
		if w.starts != nil {
			*w.starts = append(*w.starts, start{pos: st.Pos(), what: "a goroutine", s: s})
		}
		return shape{badR: s.badR, badW: s.badW}
	case *ast.DeferStmt:
		var args shape
		for _, e := range st.Call.Args {
			args = seq(args, w.expr(e))
		}
		w.deferred = append(w.deferred, w.call(st.Call, false))
		return args
	default:
		// simple statements: their expressions, in source order
		var s shape
		ast.Inspect(st, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false
			case ast.Expr:
				s = seq(s, w.expr(n))
				return false
			}
			return true
		})
		return s
	}
}

func (w *shapeWalker) clauses(body *ast.BlockStmt) shape {
	var s shape
	for i, c := range body.List {
		if i == 0 {
			s = w.stmt(c)
		} else {
			s = join(s, w.stmt(c))
		}
	}
	return s
}

// expr is the shape of evaluating e: the calls in it, inner ones first.
func (w *shapeWalker) expr(e ast.Expr) shape {
	if e == nil {
		return shape{}
	}
	var s shape
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // runs when called, through the call graph
		case *ast.CallExpr:
			s = seq(s, w.call(n, true))
			return false
		}
		return true
	}
	ast.Inspect(e, visit)
	return s
}

// call is the shape of a call: its operands, then its own site, then what
// the functions it may run do.
func (w *shapeWalker) call(c *ast.CallExpr, withArgs bool) shape {
	var s shape
	if withArgs {
		s = w.expr(c.Fun)
		if _, ok := ast.Unparen(c.Fun).(*ast.Ident); ok {
			s = shape{}
		}
		if sel, ok := ast.Unparen(c.Fun).(*ast.SelectorExpr); ok {
			s = w.expr(sel.X)
		}
		for _, arg := range c.Args {
			s = seq(s, w.expr(arg))
		}
		w.afterFunc(c)
	}
	if site := w.siteOf[c]; site != nil {
		switch direction(site) {
		case 'w':
			s = seq(s, shape{w: site})
		case 'r':
			s = seq(s, shape{r: site, lead: site})
		case 'd':
			s = seq(s, shape{dial: site})
		}
	}
	return seq(s, w.callee(c))
}

// callee is the shape of what a call runs.
func (w *shapeWalker) callee(c *ast.CallExpr) shape {
	// a call through a parameter bound by the call being followed
	if v, ok := w.funcVar(c.Fun); ok {
		if bound, ok := w.env[v]; ok {
			return bound
		}
	}
	targets := w.a.callTargets(c)
	if len(targets) == 1 && w.depth < maxDepth {
		if env := w.bind(c, targets[0]); env != nil {
			return w.walkFunc(targets[0].fn, env, w.depth+1)
		}
	}
	var out shape
	for i, t := range targets {
		if i == 0 {
			out = w.shapes[t.fn]
		} else {
			out = join(out, w.shapes[t.fn])
		}
	}
	return out
}

// funcVar is the variable (parameter, local) a call's function expression names.
func (w *shapeWalker) funcVar(fun ast.Expr) (*types.Var, bool) {
	id, ok := ast.Unparen(fun).(*ast.Ident)
	if !ok {
		return nil, false
	}
	v, ok := w.a.info.Uses[id].(*types.Var)
	return v, ok
}

// bind maps the func-typed parameters of a call's target to what the
// function values passed for them do; nil when the call passes none.
func (w *shapeWalker) bind(c *ast.CallExpr, t funcRef) map[*types.Var]shape {
	sig := w.a.sig(t.fn)
	if sig == nil {
		return nil
	}
	args := c.Args
	if t.recvFirst && len(args) > 0 {
		args = args[1:]
	}
	var env map[*types.Var]shape
	for i, arg := range args {
		if i >= sig.Params().Len() {
			break
		}
		p := sig.Params().At(i)
		if _, ok := p.Type().Underlying().(*types.Signature); !ok {
			continue
		}
		var s shape
		if v, ok := w.funcVar(arg); ok {
			if bound, ok := w.env[v]; ok { // passing on a bound callback
				s = bound
				goto set
			}
		}
		for j, r := range w.a.eval1(arg).funcs {
			if j == 0 {
				s = w.shapes[r.fn]
			} else {
				s = join(s, w.shapes[r.fn])
			}
		}
	set:
		if env == nil {
			env = make(map[*types.Var]shape)
		}
		env[p] = s
	}
	return env
}

// modeReason explains an exclusive mode: "write at POS after read at POS".
func modeReason(fn *Func, rel func(token.Position) string) string {
	if fn.ModeRule != nil {
		return "set by the configuration at " + fn.ModeRule.Pos
	}
	if fn.Mode != Exclusive || fn.ModeWrite == nil || fn.ModeRead == nil {
		return ""
	}
	return fn.ModeWrite.Callee + " at " + rel(fn.ModeWrite.Pos) + " after " + fn.ModeRead.Callee + " at " + rel(fn.ModeRead.Pos)
}
