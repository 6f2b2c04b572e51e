package rewrite

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// The share decision (share.go applies it), made before any edit.

// ShareDecision says whether a package shares the connections it dials,
// and what decided it.
type ShareDecision struct {
	Shared bool
	// Why says what decided, in a sentence, without the position.
	Why string
	// Pos is where it was decided (the evidence, the call handing a
	// connection over); zero when no position did.
	Pos token.Position
	// Rule is the share or noshare rule that decided, if one did.
	Rule *iodetect.Rule
	// Evidence is the detector's evidence against sharing, also when a
	// share rule overrode it.
	Evidence []*iodetect.Evidence
}

// notShared is how every note saying a package does not share begins.
const notShared = "connections are not shared (one physical connection per dial, as before): "

// findShares decides whether the package shares the connections it dials,
// and which dial sites become shareConn.
func (r *pkgRewriter) findShares() {
	r.shareSites = make(map[*ast.CallExpr]string)
	base := r.l.Pkg.Types == r.c.base.Pkg.Types
	decide := func(d *ShareDecision) {
		if base {
			d.Evidence = r.l.Evidence
			r.c.share = d
		}
	}
	netConn := r.netConn()
	if netConn == nil {
		decide(&ShareDecision{Why: "the package dials no net.Conn of its own: nothing to share"})
		return
	}
	var noshare *iodetect.Rule
	for _, s := range r.l.Sites {
		if s.Kind != iodetect.KindDial || s.Side&iodetect.Client == 0 || strings.HasSuffix(s.Pos.Filename, "_test.go") || r.inIfaceHelper(s.Call) {
			continue
		}
		if tuple, ok := r.info.TypeOf(s.Call).(*types.Tuple); ok && tuple.Len() == 2 && types.Identical(tuple.At(0).Type(), netConn) {
			if rule := shareRule(s, iodetect.RuleNoShare); rule != nil {
				r.c.note(s.Pos, "the connections dialed here are not shared (one physical connection per dial, as before): noshare rule at %s", rule.Pos)
				noshare = rule
				continue
			}
			owner := ""
			if shareRule(s, iodetect.RuleShare) != nil {
				owner = s.Func.Name // every call of it shares
			}
			r.shareSites[s.Call] = owner
		}
	}
	// A dial already wrapped (a run on converted code) stays as it is.
	for _, f := range r.ast {
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && r.callsRuntime(call) {
				ast.Inspect(call, func(n ast.Node) bool {
					if c, ok := n.(*ast.CallExpr); ok {
						delete(r.shareSites, c)
					}
					return true
				})
				return false
			}
			return true
		})
	}
	if len(r.shareSites) == 0 {
		if noshare != nil {
			decide(&ShareDecision{Why: "the configuration says noshare for its dials", Rule: noshare})
		} else {
			decide(&ShareDecision{Why: "the package dials no net.Conn of its own: nothing to share"})
		}
		return
	}
	iface := netConn.Underlying().(*types.Interface)
	for _, f := range r.ast {
		if r.generated[f] || strings.HasSuffix(r.fset.File(f.Pos()).Name(), "_test.go") {
			continue
		}
		var bad ast.Node
		var callee string
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || bad != nil {
				return bad == nil
			}
			fn, _ := r.callee(unwrapFun(call.Fun))
			if fn == nil || fn.Pkg() == nil || fn.Pkg() == r.l.Pkg.Types || readsOnlyAsked(fn) {
				return true
			}
			for _, a := range call.Args {
				if t := r.info.TypeOf(a); t != nil && mayBeConn(t, iface) {
					bad, callee = a, fn.FullName()
					return false
				}
			}
			return true
		})
		if bad != nil {
			why := fmt.Sprintf("a connection goes to %s, which may read ahead of its reply", callee)
			if callee == "crypto/tls.Client" || callee == "crypto/tls.Server" {
				why = fmt.Sprintf("the connection switches to TLS (%s takes it over; on a live connection, STARTTLS): a change of mode, after which TLS reads ahead of its replies", callee)
			}
			pos := r.fset.Position(bad.Pos())
			r.c.note(pos, "%s%s", notShared, why)
			r.shareSites = map[*ast.CallExpr]string{}
			decide(&ShareDecision{Why: why, Pos: pos})
			return
		}
	}
	if len(r.l.Evidence) == 0 {
		decide(&ShareDecision{Shared: true, Why: "every operation writes its request before it reads, and reads a reply; no goroutine, callback, datagram socket or code outside an operation uses a connection"})
		return
	}
	// Evidence against: only the dials a share rule names stay shared.
	var rule *iodetect.Rule
	for call := range r.shareSites {
		if s := r.sites[call]; s != nil {
			if sr := shareRule(s, iodetect.RuleShare); sr != nil {
				if rule == nil || sr.Pos < rule.Pos {
					rule = sr
				}
				continue
			}
		}
		delete(r.shareSites, call)
	}
	first := r.l.Evidence[0]
	if rule != nil {
		r.c.note(first.Pos, "connections are shared by the configuration (share rule at %s) although %s", rule.Pos, first.Why)
		decide(&ShareDecision{Shared: true, Why: "the configuration says share, over the evidence against", Pos: first.Pos, Rule: rule})
		return
	}
	seen := map[iodetect.EvidenceKind]int{}
	for _, e := range r.l.Evidence {
		seen[e.Kind]++
	}
	for _, e := range r.l.Evidence {
		n := seen[e.Kind]
		if n == 0 {
			continue
		}
		seen[e.Kind] = 0
		more := ""
		if n > 1 {
			more = fmt.Sprintf(" (and %d more like it)", n-1)
		}
		r.c.note(e.Pos, "%s%s%s", notShared, e.Why, more)
	}
	decide(&ShareDecision{Why: first.Why, Pos: first.Pos})
}

// shareRule is the rule of the given verb (share, noshare) for the
// function holding a dial site, if any.
func shareRule(s *iodetect.Site, verb string) *iodetect.Rule {
	if s.Func != nil && s.Func.ShareRule != nil && s.Func.ShareRule.Verb == verb {
		return s.Func.ShareRule
	}
	return nil
}

// mayBeConn reports whether a value of type t may be a connection: an
// interface that reads (io.Reader, io.ReadWriteCloser, net.Conn...) or a
// type that is a net.Conn.
func mayBeConn(t types.Type, netConn *types.Interface) bool {
	if types.IsInterface(t) {
		m, _, _ := types.LookupFieldOrMethod(t, false, nil, "Read")
		return m != nil
	}
	return types.Implements(t, netConn)
}

// readsOnlyAsked lists the functions of other packages that may be handed a
// connection: they read no more than they are asked for, or only write, or
// are bufio's constructors (see shareReader).
func readsOnlyAsked(fn *types.Func) bool {
	switch fn.FullName() {
	case "bufio.NewReader", "bufio.NewReaderSize", "bufio.NewWriter", "bufio.NewWriterSize",
		"io.ReadFull", "io.ReadAtLeast", "io.WriteString",
		"fmt.Fprint", "fmt.Fprintf", "fmt.Fprintln":
		return true
	}
	return false
}

// servesIn reports whether fd does I/O on the server side of a
// connection (one that a listener accepted): a reader around a connection
// there is no client's (shareReaderCall).
func (r *pkgRewriter) servesIn(fd *ast.FuncDecl) bool {
	if fd == nil {
		return false
	}
	for _, s := range r.l.Sites {
		if s.Side&iodetect.Server != 0 && s.Call.Pos() >= fd.Pos() && s.Call.End() <= fd.End() {
			return true
		}
	}
	return false
}
