package iodetect

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"slices"
	"strings"
)

// Reply waits: in a client that reads its connection on a goroutine of its
// own (a reader routing replies to callers by sequence number or message
// id: net/rpc's Client, go-ldap's Conn), the caller's wait for its reply.
//
// Recognised reader goroutines: a function started by a go statement
// outside the test files (a declared function, a method, a literal) whose
// code, through calls but not through further go statements, reads a
// client connection and has a loop (a goroutine doing one exchange and
// handing its result over is an operation's worker, not a reader); it is a
// connection reader, which outlives the operations, when one of its go
// statements is in a function whose own body does not wait for what it
// delivers (go l.reader() in Start or Dial; amqp091-go's Open, which then
// waits for the greeting through the functions it calls, as operations
// do; a goroutine that an operation starts and then waits for right there
// is part of that operation). A forwarder, a goroutine whose own body
// loops receiving what a reader delivers, started by a function that does
// not wait for it (go-ldap's processMessages, amqp091-go's heartbeater),
// counts as a reader; its code is the part of its closure that only it
// reaches (ownedBy).
//
// What the reader delivers: the channels its code sends to or closes,
// identified by the make(chan ...) calls that may reach the send (through
// locals, fields, maps, parameters and results); the sync.Cond values it
// calls Broadcast or Signal on and the sync.WaitGroup values it calls Done
// on, identified by the variable or field holding them.
//
// A reply wait: outside the reader's code, a receive from such a channel
// (<-ch, v, ok := <-ch, a select case, a range over it), or a Wait on such a
// Cond; a Wait on such a WaitGroup is reported, never seeding. A wait is
// safe when a reply for a caller who left cannot block the reader
// (chanSafety); one whose reader's sends select only on a session's close
// channel can be cut off instead (ReplyWait.Cut); others are reported.

// ReplyWait describes a reply wait.
type ReplyWait struct {
	// Reader names the reader goroutine's function.
	Reader string
	// Safe says that a reply arriving for a caller who left never blocks
	// the reader: every channel the wait may receive from is buffered
	// (make with a constant capacity of at least one), or every send to it
	// in the reader's code is a select case beside a default or a receive
	// (a done channel). Why says which, or why not.
	Safe bool
	Why  string
	// Mem lists the parameters of the waiting function whose value the
	// reader's code may write into (it hands them to a call that decodes or
	// reads into them, or stores through them): returning early would
	// leave the reader writing into the caller's memory.
	Mem []*types.Var
	// Cond is the sync.Cond for a Cond wait.
	Cond bool
	// Cut is set for a wait that is not Safe only because the reader's
	// sends select on a channel that lives as long as the connection
	// (amqp091-go's c.close: a reply for a caller who left blocks the
	// reader, then goes to the next caller). Ending such a wait early
	// must cut the exchange off: close the connection the client reads,
	// then wait on for the reader to let go, which it does on a channel of
	// the wait that it closes when it ends. Cut is how the waiting
	// function reaches that connection: its receiver or a parameter, then
	// the fields to select (c.conn; ch.connection.conn). A wait with a Cut
	// makes its function async.
	Cut []*types.Var
}

// Reader is a connection reader goroutine the package starts.
type Reader struct {
	Func *Func
	// Go is the position of a go statement starting it outside the
	// operations that wait for it.
	Go token.Position
}

// goStarts lists the go statements' calls with the function holding each.
func (a *analyzer) goStarts() {
	if a.goCalls != nil {
		return
	}
	a.goCalls = make(map[*ast.CallExpr]*Func)
	a.goLits = make(map[*ast.FuncLit]bool)
	a.eachBody(func(fn *Func, n ast.Node) {
		if g, ok := n.(*ast.GoStmt); ok {
			a.goCalls[g.Call] = fn
			if lit, ok := ast.Unparen(g.Call.Fun).(*ast.FuncLit); ok {
				a.goLits[lit] = true
			}
		}
	})
}

// closure is fn and what it calls, through calls but not go statements.
func (a *analyzer) closure(roots ...*Func) map[*Func]bool {
	seen := make(map[*Func]bool)
	stack := slices.Clone(roots)
	for len(stack) > 0 {
		fn := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if fn == nil || seen[fn] {
			continue
		}
		seen[fn] = true
		for _, c := range fn.calls {
			if a.goOnly(fn, c) {
				continue
			}
			stack = append(stack, c)
		}
	}
	return seen
}

func (a *analyzer) goOnly(from, to *Func) bool {
	e := [2]*Func{from, to}
	return a.goEdges[e] && !a.callEdges[e]
}

// bodyOf is the syntax of a function node's own body.
func bodyOf(fn *Func) ast.Node {
	switch {
	case fn.Decl != nil && fn.Decl.Body != nil:
		return fn.Decl.Body
	case fn.Lit != nil:
		return fn.Lit.Body
	}
	return nil
}

// inspectOwn walks fn's own body, not the literals inside it.
func inspectOwn(fn *Func, visit func(ast.Node) bool) {
	body := bodyOf(fn)
	if body == nil {
		return
	}
	ast.Inspect(body, func(n ast.Node) bool {
		if lit, ok := n.(*ast.FuncLit); ok && lit != fn.Lit {
			return false
		}
		if n == nil {
			return false
		}
		return visit(n)
	})
}

// replyState is what findReplyWaits learnt, kept for the rewrite's notes.
type replyState struct {
	readers []*Reader
	code    map[*Func]bool // the readers' code
}

// findReplyWaits finds the connection readers and the waits for what they
// deliver, and adds the waits to the sites. It runs after the call graph
// and the socket sites of a round are known.
func (a *analyzer) findReplyWaits() {
	a.goStarts()
	a.reply = replyState{}
	readsClient := make(map[*Func]bool)
	for _, s := range a.sites {
		if s.Kind == KindRead && s.Side&Client != 0 {
			readsClient[s.Func] = true
		}
	}
	type start struct {
		call *ast.CallExpr
		in   *Func
		fn   *Func
	}
	var starts []start
	for call, in := range a.goCalls {
		// the package's own readers: a test's goroutine (a fake server
		// reading the socket the test listens on: gosnmp's
		// TestSendOneRequest_dups) never runs in a user's program
		if strings.HasSuffix(a.fset.Position(call.Pos()).Filename, "_test.go") {
			continue
		}
		for _, t := range a.callTargets(call) {
			starts = append(starts, start{call, in, t.fn})
		}
	}
	slices.SortFunc(starts, func(x, y start) int { return int(x.call.Pos() - y.call.Pos()) })
	closures := make(map[*Func]map[*Func]bool)
	for _, s := range starts {
		if closures[s.fn] == nil {
			closures[s.fn] = a.closure(s.fn)
		}
	}
	reader := make(map[*Func]bool) // goroutine functions whose code is a reader's
	for _, s := range starts {
		// a reader reads replies in a loop: a goroutine that does one
		// exchange and hands its result over is an operation's worker
		if !hasLoop(closures[s.fn]) {
			continue
		}
		for f := range closures[s.fn] {
			if readsClient[f] {
				reader[s.fn] = true
			}
		}
	}
	if len(reader) == 0 {
		return
	}
	// What the readers' code delivers, with forwarders: goroutines that
	// loop receiving what a reader's code delivers, started by a function
	// that does not itself wait for it (go-ldap's processMessages, started
	// beside its reader; amqp091-go's heartbeater, started by the dial
	// after the reader, which receives the deadlines the reader hands it).
	code := make(map[*Func]bool)
	chans := make(map[*ast.CallExpr]bool)
	// Long-lived readers: started by a function that does not itself wait
	// for what they deliver. Only the starter's own body counts (with the
	// literals it calls, not those it starts): a dial that starts the
	// reader and then exchanges a greeting through it (amqp091-go's Open,
	// through open and call) waits as any operation does later; a
	// goroutine that an operation starts and then waits for right there is
	// that operation's worker.
	waitsIn := func(fn *Func) bool {
		body := bodyOf(fn)
		if body == nil {
			return false
		}
		found := false
		ast.Inspect(body, func(n ast.Node) bool {
			if lit, ok := n.(*ast.FuncLit); ok && a.goLits[lit] {
				return false
			}
			if ch := a.recvChan(n); ch != nil && a.anyChan(a.eval(ch), chans) {
				found = true
			}
			return !found
		})
		return found
	}
	conds := make(map[types.Object]string) // Cond or WaitGroup -> "Cond", "WaitGroup"
	forwarder := make(map[*Func]bool)
	for grew := true; grew; {
		grew = false
		for _, s := range starts {
			if !reader[s.fn] {
				if waitsIn(s.in) || !a.loopsReceiving(s.fn, chans) {
					continue
				}
				reader[s.fn], grew = true, true
				forwarder[s.fn] = true
			}
			own := closures[s.fn]
			if forwarder[s.fn] {
				own = a.ownedBy(s.fn, own)
			}
			for f := range own {
				if !code[f] {
					code[f], grew = true, true
				}
			}
		}
		for f := range code {
			inspectOwn(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SendStmt:
					for _, c := range a.eval(n.Chan).chans {
						if !chans[c] {
							chans[c], grew = true, true
						}
					}
				case *ast.CallExpr:
					if a.isBuiltin(n, "close") && len(n.Args) == 1 {
						for _, c := range a.eval(n.Args[0]).chans {
							if !chans[c] {
								chans[c], grew = true, true
							}
						}
					}
					if m, obj := a.syncCall(n); obj != nil {
						switch m {
						case "(*sync.Cond).Broadcast", "(*sync.Cond).Signal":
							conds[obj] = "Cond"
						case "(*sync.WaitGroup).Done":
							conds[obj] = "WaitGroup"
						}
					}
				}
				return true
			})
		}
	}
	if len(chans) == 0 && len(conds) == 0 {
		return // goroutines doing I/O that deliver nothing: not readers
	}
	longLived := false
	seenReader := make(map[*Func]bool)
	for _, s := range starts {
		if !reader[s.fn] || waitsIn(s.in) {
			continue
		}
		longLived = true
		if a.goOnly(s.in, s.fn) {
			// the reader belongs to the connection: starting it does not
			// make s.in wait for it
			s.in.calls = slices.DeleteFunc(s.in.calls, func(c *Func) bool { return c == s.fn })
		}
		if !seenReader[s.fn] {
			seenReader[s.fn] = true
			a.reply.readers = append(a.reply.readers, &Reader{Func: s.fn, Go: a.fset.Position(s.call.Pos())})
		}
	}
	if !longLived {
		return
	}
	// the readers of the connection first, then the forwarders
	slices.SortStableFunc(a.reply.readers, func(x, y *Reader) int {
		switch {
		case forwarder[x.Func] == forwarder[y.Func]:
			return 0
		case forwarder[y.Func]:
			return -1
		}
		return 1
	})
	a.reply.code = code
	readerName := func() string {
		if len(a.reply.readers) > 0 {
			return a.reply.readers[0].Func.Name
		}
		return ""
	}()
	safe := a.chanSafety(code, chans)
	closedByReader := make(map[*ast.CallExpr]bool)
	for f := range code {
		inspectOwn(f, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok && a.isBuiltin(c, "close") && len(c.Args) == 1 {
				for _, mk := range a.eval(c.Args[0]).chans {
					closedByReader[mk] = true
				}
			}
			return true
		})
	}
	for _, fn := range a.funcs {
		if code[fn] || a.goLits[fn.Lit] && reader[fn] {
			continue
		}
		selects := make(map[*ast.UnaryExpr]*ast.SelectStmt)
		inspectOwn(fn, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectStmt); ok {
				for _, c := range sel.Body.List {
					if x := RecvOf(c.(*ast.CommClause).Comm); x != nil {
						var u *ast.UnaryExpr
						switch comm := c.(*ast.CommClause).Comm.(type) {
						case *ast.ExprStmt:
							u, _ = ast.Unparen(comm.X).(*ast.UnaryExpr)
						case *ast.AssignStmt:
							u, _ = ast.Unparen(comm.Rhs[0]).(*ast.UnaryExpr)
						}
						if u != nil {
							selects[u] = sel
						}
					}
				}
			}
			return true
		})
		inspectOwn(fn, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.UnaryExpr:
				if n.Op != token.ARROW {
					return true
				}
				v := a.eval(n.X)
				if !a.anyChan(v, chans) {
					return true
				}
				rw := &ReplyWait{Reader: readerName}
				var connWide bool
				rw.Safe, rw.Why, connWide = safeWait(v, chans, safe, a.fset)
				if connWide {
					// the wait can end early only by cutting the
					// exchange off, and must then wait on until the
					// reader lets go: a channel of the wait (of its
					// select) that the reader closes when it ends
					recvs := []ast.Expr{n.X}
					if sel := selects[n]; sel != nil {
						recvs = recvs[:0]
						for _, c := range sel.Body.List {
							if x := RecvOf(c.(*ast.CommClause).Comm); x != nil {
								recvs = append(recvs, x)
							}
						}
					}
					if path := a.cutPath(fn); path == nil {
						rw.Why += "; and the function reaches no connection of the client to close"
					} else if !slices.ContainsFunc(recvs, func(x ast.Expr) bool { return a.anyChan(a.eval(x), closedByReader) }) {
						rw.Why += "; and the reader closes none of the channels the wait receives from when it ends"
					} else {
						rw.Cut = path
					}
				}
				side := Client
				if !rw.Safe && rw.Cut == nil {
					side = 0 // reported: the wait cannot end early (Why)
				}
				a.addReplyWait(fn, n, nil, "<-"+types.ExprString(n.X)+" (reply from "+readerName+")", "", side, rw)
			case *ast.RangeStmt:
				if _, ok := under(a.info.TypeOf(n.X)).(*types.Chan); ok && a.anyChan(a.eval(n.X), chans) {
					rw := &ReplyWait{Reader: readerName}
					rw.Safe, rw.Why, _ = safeWait(a.eval(n.X), chans, safe, a.fset)
					side := Client
					if !rw.Safe {
						side = 0
					}
					a.addReplyWait(fn, n, nil, "range "+types.ExprString(n.X)+" (replies from "+readerName+")", "", side, rw)
				}
			case *ast.CallExpr:
				m, obj := a.syncCall(n)
				if obj == nil || conds[obj] == "" {
					return true
				}
				switch {
				case m == "(*sync.Cond).Wait" && conds[obj] == "Cond":
					rw := &ReplyWait{Reader: readerName, Cond: true, Safe: true, Why: "the reader's Broadcast or Signal never blocks"}
					a.addReplyWait(fn, n, n, m+" (signalled by "+readerName+")", a.recvText(n), Client, rw)
				case m == "(*sync.WaitGroup).Wait" && conds[obj] == "WaitGroup":
					rw := &ReplyWait{Reader: readerName, Why: "a WaitGroup wait is reported, not rewritten"}
					a.addReplyWait(fn, n, n, m+" (done by "+readerName+")", a.recvText(n), 0, rw)
				}
			}
			return true
		})
	}
	a.findCallerMem(code)
}

// findCallerMem records, for each reply wait, the parameters of its
// function that the reader's code may write into: passed to a call that
// reads or decodes into its arguments (a method or function whose name
// starts with Read, Decode or Unmarshal, in any case, or contains decode or
// unmarshal), or stored through (*p = v). Parameters of function type are
// not counted (callbacks the reader calls are the client's own design).
func (a *analyzer) findCallerMem(code map[*Func]bool) {
	waits := make(map[*Func][]*Site)
	for _, s := range a.sites {
		if s.Kind == KindReplyWait && s.Seeds() {
			waits[s.Func] = append(waits[s.Func], s)
		}
	}
	if len(waits) == 0 {
		return
	}
	for fn := range waits {
		sig := a.sig(fn)
		if sig == nil {
			continue
		}
		for i := 0; i < sig.Params().Len(); i++ {
			p := sig.Params().At(i)
			switch under(p.Type()).(type) {
			case *types.Pointer, *types.Interface, *types.Slice, *types.Map:
				a.merge(p, val{mems: []*types.Var{p}})
			}
		}
	}
	a.propagate()
	written := make(map[*types.Var]bool)
	for f := range code {
		inspectOwn(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if !decodes(a.callName(n)) {
					return true
				}
				for _, arg := range n.Args {
					for _, m := range a.eval(arg).mems {
						written[m] = true
					}
				}
			case *ast.AssignStmt:
				for _, lhs := range n.Lhs {
					if st, ok := ast.Unparen(lhs).(*ast.StarExpr); ok {
						for _, m := range a.eval(st.X).mems {
							written[m] = true
						}
					}
				}
			}
			return true
		})
	}
	for fn, sites := range waits {
		sig := a.sig(fn)
		var mem []*types.Var
		for i := 0; sig != nil && i < sig.Params().Len(); i++ {
			if written[sig.Params().At(i)] {
				mem = append(mem, sig.Params().At(i))
			}
		}
		for _, s := range sites {
			s.Reply.Mem = mem
		}
	}
}

// callName is the name of the function or method a call calls, "" for
// others.
func (a *analyzer) callName(call *ast.CallExpr) string {
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

func decodes(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, "read") || strings.HasPrefix(l, "decode") || strings.HasPrefix(l, "unmarshal") ||
		strings.Contains(l, "decode") || strings.Contains(l, "unmarshal")
}

// ownedBy is the part of closure, the code fn reaches, that only fn's code
// calls: fn, and the functions whose every caller is in that part, the
// package's API aside (a user may call an exported function). A
// forwarder's code is that part: amqp091-go's watchConnection.func1
// reconnects through the operations that users call too, whose waits stay
// the operations' own.
func (a *analyzer) ownedBy(fn *Func, closure map[*Func]bool) map[*Func]bool {
	callers := make(map[*Func][]*Func)
	for f := range closure {
		for _, c := range f.calls {
			if a.callEdges[[2]*Func{f, c}] {
				callers[c] = append(callers[c], f)
			}
		}
	}
	for _, f := range a.funcs {
		if closure[f] {
			continue
		}
		for _, c := range f.calls {
			if closure[c] && a.callEdges[[2]*Func{f, c}] {
				callers[c] = append(callers[c], f)
			}
		}
	}
	owned := map[*Func]bool{fn: true}
	for grew := true; grew; {
		grew = false
		for f := range closure {
			if owned[f] || len(callers[f]) == 0 || f.Decl != nil && f.Decl.Name.IsExported() {
				continue
			}
			if !slices.ContainsFunc(callers[f], func(c *Func) bool { return !owned[c] }) {
				owned[f], grew = true, true
			}
		}
	}
	return owned
}

// loopsReceiving reports whether fn's own body has a loop that receives
// from one of chans (a receive, a select case, a range over it).
func (a *analyzer) loopsReceiving(fn *Func, chans map[*ast.CallExpr]bool) bool {
	found := false
	inspectOwn(fn, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.ForStmt, *ast.RangeStmt:
		default:
			return !found
		}
		ast.Inspect(n, func(m ast.Node) bool {
			if _, ok := m.(*ast.FuncLit); ok {
				return false
			}
			if ch := a.recvChan(m); ch != nil && a.anyChan(a.eval(ch), chans) {
				found = true
			}
			return !found
		})
		return false
	})
	return found
}

// hasLoop reports whether one of the functions has a for or range loop.
func hasLoop(code map[*Func]bool) bool {
	for f := range code {
		found := false
		inspectOwn(f, func(n ast.Node) bool {
			switch n.(type) {
			case *ast.ForStmt, *ast.RangeStmt:
				found = true
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

func readsAny(code map[*Func]bool, reads map[*Func]bool) bool {
	for f := range code {
		if reads[f] {
			return true
		}
	}
	return false
}

// addReplyWait adds a reply wait to the sites. A wait that the rewrite
// cannot end early where it is is reported, never seeding, so that no Context form comes of it that would ignore its ctx
// (amqp091-go's DeferredConfirmation.Wait returns a bool): a wait in a
// function literal, or in a function whose last result is not an error.
// Tests' waits seed as before (their ctx comes from the test).
func (a *analyzer) addReplyWait(fn *Func, node ast.Node, call *ast.CallExpr, callee, on string, side Side, rw *ReplyWait) {
	pos := node.Pos()
	if call != nil {
		pos = call.Lparen
	}
	if side != 0 && !strings.HasSuffix(a.fset.Position(pos).Filename, "_test.go") {
		why := ""
		switch {
		case fn.Lit != nil:
			why = "a wait in a function literal is not made cancellable"
		case !a.errorLast(fn):
			why = "the function has no error result to return ctx.Err() in"
		}
		if why != "" {
			side, rw.Why, rw.Cut = 0, why, nil
		}
	}
	a.sites = append(a.sites, &Site{Call: call, Node: node, Pos: a.fset.Position(pos), Kind: KindReplyWait,
		Callee: callee, On: on, Func: fn, Side: side, Reply: rw})
}

// errorLast reports whether fn's last result is an error.
func (a *analyzer) errorLast(fn *Func) bool {
	var sig *types.Signature
	switch {
	case fn.Lit != nil:
		sig, _ = a.info.TypeOf(fn.Lit).(*types.Signature)
	case fn.Obj != nil:
		sig, _ = fn.Obj.Type().(*types.Signature)
	}
	if sig == nil || sig.Results().Len() == 0 {
		return false
	}
	return types.Identical(sig.Results().At(sig.Results().Len()-1).Type(), types.Universe.Lookup("error").Type())
}

// recvChan is the channel a receive reads from: <-ch, or a range over ch.
func (a *analyzer) recvChan(n ast.Node) ast.Expr {
	switch n := n.(type) {
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			return n.X
		}
	case *ast.RangeStmt:
		if _, ok := under(a.info.TypeOf(n.X)).(*types.Chan); ok {
			return n.X
		}
	}
	return nil
}

func (a *analyzer) anyChan(v val, chans map[*ast.CallExpr]bool) bool {
	for _, c := range v.chans {
		if chans[c] {
			return true
		}
	}
	return false
}

func (a *analyzer) isBuiltin(call *ast.CallExpr, name string) bool {
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if !ok {
		return false
	}
	b, ok := a.info.Uses[id].(*types.Builtin)
	return ok && b.Name() == name
}

// syncCall names a method call on a sync.Cond or sync.WaitGroup, with the
// variable or field holding it.
func (a *analyzer) syncCall(call *ast.CallExpr) (string, types.Object) {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return "", nil
	}
	f, ok := a.info.Uses[sel.Sel].(*types.Func)
	if !ok || f.Pkg() == nil || f.Pkg().Path() != "sync" {
		return "", nil
	}
	name := a.calleeName(f)
	var obj types.Object
	switch x := ast.Unparen(sel.X).(type) {
	case *ast.Ident:
		obj = a.info.Uses[x]
	case *ast.SelectorExpr:
		if s := a.info.Selections[x]; s != nil && s.Kind() == types.FieldVal {
			obj = s.Obj()
		}
	}
	return name, obj
}

// chanSafety says, for each channel the readers deliver on, whether a send
// to it can never block the reader: the channel is buffered, or every
// send to it in the readers' code is a select case beside a default or a
// receive. The value is the reason, "" when unsafe.
func (a *analyzer) chanSafety(code map[*Func]bool, chans map[*ast.CallExpr]bool) map[*ast.CallExpr]chanSafety {
	out := make(map[*ast.CallExpr]chanSafety)
	blocking := make(map[*ast.CallExpr]token.Pos)
	guarded := make(map[*ast.CallExpr]token.Pos)
	connGuarded := make(map[*ast.CallExpr]connSend)
	for f := range code {
		inSelect := make(map[*ast.SendStmt]bool)
		connOnly := make(map[*ast.SendStmt]connSend)
		inspectOwn(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectStmt)
			if !ok {
				return true
			}
			other := false
			var conn connSend
			for _, c := range sel.Body.List {
				cc := c.(*ast.CommClause)
				if cc.Comm == nil {
					other = true // default
				} else if _, isSend := cc.Comm.(*ast.SendStmt); !isSend {
					// a receive: a timeout, an operation's done channel, or
					// a channel that only the connection's end closes
					if mk, field := a.connGuard(RecvOf(cc.Comm)); mk != nil {
						conn = connSend{guard: mk.Pos(), field: field}
					} else {
						other = true
					}
				}
			}
			for _, c := range sel.Body.List {
				if s, ok := c.(*ast.CommClause).Comm.(*ast.SendStmt); ok {
					if other {
						inSelect[s] = true
					} else if conn.guard.IsValid() {
						connOnly[s] = conn
					}
				}
			}
			return true
		})
		inspectOwn(f, func(n ast.Node) bool {
			s, ok := n.(*ast.SendStmt)
			if !ok {
				return true
			}
			for _, c := range a.eval(s.Chan).chans {
				switch {
				case inSelect[s]:
					if guarded[c] == 0 {
						guarded[c] = s.Pos()
					}
				case connOnly[s].guard.IsValid():
					if !connGuarded[c].send.IsValid() {
						cs := connOnly[s]
						cs.send = s.Pos()
						connGuarded[c] = cs
					}
				case blocking[c] == 0:
					blocking[c] = s.Pos()
				}
			}
			return true
		})
	}
	for c := range chans {
		switch {
		case a.bufferedMake(c):
			out[c] = chanSafety{why: "buffered channel made at " + a.fset.Position(c.Pos()).String()}
		case a.closedAtMake(c):
			// a send on it would panic, never block: go-imap's Enable
			// returns a command whose done channel is made closed
			out[c] = chanSafety{why: "channel closed where it is made, at " + a.fset.Position(c.Pos()).String()}
		case blocking[c] != 0:
			out[c] = chanSafety{}
		case connGuarded[c].send.IsValid():
			cs := connGuarded[c]
			out[c] = chanSafety{connWide: "the reader's send at " + a.fset.Position(cs.send).String() +
				" selects only on a channel made at " + a.fset.Position(cs.guard).String() + ", held by " + cs.field +
				", which lives as long as its " + strings.Split(cs.field, ".")[0] + ": a reply for a caller who left would block the reader until then, and then go to the next caller"}
		case guarded[c] != 0:
			out[c] = chanSafety{why: "the reader's send at " + a.fset.Position(guarded[c]).String() + " selects on another case"}
		default:
			out[c] = chanSafety{why: "the reader only closes it"}
		}
	}
	return out
}

// chanSafety is what chanSafety says of one channel: why a send to it
// never blocks the reader, or why it may (both empty: a plain send).
type chanSafety struct {
	why      string
	connWide string // the reader's sends are guarded only by a connection-wide channel
}

// connSend is a reader's send guarded only by a session's channel.
type connSend struct {
	send, guard token.Pos
	field       string // "Connection.close"
}

// RecvOf is the channel a select case's receive reads from, nil for a send.
func RecvOf(comm ast.Stmt) ast.Expr {
	var x ast.Expr
	switch comm := comm.(type) {
	case *ast.ExprStmt:
		x = comm.X
	case *ast.AssignStmt:
		if len(comm.Rhs) == 1 {
			x = comm.Rhs[0]
		}
	}
	if u, ok := ast.Unparen(x).(*ast.UnaryExpr); ok && u.Op == token.ARROW {
		return u.X
	}
	return nil
}

// connGuard returns the make of the channel, and the field holding it,
// that a reader's select receives from beside a send, when that channel is
// a signal that lives as long as a session of the client: nothing sends on
// it (it is only closed), and a field of one of the package's types that
// has exported methods holds it (amqp091-go's Connection.close and
// Channel.close; not go-ldap's messageContext.done, an operation's own,
// nor its Conn.chanMessage, a queue the operations send on, which keeps
// the reader's loop going). A reply for a caller who left then blocks the
// reader until the session ends. Nil otherwise: a timeout (ctx.Done(),
// time.After), a channel the package does not make, or one it keeps
// elsewhere (each still counts as a guard, as before).
func (a *analyzer) connGuard(ch ast.Expr) (*ast.CallExpr, string) {
	if ch == nil {
		return nil, ""
	}
	if _, ok := ast.Unparen(ch).(*ast.CallExpr); ok {
		return nil, "" // ctx.Done(), time.After(d): a timeout
	}
	if a.sessionChans == nil {
		a.sessionChans = make(map[*ast.CallExpr]string)
		sent := make(map[*ast.CallExpr]bool)
		a.eachBody(func(_ *Func, n ast.Node) {
			if s, ok := n.(*ast.SendStmt); ok {
				for _, mk := range a.eval(s.Chan).chans {
					sent[mk] = true
				}
			}
		})
		scope := a.pkg.Scope()
		for _, name := range scope.Names() {
			tn, ok := scope.Lookup(name).(*types.TypeName)
			if !ok || tn.IsAlias() {
				continue
			}
			st, ok := tn.Type().Underlying().(*types.Struct)
			if !ok || !hasExportedMethod(tn.Type()) {
				continue
			}
			for i := 0; i < st.NumFields(); i++ {
				for _, mk := range a.valOf(st.Field(i)).chans {
					if !sent[mk] && a.sessionChans[mk] == "" {
						a.sessionChans[mk] = name + "." + st.Field(i).Name()
					}
				}
			}
		}
	}
	for _, mk := range a.eval(ch).chans {
		if f := a.sessionChans[mk]; f != "" {
			return mk, f
		}
	}
	return nil, ""
}

// hasExportedMethod reports whether t or *t has an exported method.
func hasExportedMethod(t types.Type) bool {
	ms := types.NewMethodSet(types.NewPointer(t))
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Obj().Exported() {
			return true
		}
	}
	return false
}

// bufferedMake reports whether make(chan T, n) has a constant n >= 1.
func (a *analyzer) bufferedMake(c *ast.CallExpr) bool {
	if len(c.Args) < 2 {
		return false
	}
	tv, ok := a.info.Types[c.Args[1]]
	if !ok || tv.Value == nil {
		return false
	}
	n, ok := constant.Int64Val(constant.ToInt(tv.Value))
	return ok && n >= 1
}

// closedAtMake reports whether make(chan T) is assigned to a variable
// that the next statement closes (done := make(chan error); close(done)).
func (a *analyzer) closedAtMake(c *ast.CallExpr) bool {
	if a.closedMakes == nil {
		a.closedMakes = make(map[*ast.CallExpr]bool)
		for _, f := range a.files {
			ast.Inspect(f, func(n ast.Node) bool {
				var list []ast.Stmt
				switch n := n.(type) {
				case *ast.BlockStmt:
					list = n.List
				case *ast.CaseClause:
					list = n.Body
				case *ast.CommClause:
					list = n.Body
				}
				for i := 0; i+1 < len(list); i++ {
					as, ok := list[i].(*ast.AssignStmt)
					if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
						continue
					}
					id, _ := as.Lhs[0].(*ast.Ident)
					mk, _ := ast.Unparen(as.Rhs[0]).(*ast.CallExpr)
					es, _ := list[i+1].(*ast.ExprStmt)
					if id == nil || mk == nil || es == nil {
						continue
					}
					cl, _ := es.X.(*ast.CallExpr)
					if cl == nil || !a.isBuiltin(cl, "close") || len(cl.Args) != 1 {
						continue
					}
					if arg, ok := ast.Unparen(cl.Args[0]).(*ast.Ident); ok && a.info.ObjectOf(arg) == a.info.ObjectOf(id) {
						a.closedMakes[mk] = true
					}
				}
				return true
			})
		}
	}
	return a.closedMakes[c]
}

// safeWait says whether every channel a wait may receive from is safe.
// connWide is set when the only unsafe channels are guarded by a
// connection-wide channel (the wait can then be cut off: see
// ReplyWait.Cut).
func safeWait(v val, chans map[*ast.CallExpr]bool, safe map[*ast.CallExpr]chanSafety, fset *token.FileSet) (ok bool, why string, connWide bool) {
	var whys, conns []string
	for _, c := range v.chans {
		if !chans[c] {
			continue
		}
		cs := safe[c]
		switch {
		case cs.connWide != "":
			if !slices.Contains(conns, cs.connWide) {
				conns = append(conns, cs.connWide)
			}
		case cs.why == "":
			return false, "a reply for a caller who left would block the reader: the channel made at " + fset.Position(c.Pos()).String() + " is unbuffered and the reader's send does not select on a done channel", false
		case !slices.Contains(whys, cs.why):
			whys = append(whys, cs.why)
		}
	}
	if len(conns) > 0 {
		return false, strings.Join(conns, "; "), true
	}
	return true, strings.Join(whys, "; "), false
}

// cutPath finds how fn reaches the connection the client reads, for a
// wait that must be cut off (ReplyWait.Cut): its receiver, then its
// parameters, each itself or through up to three fields of the package's
// struct types, breadth first, in declaration order; the first value of
// the client's side (a connection) with a Close() error method.
func (a *analyzer) cutPath(fn *Func) []*types.Var {
	if fn.Decl == nil {
		return nil
	}
	var roots []*types.Var
	if sig, ok := a.info.Defs[fn.Decl.Name].(*types.Func); ok {
		s := sig.Type().(*types.Signature)
		if s.Recv() != nil {
			roots = append(roots, s.Recv())
		}
		for i := 0; i < s.Params().Len(); i++ {
			roots = append(roots, s.Params().At(i))
		}
	}
	closes := func(v *types.Var) bool {
		obj, _, _ := types.LookupFieldOrMethod(v.Type(), true, v.Pkg(), "Close")
		m, ok := obj.(*types.Func)
		if !ok {
			return false
		}
		sig := m.Type().(*types.Signature)
		return sig.Params().Len() == 0 && sig.Results().Len() == 1 && types.Identical(sig.Results().At(0).Type(), types.Universe.Lookup("error").Type())
	}
	level := make([][]*types.Var, 0, len(roots))
	for _, r := range roots {
		if r.Name() == "" || r.Name() == "_" {
			continue
		}
		level = append(level, []*types.Var{r})
	}
	seen := make(map[*types.Var]bool)
	for depth := 0; depth <= 3 && len(level) > 0; depth++ {
		var next [][]*types.Var
		for _, path := range level {
			v := path[len(path)-1]
			if depth > 0 && a.valOf(v).side&Client != 0 && closes(v) {
				return path
			}
			if depth == 0 && a.isParam(v) && a.valOf(v).side&Client != 0 && closes(v) {
				return path
			}
			t := v.Type()
			if p, ok := t.Underlying().(*types.Pointer); ok {
				t = p.Elem()
			}
			n, ok := types.Unalias(t).(*types.Named)
			if !ok || n.Obj().Pkg() != a.pkg {
				continue
			}
			st, ok := n.Underlying().(*types.Struct)
			if !ok {
				continue
			}
			for i := 0; i < st.NumFields(); i++ {
				f := st.Field(i)
				if seen[f] {
					continue
				}
				seen[f] = true
				next = append(next, append(slices.Clip(path), f))
			}
		}
		level = next
	}
	return nil
}

// holdsChan reports whether t is a channel or a container of channels.
func holdsChan(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Chan:
		return true
	case *types.Slice:
		return holdsChan(u.Elem())
	case *types.Array:
		return holdsChan(u.Elem())
	case *types.Map:
		return holdsChan(u.Elem())
	}
	return false
}
