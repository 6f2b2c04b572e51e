package rewrite

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/dave/dst"
)

// The rules of the pipelined conversion: the connections a client dials
// become handles on shared pipelined connections (templates' shareConn),
// and its exported operations run as runtime operations, pipelined or
// exclusive as iodetect decided.
//
//   - shareDial: a dial whose result is a net.Conn becomes
//     shareConn(ctx, owner, network, addr, func(ctx) (net.Conn, error) { dial }),
//     owner being the receiver of the method that dials (different client
//     values never share), nil in a function (each call dials its own
//     physical connection: separate Dials are separate server sessions), or
//     the function's name as a string when a share rule names it (every
//     call shares);
//   - shareReader: bufio.NewReader(c) and bufio.NewReaderSize(c, n) around a
//     connection become shareReader(c, 0) and shareReader(c, n): the same
//     *bufio.Reader, which hands back what it read ahead of each reply;
//   - bind: the watch of a function that uses a connection (see watch)
//     becomes bindConn(ctx, conn, &err), which ends the exchange where the
//     function that obtained the connection returns;
//   - runOp: XxxContext runs the original body, renamed xxxContext, with
//     runOp(ctx, name, mode, ...), its doc comment saying the mode.
//
// A package shares its connections only when the detector's evidence
// says every use of a connection is a request/response exchange inside
// one operation (iodetect's evidence.go: a write with no reply, a read
// with no request, a goroutine or callback using a connection it did not
// dial, I/O no operation runs, a datagram socket are evidence against),
// and every value that may be a connection stays within code the rules
// cover: one handed to code of another package that may read ahead of a
// reply (textproto.NewConn, tls.Client, a decoder) would take other
// exchanges' bytes. A share rule overrides the evidence for its function's
// dials (not the hand-over: that would break); a noshare rule keeps its
// function's dials unshared.

// callsRuntime reports whether call calls a function that asyncify
// generated (the runtime, the helpers).
func (r *pkgRewriter) callsRuntime(call *ast.CallExpr) bool {
	id, ok := unwrapFun(call.Fun).(*ast.Ident)
	if !ok {
		return false
	}
	obj := r.info.Uses[id]
	if obj == nil || obj.Pkg() != r.l.Pkg.Types {
		return false
	}
	return strings.HasPrefix(filepath.Base(r.fset.Position(obj.Pos()).Filename), "asyncify_")
}

// netConn is net.Conn, if the package imports net.
func (r *pkgRewriter) netConn() types.Type {
	for _, imp := range r.l.Pkg.Types.Imports() {
		if imp.Path() == "net" {
			if obj := imp.Scope().Lookup("Conn"); obj != nil {
				return obj.Type()
			}
		}
	}
	return nil
}

// shareDial wraps a dial site in shareConn. dcall is the dial as blocking
// left it (a context dial). The ctx it was given goes to shareConn, and the
// dial itself moves into a closure taking ctx under the same name.
func (r *pkgRewriter) shareDial(call *ast.CallExpr, src ctxSource) bool {
	var strs []dst.Expr
	for _, a := range call.Args {
		if b, ok := r.info.TypeOf(a).Underlying().(*types.Basic); ok && b.Info()&types.IsString != 0 {
			strs = append(strs, dst.Clone(r.dst(a)).(dst.Expr))
		}
	}
	if len(strs) < 2 {
		return false
	}
	rt := r.runtime(true)
	if rt == nil {
		return false
	}
	dcall := r.dst(call).(*dst.CallExpr)
	ctxArg, param := src.expr(), "_"
	if len(dcall.Args) > 0 {
		if id, ok := dcall.Args[0].(*dst.Ident); ok && (len(call.Args) == 0 || isContext(r.info.TypeOf(call.Args[0])) || id.Name == src.name) {
			ctxArg, param = dst.NewIdent(id.Name), id.Name
		}
	}
	var owner dst.Expr = dst.NewIdent("nil")
	if name := r.shareSites[call]; name != "" {
		// A share rule: every call of the function shares.
		owner = &dst.BasicLit{Kind: stringLit, Value: strconv.Quote(name)}
	} else if fd := r.curFunc; fd != nil && fd.Recv != nil && len(fd.Recv.List[0].Names) == 1 {
		if _, ptr := r.info.TypeOf(fd.Recv.List[0].Type).(*types.Pointer); ptr && fd.Recv.List[0].Names[0].Name != "_" {
			owner = dst.NewIdent(fd.Recv.List[0].Names[0].Name)
		}
	}
	lit := &dst.FuncLit{
		Type: &dst.FuncType{Func: true,
			Params:  &dst.FieldList{List: []*dst.Field{{Names: []*dst.Ident{dst.NewIdent(param)}, Type: contextType()}}},
			Results: &dst.FieldList{List: []*dst.Field{{Type: &dst.Ident{Name: "Conn", Path: "net"}}, {Type: dst.NewIdent("error")}}},
		},
		Body: &dst.BlockStmt{List: []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{dcall}}}},
	}
	r.replace[dcall] = &dst.CallExpr{
		Fun:  dst.NewIdent(rt("shareConn")),
		Args: []dst.Expr{ctxArg, owner, strs[0], strs[1], lit},
	}
	return true
}

// shareReaderCall turns bufio.NewReader(c) or bufio.NewReaderSize(c, n),
// c a connection, into shareReader(c, 0) or shareReader(c, n).
func (r *pkgRewriter) shareReaderCall(call *ast.CallExpr) bool {
	fn, _ := r.callee(unwrapFun(call.Fun))
	if fn == nil || len(call.Args) == 0 || strings.HasSuffix(r.fset.Position(call.Pos()).Filename, "_test.go") {
		return false
	}
	size := dst.Expr(&dst.BasicLit{Kind: token.INT, Value: "0"})
	switch fn.FullName() {
	case "bufio.NewReader":
	case "bufio.NewReaderSize":
		size = r.dst(call.Args[1]).(dst.Expr)
	default:
		return false
	}
	// A connection itself (not any io.Reader), on the client side: a reader
	// in a function that serves connections is left alone.
	if !types.Implements(r.info.TypeOf(call.Args[0]), r.netConn().Underlying().(*types.Interface)) || r.serving[r.curFunc] {
		return false
	}
	rt := r.runtime(true)
	if rt == nil {
		return false
	}
	dcall := r.dst(call).(*dst.CallExpr)
	dcall.Fun = dst.NewIdent(rt("shareReader"))
	dcall.Args = []dst.Expr{dcall.Args[0], size}
	return true
}

// bindStmt is what the watch of a function becomes when the package shares
// its connections: defer bindConn(ctx, conn, errp)(). errp is the
// function's error result, named if it was not, when the function obtained
// the connection itself (a local): its return ends the exchange. A function
// handed the connection (receiver, parameter) is a part of an exchange:
// nil.
func (r *pkgRewriter) bindStmt(dfd *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan, conn dst.Expr, local bool) dst.Stmt {
	rt := r.runtime(true)
	if rt == nil {
		return nil
	}
	var errp dst.Expr = dst.NewIdent("nil")
	if local {
		if name := r.errResult(dfd, fd); name != "" {
			errp = &dst.UnaryExpr{Op: and, X: dst.NewIdent(name)}
		}
	}
	return &dst.DeferStmt{Call: &dst.CallExpr{Fun: &dst.CallExpr{
		Fun:  dst.NewIdent(rt("bindConn")),
		Args: []dst.Expr{p.src.expr(), conn, errp},
	}}}
}

// errResult names the error result of the function (as mapErrors does)
// and returns its name, or "" when its last result is not an error.
func (r *pkgRewriter) errResult(dfd *dst.FuncDecl, fd *ast.FuncDecl) string {
	res := r.info.Defs[fd.Name].(*types.Func).Type().(*types.Signature).Results()
	n := res.Len()
	if n == 0 || !types.Identical(res.At(n-1).Type(), types.Universe.Lookup("error").Type()) {
		return ""
	}
	list := dfd.Type.Results.List
	last := list[len(list)-1]
	if len(last.Names) > 0 {
		id := last.Names[len(last.Names)-1]
		if id.Name == "_" {
			id.Name = r.freshName(fd, "err")
		}
		return id.Name
	}
	for _, f := range list[:len(list)-1] {
		f.Names = []*dst.Ident{dst.NewIdent("_")}
	}
	name := r.freshName(fd, "err")
	last.Names = []*dst.Ident{dst.NewIdent(name)}
	return name
}

// makeRunOp makes FContext run F's body as a runtime operation:
//
//	func (c *Client) GetContext(ctx context.Context, key string) (*Item, error) {
//		return runOp(ctx, "(*Client).Get", opDetachable, func(ctx context.Context) (*Item, error) {
//			return c.getContext(ctx, key)
//		})
//	}
//
// and renames dfd, the body, to getContext. The mode: opExclusive for an
// exclusive operation; opAttached when the operation writes into memory
// its caller passed ([]byte, a func) or returns something to close (a
// connection, a client): never abandoned; else opDetachable. Not for
// functions with more than one result besides the error, or no error.
func (r *pkgRewriter) makeRunOp(wrapper, dfd *dst.FuncDecl, fd *ast.FuncDecl, p *fnPlan) *dst.FuncDecl {
	if !runOpShape(p) {
		return nil
	}
	sig := p.fn.Obj.Type().(*types.Signature)
	res := sig.Results()
	n := res.Len()
	rt := r.runtime(true)
	if rt == nil {
		return nil
	}
	bodyName := p.body
	if bodyName == "" {
		bodyName = r.bodyName(fd)
	}

	mode, modeDoc := "opDetachable", "It shares its connection with other operations (pipelined: one round of writes, then reads); when ctx ends first it returns ctx.Err() and the request still completes."
	if p.fn.Mode == iodetect.Exclusive {
		mode, modeDoc = "opExclusive", "It holds its connection exclusively"
		switch {
		case p.fn.ModeRule != nil:
			modeDoc += " (set by the configuration at " + p.fn.ModeRule.Pos + ")."
		case p.fn.ModeWrite != nil && p.fn.ModeRead != nil:
			// calls and functions, not positions: an upstream edit above
			// them must not change the converted package's comments
			modeDoc += fmt.Sprintf(" (several rounds: %s after %s).", siteIn(p.fn.ModeWrite), siteIn(p.fn.ModeRead))
		default:
			modeDoc += "."
		}
	} else if r.attached(sig) {
		mode = "opAttached"
		modeDoc = "It shares its connection with other operations (pipelined); it is never abandoned (it writes into memory the caller passed, or returns something to close): when ctx ends mid-reply its connection is closed."
	}

	ctxName := p.src.name
	f := &dst.FuncDecl{Name: dst.NewIdent(p.newName), Type: dst.Clone(wrapper.Type).(*dst.FuncType)}
	if wrapper.Recv != nil {
		f.Recv = dst.Clone(wrapper.Recv).(*dst.FieldList)
	}
	f.Type.Params.List = append([]*dst.Field{{Names: []*dst.Ident{dst.NewIdent(ctxName)}, Type: contextType()}}, f.Type.Params.List...)
	var t dst.Expr = dst.NewIdent("struct{}")
	if n == 2 {
		t = r.typeExpr(res.At(0).Type())
	}
	f.Type.Results = &dst.FieldList{}
	for i := 0; i < n; i++ {
		f.Type.Results.List = append(f.Type.Results.List, &dst.Field{Type: r.typeExpr(res.At(i).Type())})
	}

	// The body is called exactly as the wrapper calls FContext.
	call := wrapperCall(wrapper, ctxName)
	fun := call.Fun
	if il, ok := fun.(*dst.IndexListExpr); ok {
		fun = il.X
	}
	rename(fun, bodyName)
	ret := &dst.ReturnStmt{Results: []dst.Expr{call}}
	if n == 1 {
		ret.Results = []dst.Expr{&dst.CompositeLit{Type: dst.Clone(t).(dst.Expr)}, call}
	}
	ret.Decs.Before, ret.Decs.After = dst.NewLine, dst.NewLine
	lit := &dst.FuncLit{
		Type: &dst.FuncType{Func: true,
			Params:  &dst.FieldList{List: []*dst.Field{{Names: []*dst.Ident{dst.NewIdent(ctxName)}, Type: contextType()}}},
			Results: &dst.FieldList{List: []*dst.Field{{Type: dst.Clone(t).(dst.Expr)}, {Type: dst.NewIdent("error")}}},
		},
		Body: &dst.BlockStmt{List: []dst.Stmt{ret}},
	}
	run := &dst.CallExpr{
		Fun:  dst.NewIdent(rt("runOp")),
		Args: []dst.Expr{dst.NewIdent(ctxName), &dst.BasicLit{Kind: stringLit, Value: strconv.Quote(p.fn.Name)}, dst.NewIdent(rt(mode)), lit},
	}
	if recv := r.holderRecv(fd); recv != "" {
		// The receiver holds a connection: its operations never overlap.
		run.Fun = dst.NewIdent(rt("runOpOn"))
		run.Args = append([]dst.Expr{run.Args[0], dst.NewIdent(recv)}, run.Args[1:]...)
	}
	var stmts []dst.Stmt
	if n == 2 {
		stmts = []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{run}}}
	} else {
		errName := "err"
		for taken := r.paramNames(f); taken[errName]; {
			errName += "1"
		}
		stmts = []dst.Stmt{
			&dst.AssignStmt{Lhs: []dst.Expr{dst.NewIdent("_"), dst.NewIdent(errName)}, Tok: token.DEFINE, Rhs: []dst.Expr{run}},
			&dst.ReturnStmt{Results: []dst.Expr{dst.NewIdent(errName)}},
		}
	}
	for _, s := range stmts {
		s.Decorations().Before, s.Decorations().After = dst.NewLine, dst.NewLine
	}
	f.Body = &dst.BlockStmt{List: stmts}
	f.Decs.Before = dst.EmptyLine
	f.Decs.Start = append(append(dfd.Decs.Start, "//"), commentLines(modeDoc)...)
	f.Decs.After = dst.EmptyLine
	dfd.Name.Name = bodyName
	dfd.Decs.Start = dst.Decorations{fmt.Sprintf("// %s is the body of %s.", bodyName, p.newName)}
	return f
}

// opMode is the runtime mode makeRunOp runs p's operation in.
func (r *pkgRewriter) opMode(p *fnPlan) string {
	switch {
	case p.fn.Mode == iodetect.Exclusive:
		return "opExclusive"
	case r.attached(p.fn.Obj.Type().(*types.Signature)):
		return "opAttached"
	}
	return "opDetachable"
}

// flatCall reports whether call, in the body of the operation caller runs
// under runOp, may call the body of callee's operation (p.body) rather
// than its Context form: the operation is running already, so a nested
// runOp would only add an op, a goroutine's worth of bookkeeping and its
// allocations (issue 16). Both must run under runOp in the same mode,
// callee must be this package's, the call must be in caller's own body
// (not a literal, which may run later or elsewhere), and a callee whose
// receiver holds a connection (runOpOn orders its operations) must be
// called on caller's own receiver, whose operation holds that order
// already.
func (r *pkgRewriter) flatCall(call *ast.CallExpr, caller *ast.FuncDecl, p *fnPlan) bool {
	if caller == nil || p.body == "" || p.fn.Obj.Pkg() != r.l.Pkg.Types || p.fn.Decl == nil {
		return false
	}
	obj, _ := r.info.Defs[caller.Name].(*types.Func)
	pc := r.c.plans[obj.FullName()]
	if pc == nil || pc.body == "" || r.opMode(pc) != r.opMode(p) {
		return false
	}
	inLit := false
	ast.Inspect(caller.Body, func(n ast.Node) bool {
		if lit, ok := n.(*ast.FuncLit); ok && lit.Pos() <= call.Pos() && call.End() <= lit.End() {
			inLit = true
		}
		return !inLit
	})
	if inLit {
		return false
	}
	if r.holderRecv(p.fn.Decl) == "" {
		return true
	}
	recv := r.holderRecv(caller)
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || recv == "" {
		return false
	}
	id, ok := ast.Unparen(sel.X).(*ast.Ident)
	return ok && id.Name == recv && r.info.Uses[id] == r.info.Defs[caller.Recv.List[0].Names[0]]
}

// runOpShape reports whether p's function has the results makeRunOp
// handles: an error, after at most one other.
func runOpShape(p *fnPlan) bool {
	res := p.fn.Obj.Type().(*types.Signature).Results()
	n := res.Len()
	return n > 0 && n <= 2 && types.Identical(res.At(n-1).Type(), types.Universe.Lookup("error").Type())
}

// holderRecv is the name of fd's receiver when its type holds a
// connection (a pointer to a holder type), else "".
func (r *pkgRewriter) holderRecv(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List[0].Names) != 1 || fd.Recv.List[0].Names[0].Name == "_" {
		return ""
	}
	ptr, ok := r.info.TypeOf(fd.Recv.List[0].Type).(*types.Pointer)
	if !ok {
		return ""
	}
	if n, ok := ptr.Elem().(*types.Named); ok && r.holders[n.Obj()] != "" {
		return fd.Recv.List[0].Names[0].Name
	}
	return ""
}

// bodyName is getContext for Get: a name its package (for a function) or
// its receiver's method set does not have.
func (r *pkgRewriter) bodyName(fd *ast.FuncDecl) string {
	rn := []rune(fd.Name.Name)
	base := string(unicode.ToLower(rn[0])) + string(rn[1:]) + "Context"
	name := base
	for i := 1; r.declared(fd, name) || r.c.taken(name); i++ {
		name = base + strconv.Itoa(i)
	}
	return name
}

func (r *pkgRewriter) paramNames(f *dst.FuncDecl) map[string]bool {
	taken := map[string]bool{}
	lists := []*dst.FieldList{f.Type.Params}
	if f.Recv != nil {
		lists = append(lists, f.Recv)
	}
	for _, l := range lists {
		for _, fld := range l.List {
			for _, id := range fld.Names {
				taken[id.Name] = true
			}
		}
	}
	return taken
}

// attached reports whether an operation must never be abandoned by its
// caller: it writes into memory the caller passed ([]byte, a func), or
// returns something the caller must close.
func (r *pkgRewriter) attached(sig *types.Signature) bool {
	for i := 0; i < sig.Params().Len(); i++ {
		switch t := sig.Params().At(i).Type().Underlying().(type) {
		case *types.Signature:
			return true
		case *types.Slice:
			if b, ok := t.Elem().(*types.Basic); ok && b.Kind() == types.Byte {
				return true
			}
		}
	}
	for i := 0; i < sig.Results().Len()-1; i++ {
		if m, _, _ := types.LookupFieldOrMethod(sig.Results().At(i).Type(), true, nil, "Close"); m != nil {
			return true
		}
	}
	return false
}

// commentLines wraps text into // lines of at most 80 columns.
func commentLines(text string) []string {
	var lines []string
	line := "//"
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > 80 && line != "//" {
			lines = append(lines, line)
			line = "//"
		}
		line += " " + w
	}
	return append(lines, line)
}

// siteIn names a site by its call and the function holding it.
func siteIn(s *iodetect.Site) string {
	if s.Func == nil {
		return s.Callee
	}
	return s.Callee + " in " + s.Func.Name
}
