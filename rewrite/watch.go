package rewrite

import (
	"go/ast"
	"go/types"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/dave/dst"
)

// watch makes the exchanges of an async function follow its ctx when the
// function holds a connection: a receiver or parameter of a type whose
// field is a client connection with deadlines (iodetect's field roots),
// or a local of that type. Before the first statement doing I/O on it (for
// a receiver or parameter, a socket site in the function's own body, so
// that the watch is where the I/O is; for a local, also a call to an async
// function or through a function value; never the client's own
// SetDeadline, which must come first),
//
//	defer watchConn(ctx, v.field)()
//
// arms a context.AfterFunc that moves the connection's deadline to now when
// ctx ends, interrupting the blocked read or write; leaving the function
// disarms it, or closes the connection when it fired, since an exchange cut
// off halfway leaves the connection out of sync. For a local, the
// statement must be a plain one that mentions it, or an if whose init
// does (not a for or switch, where it may still be nil). A function
// already watched (a run on converted code) is left alone. When the
// package shares its connections, the watch is a bind (see bindStmt), and a
// receiver or parameter is bound before the first statement that does I/O
// at all, a call included: every exchange on a handle must belong to the
// operation it runs in, which ends it.
func (r *pkgRewriter) watch(dfd *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan) {
	body := fd.Body.List
	holder := func(t types.Type) string {
		if ptr, ok := t.(*types.Pointer); ok {
			t = ptr.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			return r.holders[n.Obj()]
		}
		return ""
	}
	insert := func(at int, v, field string, local bool) {
		if !r.seesHelpers() {
			// The external test package (p_test) cannot see the helpers,
			// which the package declares: its I/O is left as it is.
			r.c.note(r.fset.Position(fd.Body.List[at].Pos()), "the I/O on %s.%s is not interrupted when ctx ends: asyncify's helpers are not visible from the external test package", v, field)
			return
		}
		conn := &dst.SelectorExpr{X: dst.NewIdent(v), Sel: dst.NewIdent(field)}
		var stmt dst.Stmt
		if len(r.shareSites) > 0 {
			stmt = r.bindStmt(dfd, fd, p, conn, local)
		}
		if stmt == nil {
			stmt = &dst.DeferStmt{Call: &dst.CallExpr{Fun: &dst.CallExpr{
				Fun:  dst.NewIdent(r.rt("watchConn")),
				Args: []dst.Expr{p.src.expr(), conn},
			}}}
		}
		dfd.Body.List = append(dfd.Body.List[:at], append([]dst.Stmt{stmt}, dfd.Body.List[at:]...)...)
	}
	for _, stmt := range body {
		if d, ok := stmt.(*ast.DeferStmt); ok {
			if inner, ok := d.Call.Fun.(*ast.CallExpr); ok && r.callsRuntime(inner) {
				return // watched already (a run on converted code)
			}
		}
	}
	var fields []*ast.Field
	if fd.Recv != nil {
		fields = append(fields, fd.Recv.List...)
	}
	fields = append(fields, fd.Type.Params.List...)
	for _, f := range fields {
		field := holder(r.info.TypeOf(f.Type))
		if field == "" {
			continue
		}
		for _, id := range f.Names {
			if id.Name == "_" {
				continue
			}
			for i, stmt := range body {
				if r.exchangeWork(stmt, len(r.shareSites) == 0) {
					insert(i, id.Name, field, false)
					return
				}
			}
		}
	}
	for i, stmt := range body {
		for _, v := range r.definedHolders(stmt, holder) {
			j := i + 1
			for j < len(body) && !r.exchangeWork(body[j], false) {
				j++
			}
			if j == len(body) || !mentions(r.info, body[j], v) {
				continue
			}
			switch s := body[j].(type) {
			case *ast.IfStmt:
				// its init runs whatever the condition says
				if s.Init == nil || !mentions(r.info, s.Init, v) {
					continue
				}
			case *ast.ReturnStmt, *ast.ExprStmt, *ast.AssignStmt, *ast.DeferStmt:
			default:
				continue
			}
			insert(j, v.Name(), holder(v.Type()), true)
			return
		}
	}
}

// definedHolders lists the locals of a holder type that stmt declares.
func (r *pkgRewriter) definedHolders(stmt ast.Stmt, holder func(types.Type) string) []*types.Var {
	var out []*types.Var
	add := func(id *ast.Ident) {
		if v, ok := r.info.Defs[id].(*types.Var); ok && holder(v.Type()) != "" {
			out = append(out, v)
		}
	}
	switch s := stmt.(type) {
	case *ast.AssignStmt:
		for _, lhs := range s.Lhs {
			if id, ok := lhs.(*ast.Ident); ok {
				add(id)
			}
		}
	case *ast.DeclStmt:
		if gd, ok := s.Decl.(*ast.GenDecl); ok {
			for _, spec := range gd.Specs {
				if vs, ok := spec.(*ast.ValueSpec); ok {
					for _, id := range vs.Names {
						add(id)
					}
				}
			}
		}
	}
	return out
}

func mentions(info *types.Info, n ast.Node, v *types.Var) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && info.Uses[id] == v {
			found = true
		}
		return !found
	})
	return found
}

// exchangeWork reports whether stmt does I/O on a connection, other than
// setting its deadline or dialing it: a socket site, or unless direct, a
// call to an async function or through a function value.
func (r *pkgRewriter) exchangeWork(stmt ast.Stmt, direct bool) bool {
	found := false
	ast.Inspect(stmt, func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			if s := r.sites[n]; s != nil && s.Seeds() && s.Kind != iodetect.KindDeadline && s.Kind != iodetect.KindDial {
				found = true
			}
			if r.callsConvertedInternal(n) {
				found = true // its I/O is on what this function hands it
			}
			if direct {
				return true
			}
			fun := unwrapFun(n.Fun)
			if fn, _ := r.callee(fun); fn != nil {
				if f := r.byObj[fn.Origin()]; f != nil && f.Async {
					found = true
				}
				return true
			}
			if tv, ok := r.info.Types[fun]; ok && !tv.IsType() && !tv.IsBuiltin() {
				if _, ok := tv.Type.Underlying().(*types.Signature); ok {
					if _, isLit := fun.(*ast.FuncLit); !isLit {
						found = true // through a function value
					}
				}
			}
		}
		return true
	})
	return found
}

// noteUnwatched reports, once per package, the client I/O that no watcher
// can interrupt: watches (watch.go) interrupt I/O through a connection
// with deadlines kept in a struct field (r.holders), and the package keeps
// none (it keeps a bufio wrapper or an io.ReadWriteCloser, or its
// connections are locals and parameters). Its dials follow ctx.
func (r *pkgRewriter) noteUnwatched() {
	for _, fn := range r.l.Funcs {
		if fn.External != nil && fn.Next == nil && fn.Site == nil && !strings.HasSuffix(fn.Pos.Filename, "_test.go") && r.c.plans[fn.External.Name] == nil && !r.convertedExternal(fn) {
			if why := r.fixedExternal(fn); why != "" {
				r.c.note(fn.Pos, "%s calls %s, which blocks on a connection: not cancellable: %s", fn.Name, fn.External.Name, why)
				continue
			}
			r.c.note(fn.Pos, "%s calls %s, which blocks on a connection in another package that is not converted: not cancellable", fn.Name, fn.External.Name)
		}
	}
	if len(r.holders) > 0 || r.internal && !r.dialsItself() || len(r.l.Readers) > 0 {
		// (a reader goroutine's package: noteReaders said what ctx bounds)
		// an internal package reads and writes what the client hands it,
		// on connections the client's operations watch
		return
	}
	var first *iodetect.Site
	n, dials := 0, 0
	for _, s := range r.l.Sites {
		if !s.Seeds() || s.Kind == iodetect.KindDeadline || strings.HasSuffix(s.Pos.Filename, "_test.go") {
			continue
		}
		if s.Kind == iodetect.KindDial {
			dials++
			continue
		}
		if first == nil {
			first = s
		}
		n++
	}
	dialNote := ""
	if dials > 0 {
		dialNote = "; only the dials follow ctx"
	}
	switch {
	case first != nil && r.c.sequenced:
		r.c.note(first.Pos, "%d I/O calls on connections without deadlines to interrupt them: the exported operations that sequence them with textproto.Pipeline run detached when ctx can end (the caller returns ctx.Err(); the exchange completes on its own goroutine)", n)
	case first != nil:
		r.c.note(first.Pos, "%d I/O calls on connections are not cancellable: the converter interrupts I/O through a connection with deadlines (SetDeadline, Close) kept in a struct field, and this package keeps none%s", n, dialNote)
	}
}
