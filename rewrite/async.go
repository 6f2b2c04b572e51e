package rewrite

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/types"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/templates"
	"github.com/dave/dst"
)

// makeAsync returns FAsync(ctx, ...) *Future[T] for an exported async
// function with a wrapper: it starts FContext on a runtime goroutine
// (templates' startOp) and returns at once. T is F's result (struct{} when
// F returns only an error). Not generated, for now: several results
// besides the error (they need a result struct), no error result, a
// parameter the call may write into or call back ([]byte, a func) since
// the operation may outlive the caller's wait, or a name already taken.
func (r *pkgRewriter) makeAsync(wrapper *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan) *dst.FuncDecl {
	sig := p.fn.Obj.Type().(*types.Signature)
	res := sig.Results()
	if res.Len() == 0 || res.Len() > 2 || !types.Identical(res.At(res.Len()-1).Type(), types.Universe.Lookup("error").Type()) {
		return nil
	}
	for i := 0; i < sig.Params().Len(); i++ {
		switch t := sig.Params().At(i).Type().Underlying().(type) {
		case *types.Signature:
			return nil
		case *types.Slice:
			if b, ok := t.Elem().(*types.Basic); ok && b.Kind() == types.Byte {
				return nil
			}
		}
	}
	name := fd.Name.Name + "Async"
	if r.declared(fd, name) {
		return nil
	}
	names := r.c.runtimeNames()
	if names == nil {
		return nil
	}
	r.c.usesRuntime = true

	a := &dst.FuncDecl{Name: dst.NewIdent(name), Type: dst.Clone(wrapper.Type).(*dst.FuncType)}
	if wrapper.Recv != nil {
		a.Recv = dst.Clone(wrapper.Recv).(*dst.FieldList)
	}
	ctxName := p.src.name
	a.Type.Params.List = append([]*dst.Field{{Names: []*dst.Ident{dst.NewIdent(ctxName)}, Type: contextType()}}, a.Type.Params.List...)
	var t dst.Expr = dst.NewIdent("struct{}")
	if res.Len() == 2 {
		t = r.typeExpr(res.At(0).Type())
	}
	a.Type.Results = &dst.FieldList{List: []*dst.Field{{Type: &dst.StarExpr{X: &dst.IndexExpr{X: dst.NewIdent(names["Future"]), Index: dst.Clone(t).(dst.Expr)}}}}}

	// The body calls FContext exactly as the wrapper does, with the
	// operation's ctx.
	call := dst.Clone(wrapper.Body.List[0]).(dst.Stmt)
	var inner *dst.CallExpr
	switch s := call.(type) {
	case *dst.ReturnStmt:
		inner = s.Results[0].(*dst.CallExpr)
	case *dst.ExprStmt:
		inner = s.X.(*dst.CallExpr)
	}
	inner.Args[0] = dst.NewIdent(ctxName)
	var ret dst.Stmt = &dst.ReturnStmt{Results: []dst.Expr{inner}}
	if res.Len() == 1 {
		ret = &dst.ReturnStmt{Results: []dst.Expr{&dst.CompositeLit{Type: dst.Clone(t).(dst.Expr)}, inner}}
	}
	body := &dst.FuncLit{
		Type: &dst.FuncType{Func: true,
			Params:  &dst.FieldList{List: []*dst.Field{{Names: []*dst.Ident{dst.NewIdent(ctxName)}, Type: contextType()}}},
			Results: &dst.FieldList{List: []*dst.Field{{Type: dst.Clone(t).(dst.Expr)}, {Type: dst.NewIdent("error")}}},
		},
		Body: &dst.BlockStmt{List: []dst.Stmt{ret}},
	}
	ret.Decorations().Before = dst.NewLine
	ret.Decorations().After = dst.NewLine
	start := &dst.ReturnStmt{Results: []dst.Expr{&dst.CallExpr{
		Fun:  dst.NewIdent(names["startOp"]),
		Args: []dst.Expr{dst.NewIdent(ctxName), &dst.BasicLit{Kind: stringLit, Value: strconv.Quote(p.fn.Name)}, body},
	}}}
	a.Body = &dst.BlockStmt{List: []dst.Stmt{start}}
	a.Decs.Before = dst.EmptyLine
	a.Decs.Start = dst.Decorations{fmt.Sprintf("// %s starts %s on its own goroutine and returns its future.", name, p.newName)}
	a.Decs.After = dst.EmptyLine
	return a
}

// runtimeNames returns the names of the runtime in the converted package,
// emitting it once. Names the package declares, outside files asyncify
// generated, are taken, as are the helpers'.
func (c *converter) runtimeNames() map[string]string {
	if c.runtime == nil && c.runtimeErr == nil {
		c.runtime, c.runtimeNames_, c.runtimeErr = templates.Emit(c.base.Pkg.Name, c.taken)
	}
	if c.runtimeErr != nil {
		c.errs = append(c.errs, "emitting the runtime: "+c.runtimeErr.Error())
		return nil
	}
	return c.runtimeNames_
}

// taken reports whether the package declares name, other than in a file
// that asyncify generated, or needs it for a helper.
func (c *converter) taken(name string) bool {
	switch name {
	case helperWatch, helperDeadline, helperSleep, helperCtxErr, helperConn:
		return true
	}
	obj := c.base.Pkg.Types.Scope().Lookup(name)
	if obj == nil {
		return false
	}
	return !strings.HasPrefix(filepath.Base(c.base.Pkg.Fset.Position(obj.Pos()).Filename), "asyncify_")
}

// runtimeFiles returns the runtime's files for the converted package.
func (c *converter) runtimeFiles(base *iodetect.Loaded) ([]File, error) {
	dir := filepath.Dir(base.Pkg.GoFiles[0])
	var names []string
	for name := range c.runtime {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []File
	for _, name := range names {
		path := filepath.Join(dir, name)
		old, err := readFile(path)
		if err != nil {
			old = nil
		}
		if old != nil && !bytes.HasPrefix(old, []byte(templates.Header)) {
			return nil, &Error{Errs: []string{fmt.Sprintf("%s: exists and was not generated by asyncify", path)}}
		}
		out = append(out, File{Path: path, Old: old, New: c.runtime[name]})
	}
	return out, nil
}
