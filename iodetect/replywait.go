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
// code, through calls but not
// through further go statements, reads a client connection and has a loop
// (a goroutine doing one exchange and handing its result over is an
// operation's worker, not a reader); it is a
// connection reader, which outlives the operations, when one of its go
// statements is in a function that does not itself wait for what it
// delivers (go l.reader() in Start or Dial; a goroutine that an operation
// starts and then waits for is part of that operation, as before). A
// goroutine that receives from a channel such a reader fills forwards
// replies (go-ldap's processMessages): its code counts as the reader's.
//
// What the reader delivers: the channels its code sends to or closes,
// identified by the make(chan ...) calls that may reach the send (through
// locals, fields, maps, parameters and results); the sync.Cond values it
// calls Broadcast or Signal on and the sync.WaitGroup values it calls Done
// on, identified by the variable or field holding them.
//
// A reply wait: outside the reader's code, a receive from such a channel
// (<-ch, v, ok := <-ch, a select case, a range over it), or a Wait on such a
// Cond; a Wait on such a WaitGroup is reported, never seeding.

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
	// What the readers' code delivers, with forwarders: goroutines started
	// beside a reader (by the same function) that receive what it sends.
	startsReader := make(map[*Func]bool)
	for _, s := range starts {
		if reader[s.fn] {
			startsReader[s.in] = true
		}
	}
	code := make(map[*Func]bool)
	chans := make(map[*ast.CallExpr]bool)
	conds := make(map[types.Object]string) // Cond or WaitGroup -> "Cond", "WaitGroup"
	for grew := true; grew; {
		grew = false
		for _, s := range starts {
			if !reader[s.fn] {
				if !startsReader[s.in] || !hasLoop(closures[s.fn]) {
					continue
				}
				receives := false
				for f := range closures[s.fn] {
					inspectOwn(f, func(n ast.Node) bool {
						if ch := recvChan(n); ch != nil && a.anyChan(a.eval(ch), chans) {
							receives = true
						}
						return !receives
					})
				}
				if !receives {
					continue
				}
				reader[s.fn], grew = true, true
			}
			for f := range closures[s.fn] {
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
	// Long-lived readers: started somewhere that does not wait for them.
	waitsIn := func(fn *Func, codeOf map[*Func]bool) bool {
		found := false
		for f := range a.closure(fn) {
			if codeOf[f] {
				continue
			}
			inspectOwn(f, func(n ast.Node) bool {
				if ch := recvChan(n); ch != nil && a.anyChan(a.eval(ch), chans) {
					found = true
				}
				return !found
			})
		}
		return found
	}
	longLived := false
	seenReader := make(map[*Func]bool)
	for _, s := range starts {
		if !reader[s.fn] || waitsIn(s.in, code) {
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
	a.reply.code = code
	readerName := func() string {
		if len(a.reply.readers) > 0 {
			return a.reply.readers[0].Func.Name
		}
		return ""
	}()
	safe := a.chanSafety(code, chans)
	for _, fn := range a.funcs {
		if code[fn] || a.goLits[fn.Lit] && reader[fn] {
			continue
		}
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
				rw.Safe, rw.Why = safeWait(v, chans, safe, a.fset)
				side := Client
				if !rw.Safe {
					side = 0 // reported: the wait cannot end early (Why)
				}
				a.addReplyWait(fn, n, nil, "<-"+types.ExprString(n.X)+" (reply from "+readerName+")", "", side, rw)
			case *ast.RangeStmt:
				if _, ok := under(a.info.TypeOf(n.X)).(*types.Chan); ok && a.anyChan(a.eval(n.X), chans) {
					rw := &ReplyWait{Reader: readerName}
					rw.Safe, rw.Why = safeWait(a.eval(n.X), chans, safe, a.fset)
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

func (a *analyzer) addReplyWait(fn *Func, node ast.Node, call *ast.CallExpr, callee, on string, side Side, rw *ReplyWait) {
	pos := node.Pos()
	if call != nil {
		pos = call.Lparen
	}
	a.sites = append(a.sites, &Site{Call: call, Node: node, Pos: a.fset.Position(pos), Kind: KindReplyWait,
		Callee: callee, On: on, Func: fn, Side: side, Reply: rw})
}

// recvChan is the channel a receive reads from: <-ch, or a range over ch.
func recvChan(n ast.Node) ast.Expr {
	switch n := n.(type) {
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			return n.X
		}
	case *ast.RangeStmt:
		return n.X
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
func (a *analyzer) chanSafety(code map[*Func]bool, chans map[*ast.CallExpr]bool) map[*ast.CallExpr]string {
	out := make(map[*ast.CallExpr]string)
	blocking := make(map[*ast.CallExpr]token.Pos)
	guarded := make(map[*ast.CallExpr]token.Pos)
	for f := range code {
		inSelect := make(map[*ast.SendStmt]bool)
		inspectOwn(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectStmt)
			if !ok {
				return true
			}
			other := false
			for _, c := range sel.Body.List {
				cc := c.(*ast.CommClause)
				if cc.Comm == nil {
					other = true // default
				} else if _, isSend := cc.Comm.(*ast.SendStmt); !isSend {
					other = true // a receive: a done channel or a timeout
				}
			}
			for _, c := range sel.Body.List {
				if s, ok := c.(*ast.CommClause).Comm.(*ast.SendStmt); ok && other {
					inSelect[s] = true
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
				if inSelect[s] {
					if guarded[c] == 0 {
						guarded[c] = s.Pos()
					}
				} else if blocking[c] == 0 {
					blocking[c] = s.Pos()
				}
			}
			return true
		})
	}
	for c := range chans {
		switch {
		case a.bufferedMake(c):
			out[c] = "buffered channel made at " + a.fset.Position(c.Pos()).String()
		case a.closedAtMake(c):
			// a send on it would panic, never block: go-imap's Enable
			// returns a command whose done channel is made closed
			out[c] = "channel closed where it is made, at " + a.fset.Position(c.Pos()).String()
		case blocking[c] == 0 && guarded[c] != 0:
			out[c] = "the reader's send at " + a.fset.Position(guarded[c]).String() + " selects on another case"
		case blocking[c] == 0:
			out[c] = "the reader only closes it"
		default:
			out[c] = ""
		}
	}
	return out
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
func safeWait(v val, chans map[*ast.CallExpr]bool, safe map[*ast.CallExpr]string, fset *token.FileSet) (bool, string) {
	var whys []string
	for _, c := range v.chans {
		if !chans[c] {
			continue
		}
		why := safe[c]
		if why == "" {
			return false, "a reply for a caller who left would block the reader: the channel made at " + fset.Position(c.Pos()).String() + " is unbuffered and the reader's send does not select on a done channel"
		}
		if !slices.Contains(whys, why) {
			whys = append(whys, why)
		}
	}
	return true, strings.Join(whys, "; ")
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
