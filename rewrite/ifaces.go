package rewrite

import (
	"fmt"
	"go/ast"
	"go/types"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/dave/dst"
)

// Interfaces declared in the package whose methods have async
// implementations, or are dial methods (a Dialer interface whose default
// value is a *net.Dialer):
//
//   - an unexported interface implemented only by the package's own
//     types, none of whose implementations is API or bound by another
//     interface, and to which nothing else is converted, changes with its
//     implementations: the method takes ctx first, on the interface and on
//     every implementation (async or not), and calls through it pass ctx;
//   - any other (exported: users implement it, mocks included) stays as it
//     is. Its implementations keep their methods and gain XxxContext forms
//     (plan.go), and it gains a companion interface <Iface>Context holding
//     those forms (database/sql/driver's QueryerContext beside Queryer).
//     The package's own calls through it, where a ctx is in scope, go
//     through a helper that calls the Context form when the dynamic value
//     has it, and the old form, which ctx does not bound, when it has not.

// ifacePlan is what happens to one interface.
type ifacePlan struct {
	tn      *types.TypeName
	spec    *ast.TypeSpec
	gen     *ast.GenDecl
	change  bool
	methods []*ifaceMethod
	// companion is the name of the companion interface, when one is
	// generated; existing: it is declared already (an earlier run).
	companion string
	existing  bool
}

// ifaceMethod is a method of an interface that gains ctx or a Context form.
type ifaceMethod struct {
	iface *ifacePlan
	m     *types.Func
	impls []*types.Func // the package's implementations
	dial  bool          // a dial method: its form is DialContext (net.Dialer's)
	// form is the Context form's name (companion); helper the function
	// that the package's calls through the interface go through.
	form, helper string
}

// findIfaces decides, before the functions are planned, which interfaces
// change with their implementations.
func (r *pkgRewriter) findIfaces() {
	if r.c.ifaceBound == nil {
		r.c.ifaceBound = make(map[string]bool)
		r.c.ifaceCalls = make(map[string][]*ifaceMethod)
	}
	pkg := r.l.Pkg.Types
	scope := pkg.Scope()
	var types_ []*types.TypeName // the package's concrete named types
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() || types.IsInterface(tn.Type()) {
			continue
		}
		if n, ok := tn.Type().(*types.Named); ok && n.TypeParams().Len() == 0 {
			types_ = append(types_, tn)
		}
	}
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() {
			continue
		}
		n, ok := tn.Type().(*types.Named)
		if !ok || n.TypeParams().Len() > 0 {
			continue
		}
		iface, ok := n.Underlying().(*types.Interface)
		if !ok || iface.NumMethods() == 0 {
			continue
		}
		spec, gen := r.typeSpec(tn)
		if spec == nil {
			continue
		}
		ip := &ifacePlan{tn: tn, spec: spec, gen: gen}
		for i := 0; i < iface.NumMethods(); i++ {
			m := iface.Method(i)
			sig := m.Type().(*types.Signature)
			if sig.Params().Len() > 0 && isContext(sig.Params().At(0).Type()) {
				continue // takes a ctx already
			}
			im := &ifaceMethod{iface: ip, m: m, dial: isIfaceDial(m)}
			async := false
			for _, t := range types_ {
				for _, tt := range []types.Type{t.Type(), types.NewPointer(t.Type())} {
					if !types.Implements(tt, iface) {
						continue
					}
					obj, _, _ := types.LookupFieldOrMethod(tt, true, pkg, m.Name())
					if f, ok := obj.(*types.Func); ok {
						im.impls = append(im.impls, f.Origin())
						if fn := r.byObj[f.Origin()]; fn != nil && fn.Async {
							async = true
						}
					}
					break
				}
			}
			if async || im.dial {
				ip.methods = append(ip.methods, im)
			}
		}
		if len(ip.methods) == 0 {
			continue
		}
		ip.change = r.ifaceChanges(ip)
		r.ifaces = append(r.ifaces, ip)
		if !ip.change {
			continue
		}
		for _, im := range ip.methods {
			for _, f := range im.impls {
				r.c.ifaceBound[f.FullName()] = true
			}
			r.c.plans[im.m.FullName()] = &fnPlan{
				fn:       &iodetect.Func{Name: tn.Name() + "." + im.m.Name(), Obj: im.m},
				addParam: true,
				ifaceM:   true,
			}
		}
	}
}

// ifaceMethod is the plan of an interface method of this package that
// keeps its signature and may gain a Context form.
func (r *pkgRewriter) ifaceMethod(fn *types.Func) *ifaceMethod {
	for _, ip := range r.ifaces {
		if ip.change {
			continue
		}
		for _, im := range ip.methods {
			if im.m == fn {
				return im
			}
		}
	}
	return nil
}

// companionBound reports whether fn implements a method of an interface of
// the package that keeps its signature (and so may gain a companion).
func (r *pkgRewriter) companionBound(fn *iodetect.Func) bool {
	if fn.Obj == nil {
		return false
	}
	for _, ip := range r.ifaces {
		if ip.change {
			continue
		}
		for _, im := range ip.methods {
			if slices.Contains(im.impls, fn.Obj.Origin()) {
				return true
			}
		}
	}
	return false
}

// isIfaceDial reports whether m is a dial method: named Dial..., its first
// result a connection.
func isIfaceDial(m *types.Func) bool {
	sig := m.Type().(*types.Signature)
	if !strings.HasPrefix(m.Name(), "Dial") || sig.Results().Len() == 0 {
		return false
	}
	t := sig.Results().At(0).Type()
	for _, name := range []string{"Read", "Write", "Close"} {
		if obj, _, _ := types.LookupFieldOrMethod(t, true, nil, name); obj == nil {
			return false
		}
	}
	return true
}

// ifaceChanges reports whether an interface changes with its
// implementations (see the file's comment).
func (r *pkgRewriter) ifaceChanges(ip *ifacePlan) bool {
	if ip.tn.Exported() {
		return false
	}
	for _, im := range ip.methods {
		if im.dial {
			return false // its default value is a dialer of another package
		}
		for _, f := range im.impls {
			fn := r.byObj[f]
			if f.Pkg() != r.l.Pkg.Types || fn == nil || fn.Decl == nil || r.inAPI(fn) || len(fn.Implements) > 0 {
				return false
			}
			if sig := f.Type().(*types.Signature); sig.Params().Len() > 0 && isContext(sig.Params().At(0).Type()) {
				return false
			}
		}
	}
	// embedded in another interface: its method sets would change too
	scope := r.l.Pkg.Types.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn == ip.tn {
			continue
		}
		if it, ok := tn.Type().Underlying().(*types.Interface); ok {
			for i := 0; i < it.NumEmbeddeds(); i++ {
				if types.Identical(it.EmbeddedType(i), ip.tn.Type()) {
					return false
				}
			}
		}
	}
	return r.onlyOwnValues(ip.tn.Type())
}

// onlyOwnValues reports whether every value the package converts to the
// interface t has a type declared in the package (or t itself): a value of
// another package's type would no longer implement it once it changes.
func (r *pkgRewriter) onlyOwnValues(t types.Type) bool {
	ok := true
	check := func(target types.Type, e ast.Expr) {
		if !ok || target == nil || !types.Identical(target, t) {
			return
		}
		src := r.info.TypeOf(e)
		if src == nil || types.Identical(src, t) {
			return
		}
		if b, isBasic := src.(*types.Basic); isBasic && b.Kind() == types.UntypedNil {
			return
		}
		if p, isPtr := src.(*types.Pointer); isPtr {
			src = p.Elem()
		}
		n, isNamed := types.Unalias(src).(*types.Named)
		if !isNamed || types.IsInterface(n) || n.Obj().Pkg() != r.l.Pkg.Types {
			ok = false
		}
	}
	for _, f := range r.ast {
		if r.generated[f] {
			continue
		}
		var sigs []*types.Signature // the enclosing functions
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				switch top.(type) {
				case *ast.FuncDecl, *ast.FuncLit:
					sigs = sigs[:len(sigs)-1]
				}
				return true
			}
			stack = append(stack, n)
			switch n := n.(type) {
			case *ast.FuncDecl:
				sig, _ := r.info.TypeOf(n.Name).(*types.Signature)
				if obj, isFunc := r.info.Defs[n.Name].(*types.Func); isFunc {
					sig = obj.Type().(*types.Signature)
				}
				sigs = append(sigs, sig)
			case *ast.FuncLit:
				sig, _ := r.info.TypeOf(n).(*types.Signature)
				sigs = append(sigs, sig)
			case *ast.AssignStmt:
				if len(n.Lhs) == len(n.Rhs) {
					for i := range n.Lhs {
						check(r.info.TypeOf(n.Lhs[i]), n.Rhs[i])
					}
				}
			case *ast.ValueSpec:
				if n.Type != nil && len(n.Values) == len(n.Names) {
					for _, v := range n.Values {
						check(r.info.TypeOf(n.Type), v)
					}
				}
			case *ast.ReturnStmt:
				if len(sigs) > 0 && sigs[len(sigs)-1] != nil {
					res := sigs[len(sigs)-1].Results()
					if res.Len() == len(n.Results) {
						for i, e := range n.Results {
							check(res.At(i).Type(), e)
						}
					}
				}
			case *ast.SendStmt:
				if ch, isChan := under(r.info.TypeOf(n.Chan)).(*types.Chan); isChan {
					check(ch.Elem(), n.Value)
				}
			case *ast.CallExpr:
				if tv, found := r.info.Types[n.Fun]; found && tv.IsType() {
					if len(n.Args) == 1 {
						check(tv.Type, n.Args[0])
					}
					return true
				}
				sig, _ := under(r.info.TypeOf(n.Fun)).(*types.Signature)
				if sig == nil || n.Ellipsis.IsValid() {
					return true
				}
				for i, a := range n.Args {
					switch {
					case sig.Variadic() && i >= sig.Params().Len()-1:
						check(sig.Params().At(sig.Params().Len()-1).Type().(*types.Slice).Elem(), a)
					case i < sig.Params().Len():
						check(sig.Params().At(i).Type(), a)
					}
				}
			case *ast.CompositeLit:
				switch ct := under(r.info.TypeOf(n)).(type) {
				case *types.Struct:
					for i, e := range n.Elts {
						if kv, isKV := e.(*ast.KeyValueExpr); isKV {
							if id, isID := kv.Key.(*ast.Ident); isID {
								if v, isVar := r.info.Uses[id].(*types.Var); isVar {
									check(v.Type(), kv.Value)
								}
							}
						} else if i < ct.NumFields() {
							check(ct.Field(i).Type(), e)
						}
					}
				case *types.Slice, *types.Array, *types.Map:
					var elem types.Type
					switch ct := ct.(type) {
					case *types.Slice:
						elem = ct.Elem()
					case *types.Array:
						elem = ct.Elem()
					case *types.Map:
						elem = ct.Elem()
					}
					for _, e := range n.Elts {
						if kv, isKV := e.(*ast.KeyValueExpr); isKV {
							e = kv.Value
						}
						check(elem, e)
					}
				}
			}
			return true
		})
	}
	return ok
}

func under(t types.Type) types.Type {
	if t == nil {
		return nil
	}
	return t.Underlying()
}

// typeSpec finds the declaration of a type of the package, outside the
// files asyncify generated.
func (r *pkgRewriter) typeSpec(tn *types.TypeName) (*ast.TypeSpec, *ast.GenDecl) {
	for _, f := range r.ast {
		if r.generated[f] || f.Pos() > tn.Pos() || tn.Pos() > f.End() {
			continue
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range gd.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok && r.info.Defs[ts.Name] == tn {
					return ts, gd
				}
			}
		}
	}
	return nil, nil
}

// planCompanions names, after the functions are planned, the companion
// interfaces and their methods: a method is in the companion when its
// implementations' Context forms agree on a name (a dial method's form is
// DialContext, as net.Dialer's, when no implementation has one).
func (r *pkgRewriter) planCompanions() {
	for _, ip := range r.ifaces {
		if ip.change {
			continue
		}
		for _, suffix := range []string{"Context", "WithContext"} {
			name := ip.tn.Name() + suffix
			obj := r.l.Pkg.Types.Scope().Lookup(name)
			if obj == nil {
				ip.companion = name
				break
			}
			if _, ok := obj.(*types.TypeName); ok && types.IsInterface(obj.Type()) {
				ip.companion, ip.existing = name, true // an earlier run's
				break
			}
		}
		if ip.existing {
			continue
		}
		if ip.companion == "" {
			r.c.note(r.fset.Position(ip.tn.Pos()), "%s gets no companion interface: %sContext and %sWithContext are declared; the package's calls through it are not cancellable", ip.tn.Name(), ip.tn.Name(), ip.tn.Name())
			continue
		}
		var kept []*ifaceMethod
		for _, im := range ip.methods {
			names := make(map[string]bool)
			for _, f := range im.impls {
				if name := r.contextFormOf(f); name != "" {
					names[name] = true
				}
			}
			switch {
			case len(names) == 1:
				for name := range names {
					im.form = name
				}
			case len(names) == 0 && im.dial:
				im.form = im.m.Name() + "Context"
			case len(names) > 1:
				var list []string
				for name := range names {
					list = append(list, name)
				}
				slices.Sort(list)
				r.c.note(r.fset.Position(im.m.Pos()), "%s.%s is left out of %s: its implementations' Context forms have different names (%s); the package's calls through it are not cancellable", ip.tn.Name(), im.m.Name(), ip.companion, strings.Join(list, ", "))
			}
			if im.form == "" || r.ifaceHasMethod(ip.tn, im.form) {
				continue
			}
			im.helper = r.freshPkgName(lowerFirst(ip.tn.Name()) + im.m.Name() + "Context")
			r.c.ifaceCalls[im.m.FullName()] = append(r.c.ifaceCalls[im.m.FullName()], im)
			kept = append(kept, im)
		}
		ip.methods = kept
		if len(kept) == 0 {
			ip.companion = ""
		}
	}
}

// contextFormOf names the Context form of a method f: its plan's, or the
// package's own FContext (ctx first, then f's parameters).
func (r *pkgRewriter) contextFormOf(f *types.Func) string {
	if p := r.c.plans[f.FullName()]; p != nil && p.wrapper {
		return p.newName
	}
	recv := f.Type().(*types.Signature).Recv()
	for _, suffix := range []string{"Context", "WithContext"} {
		obj, _, _ := types.LookupFieldOrMethod(recv.Type(), true, f.Pkg(), f.Name()+suffix)
		if g, ok := obj.(*types.Func); ok && isContextForm(g, f) {
			return g.Name()
		}
	}
	return ""
}

// isContextForm reports whether g is f's Context form: ctx first, then
// f's parameters and results.
func isContextForm(g, f *types.Func) bool {
	gs, fs := g.Type().(*types.Signature), f.Type().(*types.Signature)
	if gs.Params().Len() != fs.Params().Len()+1 || !isContext(gs.Params().At(0).Type()) || gs.Variadic() != fs.Variadic() {
		return false
	}
	same := func(x, y types.Type) bool {
		// type parameters of two functions are never Identical: compare
		// their spelling
		return types.Identical(x, y) || types.TypeString(x, nil) == types.TypeString(y, nil)
	}
	for i := 0; i < fs.Params().Len(); i++ {
		if !same(gs.Params().At(i+1).Type(), fs.Params().At(i).Type()) {
			return false
		}
	}
	if gs.Results().Len() != fs.Results().Len() {
		return false
	}
	for i := 0; i < fs.Results().Len(); i++ {
		if !same(gs.Results().At(i).Type(), fs.Results().At(i).Type()) {
			return false
		}
	}
	return true
}

// ifaceHasMethod reports whether the interface itself declares name.
func (r *pkgRewriter) ifaceHasMethod(tn *types.TypeName, name string) bool {
	obj, _, _ := types.LookupFieldOrMethod(tn.Type(), false, tn.Pkg(), name)
	return obj != nil
}

// freshPkgName returns base, or base1, base2...: a name the package does
// not declare and no other generated declaration took.
func (r *pkgRewriter) freshPkgName(base string) string {
	if r.c.genNames == nil {
		r.c.genNames = make(map[string]bool)
	}
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name += strconv.Itoa(i)
		}
		if r.l.Pkg.Types.Scope().Lookup(name) == nil && !r.c.genNames[name] && !r.c.taken(name) {
			r.c.genNames[name] = true
			return name
		}
	}
}

func lowerFirst(s string) string {
	c, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(c)) + s[n:]
}

// ifaceCall rewrites a call through an interface method whose companion
// holds its Context form: x.M(args) becomes helper(ctx, x, args). It
// reports whether it did.
func (r *pkgRewriter) ifaceCall(call *ast.CallExpr, fn *types.Func, src ctxSource) bool {
	if src.background {
		return false
	}
	im := r.ifaceCallOf(call, fn)
	if im == nil {
		return false
	}
	dcall := r.dst(call).(*dst.CallExpr)
	dsel := r.dst(ast.Unparen(call.Fun).(*ast.SelectorExpr)).(*dst.SelectorExpr)
	dcall.Fun = dst.NewIdent(im.helper)
	dcall.Args = append([]dst.Expr{src.expr(), dsel.X}, dcall.Args...)
	r.ifaceCalled[im] = true
	return true
}

// ifaceCallOf is the interface method whose companion's helper call, a
// call of fn through an interface, goes through; nil when it does not.
func (r *pkgRewriter) ifaceCallOf(call *ast.CallExpr, fn *types.Func) *ifaceMethod {
	if fn == nil {
		return nil
	}
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	s := r.info.Selections[sel]
	if s == nil || s.Kind() != types.MethodVal || !types.IsInterface(s.Recv()) {
		return nil
	}
	if _, tp := r.info.TypeOf(sel.X).(*types.TypeParam); tp {
		return nil
	}
	return r.ifaceCallFor(fn, s.Recv())
}

// rewriteIfaces adds ctx to the methods of the interfaces that change, and
// declares the companions and their helpers after the interfaces that get
// one.
func (r *pkgRewriter) rewriteIfaces() {
	for _, ip := range r.ifaces {
		df := r.fileOfNode(ip.spec)
		if df == nil {
			continue
		}
		if ip.change {
			it, ok := ip.spec.Type.(*ast.InterfaceType)
			if !ok {
				continue
			}
			for _, field := range it.Methods.List {
				if len(field.Names) == 0 {
					continue
				}
				m, _ := r.info.Defs[field.Names[0]].(*types.Func)
				if slices.ContainsFunc(ip.methods, func(im *ifaceMethod) bool { return im.m == m }) {
					ft := r.dst(field.Type).(*dst.FuncType)
					addCtxParam(ft, "ctx", false)
					r.modified[df] = true
				}
			}
			continue
		}
		if ip.companion == "" || ip.existing {
			continue
		}
		decls := r.companionDecls(ip)
		dgen := r.dst(ip.gen).(dst.Decl)
		for i, d := range df.Decls {
			if d == dgen {
				df.Decls = append(df.Decls[:i+1], append(decls, df.Decls[i+1:]...)...)
				break
			}
		}
		r.modified[df] = true
	}
}

// fileOfNode is the dst file holding n.
func (r *pkgRewriter) fileOfNode(n ast.Node) *dst.File {
	for i, f := range r.ast {
		if f.Pos() <= n.Pos() && n.End() <= f.End() {
			return r.files[i]
		}
	}
	return nil
}

// companionDecls declares ip's companion interface and the helpers that
// the package's calls through ip go through.
func (r *pkgRewriter) companionDecls(ip *ifacePlan) []dst.Decl {
	name := ip.tn.Name()
	it := &dst.InterfaceType{Methods: &dst.FieldList{}}
	var forms []string
	for _, im := range ip.methods {
		forms = append(forms, im.form)
		sig := im.m.Type().(*types.Signature)
		ft := &dst.FuncType{Params: &dst.FieldList{}, Results: r.resultList(sig)}
		named := true
		for i := 0; i < sig.Params().Len(); i++ {
			if n := sig.Params().At(i).Name(); n == "" || n == "_" || n == "ctx" {
				named = false
			}
		}
		for i := 0; i < sig.Params().Len(); i++ {
			f := &dst.Field{Type: r.paramType(sig, i)}
			if named {
				f.Names = []*dst.Ident{dst.NewIdent(sig.Params().At(i).Name())}
			}
			ft.Params.List = append(ft.Params.List, f)
		}
		addCtxParam(ft, "ctx", named)
		field := &dst.Field{Names: []*dst.Ident{dst.NewIdent(im.form)}, Type: ft}
		field.Decs.Before = dst.NewLine
		field.Decs.After = dst.NewLine
		it.Methods.List = append(it.Methods.List, field)
	}
	td := &dst.GenDecl{Tok: typeTok, Specs: []dst.Spec{&dst.TypeSpec{Name: dst.NewIdent(ip.companion), Type: it}}}
	td.Decs.Before = dst.EmptyLine
	td.Decs.Start = dst.Decorations{
		fmt.Sprintf("// %s is implemented by the values of %s that have its methods'", ip.companion, name),
		"// Context forms, which take a context that bounds the call (as",
		"// database/sql/driver's QueryerContext beside Queryer). The package's",
		fmt.Sprintf("// own calls through %s use them when the value has them.", name),
	}
	td.Decs.After = dst.EmptyLine
	out := []dst.Decl{td}
	for _, im := range ip.methods {
		if r.ifaceCalled[im] {
			out = append(out, r.ifaceHelper(ip, im))
		}
	}
	return out
}

// paramType spells the type of sig's i-th parameter (...T for a variadic
// last one).
func (r *pkgRewriter) paramType(sig *types.Signature, i int) dst.Expr {
	t := sig.Params().At(i).Type()
	if sig.Variadic() && i == sig.Params().Len()-1 {
		return &dst.Ellipsis{Elt: r.typeExpr(t.(*types.Slice).Elem())}
	}
	return r.typeExpr(t)
}

func (r *pkgRewriter) resultList(sig *types.Signature) *dst.FieldList {
	if sig.Results().Len() == 0 {
		return nil
	}
	fl := &dst.FieldList{}
	for i := 0; i < sig.Results().Len(); i++ {
		fl.List = append(fl.List, &dst.Field{Type: r.typeExpr(sig.Results().At(i).Type())})
	}
	return fl
}

// ifaceHelper is
//
//	func helper(ctx context.Context, x Iface, a0 T0...) R {
//		if xc, ok := x.(IfaceContext); ok {
//			return xc.MContext(ctx, a0...)
//		}
//		return x.M(a0...)
//	}
func (r *pkgRewriter) ifaceHelper(ip *ifacePlan, im *ifaceMethod) dst.Decl {
	sig := im.m.Type().(*types.Signature)
	ft := &dst.FuncType{Func: true, Params: &dst.FieldList{List: []*dst.Field{
		{Names: []*dst.Ident{dst.NewIdent("ctx")}, Type: contextType()},
		{Names: []*dst.Ident{dst.NewIdent("x")}, Type: dst.NewIdent(ip.tn.Name())},
	}}, Results: r.resultList(sig)}
	var args []dst.Expr
	for i := 0; i < sig.Params().Len(); i++ {
		a := fmt.Sprintf("a%d", i)
		ft.Params.List = append(ft.Params.List, &dst.Field{Names: []*dst.Ident{dst.NewIdent(a)}, Type: r.paramType(sig, i)})
		args = append(args, dst.NewIdent(a))
	}
	callArgs := func(withCtx bool) []dst.Expr {
		var out []dst.Expr
		if withCtx {
			out = append(out, dst.NewIdent("ctx"))
		}
		for _, a := range args {
			out = append(out, dst.Clone(a).(dst.Expr))
		}
		return out
	}
	ret := func(call *dst.CallExpr) []dst.Stmt {
		if sig.Results().Len() > 0 {
			return []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{call}}}
		}
		return []dst.Stmt{&dst.ExprStmt{X: call}, &dst.ReturnStmt{}}
	}
	withCtx := &dst.CallExpr{Fun: &dst.SelectorExpr{X: dst.NewIdent("xc"), Sel: dst.NewIdent(im.form)}, Args: callArgs(true), Ellipsis: sig.Variadic()}
	old := &dst.CallExpr{Fun: &dst.SelectorExpr{X: dst.NewIdent("x"), Sel: dst.NewIdent(im.m.Name())}, Args: callArgs(false), Ellipsis: sig.Variadic()}
	ifs := &dst.IfStmt{
		Init: &dst.AssignStmt{
			Lhs: []dst.Expr{dst.NewIdent("xc"), dst.NewIdent("ok")},
			Tok: defineTok,
			Rhs: []dst.Expr{&dst.TypeAssertExpr{X: dst.NewIdent("x"), Type: dst.NewIdent(ip.companion)}},
		},
		Cond: dst.NewIdent("ok"),
		Body: &dst.BlockStmt{List: ret(withCtx)},
	}
	body := []dst.Stmt{ifs}
	if sig.Results().Len() > 0 {
		body = append(body, ret(old)...)
	} else {
		body = append(body, &dst.ExprStmt{X: old})
	}
	for _, s := range body {
		s.Decorations().Before = dst.NewLine
		s.Decorations().After = dst.NewLine
	}
	fd := &dst.FuncDecl{Name: dst.NewIdent(im.helper), Type: ft, Body: &dst.BlockStmt{List: body}}
	fd.Decs.Before = dst.EmptyLine
	fd.Decs.Start = dst.Decorations{
		fmt.Sprintf("// %s calls x.%s when x has it (%s), else x.%s,", im.helper, im.form, ip.companion, im.m.Name()),
		"// which ctx does not bound.",
	}
	fd.Decs.After = dst.EmptyLine
	return fd
}

// noteIfaceFallbacks says, once per method, what the package's calls
// through a companion's interface do with values that lack the form.
func (r *pkgRewriter) noteIfaceFallbacks() {
	for _, ip := range r.ifaces {
		if ip.change || ip.companion == "" || ip.existing {
			continue
		}
		for _, im := range ip.methods {
			if !r.ifaceCalled[im] {
				continue
			}
			r.c.note(r.fset.Position(im.m.Pos()), "the package's calls through %s.%s pass ctx to %s when the value has it (%s); a value without it runs %s, which ctx does not bound", ip.tn.Name(), im.m.Name(), im.form, ip.companion, im.m.Name())
		}
	}
}

// ifaceDialSite converts a dial through an interface that has no companion
// here (one of another package, golang.org/x/net/proxy.Dialer say) and
// has the Context form itself (DialContext, ctx first: ifaceDialForm): the
// call uses it.
func (r *pkgRewriter) ifaceDialSite(call *ast.CallExpr, fn *types.Func, src ctxSource) bool {
	g := ifaceDialForm(call, fn)
	dcall := r.dst(call).(*dst.CallExpr)
	r.dst(ast.Unparen(call.Fun).(*ast.SelectorExpr)).(*dst.SelectorExpr).Sel.Name = g.Name()
	dcall.Args = append([]dst.Expr{src.expr()}, dcall.Args...)
	return true
}

// ifaceDialForm is the Context form of the interface method fn that call
// dials through (x.Dial: x.DialContext), or nil.
func ifaceDialForm(call *ast.CallExpr, fn *types.Func) *types.Func {
	recv := fn.Type().(*types.Signature).Recv().Type()
	obj, _, _ := types.LookupFieldOrMethod(recv, false, fn.Pkg(), fn.Name()+"Context")
	g, ok := obj.(*types.Func)
	if _, isSel := ast.Unparen(call.Fun).(*ast.SelectorExpr); !ok || !isContextForm(g, fn) || !isSel {
		return nil
	}
	return g
}

// isIfaceHelper reports whether fd is a helper that ifaceHelper generated
// (a run on converted code): it is left as it is, its dials are not
// shared, and calls through the interface in it stay the old form.
func (r *pkgRewriter) isIfaceHelper(fd *ast.FuncDecl) bool {
	if fd.Recv != nil || fd.Body == nil || len(fd.Body.List) != 2 || len(fd.Type.Params.List) < 2 {
		return false
	}
	x := fd.Type.Params.List[1]
	if len(x.Names) != 1 || x.Names[0].Name != "x" || !isContext(r.info.TypeOf(fd.Type.Params.List[0].Type)) {
		return false
	}
	iface, ok := r.info.TypeOf(x.Type).(*types.Named)
	if !ok || !types.IsInterface(iface) {
		return false
	}
	ifs, ok := fd.Body.List[0].(*ast.IfStmt)
	if !ok {
		return false
	}
	as, ok := ifs.Init.(*ast.AssignStmt)
	if !ok || len(as.Rhs) != 1 {
		return false
	}
	ta, ok := as.Rhs[0].(*ast.TypeAssertExpr)
	if !ok {
		return false
	}
	t, ok := r.info.TypeOf(ta.Type).(*types.Named)
	return ok && (t.Obj().Name() == iface.Obj().Name()+"Context" || t.Obj().Name() == iface.Obj().Name()+"WithContext")
}

// inIfaceHelper reports whether pos is inside such a helper.
func (r *pkgRewriter) inIfaceHelper(n ast.Node) bool {
	for _, f := range r.ast {
		if n.Pos() < f.Pos() || n.Pos() > f.End() {
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Pos() <= n.Pos() && n.End() <= fd.End() {
				return r.isIfaceHelper(fd)
			}
		}
	}
	return false
}

// ifaceValue handles a method value of an interface method whose calls go
// through a companion's helper (g.Get handed to a call): like a method
// value of a converted method (funcValue), it becomes a closure of the
// same type calling the helper with the ctx in scope. Stored to be called
// later, it stays as it is: its calls run the old method, noted.
func (r *pkgRewriter) ifaceValue(e ast.Expr, fn *types.Func, src ctxSource) bool {
	if fn == nil || src.background && !src.stored {
		return false
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	s := r.info.Selections[sel]
	var recv types.Type
	if s != nil {
		recv = s.Recv()
	}
	im := r.ifaceCallFor(fn, recv)
	if im == nil {
		return false
	}
	sig, isSig := r.info.TypeOf(e).(*types.Signature)
	if s == nil || s.Kind() != types.MethodVal || !isSig || src.stored {
		r.c.note(r.fset.Position(e.Pos()), "%s is used as a value: its calls run %s.%s, which ctx does not bound (%s's %s is not used)", types.ExprString(e), im.iface.tn.Name(), im.m.Name(), im.iface.companion, im.form)
		return false
	}
	r.adaptToHelper(e, sel, sig, im, src.expr(), false)
	return true
}

// adaptToHelper replaces e, the method value sel of an interface method,
// with a literal of sig's shape (a ctx parameter first, with ctxParam)
// that calls the companion's helper im with ctx (ctxArg) and sel's
// receiver.
func (r *pkgRewriter) adaptToHelper(e ast.Expr, sel *ast.SelectorExpr, sig *types.Signature, im *ifaceMethod, ctxArg dst.Expr, ctxParam bool) {
	lit, params := r.adapter(e, sig)
	if ctxParam {
		lit.Type.Params.List = append([]*dst.Field{{Names: []*dst.Ident{dst.NewIdent("ctx")}, Type: contextType()}}, lit.Type.Params.List...)
	}
	x := dst.Clone(r.dst(sel).(*dst.SelectorExpr).X).(dst.Expr)
	call := &dst.CallExpr{Fun: dst.NewIdent(im.helper), Args: append([]dst.Expr{ctxArg, x}, params...), Ellipsis: sig.Variadic()}
	if sig.Results().Len() > 0 {
		lit.Body.List = []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{call}}}
	} else {
		lit.Body.List = []dst.Stmt{&dst.ExprStmt{X: call}}
	}
	r.replace[r.dst(e)] = lit
	r.ifaceCalled[im] = true
}

// ifaceSlotValue adapts a method value of an interface method stored in a
// slot whose type takes ctx (slots.go): the slot's ctx goes to the
// companion's helper, func(ctx context.Context, a0 T) R { return
// helper(ctx, x, a0) }. A method of the interface left out of the
// companion calls the old method, noted. It reports whether e was handled.
func (r *pkgRewriter) ifaceSlotValue(e ast.Expr, fn *types.Func) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	s := r.info.Selections[sel]
	sig, isSig := r.info.TypeOf(e).(*types.Signature)
	if s == nil || s.Kind() != types.MethodVal || !types.IsInterface(s.Recv()) || !isSig {
		return false
	}
	im := r.ifaceCallFor(fn, s.Recv())
	if im == nil {
		if r.ifaceMethod(fn) != nil {
			r.c.note(r.fset.Position(e.Pos()), "%s is stored to be called later: its calls run %s, which ctx does not bound", types.ExprString(e), fn.Name())
		}
		return false
	}
	r.adaptToHelper(e, sel, sig, im, dst.NewIdent("ctx"), true)
	return true
}

// ifaceCallFor returns the plan of fn, an interface method of the package,
// for a call whose receiver has type recv: of the interfaces holding fn
// (one declares it, others may embed it), the one recv is, else one that
// recv can be passed as (the helper's parameter). A receiver of an
// interface without a helper for fn (Conn, when only ConnWithTimeout,
// which embeds it, has a companion) gets none: nil.
func (r *pkgRewriter) ifaceCallFor(fn *types.Func, recv types.Type) *ifaceMethod {
	var fit *ifaceMethod
	for _, im := range r.c.ifaceCalls[fn.FullName()] {
		if im.m.Pkg() != r.l.Pkg.Types {
			continue
		}
		t := im.iface.tn.Type()
		if recv == nil || types.Identical(recv, t) {
			return im
		}
		if fit == nil && types.AssignableTo(recv, t) {
			fit = im
		}
	}
	return fit
}
