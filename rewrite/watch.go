package rewrite

import (
	"go/ast"

	"github.com/dave/dst"
)

// watch arms the watch planning placed in an async function (planWatch):
// before the statement p.watch.at of its body,
//
//	defer watchConn(ctx, v.field)()
//
// arms a context.AfterFunc that moves the connection's deadline to now when
// ctx ends, interrupting the blocked read or write; leaving the function
// disarms it, or closes the connection when it fired, since an exchange cut
// off halfway leaves the connection out of sync. When the package shares
// its connections, the watch is a bind (see bindStmt).
func (r *pkgRewriter) watch(dfd *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan) {
	w := p.watch
	if w == nil {
		return
	}
	conn := &dst.SelectorExpr{X: dst.NewIdent(w.v), Sel: dst.NewIdent(w.field)}
	var stmt dst.Stmt
	if len(r.shareSites) > 0 {
		stmt = r.bindStmt(dfd, fd, p, conn, w.local)
	}
	if stmt == nil {
		stmt = &dst.DeferStmt{Call: &dst.CallExpr{Fun: &dst.CallExpr{
			Fun:  dst.NewIdent(r.rt("watchConn")),
			Args: []dst.Expr{p.src.expr(), conn},
		}}}
	}
	dfd.Body.List = append(dfd.Body.List[:w.at], append([]dst.Stmt{stmt}, dfd.Body.List[w.at:]...)...)
}
