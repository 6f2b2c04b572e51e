package iodetect

import (
	"go/ast"
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

// replyState is what findReplyWaits learnt, kept for the rewrite's notes.
type replyState struct {
	readers []*Reader
	code    map[*Func]bool // the readers' code
}

// findReplyWaits finds the connection readers and the waits for what they
// deliver, and adds the waits to the sites. It runs after the call graph
// and the socket sites of a round are known.
func (a *analyzer) findReplyWaits() {
	d := a.findReaders()
	if d == nil {
		return
	}
	a.findWaits(d)
	a.findCallerMem(d.code)
}

// deliveries is what findReaders learnt: the readers' code (forwarders
// included), the channels it sends to or closes, the Conds it signals and
// the WaitGroups it is done with, and the goroutine functions that are
// readers.
type deliveries struct {
	code       map[*Func]bool
	chans      map[*ast.CallExpr]bool
	conds      map[types.Object]string // "Cond" or "WaitGroup"
	reader     map[*Func]bool
	readerName string
}

// findReaders finds the connection's reader goroutines and forwarders,
// and what they deliver; nil when the package has none.
func (a *analyzer) findReaders() *deliveries {
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
		return nil
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
		return nil // goroutines doing I/O that deliver nothing: not readers
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
		return nil
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
	return &deliveries{code: code, chans: chans, conds: conds, reader: reader, readerName: readerName}
}

// findWaits adds the reply waits on what the readers deliver to the sites.
func (a *analyzer) findWaits(d *deliveries) {
	code, chans, conds, reader, readerName := d.code, d.chans, d.conds, d.reader, d.readerName
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
					if u := RecvExpr(c.(*ast.CommClause).Comm); u != nil {
						selects[u] = sel
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
