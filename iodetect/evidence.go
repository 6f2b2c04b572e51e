package iodetect

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// Sharing evidence: whether every use of a client connection is a
// request/response exchange inside one operation. Operations are the
// package's exported async functions (and exported methods of exported
// types), and the async functions its own code never calls: each must
// write its request before it reads, and read a reply to what it wrote. Code the package starts apart from its callers (a go
// statement, a callback handed to time.AfterFunc or context.AfterFunc) is
// an operation of its own when it dials the connection it uses (one
// goroutine per server, each with its own exchange), and evidence against
// sharing when it uses a connection someone else dialed (a reader
// goroutine). I/O that no operation reaches, a reader or writer onto a
// connection that an exported function returns (a DATA phase), and
// datagram sockets are evidence against too. Package rewrite shares a package's connections
// only when there is no evidence against it, or a share rule says so.

// EvidenceKind says what kind of use keeps connections unshared.
type EvidenceKind string

const (
	// WriteOnly: an operation writes and reads no reply (a log stream).
	WriteOnly EvidenceKind = "write-only"
	// ReadFirst: an operation reads before it writes anything (a
	// subscription's next message, a server push, a greeting, the reply
	// to a request another operation wrote).
	ReadFirst EvidenceKind = "read-first"
	// Background: a goroutine or a callback uses a connection it did not
	// dial (a reader goroutine), wherever its I/O is written.
	Background EvidenceKind = "background"
	// Outside: a connection is read or written in code no operation runs.
	Outside EvidenceKind = "outside"
	// Datagram: a dial of a datagram socket (udp, unixgram, ip).
	Datagram EvidenceKind = "datagram"
	// HandOut: an exported function returns a reader or writer onto a
	// connection: what its caller reads or writes through it is a phase
	// outside any operation (a DATA phase, a raw stream).
	HandOut EvidenceKind = "hand-out"
)

// Evidence is one use of a client connection that is not a
// request/response exchange inside one operation.
type Evidence struct {
	Kind EvidenceKind
	// Pos is where it was decided: the I/O site, the go statement, the
	// dial.
	Pos token.Position
	// Func is the operation, or the function that starts the goroutine
	// or callback, or the function holding the I/O or the dial.
	Func *Func
	// Site is the I/O site or dial it is about.
	Site *Site
	// Why says it in a clause: "(*Logger).Info writes (fmt.Fprintf at
	// log.go:40) and reads no reply: a write with no reply".
	Why string
}

// start is code a function starts running apart from itself.
type start struct {
	pos  token.Pos
	what string // "a goroutine", "a callback of time.AfterFunc"
	s    shape
}

// afterFunc records the callback a call hands to time.AfterFunc or
// context.AfterFunc, which runs later on a goroutine of its own.
func (w *shapeWalker) afterFunc(c *ast.CallExpr) {
	if w.starts == nil || len(c.Args) != 2 {
		return
	}
	fn, ok := typeutil.Callee(w.a.info, c).(*types.Func)
	if !ok || fn.Pkg() == nil {
		return
	}
	name := fn.FullName()
	if name != "time.AfterFunc" && name != "context.AfterFunc" {
		return
	}
	var s shape
	for i, r := range w.a.eval1(c.Args[1]).funcs {
		if i == 0 {
			s = w.shapes[r.fn]
		} else {
			s = join(s, w.shapes[r.fn])
		}
	}
	*w.starts = append(*w.starts, start{pos: c.Pos(), what: "a callback of " + name, s: s})
}

// runsCallbacks are functions of other packages that call the function
// values they are given: before they return, or on a goroutine of their
// own (AfterFunc, judged apart as code started apart).
var runsCallbacks = map[string]bool{
	"(*sync.Once).Do": true, "sort.Slice": true, "sort.SliceStable": true, "sort.Search": true,
	"slices.SortFunc": true, "slices.SortStableFunc": true, "slices.IndexFunc": true, "slices.ContainsFunc": true,
	"time.AfterFunc": true, "context.AfterFunc": true,
}

// findEvidence lists the evidence against sharing, in source order,
// from the functions' final shapes.
func (a *analyzer) findEvidence(shapes map[*Func]shape) {
	a.evidence = nil
	short := func(s *Site) string {
		return fmt.Sprintf("%s at %s:%d", s.Callee, filepath.Base(s.Pos.Filename), s.Pos.Line)
	}
	add := func(kind EvidenceKind, pos token.Position, fn *Func, site *Site, format string, args ...any) {
		a.evidence = append(a.evidence, &Evidence{Kind: kind, Pos: pos, Func: fn, Site: site, Why: fmt.Sprintf(format, args...)})
	}
	inTest := func(fn *Func) bool { return strings.HasSuffix(fn.Pos.Filename, "_test.go") }
	// checkExchange is the evidence about one operation's shape.
	checkExchange := func(name string, fn *Func, s shape) {
		switch {
		case s.lead != nil:
			add(ReadFirst, s.lead.Pos, fn, s.lead, "%s reads (%s) before it writes a request: a reply it did not ask for (a subscription, a server push, a greeting, or the reply to another operation's request)", name, short(s.lead))
		case s.w != nil && s.r == nil:
			add(WriteOnly, s.w.Pos, fn, s.w, "%s writes (%s) and reads no reply: a write with no reply (a stream, or a reply another operation reads)", name, short(s.w))
		}
	}
	// reach: the functions an operation runs, by calls (a function value
	// it hands to another package runs when that package calls it: only
	// the ones handed to runners that call them before returning, and
	// code started apart, which is judged below, count).
	reach := make(map[*Func]bool)
	var visit func(fn *Func)
	visit = func(fn *Func) {
		if reach[fn] {
			return
		}
		reach[fn] = true
		body := bodyOf(fn)
		if body == nil {
			return
		}
		ast.Inspect(body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false // runs when called
			case *ast.CallExpr:
				for _, t := range a.callTargets(n) {
					visit(t.fn)
				}
				if callee, ok := typeutil.Callee(a.info, n).(*types.Func); ok && runsCallbacks[callee.FullName()] {
					for _, arg := range n.Args {
						for _, r := range a.eval1(arg).funcs {
							visit(r.fn)
						}
					}
				}
			}
			return true
		})
	}
	// The operations: exported functions, and those the package's own
	// code never calls (called by its tests, or by code of another
	// package through an interface: a writer it hands out).
	called := make(map[*Func]bool)
	for _, fn := range append(a.funcs, a.init) {
		if !inTest(fn) {
			for _, g := range fn.calls {
				called[g] = true
			}
		}
	}
	for _, fn := range a.funcs {
		if !fn.Async || inTest(fn) || fn.Decl == nil {
			continue
		}
		if fn.Exported() || !called[fn] && !a.connMethod(fn) {
			visit(fn)
			checkExchange(fn.Name, fn, shapes[fn])
		}
	}
	// What the package's functions start running apart from themselves.
	siteOf := make(map[*ast.CallExpr]*Site, len(a.sites))
	for _, s := range a.sites {
		siteOf[s.Call] = s
	}
	for _, fn := range a.funcs {
		if !fn.Async || inTest(fn) {
			continue
		}
		body := bodyOf(fn)
		if body == nil {
			continue
		}
		var starts []start
		w := &shapeWalker{a: a, siteOf: siteOf, shapes: shapes, memo: make(map[bindingKey]shape), starts: &starts}
		w.stmt(body)
		for _, st := range starts {
			io := st.s.r
			if io == nil {
				io = st.s.w
			}
			if io == nil {
				continue
			}
			pos := a.fset.Position(st.pos)
			if st.s.dial == nil {
				verb := "reads"
				if st.s.r == nil {
					verb = "writes"
				}
				add(Background, pos, fn, io, "%s started in %s %s a connection it did not dial (%s): its I/O belongs to no operation (a reader goroutine, say)", st.what, fn.Name, verb, short(io))
				continue
			}
			checkExchange(st.what+" started in "+fn.Name, fn, st.s)
		}
	}
	for _, s := range a.sites {
		if s.Func == nil || inTest(s.Func) || s.Side&Client == 0 {
			continue
		}
		switch direction(s) {
		case 'r', 'w':
			if !reach[s.Func] && !a.connMethod(s.Func) {
				add(Outside, s.Pos, s.Func, s, "%s in %s uses a connection, and no operation runs it (only code the package starts apart, or initialises variables with)", short(s), s.Func.Name)
			}
		case 'd':
			if net := a.datagram(s); net != "" {
				add(Datagram, s.Pos, s.Func, s, "%s dials a datagram socket (%s): a datagram is a message of its own, with no stream to share", s.Func.Name, net)
			}
		}
	}
	a.handOuts(add, inTest)
	slices.SortStableFunc(a.evidence, func(x, y *Evidence) int { return comparePos(x.Pos, y.Pos) })
}

// handOuts adds the evidence of exported functions that return a reader or
// writer onto a client connection (an io.Writer, a *bufio.Reader, the
// net.Conn itself).
func (a *analyzer) handOuts(add func(EvidenceKind, token.Position, *Func, *Site, string, ...any), inTest func(*Func) bool) {
	for _, fn := range a.funcs {
		if fn.Decl == nil || fn.Decl.Body == nil || inTest(fn) || !fn.Exported() {
			continue
		}
		ast.Inspect(fn.Decl.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.ReturnStmt:
				for _, e := range n.Results {
					t := a.info.TypeOf(e)
					if t == nil || !(a.streamType(t) || ioType(t) && a.eval(e).side&Client != 0) {
						continue
					}
					add(HandOut, a.fset.Position(e.Pos()), fn, nil, "%s returns a %s onto a connection: what its caller reads or writes through it belongs to no operation (a DATA phase, a raw stream)", fn.Name, types.TypeString(t, types.RelativeTo(a.pkg)))
				}
			}
			return true
		})
	}
}

// connType reports whether t is (a pointer to) a type of the package whose
// Read or Write does socket I/O (findConnTypes).
func (a *analyzer) connType(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && a.connTypes[n.Obj()]
}

// streamType reports whether t is a connType whose Read or Write has
// io.Reader's or io.Writer's signature: a reader or writer onto the
// connection, not a client with a Read operation of its own.
func (a *analyzer) streamType(t types.Type) bool {
	if !a.connType(t) {
		return false
	}
	for _, name := range []string{"Read", "Write"} {
		obj, _, _ := types.LookupFieldOrMethod(t, true, a.pkg, name)
		m, ok := obj.(*types.Func)
		if !ok {
			continue
		}
		sig := m.Type().(*types.Signature)
		if sig.Params().Len() != 1 || sig.Results().Len() != 2 {
			continue
		}
		if sl, ok := sig.Params().At(0).Type().Underlying().(*types.Slice); ok {
			if b, ok := sl.Elem().Underlying().(*types.Basic); ok && b.Kind() == types.Byte {
				return true
			}
		}
	}
	return false
}

// ioType reports whether values of type t read or write bytes: an
// interface with a Read or Write method, or bufio's readers and writers.
func ioType(t types.Type) bool {
	if types.IsInterface(t) {
		for _, m := range []string{"Read", "Write"} {
			if obj, _, _ := types.LookupFieldOrMethod(t, false, nil, m); obj != nil {
				return true
			}
		}
		return false
	}
	if p, ok := t.(*types.Pointer); ok {
		if n, ok := p.Elem().(*types.Named); ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "bufio" {
			return true
		}
	}
	return false
}

// datagram is the network of a dial site when it is, or may be, a
// datagram socket ("udp", "unixgram", "ip4:icmp"...), with where that
// value comes from when it is not the dial's own argument; "" otherwise.
func (a *analyzer) datagram(s *Site) string {
	switch s.Callee {
	case "net.DialUDP", "net.DialIP":
		return strings.ToLower(strings.TrimPrefix(s.Callee, "net.Dial"))
	}
	for _, arg := range s.Call.Args {
		tv, ok := a.info.Types[arg]
		if !ok || tv.Type == nil {
			continue
		}
		if b, ok := tv.Type.Underlying().(*types.Basic); !ok || b.Info()&types.IsString == 0 {
			continue
		}
		// the first string argument is the network
		for _, v := range a.constStrings(arg) {
			if n := v.val; strings.HasPrefix(n, "udp") || strings.HasPrefix(n, "ip") || n == "unixgram" {
				if v.pos.IsValid() {
					p := a.fset.Position(v.pos)
					return fmt.Sprintf("%s, from %s:%d", n, filepath.Base(p.Filename), p.Line)
				}
				return n
			}
		}
		return ""
	}
	return ""
}

// constString is a constant string an expression may hold, and where it
// was given (no position for the expression's own value).
type constString struct {
	val string
	pos token.Pos
}

// constStrings lists the constant strings e may hold: its own value, or
// for a variable or field, the constants the package's code (tests
// aside) assigns it or gives it in composite literals, or for a
// parameter, the constants the package's calls pass for it.
func (a *analyzer) constStrings(e ast.Expr) []constString {
	if tv, ok := a.info.Types[e]; ok && tv.Value != nil {
		if tv.Value.Kind() == constant.String {
			return []constString{{val: constant.StringVal(tv.Value)}}
		}
		return nil
	}
	var obj types.Object
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		obj = a.info.Uses[e]
	case *ast.SelectorExpr:
		obj = a.info.Uses[e.Sel]
	}
	v, ok := obj.(*types.Var)
	if !ok {
		return nil
	}
	refers := func(x ast.Expr) bool {
		switch x := ast.Unparen(x).(type) {
		case *ast.Ident:
			return a.info.Uses[x] == v || a.info.Defs[x] == v
		case *ast.SelectorExpr:
			return a.info.Uses[x.Sel] == v
		}
		return false
	}
	var out []constString
	add := func(x ast.Expr) {
		if tv, ok := a.info.Types[x]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
			out = append(out, constString{constant.StringVal(tv.Value), x.Pos()})
		}
	}
	// the function declaring v as a parameter, if it is one
	var paramOf *Func
	index := -1
	for _, fn := range a.funcs {
		if sig := a.sig(fn); sig != nil {
			for i := 0; i < sig.Params().Len(); i++ {
				if sig.Params().At(i) == v {
					paramOf, index = fn, i
				}
			}
		}
	}
	for _, f := range a.files {
		if strings.HasSuffix(a.fset.Position(f.Pos()).Filename, "_test.go") {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if len(n.Lhs) == len(n.Rhs) {
					for i, l := range n.Lhs {
						if refers(l) {
							add(n.Rhs[i])
						}
					}
				}
			case *ast.ValueSpec:
				if len(n.Names) == len(n.Values) {
					for i, id := range n.Names {
						if refers(id) {
							add(n.Values[i])
						}
					}
				}
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && a.info.Uses[id] == v {
					add(n.Value)
				}
			case *ast.CallExpr:
				if paramOf == nil {
					break
				}
				for _, t := range a.callTargets(n) {
					i := index
					if t.recvFirst {
						i++
					}
					if t.fn == paramOf && i < len(n.Args) {
						add(n.Args[i])
					}
				}
			}
			return true
		})
	}
	return out
}

// connMethod reports whether fn is the Read or Write method of a type of
// the package that carries a connection's bytes (findConnTypes): its I/O
// belongs to the operation that reads or writes through the value, by a
// call of another package (bufio) that the call graph does not see.
func (a *analyzer) connMethod(fn *Func) bool {
	if fn.Obj == nil || fn.Obj.Name() != "Read" && fn.Obj.Name() != "Write" {
		return false
	}
	recv := fn.Obj.Type().(*types.Signature).Recv()
	if recv == nil {
		return false
	}
	return a.connType(recv.Type())
}
