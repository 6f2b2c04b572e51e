package rewrite

import (
	"go/ast"
	"go/token"
	"go/types"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/dave/dst"
)

const and = token.AND

// blocking converts a blocking call in code that has a ctx, as planning
// decided (planCall): dials become context dials (net.DialTimeout keeps
// its timeout in the Dialer), a client connection's deadline is bounded by
// ctx's, time.Sleep ends early when ctx does, exec.Command becomes
// exec.CommandContext, and the net.LookupXxx functions become
// net.DefaultResolver.LookupXxx(ctx, ...). context.Background() and
// context.TODO() become ctx (see call).
func (r *pkgRewriter) blocking(call *ast.CallExpr, site *iodetect.Site, src ctxSource) bool {
	fn, _ := r.callee(unwrapFun(call.Fun))
	if fn == nil {
		return false
	}
	dcall := r.dst(call).(*dst.CallExpr)
	switch {
	case site.Kind == iodetect.KindDial && site.Side&iodetect.Client != 0:
		if recv := fn.Type().(*types.Signature).Recv(); recv != nil && types.IsInterface(recv.Type()) {
			return r.ifaceDialSite(call, fn, src) // ifaces.go
		}
		dialer := &dst.CompositeLit{Type: &dst.Ident{Name: "Dialer", Path: "net"}}
		switch fn.FullName() {
		case "net.Dial":
		case "net.DialTimeout":
			if len(dcall.Args) != 3 {
				return false
			}
			dialer.Elts = []dst.Expr{&dst.KeyValueExpr{Key: dst.NewIdent("Timeout"), Value: dcall.Args[2]}}
			dcall.Args = dcall.Args[:2]
		case "(*net.Dialer).Dial":
			sel, ok := dcall.Fun.(*dst.SelectorExpr)
			if !ok {
				return false
			}
			sel.Sel.Name = "DialContext"
			dcall.Args = append([]dst.Expr{src.expr()}, dcall.Args...)
			return true
		default:
			return false
		}
		dcall.Fun = &dst.SelectorExpr{
			X:   &dst.ParenExpr{X: &dst.UnaryExpr{Op: and, X: dialer}},
			Sel: dst.NewIdent("DialContext"),
		}
		dcall.Args = append([]dst.Expr{src.expr()}, dcall.Args...)
		return true
	case site.Kind == iodetect.KindDeadline && site.Side&iodetect.Client != 0:
		switch fn.Name() {
		case "SetDeadline", "SetReadDeadline", "SetWriteDeadline":
		default:
			return false
		}
		if len(dcall.Args) != 1 {
			return false
		}
		if c, ok := dcall.Args[0].(*dst.CallExpr); ok {
			if id, ok := c.Fun.(*dst.Ident); ok && id.Name == r.rtName("ctxDeadline") {
				return false // converted already
			}
		}
		dcall.Args[0] = &dst.CallExpr{Fun: dst.NewIdent(r.rt("ctxDeadline")), Args: []dst.Expr{src.expr(), dcall.Args[0]}}
		return true
	case site.Kind == iodetect.KindExec && fn.FullName() == "os/exec.Command":
		// the process is killed when ctx ends
		dcall.Fun = &dst.Ident{Name: "CommandContext", Path: "os/exec"}
		dcall.Args = append([]dst.Expr{src.expr()}, dcall.Args...)
		return true
	case site.Kind == iodetect.KindDNS && fn.Pkg() != nil && fn.Pkg().Path() == "net" && fn.Type().(*types.Signature).Recv() == nil:
		name := fn.Name()
		args := dcall.Args
		if name == "LookupIP" {
			// net.LookupIP(host) is DefaultResolver.LookupIP(ctx, "ip", host)
			args = append([]dst.Expr{&dst.BasicLit{Kind: stringLit, Value: `"ip"`}}, args...)
		}
		dcall.Fun = &dst.SelectorExpr{X: &dst.Ident{Name: "DefaultResolver", Path: "net"}, Sel: dst.NewIdent(name)}
		dcall.Args = append([]dst.Expr{src.expr()}, args...)
		return true
	case site.Kind == iodetect.KindSleep && fn.FullName() == "time.Sleep":
		dcall.Fun = dst.NewIdent(r.rt("sleep"))
		dcall.Args = append([]dst.Expr{src.expr()}, dcall.Args...)
		return true
	}
	return false
}

// takesContext reports whether t is a func type whose first parameter is a
// context.Context.
func takesContext(t types.Type) bool {
	sig, ok := t.Underlying().(*types.Signature)
	return ok && sig.Params().Len() > 0 && isContext(sig.Params().At(0).Type())
}

// detachedContext reports whether call is context.Background() or
// context.TODO(): in code that now has a ctx, a placeholder for it.
func (r *pkgRewriter) detachedContext(call *ast.CallExpr) bool {
	fn, _ := r.callee(unwrapFun(call.Fun))
	if fn == nil || fn.Pkg() == nil || fn.Pkg().Path() != "context" || len(call.Args) != 0 {
		return false
	}
	return fn.Name() == "Background" || fn.Name() == "TODO"
}
