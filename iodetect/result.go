package iodetect

import (
	"cmp"
	"go/token"
	"go/types"
	"slices"
)

// The result: the Package value that detect, explain, the Analyzer and
// rewrite read.

func (a *analyzer) result() *Package {
	p := &Package{Path: a.pkg.Path(), Name: a.pkg.Name(), Fset: a.fset, Sites: a.sites, Roots: a.flowRoots(), Bindings: a.bindings, Evidence: a.evidence, Readers: a.reply.readers, detached: a.detached}
	ifaces := a.interfaces()
	for _, fn := range a.funcs {
		if fn == a.init && len(fn.calls) == 0 && !fn.Async {
			continue
		}
		if fn.Obj != nil {
			fn.Implements = implementsOf(fn.Obj, ifaces)
		}
		p.Funcs = append(p.Funcs, fn)
		if fn.Async {
			p.Async = append(p.Async, fn)
		}
	}
	slices.SortStableFunc(p.Funcs, func(x, y *Func) int { return comparePos(x.Pos, y.Pos) })
	slices.SortStableFunc(p.Async, func(x, y *Func) int { return comparePos(x.Pos, y.Pos) })
	return p
}

// interfaces lists the interfaces a method's signature is bound by: those of
// other packages this package mentions, and its own exported ones.
func (a *analyzer) interfaces() []*types.Named {
	seen := make(map[*types.Named]bool)
	var out []*types.Named
	addType := func(t types.Type) {
		n, ok := types.Unalias(t).(*types.Named)
		if !ok || seen[n] || !types.IsInterface(n) || n.TypeParams().Len() > 0 {
			return
		}
		if n.Obj().Pkg() == a.pkg && !n.Obj().Exported() {
			return
		}
		seen[n] = true
		out = append(out, n)
	}
	for _, obj := range a.info.Uses {
		switch obj := obj.(type) {
		case *types.TypeName:
			addType(obj.Type())
		case *types.Func:
			// bufio.NewReader(rd io.Reader): a local type passed there is an io.Reader
			params := obj.Type().(*types.Signature).Params()
			for i := 0; i < params.Len(); i++ {
				addType(params.At(i).Type())
			}
		}
	}
	for _, tv := range a.info.Types {
		if tv.Type != nil {
			addType(tv.Type)
		}
	}
	addType(types.Universe.Lookup("error").Type())
	slices.SortFunc(out, func(x, y *types.Named) int {
		return cmp.Compare(x.String(), y.String())
	})
	return out
}

func implementsOf(m *types.Func, ifaces []*types.Named) []string {
	recv := m.Type().(*types.Signature).Recv()
	if recv == nil {
		return nil
	}
	t := recv.Type()
	if _, ok := t.(*types.Pointer); !ok {
		t = types.NewPointer(t) // a value method is in the pointer's method set too
	}
	var out []string
	for _, n := range ifaces {
		iface := n.Underlying().(*types.Interface)
		has := false
		for i := 0; i < iface.NumMethods(); i++ {
			if iface.Method(i).Name() == m.Name() {
				has = true
			}
		}
		if has && types.Implements(t, iface) {
			out = append(out, types.TypeString(n, func(p *types.Package) string {
				if p == m.Pkg() {
					return ""
				}
				return p.Name()
			}))
		}
	}
	return out
}

// under is t's underlying type, or nil for an expression the type checker
// could not type (code depending on cgo's C types).
func under(t types.Type) types.Type {
	if t == nil {
		return nil
	}
	return t.Underlying()
}

func comparePos(x, y token.Position) int {
	return cmp.Or(cmp.Compare(x.Filename, y.Filename), cmp.Compare(x.Line, y.Line), cmp.Compare(x.Column, y.Column))
}
