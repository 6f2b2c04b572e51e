package iodetect

import (
	"go/types"
	"slices"
)

// Overrides are the user's corrections to the analysis (asyncify's
// configuration file, parsed by package rewrite): what they say flows into
// the facts (Func.Async, Func.Mode, sites, roots), so detect, explain and
// the converter all see it.
type Overrides struct {
	Rules []*Rule
}

// Rule is one correction.
type Rule struct {
	Pos  string // "file:line" of the rule, for reports
	Verb string // RuleSync, RuleAsync, RuleMode, RuleConn, RuleBlocking, RuleShare or RuleNoShare
	// Name is what the rule is about: a function as detect names it
	// ("(*Client).Get") for sync, async and mode; a type
	// ("example.com/x.Port", or "Port" for one of the package's own) or a
	// parameter ("(*Client).dial.nc") for conn; a function of another
	// package by its full name ("example.com/x.Recv", "(*example.com/x.Port).Recv")
	// for blocking; a function that dials for share and noshare.
	Name string
	Mode Mode // for RuleMode
	Kind Kind // for RuleBlocking
	// Matched is set when the rule applied to something.
	Matched bool
}

// The rules' verbs.
const (
	RuleSync     = "sync"     // leave the function sync: it never becomes async, nor makes its callers async
	RuleAsync    = "async"    // make the function async, I/O or not
	RuleMode     = "mode"     // the operation is pipelined or exclusive, whatever its shape says
	RuleConn     = "conn"     // values of the type, or the parameter, are client connections
	RuleBlocking = "blocking" // calls to the function are sites of the given kind
	RuleShare    = "share"    // the function's dials share physical connections across calls, whatever the evidence
	RuleNoShare  = "noshare"  // the function's dials never share physical connections
)

// Unmatched lists the rules that applied to nothing: after an upstream
// update, a rule naming a renamed function must not rot silently.
func (o *Overrides) Unmatched() []*Rule {
	if o == nil {
		return nil
	}
	var out []*Rule
	for _, r := range o.Rules {
		if !r.Matched {
			out = append(out, r)
		}
	}
	return out
}

// rule returns the first rule with verb and name, marking it matched.
func (o *Overrides) rule(verb, name string) *Rule {
	if o == nil {
		return nil
	}
	for _, r := range o.Rules {
		if r.Verb == verb && r.Name == name {
			r.Matched = true
			return r
		}
	}
	return nil
}

// connTypeRule reports whether a rule makes t's named type a connection.
func (o *Overrides) connTypeRule(t types.Type, local *types.Package) bool {
	if o == nil {
		return false
	}
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	full := n.Obj().Pkg().Path() + "." + n.Obj().Name()
	if o.rule(RuleConn, full) != nil {
		return true
	}
	return n.Obj().Pkg() == local && o.rule(RuleConn, n.Obj().Name()) != nil
}

// seedConnParams makes the parameters that conn rules name client roots.
func (a *analyzer) seedConnParams() {
	if a.cfg.Overrides == nil {
		return
	}
	for fn, p := range a.declParams() {
		if a.cfg.Overrides.rule(RuleConn, fn.Name+"."+p.Name()) != nil {
			a.merge(p, val{side: Client})
			if !slices.ContainsFunc(a.roots, func(r *Root) bool { return r.Var == p }) {
				a.roots = append(a.roots, &Root{Pos: a.fset.Position(p.Pos()), Kind: "param", Var: p, Func: fn, Exported: fn.Exported()})
			}
		}
	}
}

// blockingRule is the kind a blocking rule gives calls to f, or "".
func (o *Overrides) blockingRule(f *types.Func) Kind {
	if r := o.rule(RuleBlocking, f.FullName()); r != nil {
		return r.Kind
	}
	return ""
}

// applyAsyncRules forces or forbids functions' membership of the async set
// before it is computed: a sync function has no site and no callee counts;
// a forced one counts as holding a site.
func (a *analyzer) applyAsyncRules(inf int) (sync map[*Func]bool) {
	if a.cfg.Overrides == nil {
		return nil
	}
	sync = make(map[*Func]bool)
	for _, fn := range a.funcs {
		if r := a.cfg.Overrides.rule(RuleSync, fn.Name); r != nil {
			sync[fn] = true
			fn.Rule, fn.Site, fn.External, fn.dist = r, nil, nil, inf
		} else if r := a.cfg.Overrides.rule(RuleAsync, fn.Name); r != nil && fn.dist > 0 {
			fn.Rule, fn.Site, fn.External, fn.dist = r, nil, nil, 0
		}
	}
	return sync
}

// applyModeRules sets the modes the configuration names.
func (a *analyzer) applyModeRules() {
	for _, fn := range a.funcs {
		if r := a.cfg.Overrides.rule(RuleMode, fn.Name); r != nil && fn.Async {
			fn.Mode, fn.ModeRule = r.Mode, r
			if r.Mode == Pipelined {
				fn.ModeRead, fn.ModeWrite = nil, nil
			}
		}
	}
}

// applyShareRules gives the functions that a share or noshare rule names,
// and that dial a client connection in their own body, their rule. A rule
// naming a function that does not dial applies to nothing.
func (a *analyzer) applyShareRules() {
	if a.cfg.Overrides == nil {
		return
	}
	for _, s := range a.sites {
		if s.Kind == KindDial && s.Side&Client != 0 && s.Func != nil && s.Func.ShareRule == nil {
			s.Func.ShareRule = a.cfg.Overrides.rule(RuleShare, s.Func.Name)
			if s.Func.ShareRule == nil {
				s.Func.ShareRule = a.cfg.Overrides.rule(RuleNoShare, s.Func.Name)
			}
		}
	}
}
