package rewrite

import (
	"go/types"
	"strconv"

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
