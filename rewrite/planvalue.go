package rewrite

import (
	"cmp"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// Plan is what the conversion decided for the package, before editing it:
// per function, its signature and where its ctx comes from, and the forms
// it gains; per connection-holding type, the field a watch interrupts; per
// interface, its companion; per func-typed field, whether it gains ctx;
// whether the package shares its connections. `asyncify explain -json`
// prints it (docs/reference.md documents the schema). Positions are
// relative to the module's root, with slashes.
type Plan struct {
	Package string `json:"package"`
	// Funcs are the package's functions that take a ctx or would, in
	// source order.
	Funcs []FuncPlan `json:"funcs"`
	// Holders are the struct types whose field holds a client connection
	// with deadlines: an operation on one arms a watch on that field.
	Holders []HolderPlan `json:"holders,omitempty"`
	// Readers are the package's reader goroutines (reply waits).
	Readers []ReaderPlan `json:"readers,omitempty"`
	// Interfaces are the interfaces whose methods gain ctx or a Context
	// form.
	Interfaces []IfacePlan `json:"interfaces,omitempty"`
	// Slots are the package's func-typed fields and variables that hold
	// async functions.
	Slots []SlotPlan `json:"slots,omitempty"`
	// Share says whether the package shares the connections it dials.
	Share *SharePlan `json:"share,omitempty"`
	// Sites are the fates of the sites of the client's I/O, in source
	// order.
	Sites []SitePlan `json:"sites,omitempty"`
	// Runtime are the runtime's functions and types (templates/, by their
	// names there) that the converted package calls: what it receives of
	// the runtime is what these reach. Recorded as the rules apply the
	// plan.
	Runtime []string `json:"runtime,omitempty"`
}

// FuncPlan is what happens to one function.
type FuncPlan struct {
	Name string `json:"name"` // as detect names it: F, (*T).M
	Pos  string `json:"pos"`
	// Signature: "ctx added" (ctx becomes its first parameter), "kept:
	// its Context form takes ctx" (Context), "unchanged" (its ctx comes
	// from elsewhere: Ctx).
	Signature string `json:"signature"`
	// Context is the name of its Context form when it keeps its old form
	// as a wrapper (an exported operation, a method an interface fixes).
	Context string `json:"context,omitempty"`
	// Async is the name of its future form, when it gets one; NoAsync
	// says why it gets none.
	Async   string `json:"async,omitempty"`
	NoAsync string `json:"noAsync,omitempty"`
	// Split: its future form returns once the request is committed, and
	// its reply is read when its turn comes (templates' startSplit).
	Split bool `json:"split,omitempty"`
	// Ctx is where the body's ctx comes from: "parameter NAME",
	// "NAME.Context()" (a test's *testing.T, a handler's *http.Request),
	// "context.Background()".
	Ctx string `json:"ctx"`
	// Why says why the ctx is context.Background() in a function that
	// would need one: a signature that cannot change, a value stored to
	// be called later, a ctx it would not use.
	Why string `json:"why,omitempty"`
	// Honoured: the function already cancels its own way (it reaches
	// ctx.Done()); asyncify adds no watch under it.
	Honoured bool `json:"honoured,omitempty"`
	// Implements names the interface that fixes its signature.
	Implements string `json:"implements,omitempty"`
	// Mode is detect's mode of its exchange: "pipelined" or "exclusive".
	Mode string `json:"mode,omitempty"`
}

// HolderPlan is a struct type whose field a watch interrupts.
type HolderPlan struct {
	Type  string `json:"type"`
	Field string `json:"field"`
}

// ReaderPlan is a reader goroutine and where the package starts it.
type ReaderPlan struct {
	Func string `json:"func"`
	Go   string `json:"go"`
}

// IfacePlan is an interface whose methods gain ctx (Change: it is the
// package's own and changes with its implementations) or a Context form in
// a companion interface.
type IfacePlan struct {
	Name      string   `json:"name"`
	Change    bool     `json:"change,omitempty"`
	Companion string   `json:"companion,omitempty"`
	Methods   []string `json:"methods"`
}

// SlotPlan is a func-typed field or variable holding async functions.
type SlotPlan struct {
	Name string `json:"name"` // Type.field, or the variable's name
	// GainsCtx: its type gains a ctx parameter; otherwise Why says why it
	// keeps its type.
	GainsCtx bool   `json:"gainsCtx"`
	Why      string `json:"why,omitempty"`
}

// SharePlan says whether the package shares its connections, and why.
type SharePlan struct {
	Shared bool   `json:"shared"`
	Why    string `json:"why"`
	Pos    string `json:"pos,omitempty"`
}

// SitePlan is the fate of a site of the client's I/O (a read, write,
// flush, dial, deadline or sequencing call on a connection, a reply wait).
type SitePlan struct {
	Pos    string `json:"pos"`
	Kind   string `json:"kind"` // detect's kind: read, dial, reply-wait...
	Callee string `json:"callee"`
	// Action, for a call: "ctx" (it runs where a ctx that can end is in
	// scope, which bounds it: a context dial, a deadline bounded by ctx's,
	// the function's watch; notes say where nothing interrupts it),
	// "background" (it runs under context.Background(), Why says why),
	// "left" (as it is, Why says why). For a reply wait:
	// "select" (the receive becomes a select that also waits for
	// ctx.Done()), "hoisted" (the receive moves out of its statement into
	// such a select), "ctx case" (its select gains one), "condWait", or
	// "left" (as it is; Why says why when a note does).
	Action string `json:"action"`
	Why    string `json:"why,omitempty"`
	// Cut: the wait is cut off when ctx ends, closing this connection
	// first (a reply left behind would go to the next caller).
	Cut string `json:"cut,omitempty"`
}

// plannedFunc is a declaration planning saw, with its plan.
type plannedFunc struct {
	fd *ast.FuncDecl
	p  *fnPlan
}

// planAsync names the future form of a function with a wrapper, or says
// why it gets none (makeAsync generates it).
func (r *pkgRewriter) planAsync(fd *ast.FuncDecl, p *fnPlan) {
	sig := p.fn.Obj.Type().(*types.Signature)
	res := sig.Results()
	switch {
	case res.Len() == 0 || !types.Identical(res.At(res.Len()-1).Type(), types.Universe.Lookup("error").Type()):
		p.noAsyncWhy = "it has no error result"
		return
	case p.noAsync:
		p.noAsyncWhy = "it is no operation of the package's API (an interface reaches it)"
		return
	}
	for i := 0; i < sig.Params().Len(); i++ {
		switch t := sig.Params().At(i).Type().Underlying().(type) {
		case *types.Signature:
			p.noAsyncWhy = "it takes a func, which the operation could call after its caller stopped waiting"
			return
		case *types.Slice:
			if b, ok := t.Elem().(*types.Basic); ok && b.Kind() == types.Byte {
				p.noAsyncWhy = "it takes a []byte, which the operation could write after its caller stopped waiting"
				return
			}
		}
	}
	if p.async = r.asyncForm(fd); p.async == "" {
		p.noAsyncWhy = "both of its future form's names are taken"
	}
}

// planValue is the Plan of the package, from what planning decided.
func (r *pkgRewriter) planValue(rel func(token.Position) string) *Plan {
	pl := &Plan{Package: r.l.Pkg.PkgPath}
	for _, pf := range r.planned {
		p := pf.p
		fp := FuncPlan{Name: p.fn.Name, Pos: rel(p.fn.Pos), Signature: "unchanged", Implements: p.iface, Honoured: p.honoured, Mode: string(p.fn.Mode)}
		if p.addParam {
			fp.Signature = "ctx added"
		}
		if p.wrapper {
			fp.Signature = "kept: its Context form takes ctx"
			fp.Context, fp.Async, fp.NoAsync = p.newName, p.async, p.noAsyncWhy
			fp.Split = p.split && p.async != ""
		}
		switch s := p.src; {
		case s.name != "":
			fp.Ctx = "parameter " + s.name
		case s.testVar != "":
			fp.Ctx = s.testVar + ".Context()"
		case s.request != "":
			fp.Ctx = s.request + ".Context()"
		default:
			fp.Ctx = "context.Background()"
			switch {
			case s.fixed != "":
				fp.Why = s.fixed
			case s.stored:
				fp.Why = "its value is stored to be called later"
			case s.unused:
				fp.Why = "it would not use a ctx parameter"
			}
		}
		pl.Funcs = append(pl.Funcs, fp)
	}
	for tn, field := range r.holders {
		pl.Holders = append(pl.Holders, HolderPlan{Type: tn.Name(), Field: field})
	}
	slices.SortFunc(pl.Holders, func(a, b HolderPlan) int { return cmp.Compare(a.Type, b.Type) })
	for _, rd := range r.l.Readers {
		pl.Readers = append(pl.Readers, ReaderPlan{Func: rd.Func.Name, Go: rel(rd.Go)})
	}
	for _, ip := range r.ifaces {
		if len(ip.methods) == 0 {
			continue
		}
		ipl := IfacePlan{Name: ip.tn.Name(), Change: ip.change, Companion: ip.companion}
		for _, m := range ip.methods {
			name := m.m.Name()
			if m.form != "" {
				name += " -> " + m.form
			}
			ipl.Methods = append(ipl.Methods, name)
		}
		pl.Interfaces = append(pl.Interfaces, ipl)
	}
	if r.slots != nil {
		seen := make(map[*slotGroup]bool)
		for _, g := range r.slots.of {
			if seen[g] {
				continue
			}
			seen[g] = true
			var names []string
			for _, gv := range g.vars {
				names = append(names, r.slotName(gv))
			}
			slices.Sort(names)
			pl.Slots = append(pl.Slots, SlotPlan{Name: strings.Join(names, ", "), GainsCtx: g.active, Why: g.why})
		}
		slices.SortFunc(pl.Slots, func(a, b SlotPlan) int { return cmp.Compare(a.Name, b.Name) })
	}
	if t := r.c.rts[r.l.Pkg.Types]; t != nil {
		for name := range t.used {
			pl.Runtime = append(pl.Runtime, name)
		}
		slices.Sort(pl.Runtime)
	}
	pl.Sites = r.siteValues(rel)
	if d := r.c.share; d != nil {
		pl.Share = &SharePlan{Shared: d.Shared, Why: d.Why}
		if d.Pos.IsValid() {
			pl.Share.Pos = rel(d.Pos)
		}
	}
	return pl
}

// slotName names a slot: Type.field for a struct field, the variable's
// name otherwise.
func (r *pkgRewriter) slotName(v *types.Var) string {
	if !v.IsField() {
		return v.Name()
	}
	scope := r.l.Pkg.Types.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok {
			continue
		}
		if st, ok := tn.Type().Underlying().(*types.Struct); ok {
			for i := 0; i < st.NumFields(); i++ {
				if st.Field(i) == v {
					return tn.Name() + "." + v.Name()
				}
			}
		}
	}
	return v.Name()
}

// siteValues are the SitePlans of the package's sites of the client's I/O
// that planning decided on, in source order.
func (r *pkgRewriter) siteValues(rel func(token.Position) string) []SitePlan {
	type at struct {
		pos token.Position
		sp  SitePlan
	}
	var out []at
	add := func(s *iodetect.Site, sp SitePlan) {
		sp.Pos, sp.Kind, sp.Callee = rel(s.Pos), string(s.Kind), s.Callee
		out = append(out, at{s.Pos, sp})
	}
	for call, cp := range r.calls {
		s := cp.site
		if !s.Seeds() || s.Kind == iodetect.KindReplyWait {
			continue // a Cond wait is among the waits
		}
		src := r.srcAt[call]
		switch {
		case cp.why != "":
			add(s, SitePlan{Action: "left", Why: cp.why})
		case cp.ctx:
			add(s, SitePlan{Action: "ctx"})
		case src.stored:
			add(s, SitePlan{Action: "background", Why: "stored to be called later"})
		case src.unused:
			add(s, SitePlan{Action: "background", Why: "its function would not use a ctx parameter"})
		default:
			add(s, SitePlan{Action: "background", Why: "no ctx in scope (main, init, a test without one, a goroutine that outlives its caller)"})
		}
	}
	actions := map[waitFate]string{waitLeft: "left", waitSelect: "select", waitHoist: "hoisted", waitCase: "ctx case", waitCond: "condWait"}
	for node, w := range r.waits {
		sp := SitePlan{Action: actions[w.fate], Why: w.why}
		if w.cut {
			names := make([]string, len(w.site.Reply.Cut))
			for i, v := range w.site.Reply.Cut {
				names[i] = v.Name()
			}
			sp.Cut = strings.Join(names, ".")
		}
		add(r.replySites[node], sp)
	}
	slices.SortFunc(out, func(a, b at) int {
		return cmp.Or(cmp.Compare(a.pos.Filename, b.pos.Filename), cmp.Compare(a.pos.Line, b.pos.Line), cmp.Compare(a.pos.Column, b.pos.Column), cmp.Compare(a.sp.Callee, b.sp.Callee))
	})
	sites := make([]SitePlan, len(out))
	for i, a := range out {
		sites[i] = a.sp
	}
	return sites
}
