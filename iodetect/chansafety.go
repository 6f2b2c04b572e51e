package iodetect

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"slices"
	"strings"
)

// Whether a reply left behind by a caller who stopped waiting can block the
// reader: the channels' capacity, how the reader's sends select, and the
// session channels that guard them; and what a wait that must be cut off
// closes (cutPath).

// chanSafety says, for each channel the readers deliver on, whether a send
// to it can never block the reader: the channel is buffered, or every
// send to it in the readers' code is a select case beside a default or a
// receive that is not a session's signal (connGuard). Each value says
// why, or that the sends are guarded only by a session's signal
// (connWide); both empty: a plain send, unsafe.
func (a *analyzer) chanSafety(code map[*Func]bool, chans map[*ast.CallExpr]bool) map[*ast.CallExpr]sendSafety {
	out := make(map[*ast.CallExpr]sendSafety)
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
			out[c] = sendSafety{why: "buffered channel made at " + a.fset.Position(c.Pos()).String()}
		case a.closedAtMake(c):
			// a send on it would panic, never block: go-imap's Enable
			// returns a command whose done channel is made closed
			out[c] = sendSafety{why: "channel closed where it is made, at " + a.fset.Position(c.Pos()).String()}
		case blocking[c] != 0:
			out[c] = sendSafety{}
		case connGuarded[c].send.IsValid():
			cs := connGuarded[c]
			out[c] = sendSafety{connWide: "the reader's send at " + a.fset.Position(cs.send).String() +
				" selects only on a channel made at " + a.fset.Position(cs.guard).String() + ", held by " + cs.field +
				", which lives as long as its " + strings.Split(cs.field, ".")[0] + ": a reply for a caller who left would block the reader until then, and then go to the next caller"}
		case guarded[c] != 0:
			out[c] = sendSafety{why: "the reader's send at " + a.fset.Position(guarded[c]).String() + " selects on another case"}
		default:
			out[c] = sendSafety{why: "the reader only closes it"}
		}
	}
	return out
}

// sendSafety is what chanSafety says of one channel: why a send to it
// never blocks the reader, or why it may (both empty: a plain send).
type sendSafety struct {
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
	if u := RecvExpr(comm); u != nil {
		return u.X
	}
	return nil
}

// RecvExpr is a select case's receive (<-ch, in v := <-ch or v, ok =
// <-ch too), nil for a send or a default.
func RecvExpr(comm ast.Stmt) *ast.UnaryExpr {
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
		return u
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
				// the statement lists of blocks and clauses (a shape
				// that unwrapFun's and recvName's switches share, not
				// their purpose)
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
func safeWait(v val, chans map[*ast.CallExpr]bool, safe map[*ast.CallExpr]sendSafety, fset *token.FileSet) (ok bool, why string, connWide bool) {
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
