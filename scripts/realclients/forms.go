package main

import (
	"fmt"
	"go/types"
	"strings"

	"golang.org/x/tools/go/packages"
)

// forms checks that every operation of the client has a ctx form in the
// output: OpContext (a method of the type or its pointer, or a function)
// whose first parameter is a context.Context, or Op itself taking ctx
// first.
func (cr *clientRun) forms() {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes, Dir: cr.app, Env: cr.env()}
	pkgs, err := packages.Load(cfg, cr.out)
	if err != nil {
		cr.r.set(colForms, "", "loading the output: "+err.Error())
		return
	}
	if len(pkgs) != 1 || pkgs[0].Types == nil || len(pkgs[0].Errors) > 0 {
		msg := fmt.Sprintf("%d packages", len(pkgs))
		if len(pkgs) == 1 && len(pkgs[0].Errors) > 0 {
			msg = pkgs[0].Errors[0].Error()
		}
		cr.r.set(colForms, "", "loading the output: "+msg)
		return
	}
	scope := pkgs[0].Types.Scope()
	var missing []string
	for _, op := range cr.c.Ops {
		if why := ctxForm(scope, op); why != "" {
			missing = append(missing, why)
		}
	}
	text := fmt.Sprintf("%d/%d", len(cr.c.Ops)-len(missing), len(cr.c.Ops))
	if len(missing) > 0 {
		cr.r.set(colForms, text, strings.Join(missing, "; "))
		return
	}
	cr.r.set(colForms, text, "")
}

// ctxForm says why op ("T.M" or "F") has no ctx form in scope, or "".
func ctxForm(scope *types.Scope, op string) string {
	typ, name, isMethod := strings.Cut(op, ".")
	if !isMethod {
		name = typ
	}
	lookup := func(n string) *types.Signature {
		if !isMethod {
			if f, ok := scope.Lookup(n).(*types.Func); ok {
				return f.Signature()
			}
			return nil
		}
		tn, ok := scope.Lookup(typ).(*types.TypeName)
		if !ok {
			return nil
		}
		var recv types.Type = types.NewPointer(tn.Type())
		if types.IsInterface(tn.Type()) {
			recv = tn.Type()
		}
		obj, _, _ := types.LookupFieldOrMethod(recv, true, tn.Pkg(), n)
		if f, ok := obj.(*types.Func); ok {
			return f.Signature()
		}
		return nil
	}
	takesCtx := func(sig *types.Signature) bool {
		if sig == nil || sig.Params().Len() == 0 {
			return false
		}
		t := sig.Params().At(0).Type()
		return types.TypeString(t, nil) == "context.Context"
	}
	if takesCtx(lookup(name + "Context")) {
		return ""
	}
	plain := lookup(name)
	switch {
	case takesCtx(plain):
		return ""
	case plain == nil:
		return op + ": not in the output"
	default:
		return op + ": no " + name + "Context, and " + name + " takes no ctx"
	}
}
