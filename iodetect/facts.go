package iodetect

import (
	"go/ast"
	"go/token"
	"go/types"
)

// Kind says what a site does.
type Kind string

// Site kinds. The socket kinds (read, write, flush, dial, deadline, pipeline)
// on a client connection seed the async set; the others are reported only.
const (
	KindRead     Kind = "read"
	KindWrite    Kind = "write"
	KindFlush    Kind = "flush"
	KindDial     Kind = "dial"
	KindDeadline Kind = "deadline"
	KindPipeline Kind = "pipeline" // textproto.Pipeline sequencing: waits for its turn
	KindClose    Kind = "close"
	KindAccept   Kind = "accept"
	KindSleep    Kind = "sleep"
	KindFile     Kind = "file"
	KindExec     Kind = "exec"
	KindDNS      Kind = "dns"
	KindCgo      Kind = "cgo"
	// KindReplyWait: a wait for a reply that the client's own reader
	// goroutine delivers (replywait.go): a receive on a channel it fills, a
	// sync.Cond wait on what it produces; a sync.WaitGroup wait on it is
	// reported (Side zero), not rewritten.
	KindReplyWait Kind = "reply-wait"
)

// seeds reports whether a client-side site of this kind makes its function async.
func (k Kind) seeds() bool {
	switch k {
	case KindRead, KindWrite, KindFlush, KindDial, KindDeadline, KindPipeline, KindReplyWait:
		return true
	}
	return false
}

// Side says which end of a connection a value belongs to.
type Side uint8

const (
	Client Side = 1 << iota // dialed here, or handed to the package as a connection
	Server                  // returned by a listener's Accept
	// Dialed (with Client): the package's own dial reaches the value (a
	// dial, a datagram socket it opens, its dialer interface or dial
	// function), not only a connection handed to it. With Server too, the
	// value is code that the package's client and server share (modbus's
	// tcpTransport, whose socket is dialled by the client and accepted by
	// the server): its sites stay the client's.
	Dialed
)

func (s Side) String() string {
	switch {
	case s&Client != 0:
		return "client"
	case s&Server != 0:
		return "server"
	}
	return ""
}

// Site is one call that blocks, or that touches a connection.
type Site struct {
	// Call is the call; nil for a reply wait that is a receive, whose
	// syntax is Node.
	Call *ast.CallExpr
	// Node is the site's syntax: Call, or for a reply wait on a channel the
	// receive (*ast.UnaryExpr) or the range statement.
	Node ast.Node
	Pos  token.Position
	Kind Kind
	// Callee names what is called: "fmt.Fprintf", "(*bufio.Reader).ReadSlice".
	Callee string
	// On is the conn-derived operand as written ("cn.rw"), if any.
	On   string
	Func *Func
	Side Side // zero for blocking calls that are not socket I/O
	// Reply describes a reply wait.
	Reply *ReplyWait
}

// Seeds reports whether the site makes its function async.
func (s *Site) Seeds() bool { return s.Side&Client != 0 && s.Kind.seeds() }

// Root is a parameter or field through which a client connection enters code.
type Root struct {
	Pos  token.Position
	Kind string // "param" or "field"
	Var  *types.Var
	Func *Func // for parameters: the function declaring it
	// Exported is true for the parameter of an exported function, which the
	// package's user may hand any connection.
	Exported bool
}

// Func is a node of the call graph: a declared function or method, a function
// literal, or the package's initialisation (package-level variables).
type Func struct {
	Name string // "(*Client).Get", "parseGetResponse", "(*Client).Get.func1"
	Obj  *types.Func
	Decl *ast.FuncDecl
	Lit  *ast.FuncLit
	Pos  token.Position

	// Implements lists the interfaces, declared in other packages or exported
	// by this one, whose method this is: its signature cannot change.
	Implements []string

	// Async, and if so why: Next is the callee one step closer to a site, or
	// nil when Site is in this function's own body.
	Async bool
	Next  *Func
	Site  *Site
	// External names a function of another package that made this one async.
	External *ExternalAsync
	// Rule is the configuration's sync or async rule for the function, if
	// one applied: a forced async function has no Site of its own.
	Rule *Rule

	// Mode says, for an async function, whether its exchange is one round of
	// writes then reads (Pipelined) or not (Exclusive: ModeWrite comes after
	// ModeRead).
	Mode                Mode
	ModeRead, ModeWrite *Site
	// ModeRule is the configuration's mode rule that set Mode, if any.
	ModeRule *Rule
	// ShareRule is the configuration's share or noshare rule for a
	// function that dials (Verb says which): with share, its dials share
	// physical connections across calls, not only those of one receiver,
	// whatever the evidence (Package.Evidence); with noshare, never.
	ShareRule *Rule
	dist      int

	calls []*Func // callees, in source order, deduplicated
	ext   []*ExternalAsync
}

// ExternalAsync is an async function of another package that this package calls.
type ExternalAsync struct {
	Name string // "(*memcache.Client).Get"
	// Func is the function's node, when its package was analysed in the
	// same run; otherwise Chain is its chain as its package reported it.
	Func  *Func
	Chain []string
}

// Exported reports whether the function is part of the package's API: an
// exported function, or an exported method of an exported type.
func (f *Func) Exported() bool {
	if f.Obj == nil || !f.Obj.Exported() {
		return false
	}
	recv := f.Obj.Type().(*types.Signature).Recv()
	if recv == nil {
		return true
	}
	t := recv.Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok {
		return n.Obj().Exported()
	}
	return true
}

// Chain is the explanation of an async function: its own name, the functions
// down to the one holding a site, and the site as "CALLEE at POS".
func (f *Func) Chain(rel func(token.Position) string) []string {
	var chain []string
	for g := f; g != nil; g = g.Next {
		chain = append(chain, g.Name)
		if g.Next == nil {
			switch {
			case g.Site != nil:
				chain = append(chain, g.Site.Callee+" at "+rel(g.Site.Pos))
			case g.External != nil && g.External.Func != nil:
				ext := g.External.Func.Chain(rel)
				ext[0] = g.External.Name
				chain = append(chain, ext...)
			case g.External != nil:
				chain = append(chain, g.External.Chain...)
			case g.Rule != nil && g.Rule.Verb == RuleAsync:
				chain = append(chain, "async by the configuration at "+g.Rule.Pos)
			}
		}
	}
	return chain
}

// Package holds the facts for one package.
type Package struct {
	Path  string
	Name  string
	Fset  *token.FileSet
	Sites []*Site
	Roots []*Root
	Funcs []*Func // every node, in source order
	Async []*Func // the async set, in source order
	// Readers are the connection reader goroutines the package starts
	// (replywait.go).
	Readers []*Reader
	// detached are the go statements' calls that start detached
	// goroutines (detached.go; Detached).
	detached map[*ast.CallExpr]bool
	// Bindings are the parameters (and receivers) of other packages'
	// functions that this package passes conn-derived values to.
	Bindings map[*types.Var]Side
	// Evidence lists the uses of client connections that are not a
	// request/response exchange inside one operation (evidence.go), in
	// source order: where there is any, rewrite does not share the
	// package's connections unless a share rule says so.
	Evidence []*Evidence
}
