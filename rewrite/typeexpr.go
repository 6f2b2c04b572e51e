package rewrite

import (
	"fmt"
	"go/token"
	"go/types"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/dave/dst"
)

// typeExpr spells t for the package being rewritten; names from other
// packages are qualified identifiers whose imports the restorer manages.
func (r *pkgRewriter) typeExpr(t types.Type) dst.Expr {
	switch t := t.(type) {
	case *types.Basic:
		return dst.NewIdent(t.Name())
	case *types.Pointer:
		return &dst.StarExpr{X: r.typeExpr(t.Elem())}
	case *types.Slice:
		return &dst.ArrayType{Elt: r.typeExpr(t.Elem())}
	case *types.Array:
		return &dst.ArrayType{Len: &dst.BasicLit{Kind: intLit, Value: strconv.FormatInt(t.Len(), 10)}, Elt: r.typeExpr(t.Elem())}
	case *types.Map:
		return &dst.MapType{Key: r.typeExpr(t.Key()), Value: r.typeExpr(t.Elem())}
	case *types.Chan:
		dir := dst.SEND | dst.RECV
		switch t.Dir() {
		case types.SendOnly:
			dir = dst.SEND
		case types.RecvOnly:
			dir = dst.RECV
		}
		return &dst.ChanType{Dir: dir, Value: r.typeExpr(t.Elem())}
	case *types.Signature:
		ft := &dst.FuncType{Func: true, Params: &dst.FieldList{}}
		for i := 0; i < t.Params().Len(); i++ {
			var te dst.Expr = r.typeExpr(t.Params().At(i).Type())
			if t.Variadic() && i == t.Params().Len()-1 {
				te = &dst.Ellipsis{Elt: r.typeExpr(t.Params().At(i).Type().(*types.Slice).Elem())}
			}
			ft.Params.List = append(ft.Params.List, &dst.Field{Type: te})
		}
		if t.Results().Len() > 0 {
			ft.Results = &dst.FieldList{}
			for i := 0; i < t.Results().Len(); i++ {
				ft.Results.List = append(ft.Results.List, &dst.Field{Type: r.typeExpr(t.Results().At(i).Type())})
			}
		}
		return ft
	case *types.Named:
		return r.named(t.Obj(), t.TypeArgs())
	case *types.Alias:
		return r.named(t.Obj(), t.TypeArgs())
	case *types.TypeParam:
		return dst.NewIdent(t.Obj().Name())
	case *types.Interface:
		if t.Empty() {
			return dst.NewIdent("any")
		}
	}
	// Struct and non-empty interface literals: spelled as text, qualified
	// by package name.
	return dst.NewIdent(types.TypeString(t, func(p *types.Package) string {
		if p == r.l.Pkg.Types {
			return ""
		}
		return p.Name()
	}))
}

func (r *pkgRewriter) named(obj *types.TypeName, args *types.TypeList) dst.Expr {
	id := &dst.Ident{Name: obj.Name()}
	if obj.Pkg() != nil && obj.Pkg() != r.l.Pkg.Types {
		id.Path = obj.Pkg().Path()
	} else if alias := r.hiddenType(obj); alias != "" {
		id.Name = alias
	}
	if args == nil || args.Len() == 0 {
		return id
	}
	var idx []dst.Expr
	for i := 0; i < args.Len(); i++ {
		idx = append(idx, r.typeExpr(args.At(i)))
	}
	return &dst.IndexListExpr{X: id, Indices: idx}
}

// typeExprAt is typeExpr for code placed at pos, where a local name may
// hide one of the package's types (switch frame := f.(type) beside a type
// frame): such a type is spelled through an alias of the package's.
func (r *pkgRewriter) typeExprAt(t types.Type, pos token.Pos) dst.Expr {
	r.typeAt = pos
	defer func() { r.typeAt = token.NoPos }()
	return r.typeExpr(t)
}

// hiddenType returns the alias that spells the package-level type obj at
// r.typeAt, when a local name hides obj there; "" when obj is visible.
// The alias, asyncifyT<Name> (a number added while the name is taken), is
// declared at the end of the file being rewritten, once per package.
func (r *pkgRewriter) hiddenType(obj *types.TypeName) string {
	if !r.typeAt.IsValid() || obj.Parent() != r.l.Pkg.Types.Scope() {
		return ""
	}
	scope := r.l.Pkg.Types.Scope().Innermost(r.typeAt)
	if scope == nil {
		return ""
	}
	if _, found := scope.LookupParent(obj.Name(), r.typeAt); found == obj {
		return ""
	}
	if name := r.hidden[obj]; name != "" {
		return name
	}
	if n, ok := obj.Type().(*types.Named); ok && n.TypeParams().Len() > 0 {
		return "" // a generic alias needs go1.24: left as it is, and refused by the check if it breaks
	}
	base := "asyncifyT" + strings.ToUpper(obj.Name()[:1]) + obj.Name()[1:]
	name := base
	for i := 1; r.l.Pkg.Types.Scope().Lookup(name) != nil || slices.Contains(slices.Collect(maps.Values(r.hidden)), name); i++ {
		name = base + strconv.Itoa(i)
	}
	if r.hidden == nil {
		r.hidden = make(map[*types.TypeName]string)
		r.hiddenIn = make(map[*types.TypeName]*dst.File)
	}
	r.hidden[obj] = name
	df := r.fileAt(r.typeAt)
	r.hiddenIn[obj] = df
	df.Decls = append(df.Decls, &dst.GenDecl{
		Tok:   typeTok,
		Specs: []dst.Spec{&dst.TypeSpec{Name: dst.NewIdent(name), Assign: true, Type: dst.NewIdent(obj.Name())}},
		Decs: dst.GenDeclDecorations{NodeDecs: dst.NodeDecs{Before: dst.EmptyLine, Start: dst.Decorations{
			fmt.Sprintf("// %s is %s, named so where a local name hides it (asyncify).", name, obj.Name())}}},
	})
	r.modified[df] = true
	return name
}

// fileAt returns the file being rewritten that holds pos.
func (r *pkgRewriter) fileAt(pos token.Pos) *dst.File {
	for i, f := range r.ast {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return r.files[i]
		}
	}
	panic(fmt.Sprintf("rewrite: no file holds %s", r.fset.Position(pos)))
}
