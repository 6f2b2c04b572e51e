package iodetect

import (
	"go/ast"
	"go/types"
	"strings"
)

// Caller memory: the parameters of a waiting function that the reader's
// code may write into (net/rpc decodes the reply into the caller's reply).

// findCallerMem records, for each reply wait, the parameters of its
// function that the reader's code may write into: passed to a call that
// reads or decodes into its arguments (a method or function whose name
// starts with Read, Decode or Unmarshal, in any case, or contains decode or
// unmarshal), or stored through (*p = v). Parameters of function type are
// not counted (callbacks the reader calls are the client's own design).
func (a *analyzer) findCallerMem(code map[*Func]bool) {
	waits := make(map[*Func][]*Site)
	for _, s := range a.sites {
		if s.Kind == KindReplyWait && s.Seeds() {
			waits[s.Func] = append(waits[s.Func], s)
		}
	}
	if len(waits) == 0 {
		return
	}
	for fn := range waits {
		sig := a.sig(fn)
		if sig == nil {
			continue
		}
		for i := 0; i < sig.Params().Len(); i++ {
			p := sig.Params().At(i)
			switch under(p.Type()).(type) {
			case *types.Pointer, *types.Interface, *types.Slice, *types.Map:
				a.merge(p, val{mems: []*types.Var{p}})
			}
		}
	}
	a.propagate()
	written := make(map[*types.Var]bool)
	for f := range code {
		inspectOwn(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if !decodes(a.callName(n)) {
					return true
				}
				for _, arg := range n.Args {
					for _, m := range a.eval(arg).mems {
						written[m] = true
					}
				}
			case *ast.AssignStmt:
				for _, lhs := range n.Lhs {
					if st, ok := ast.Unparen(lhs).(*ast.StarExpr); ok {
						for _, m := range a.eval(st.X).mems {
							written[m] = true
						}
					}
				}
			}
			return true
		})
	}
	for fn, sites := range waits {
		sig := a.sig(fn)
		var mem []*types.Var
		for i := 0; sig != nil && i < sig.Params().Len(); i++ {
			if written[sig.Params().At(i)] {
				mem = append(mem, sig.Params().At(i))
			}
		}
		for _, s := range sites {
			s.Reply.Mem = mem
		}
	}
}

// callName is the name of the function or method a call calls, "" for
// others.
func (a *analyzer) callName(call *ast.CallExpr) string {
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

func decodes(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, "read") || strings.HasPrefix(l, "decode") || strings.HasPrefix(l, "unmarshal") ||
		strings.Contains(l, "decode") || strings.Contains(l, "unmarshal")
}
