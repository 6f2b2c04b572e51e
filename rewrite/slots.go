package rewrite

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dave/dst"
)

// A slot is an unexported func-typed struct field or package-level
// variable: a function value stored in one is called later, after the
// function that stored it may have returned, when its ctx may have ended.
// When a slot holds a function that takes ctx after the conversion, the
// slot's func type gains a ctx parameter first, so that each call passes
// the caller's ctx at call time: calls through it pass ctx, converted
// functions fit it as they are, function literals stored in it take ctx,
// other functions are adapted with a literal that drops it.
//
// Slots whose values flow into one another change together (a group). A
// group keeps its type, and its values call with context.Background() as
// any other stored value, when a value of it is used where its type
// cannot change (handed to a call, returned, stored in an exported field,
// copied to a local...), when it is assigned something that cannot take
// ctx (a parameter, a call's result: possibly nil), or when its type is a
// named func type used elsewhere.
type slotGroup struct {
	vars  []*types.Var
	types []*ast.FuncType // the func type expressions that gain ctx
	flows []ast.Expr      // the values stored in the group
	// why says why the group keeps its type; "" when it may change.
	why string
	// active: the group changes type, since it holds a function that
	// takes ctx.
	active bool
}

// slots are the slot facts of a package.
type slots struct {
	of   map[*types.Var]*slotGroup
	flow map[ast.Expr]*types.Var // a value stored in a slot -> the slot
	// flowID: the identifier of a function value stored in a slot (a
	// function's name, a method value's or expression's Sel) -> the slot
	flowID map[*ast.Ident]*types.Var
	calls  map[*ast.CallExpr]*types.Var // a call through a slot -> the slot
	// dest: a value stored in a func-typed field or package-level
	// variable that is not a slot (exported, say): why it keeps its type.
	dest map[ast.Expr]string
	// named: the unexported func types declared in the package whose
	// every use is the type of a slot: the group of their slots.
	named map[*types.TypeName]*slotGroup
}

func (s *slots) group(v *types.Var) *slotGroup {
	if s == nil || v == nil {
		return nil
	}
	return s.of[v]
}

func (s *slots) union(g, h *slotGroup) *slotGroup {
	if g == h {
		return g
	}
	for _, v := range h.vars {
		s.of[v] = g
	}
	for tn, x := range s.named {
		if x == h {
			s.named[tn] = g
		}
	}
	g.vars = append(g.vars, h.vars...)
	g.types = append(g.types, h.types...)
	g.flows = append(g.flows, h.flows...)
	if g.why == "" {
		g.why = h.why
	}
	return g
}

func (s *slots) disqualify(g *slotGroup, why string) {
	if g.why == "" {
		g.why = why
	}
}

// candidates are the groups that may change type (the order does not
// matter: which change is a fixpoint).
func (s *slots) candidates() []*slotGroup {
	var out []*slotGroup
	seen := make(map[*slotGroup]bool)
	for _, g := range s.of {
		if !seen[g] && g.why == "" {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// activeSlotCall reports whether the slot a call goes through, when its type gains ctx.
func (r *pkgRewriter) activeSlotCall(call *ast.CallExpr) bool {
	g := r.slots.group(r.slots.calls[call])
	return g != nil && g.active
}

// activeFlow returns the group that the stored value e goes into, when
// its type gains ctx.
func (r *pkgRewriter) activeFlow(e ast.Expr) *slotGroup {
	if r.slots == nil {
		return nil
	}
	g := r.slots.group(r.slots.flow[e])
	if g == nil || !g.active {
		return nil
	}
	return g
}

// candidateFlow reports whether e is stored in a slot that may change.
func (r *pkgRewriter) candidateFlow(e ast.Expr) bool {
	if r.slots == nil {
		return false
	}
	g := r.slots.group(r.slots.flow[e])
	return g != nil && g.why == ""
}

// candidateFlowID reports whether id names a function stored in a slot
// that may change: its calls do not use the ctx in scope where it is
// stored (they use the slot's caller's, or context.Background()).
func (r *pkgRewriter) candidateFlowID(id *ast.Ident) bool {
	if r.slots == nil {
		return false
	}
	g := r.slots.group(r.slots.flowID[id])
	return g != nil && g.why == ""
}

// keepReason says why the func-typed field or variable that the stored
// value e goes into keeps its type: "" when e does not go into one.
func (r *pkgRewriter) keepReason(e ast.Expr) string {
	if r.slots == nil {
		return ""
	}
	if g := r.slots.group(r.slots.flow[e]); g != nil {
		return g.why
	}
	return r.slots.dest[e]
}

// varDesc names a slot for a note.
func varDesc(v *types.Var) string {
	if v.IsField() {
		return "the field " + v.Name()
	}
	return "the variable " + v.Name()
}

// funcSig returns the signature of a func-typed variable's type.
func funcSig(t types.Type) *types.Signature {
	s, _ := t.Underlying().(*types.Signature)
	return s
}

// hasContextParam reports whether sig has a context.Context parameter.
func hasContextParam(sig *types.Signature) bool {
	for i := 0; i < sig.Params().Len(); i++ {
		if isContext(sig.Params().At(i).Type()) {
			return true
		}
	}
	return false
}

// findSlots finds the package's slots, groups them, and says which keep
// their type and why. Which groups change (hold a function that takes
// ctx) is decided with the functions' signatures (dropUnusedCtx).
func (r *pkgRewriter) findSlots() {
	s := &slots{
		of:     make(map[*types.Var]*slotGroup),
		flow:   make(map[ast.Expr]*types.Var),
		flowID: make(map[*ast.Ident]*types.Var),
		calls:  make(map[*ast.CallExpr]*types.Var),
		dest:   make(map[ast.Expr]string),
		named:  make(map[*types.TypeName]*slotGroup),
	}
	r.slots = s
	typeUses := make(map[*ast.Ident]bool) // uses of named func types as a slot's type
	var files []*ast.File
	for _, f := range r.ast {
		if !r.generated[f] {
			files = append(files, f)
		}
	}
	// The unexported func types declared in the package.
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				tn, _ := r.info.Defs[ts.Name].(*types.TypeName)
				ft, ok := ast.Unparen(ts.Type).(*ast.FuncType)
				if tn == nil || !ok || tn.Exported() || ts.TypeParams != nil || ts.Assign.IsValid() || hasContextParam(funcSig(tn.Type())) {
					continue
				}
				s.named[tn] = &slotGroup{types: []*ast.FuncType{ft}}
			}
		}
	}
	// slotType returns the group for a slot of type expression te, and
	// why the slot keeps its type ("" for none).
	slotType := func(v *types.Var, te ast.Expr) (*slotGroup, string) {
		if te == nil { // a package-level variable's type comes from its value
			return &slotGroup{}, ""
		}
		switch t := ast.Unparen(te).(type) {
		case *ast.FuncType:
			return &slotGroup{types: []*ast.FuncType{t}}, ""
		case *ast.Ident:
			if tn, ok := r.info.Uses[t].(*types.TypeName); ok {
				if g := s.named[tn]; g != nil {
					typeUses[t] = true
					return g, ""
				}
				if tn.Exported() && tn.Pkg() == r.l.Pkg.Types {
					return nil, fmt.Sprintf("%s is of the exported type %s, which keeps its type", varDesc(v), tn.Name())
				}
			}
		}
		return nil, fmt.Sprintf("%s is of type %s, which does not change", varDesc(v), types.TypeString(v.Type(), types.RelativeTo(r.l.Pkg.Types)))
	}
	keep := make(map[*types.Var]string) // func-typed fields and variables that are not slots
	// declare makes the func-typed variables of one declaration (sharing
	// its type expression te) slots, or records why they are not.
	declare := func(names []*ast.Ident, te ast.Expr, generic bool) *slotGroup {
		var vars []*types.Var
		exported := ""
		for _, name := range names {
			v, _ := r.info.Defs[name].(*types.Var)
			if v == nil || v.Name() == "_" || funcSig(v.Type()) == nil || hasContextParam(funcSig(v.Type())) {
				continue
			}
			vars = append(vars, v)
			if v.Exported() && exported == "" {
				exported = v.Name()
			}
		}
		if len(vars) == 0 {
			return nil
		}
		var g *slotGroup
		why := ""
		switch {
		case generic:
			why = varDesc(vars[0]) + " belongs to a generic struct and keeps its type"
		case exported != "":
			why = varDesc(vars[0]) + " is exported and keeps its type"
			for _, v := range vars {
				if v.Exported() {
					why = varDesc(v) + " is exported and keeps its type"
					break
				}
			}
		default:
			g, why = slotType(vars[0], te)
		}
		for _, v := range vars {
			if g == nil {
				if why != "" {
					keep[v] = why
				}
				continue
			}
			s.of[v] = g
			g.vars = append(g.vars, v)
		}
		return g
	}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					st, ok := spec.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, field := range st.Fields.List {
						declare(field.Names, field.Type, spec.TypeParams != nil)
					}
				case *ast.ValueSpec:
					g := declare(spec.Names, spec.Type, false)
					if g != nil && len(spec.Values) > 0 && len(spec.Values) != len(spec.Names) {
						s.disqualify(g, fmt.Sprintf("%s is initialised with a function's results", varDesc(g.vars[len(g.vars)-1])))
					}
				}
			}
		}
	}
	// A named func type used other than as a slot's type keeps its type.
	// (the first such use, for a deterministic note)
	var others []*ast.Ident
	for id, obj := range r.info.Uses {
		if tn, ok := obj.(*types.TypeName); ok && !typeUses[id] && s.named[tn] != nil && !r.generatedPos(id.Pos()) {
			others = append(others, id)
		}
	}
	slices.SortFunc(others, func(a, b *ast.Ident) int { return cmp.Compare(a.Pos(), b.Pos()) })
	for _, id := range others {
		tn := r.info.Uses[id].(*types.TypeName)
		s.disqualify(s.named[tn], fmt.Sprintf("the type %s is used at %s, where it cannot change", tn.Name(), r.shortPos(id.Pos())))
	}
	for tn, g := range s.named {
		if len(g.vars) == 0 {
			delete(s.named, tn)
		}
	}

	// slotRef returns the slot that e names.
	slotRef := func(e ast.Expr) *types.Var {
		var v *types.Var
		switch e := ast.Unparen(e).(type) {
		case *ast.Ident:
			v, _ = r.info.Uses[e].(*types.Var)
		case *ast.SelectorExpr:
			if sel := r.info.Selections[e]; sel != nil && sel.Kind() == types.FieldVal {
				v, _ = sel.Obj().(*types.Var)
			}
		}
		if v == nil {
			return nil
		}
		v = v.Origin()
		if s.of[v] != nil || keep[v] != "" {
			return v
		}
		return nil
	}
	ok := make(map[ast.Expr]bool) // slot references that are not reads
	// store records that value goes into v.
	store := func(v *types.Var, value ast.Expr, at token.Pos) {
		value = ast.Unparen(value)
		if why := keep[v]; why != "" {
			s.dest[value] = why
			return
		}
		g := s.of[v]
		s.flow[value] = v
		g.flows = append(g.flows, value)
		if w := slotRef(value); w != nil && s.of[w] != nil {
			s.union(s.of[v], s.of[w])
			ok[value] = true
			return
		}
		switch e := value.(type) {
		case *ast.FuncLit:
			return
		case *ast.Ident:
			if _, isNil := r.info.Uses[e].(*types.Nil); isNil {
				return
			}
		}
		if fn, _ := r.callee(value); fn != nil {
			switch e := value.(type) {
			case *ast.Ident:
				s.flowID[e] = v
			case *ast.SelectorExpr:
				s.flowID[e.Sel] = v
			}
			return
		}
		s.disqualify(s.of[v], fmt.Sprintf("%s is assigned at %s a value that cannot take ctx", varDesc(v), r.shortPos(at)))
	}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, isGen := d.(*ast.GenDecl)
			if isGen && gd.Tok == token.VAR {
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					if len(vs.Values) != len(vs.Names) {
						continue
					}
					for i, name := range vs.Names {
						if v, _ := r.info.Defs[name].(*types.Var); v != nil && (s.of[v] != nil || keep[v] != "") {
							store(v, vs.Values[i], vs.Values[i].Pos())
						}
					}
				}
			}
		}
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			switch n := n.(type) {
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					v := slotRef(lhs)
					if v == nil {
						continue
					}
					ok[ast.Unparen(lhs)] = true
					if len(n.Lhs) == len(n.Rhs) {
						store(v, n.Rhs[i], n.Rhs[i].Pos())
					} else if g := s.of[v]; g != nil {
						s.disqualify(g, fmt.Sprintf("%s is assigned a function's results at %s", varDesc(v), r.shortPos(lhs.Pos())))
					}
				}
			case *ast.CallExpr:
				// a conversion between struct types holding slots would not
				// hold once one's field type changes
				if len(n.Args) != 1 {
					return true
				}
				tv, found := r.info.Types[n.Fun]
				if !found || !tv.IsType() {
					return true
				}
				to, from := derefStruct(tv.Type), derefStruct(r.info.TypeOf(n.Args[0]))
				if to == nil || from == nil || types.Identical(to, from) {
					return true // (*T)(nil), T(x) of x's own type
				}
				for _, st := range []*types.Struct{to.Underlying().(*types.Struct), from.Underlying().(*types.Struct)} {
					for i := 0; i < st.NumFields(); i++ {
						if g := s.of[st.Field(i).Origin()]; g != nil {
							s.disqualify(g, fmt.Sprintf("a conversion at %s involves the struct type of %s", r.shortPos(n.Pos()), varDesc(st.Field(i))))
						}
					}
				}
			case *ast.CompositeLit:
				tv, found := r.info.Types[n]
				if !found {
					return true
				}
				st, isStruct := tv.Type.Underlying().(*types.Struct)
				if !isStruct {
					return true
				}
				for i, elt := range n.Elts {
					var v *types.Var
					value := elt
					if kv, isKV := elt.(*ast.KeyValueExpr); isKV {
						if id, isID := kv.Key.(*ast.Ident); isID {
							v, _ = r.info.Uses[id].(*types.Var)
						}
						value = kv.Value
					} else if i < st.NumFields() {
						v = st.Field(i)
					}
					if v == nil {
						continue
					}
					v = v.Origin()
					if s.of[v] != nil || keep[v] != "" {
						store(v, value, value.Pos())
					}
				}
			case *ast.Ident:
				v, _ := r.info.Uses[n].(*types.Var)
				if v == nil || s.of[v.Origin()] == nil {
					return true
				}
				v = v.Origin()
				ref, up := ast.Expr(n), len(stack)-2
				if up >= 0 {
					if sel, isSel := stack[up].(*ast.SelectorExpr); isSel && sel.Sel == n {
						ref, up = sel, up-1
					} else if kv, isKV := stack[up].(*ast.KeyValueExpr); isKV && kv.Key == n {
						return true // a composite literal's key
					}
				}
				for up >= 0 {
					if p, isParen := stack[up].(*ast.ParenExpr); isParen {
						ref, up = p, up-1
						continue
					}
					break
				}
				if ok[ast.Unparen(ref)] {
					return true
				}
				if up >= 0 {
					switch p := stack[up].(type) {
					case *ast.CallExpr:
						if p.Fun == ref {
							s.calls[p] = v
							return true
						}
					case *ast.BinaryExpr:
						other := p.X
						if other == ref {
							other = p.Y
						}
						if _, isNil := r.info.Uses[identOf(other)].(*types.Nil); isNil && (p.Op == token.EQL || p.Op == token.NEQ) {
							return true
						}
					}
				}
				s.disqualify(s.of[v], fmt.Sprintf("the value of %s is used at %s, where its type cannot change", varDesc(v), r.shortPos(ref.Pos())))
			}
			return true
		})
	}
}

func identOf(e ast.Expr) *ast.Ident {
	id, _ := ast.Unparen(e).(*ast.Ident)
	return id
}

// generatedPos reports whether pos is in a file an earlier run generated.
func (r *pkgRewriter) generatedPos(pos token.Pos) bool {
	for _, f := range r.ast {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return r.generated[f]
		}
	}
	return false
}

// addCtxParam makes ft take ctx first: named name when its parameters are
// named (or name is not "" and it has none and must be named), unnamed
// otherwise.
func addCtxParam(ft *dst.FuncType, name string, mustName bool) {
	named := mustName
	for _, f := range ft.Params.List {
		if len(f.Names) > 0 {
			named = true
		}
	}
	field := &dst.Field{Type: contextType()}
	if named {
		field.Names = []*dst.Ident{dst.NewIdent(name)}
		for _, f := range ft.Params.List {
			if len(f.Names) == 0 {
				f.Names = []*dst.Ident{dst.NewIdent("_")}
			}
		}
	}
	ft.Params.List = append([]*dst.Field{field}, ft.Params.List...)
}

// paramName returns base, or base1... : a name none of ft's parameters
// or results has.
func paramName(ft *ast.FuncType, base string) string {
	used := make(map[string]bool)
	for _, fl := range []*ast.FieldList{ft.Params, ft.Results} {
		if fl == nil {
			continue
		}
		for _, f := range fl.List {
			for _, n := range f.Names {
				used[n.Name] = true
			}
		}
	}
	name := base
	for i := 1; used[name]; i++ {
		name = fmt.Sprintf("%s%d", base, i)
	}
	return name
}

// why is the note's reason, in parentheses, that the func-typed field or
// variable the stored value e goes into keeps its type.
func (r *pkgRewriter) why(e ast.Expr) string {
	if reason := r.keepReason(ast.Unparen(e)); reason != "" {
		return " (" + reason + ")"
	}
	if callee := r.kept[ast.Unparen(e)]; callee != "" {
		return " (handed to " + callee + ", which keeps it)"
	}
	return ""
}

// retypeSlots adds ctx to the func types of the slots that change.
func (r *pkgRewriter) retypeSlots() {
	if r.slots == nil {
		return
	}
	done := make(map[*ast.FuncType]bool)
	var fts []*ast.FuncType
	for _, g := range r.slots.candidates() {
		if !g.active {
			continue
		}
		for _, ft := range g.types {
			if !done[ft] {
				done[ft] = true
				fts = append(fts, ft)
			}
		}
	}
	for _, ft := range fts {
		addCtxParam(r.dst(ft).(*dst.FuncType), paramName(ft, "ctx"), false)
		for i, f := range r.ast {
			if f.FileStart <= ft.Pos() && ft.Pos() <= f.FileEnd {
				r.modified[r.files[i]] = true
			}
		}
	}
}

// slotValue makes the function value e, stored in a slot whose type gains
// ctx, fit it: a function that takes ctx fits as it is (its FContext form
// for an exported one with a wrapper); a method expression of one, whose
// receiver comes first, and a function that takes no ctx are adapted with
// a literal that takes ctx first and passes it on, or drops it. It reports
// whether it edited e.
func (r *pkgRewriter) slotValue(e ast.Expr) bool {
	fn, recvFirst := r.callee(e)
	if fn == nil {
		return false // nil, or another slot of the group
	}
	if r.ifaceSlotValue(e, fn) { // ifaces.go
		return true
	}
	p := r.planOf(fn)
	if p != nil && !recvFirst {
		if p.wrapper {
			rename(r.dst(e), p.newName)
		}
		return p.wrapper
	}
	sig, ok := r.info.TypeOf(e).Underlying().(*types.Signature)
	if !ok {
		return false
	}
	ctxName := "_"
	if p != nil {
		ctxName = "ctx"
	}
	lit, params := r.adapter(e, sig)
	lit.Type.Params.List = append([]*dst.Field{{Names: []*dst.Ident{dst.NewIdent(ctxName)}, Type: contextType()}}, lit.Type.Params.List...)
	var call *dst.CallExpr
	if p != nil {
		name := fn.Name()
		if p.wrapper {
			name = p.newName
		}
		call = &dst.CallExpr{Fun: &dst.SelectorExpr{X: params[0], Sel: dst.NewIdent(name)}, Args: append([]dst.Expr{dst.NewIdent(ctxName)}, params[1:]...), Ellipsis: sig.Variadic()}
	} else {
		call = &dst.CallExpr{Fun: dst.Clone(r.dst(e)).(dst.Expr), Args: params, Ellipsis: sig.Variadic()}
	}
	if sig.Results().Len() > 0 {
		lit.Body.List = []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{call}}}
	} else {
		lit.Body.List = []dst.Stmt{&dst.ExprStmt{X: call}}
	}
	r.replace[r.dst(e)] = lit
	return true
}

// adapter returns a function literal of sig's type, with an empty body,
// and its parameters: a0, a1... (arg0... when e uses those names).
func (r *pkgRewriter) adapter(e ast.Expr, sig *types.Signature) (*dst.FuncLit, []dst.Expr) {
	prefix := "a"
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && len(id.Name) > 1 && id.Name[0] == 'a' && strings.Trim(id.Name[1:], "0123456789") == "" {
			prefix = "arg"
		}
		return true
	})
	lit := &dst.FuncLit{Type: &dst.FuncType{Func: true, Params: &dst.FieldList{}}, Body: &dst.BlockStmt{}}
	var params []dst.Expr
	for i := 0; i < sig.Params().Len(); i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		t := sig.Params().At(i).Type()
		var te dst.Expr
		if sig.Variadic() && i == sig.Params().Len()-1 {
			te = &dst.Ellipsis{Elt: r.typeExprAt(t.(*types.Slice).Elem(), e.Pos())}
		} else {
			te = r.typeExprAt(t, e.Pos())
		}
		lit.Type.Params.List = append(lit.Type.Params.List, &dst.Field{Names: []*dst.Ident{dst.NewIdent(name)}, Type: te})
		params = append(params, dst.NewIdent(name))
	}
	if sig.Results().Len() > 0 {
		lit.Type.Results = &dst.FieldList{}
		for i := 0; i < sig.Results().Len(); i++ {
			lit.Type.Results.List = append(lit.Type.Results.List, &dst.Field{Type: r.typeExprAt(sig.Results().At(i).Type(), e.Pos())})
		}
	}
	return lit, params
}

// shortPos is pos as file:line:col, the file's base name: a position in a
// note about the same package.
func (r *pkgRewriter) shortPos(pos token.Pos) string {
	p := r.fset.Position(pos)
	return fmt.Sprintf("%s:%d:%d", filepath.Base(p.Filename), p.Line, p.Column)
}

// derefStruct returns t, or what t points to, when that is a struct type.
func derefStruct(t types.Type) types.Type {
	if t == nil {
		return nil
	}
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	if _, ok := t.Underlying().(*types.Struct); !ok {
		return nil
	}
	return t
}
