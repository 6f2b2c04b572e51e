package iodetect

import (
	"cmp"
	"go/ast"
	"go/types"
	"iter"
	"slices"
	"strings"
)

// Roots: dial results and the connection-typed parameters that client
// connections flow into; accepted connections are server side.

// dialShaped reports whether a function of this signature returns a
// connection as its first result.
func (a *analyzer) dialShaped(sig *types.Signature) bool {
	return sig.Results().Len() > 0 && connType(sig.Results().At(0).Type(), a.pkg)
}

// ifaceDial reports whether f is a dial method of an interface: a method
// named Dial... whose first result is a connection, called through the
// client's own dialer (a Dialer field whose default is new(net.Dialer):
// dialer.Dial("tcp", addr)). Its calls are dial sites, its results client
// connections, whatever the dynamic value is.
func (a *analyzer) ifaceDial(f *types.Func) bool {
	sig := f.Type().(*types.Signature)
	return sig.Recv() != nil && types.IsInterface(sig.Recv().Type()) && strings.HasPrefix(f.Name(), "Dial") && a.dialShaped(sig)
}

func isDial(f *types.Func) bool {
	if f.Pkg() == nil {
		return false
	}
	if recv := f.Type().(*types.Signature).Recv(); recv != nil {
		return dialMethods[namedKey(recv.Type())+"."+f.Name()]
	}
	return dialFuncs[f.Pkg().Path()+"."+f.Name()]
}

// isPacketListen reports whether f opens a datagram socket (packetListens).
func isPacketListen(f *types.Func) bool {
	if f.Pkg() == nil {
		return false
	}
	if recv := f.Type().(*types.Signature).Recv(); recv != nil {
		return packetListens[namedKey(recv.Type())+"."+f.Name()]
	}
	return packetListens[f.Pkg().Path()+"."+f.Name()]
}

// isAccept reports whether f is a listener's Accept: a method named Accept*
// returning a connection.
func isAccept(f *types.Func) bool {
	sig := f.Type().(*types.Signature)
	return sig.Recv() != nil && len(f.Name()) >= 6 && f.Name()[:6] == "Accept" &&
		sig.Results().Len() > 0 && hasMethod(sig.Results().At(0).Type(), "Read")
}

// seedUserConns makes the connection-typed parameters of exported functions
// client roots, unless the package itself passes them accepted (server)
// connections.
func (a *analyzer) seedUserConns() {
	for _, fn := range a.funcs {
		if fn.Decl == nil || !fn.Exported() {
			continue
		}
		params := a.sig(fn).Params()
		for i := 0; i < params.Len(); i++ {
			p := params.At(i)
			if userConnType(p.Type()) && a.valOf(p).side&Server == 0 {
				a.merge(p, val{side: Client})
				a.roots = append(a.roots, &Root{Pos: a.fset.Position(p.Pos()), Kind: "param", Var: p, Func: fn, Exported: true})
			}
		}
	}
}

// declParams yields the parameters of the package's declared functions,
// in order.
func (a *analyzer) declParams() iter.Seq2[*Func, *types.Var] {
	return func(yield func(*Func, *types.Var) bool) {
		for _, fn := range a.funcs {
			if fn.Decl == nil {
				continue
			}
			params := a.sig(fn).Params()
			for i := 0; i < params.Len(); i++ {
				if !yield(fn, params.At(i)) {
					return
				}
			}
		}
	}
}

// flowRoots lists the connection-typed parameters and fields that client
// connections flow into.
func (a *analyzer) flowRoots() []*Root {
	var roots []*Root
	seen := make(map[types.Object]bool)
	for _, r := range a.roots {
		seen[r.Var] = true
		if !a.serverOnly(a.valOf(r.Var).side) { // else server side (see classify)
			roots = append(roots, r)
		}
	}
	for fn, p := range a.declParams() {
		if side := a.valOf(p).side; !seen[p] && side&Client != 0 && !a.serverOnly(side) && connType(p.Type(), a.pkg) {
			seen[p] = true
			roots = append(roots, &Root{Pos: a.fset.Position(p.Pos()), Kind: "param", Var: p, Func: fn})
		}
	}
	for obj, v := range a.vals {
		f, ok := obj.(*types.Var)
		if ok && f.IsField() && f.Pkg() == a.pkg && !seen[f] && v.side&Client != 0 && !a.serverOnly(v.side) && connType(f.Type(), a.pkg) {
			seen[f] = true
			roots = append(roots, &Root{Pos: a.fset.Position(f.Pos()), Kind: "field", Var: f})
		}
	}
	// fields and parameters holding a dial function: what they return is a client connection
	for _, id := range sortedDefs(a.info) {
		v, ok := a.info.Defs[id].(*types.Var)
		if !ok || seen[v] || v.Pkg() != a.pkg || !(v.IsField() || a.isParam(v)) {
			continue
		}
		if sig, ok := v.Type().Underlying().(*types.Signature); ok && a.dialShaped(sig) {
			seen[v] = true
			kind := "param"
			if v.IsField() {
				kind = "field"
			}
			roots = append(roots, &Root{Pos: a.fset.Position(v.Pos()), Kind: kind, Var: v})
		}
	}
	slices.SortFunc(roots, func(x, y *Root) int { return comparePos(x.Pos, y.Pos) })
	return roots
}

// isParam reports whether v is a parameter of a declared function.
func (a *analyzer) isParam(v *types.Var) bool {
	for _, fn := range a.funcs {
		if fn.Decl == nil {
			continue
		}
		params := a.sig(fn).Params()
		for i := 0; i < params.Len(); i++ {
			if params.At(i) == v {
				return true
			}
		}
	}
	return false
}

// sortedDefs lists the defining identifiers in source order.
func sortedDefs(info *types.Info) []*ast.Ident {
	ids := make([]*ast.Ident, 0, len(info.Defs))
	for id := range info.Defs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y *ast.Ident) int { return cmp.Compare(x.Pos(), y.Pos()) })
	return ids
}

// serverOnly reports whether a value of this side is server side for the
// package: it may hold a connection that the package's own Accept
// returned, and no connection the package dials itself (code that client
// and server share stays the client's: modbus's transport).
func (a *analyzer) serverOnly(side Side) bool {
	return side&Server != 0 && a.accepts && side&Dialed == 0
}
