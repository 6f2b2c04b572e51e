package iodetect

import "go/types"

// The async set: the fixpoint of functions that hold a site or call an
// async function, each with its shortest chain to a site.

// computeAsync finds the async set and, for each member, its shortest chain:
// zero steps for a function holding a seeding site, one more than its
// nearest async callee otherwise.
func (a *analyzer) computeAsync() {
	const inf = 1 << 30
	for _, fn := range a.funcs {
		fn.Async, fn.Next, fn.Site, fn.External, fn.dist = false, nil, nil, nil, inf
	}
	for _, s := range a.sites {
		if s.Seeds() && s.Func.Site == nil {
			s.Func.Site, s.Func.dist = s, 0
		}
	}
	for _, fn := range a.funcs {
		if fn.Site == nil && len(fn.ext) > 0 {
			fn.External, fn.dist = fn.ext[0], 1
		}
	}
	sync := a.applyAsyncRules(inf)
	for changed := true; changed; {
		changed = false
		for _, fn := range a.funcs {
			if sync[fn] {
				continue
			}
			for _, c := range fn.calls {
				if c.dist+1 < fn.dist {
					fn.dist, fn.Next, fn.Site, fn.External = c.dist+1, c, nil, nil
					changed = true
				}
			}
		}
	}
	for _, fn := range a.funcs {
		fn.Async = fn.dist < inf
	}
}

// findConnTypes adds the local types whose Read or Write method is async,
// and reports whether there were new ones.
func (a *analyzer) findConnTypes() bool {
	grew := false
	for _, fn := range a.funcs {
		if !fn.Async || fn.Obj == nil || (fn.Obj.Name() != "Read" && fn.Obj.Name() != "Write") {
			continue
		}
		recv := fn.Obj.Type().(*types.Signature).Recv()
		if recv == nil {
			continue
		}
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := types.Unalias(t).(*types.Named); ok && !a.connTypes[n.Obj()] {
			a.connTypes[n.Obj()] = true
			grew = true
		}
	}
	return grew
}
