package iodetect

import (
	"go/ast"
	"slices"
)

// Reader goroutines and forwarders: which goroutines a package starts, what
// code each runs, and which of them read the connection for every caller
// (findReplyWaits, replywait.go, uses them).

// goStarts lists the go statements' calls with the function holding each.
func (a *analyzer) goStarts() {
	if a.goCalls != nil {
		return
	}
	a.goCalls = make(map[*ast.CallExpr]*Func)
	a.goLits = make(map[*ast.FuncLit]bool)
	a.eachBody(func(fn *Func, n ast.Node) {
		if g, ok := n.(*ast.GoStmt); ok {
			a.goCalls[g.Call] = fn
			if lit, ok := ast.Unparen(g.Call.Fun).(*ast.FuncLit); ok {
				a.goLits[lit] = true
			}
		}
	})
}

// closure is fn and what it calls, through calls but not go statements.
func (a *analyzer) closure(roots ...*Func) map[*Func]bool {
	seen := make(map[*Func]bool)
	stack := slices.Clone(roots)
	for len(stack) > 0 {
		fn := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if fn == nil || seen[fn] {
			continue
		}
		seen[fn] = true
		for _, c := range fn.calls {
			if a.goOnly(fn, c) {
				continue
			}
			stack = append(stack, c)
		}
	}
	return seen
}

func (a *analyzer) goOnly(from, to *Func) bool {
	e := [2]*Func{from, to}
	return a.goEdges[e] && !a.callEdges[e]
}

// bodyOf is the syntax of a function node's own body, nil for one
// without (an assembly or linkname declaration).
func bodyOf(fn *Func) *ast.BlockStmt {
	switch {
	case fn.Decl != nil && fn.Decl.Body != nil:
		return fn.Decl.Body
	case fn.Lit != nil:
		return fn.Lit.Body
	}
	return nil
}

// inspectOwn walks fn's own body, not the literals inside it.
func inspectOwn(fn *Func, visit func(ast.Node) bool) {
	body := bodyOf(fn)
	if body == nil {
		return
	}
	ast.Inspect(body, func(n ast.Node) bool {
		if lit, ok := n.(*ast.FuncLit); ok && lit != fn.Lit {
			return false
		}
		if n == nil {
			return false
		}
		return visit(n)
	})
}

// ownedBy is the part of closure, the code fn reaches, that only fn's code
// calls: fn, and the functions whose every caller is in that part, the
// package's API aside (a user may call an exported function). A
// forwarder's code is that part: amqp091-go's watchConnection.func1
// reconnects through the operations that users call too, whose waits stay
// the operations' own.
func (a *analyzer) ownedBy(fn *Func, closure map[*Func]bool) map[*Func]bool {
	callers := make(map[*Func][]*Func)
	for f := range closure {
		for _, c := range f.calls {
			if a.callEdges[[2]*Func{f, c}] {
				callers[c] = append(callers[c], f)
			}
		}
	}
	for _, f := range a.funcs {
		if closure[f] {
			continue
		}
		for _, c := range f.calls {
			if closure[c] && a.callEdges[[2]*Func{f, c}] {
				callers[c] = append(callers[c], f)
			}
		}
	}
	owned := map[*Func]bool{fn: true}
	for grew := true; grew; {
		grew = false
		for f := range closure {
			if owned[f] || len(callers[f]) == 0 || f.Decl != nil && f.Decl.Name.IsExported() {
				continue
			}
			if !slices.ContainsFunc(callers[f], func(c *Func) bool { return !owned[c] }) {
				owned[f], grew = true, true
			}
		}
	}
	return owned
}

// loopsReceiving reports whether fn's own body has a loop that receives
// from one of chans (a receive, a select case, a range over it).
func (a *analyzer) loopsReceiving(fn *Func, chans map[*ast.CallExpr]bool) bool {
	found := false
	inspectOwn(fn, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.ForStmt, *ast.RangeStmt:
		default:
			return !found
		}
		ast.Inspect(n, func(m ast.Node) bool {
			if _, ok := m.(*ast.FuncLit); ok {
				return false
			}
			if ch := a.recvChan(m); ch != nil && a.anyChan(a.eval(ch), chans) {
				found = true
			}
			return !found
		})
		return false
	})
	return found
}

// hasLoop reports whether one of the functions has a for or range loop.
func hasLoop(code map[*Func]bool) bool {
	for f := range code {
		found := false
		inspectOwn(f, func(n ast.Node) bool {
			switch n.(type) {
			case *ast.ForStmt, *ast.RangeStmt:
				found = true
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

func readsAny(code map[*Func]bool, reads map[*Func]bool) bool {
	for f := range code {
		if reads[f] {
			return true
		}
	}
	return false
}
