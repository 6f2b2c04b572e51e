package iodetect

import (
	"go/ast"
	"go/types"
	"slices"

	"golang.org/x/tools/go/types/typeutil"
)

// Detached goroutines.
//
// A go statement whose goroutine delivers nothing, neither to the function
// that starts it nor to anyone else waiting (its code, through calls but
// not further go statements, sends on or closes no channel, calls no
// sync.WaitGroup's Done or sync.Cond's Signal or Broadcast, and calls no
// func value, such as a callback that could take its result), is no part of
// that function's work: an accept loop (modbus's ModbusServer.Start starts
// acceptTCPClients), a keepalive loop, a write sent off and forgotten. It
// outlives the call that started it, so it must not get that call's ctx:
// when the ctx ends the goroutine would be cut, which upstream never did.
// Its go statement is no edge of the call graph (starting it does not make
// the starter async), and the rewrite starts it with context.Background().
// A goroutine that delivers is a reader (replywait.go) or an operation's
// worker, and keeps the ctx of the function that starts it.

// findDetached records the go statements that start detached goroutines
// and drops their go-only edges. It runs after the call graph of a round
// is known, before the readers are found.
func (a *analyzer) findDetached() {
	a.detached = make(map[*ast.CallExpr]bool)
	for call, in := range a.goCalls {
		targets := a.callTargets(call)
		if len(targets) == 0 {
			continue
		}
		delivers := false
		for _, t := range targets {
			for f := range a.closure(t.fn) {
				delivers = delivers || a.delivers(f)
			}
		}
		if delivers {
			continue
		}
		a.detached[call] = true
		for _, t := range targets {
			if a.goOnly(in, t.fn) {
				in.calls = slices.DeleteFunc(in.calls, func(c *Func) bool { return c == t.fn })
			}
		}
	}
}

// delivers reports whether fn's own body sends on or closes a channel,
// signals a WaitGroup or Cond, or calls a func value.
func (a *analyzer) delivers(fn *Func) bool {
	found := false
	inspectOwn(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SendStmt:
			found = true
		case *ast.CallExpr:
			if a.isBuiltin(n, "close") {
				found = true
			}
			if _, ok := typeutil.Callee(a.info, n).(*types.Var); ok {
				// a call through a func value (a callback the caller
				// passed: go func() { v, err := c.Get(k); done(v, err) }())
				// may hand the result over
				found = true
			}
			switch m, _ := a.syncCall(n); m {
			case "(*sync.Cond).Broadcast", "(*sync.Cond).Signal", "(*sync.WaitGroup).Done":
				found = true
			}
		}
		return !found
	})
	return found
}

// Detached reports whether a go statement's call starts a detached
// goroutine.
func (p *Package) Detached(call *ast.CallExpr) bool { return p.detached[call] }
