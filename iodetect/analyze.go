package iodetect

import (
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strconv"
)

// Config adjusts Analyze.
type Config struct {
	// ExternalAsync, if set, says whether a function declared in another
	// package is async, and why; calls to it then count as calls to an async
	// function. Nil means no function of another package is.
	ExternalAsync func(*types.Func) *ExternalAsync

	// Seeds are parameters of this package's functions that other packages
	// pass conn-derived values to (Package.Bindings of its importers).
	Seeds map[*types.Var]Side

	// Overrides are the user's configuration; nil for none.
	Overrides *Overrides
}

// Analyze computes the facts of one type-checked package. info must have
// Types, Defs, Uses, Selections and Instances filled in (NewInfo makes one).
func Analyze(fset *token.FileSet, files []*ast.File, pkg *types.Package, info *types.Info, cfg *Config) *Package {
	if cfg == nil {
		cfg = &Config{}
	}
	a := &analyzer{
		fset: fset, files: files, pkg: pkg, info: info, cfg: cfg,
		byObj:     make(map[*types.Func]*Func),
		byLit:     make(map[*ast.FuncLit]*Func),
		vals:      make(map[types.Object]*val),
		connTypes: make(map[*types.TypeName]bool),
		impls:     make(map[*types.Func][]*Func),
	}
	a.collectFuncs()
	for v, side := range cfg.Seeds {
		a.merge(v, val{side: side})
	}
	a.seedConnParams()
	// Local types whose Read or Write turns out to be async carry a
	// connection's bytes too (a type implementing io.Reader over a conn):
	// finding one can make more values conn-derived, so iterate.
	for round := 0; ; round++ {
		a.propagate()
		if round == 0 {
			a.seedUserConns()
			a.propagate()
		}
		a.findSites()
		a.computeAsync()
		if !a.findConnTypes() || round > 4 {
			break
		}
	}
	a.computeModes()
	a.applyShareRules()
	return a.result()
}

type analyzer struct {
	// accepts: the package itself calls a listener's Accept, so a value
	// that may hold an accepted connection is server side wherever it goes
	// (a seed from an importer's fake server, say go-imap's tests handing
	// an accepted connection to internal/imapwire, does not make it so).
	accepts bool

	fset  *token.FileSet
	files []*ast.File
	pkg   *types.Package
	info  *types.Info
	cfg   *Config

	funcs []*Func
	byObj map[*types.Func]*Func
	byLit map[*ast.FuncLit]*Func
	init  *Func // package-level variable initialisers

	vals      map[types.Object]*val
	changed   bool
	connTypes map[*types.TypeName]bool
	impls     map[*types.Func][]*Func
	roots     []*Root

	sites      []*Site
	evidence   []*Evidence
	bindings   map[*types.Var]Side
	calledFuns map[ast.Node]bool

	// go statements (replywait.go): their calls, with the function holding
	// each, and the literals they start
	goCalls map[*ast.CallExpr]*Func
	goLits  map[*ast.FuncLit]bool
	// goEdges and callEdges: the call-graph edges a go statement made, and
	// those a call made (an edge only a go statement made is go-only)
	goEdges, callEdges map[[2]*Func]bool
	// detached: the go statements' calls that start detached goroutines
	// (detached.go)
	detached map[*ast.CallExpr]bool
	// closedMakes: make(chan) calls whose channel is closed by the next
	// statement (replywait.go's closedAtMake)
	closedMakes map[*ast.CallExpr]bool
	// sessionChans: make(chan) calls whose channel a field of a type with
	// exported methods may hold, with that field (replywait.go's connGuard).
	sessionChans map[*ast.CallExpr]string
	reply        replyState
}

// funcRef is a function value: a function, method value or closure, or a
// method expression, whose receiver is then its first argument.
type funcRef struct {
	fn        *Func
	recvFirst bool
}

// val is what an expression or a variable may hold.
type val struct {
	side  Side
	funcs []funcRef
	// chans are the make(chan ...) calls whose channel it may be
	// (replywait.go); mems the parameters of functions holding a reply
	// wait whose value it may be.
	chans []*ast.CallExpr
	mems  []*types.Var
}

func (v val) union(w val) val {
	v.side |= w.side
	for _, f := range w.funcs {
		if !slices.Contains(v.funcs, f) {
			v.funcs = append(v.funcs, f)
		}
	}
	for _, c := range w.chans {
		if !slices.Contains(v.chans, c) {
			v.chans = append(v.chans, c)
		}
	}
	for _, m := range w.mems {
		if !slices.Contains(v.mems, m) {
			v.mems = append(v.mems, m)
		}
	}
	return v
}

func (v val) empty() bool {
	return v.side == 0 && len(v.funcs) == 0 && len(v.chans) == 0 && len(v.mems) == 0
}

// collectFuncs makes a node for every declared function and literal.
func (a *analyzer) collectFuncs() {
	a.init = &Func{Name: "init (package variables)"}
	for _, f := range a.files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				obj, _ := a.info.Defs[d.Name].(*types.Func)
				if obj == nil {
					continue
				}
				fn := &Func{Name: declName(d), Obj: obj, Decl: d, Pos: a.fset.Position(d.Pos())}
				a.add(fn)
				a.byObj[obj] = fn
				if d.Body != nil {
					a.collectLits(fn, d.Body)
				}
			case *ast.GenDecl:
				if a.init.Pos.Line == 0 && d.Tok == token.VAR {
					a.init.Pos = a.fset.Position(d.Pos())
				}
				a.collectLits(a.init, d)
			}
		}
	}
	a.add(a.init)
}

func (a *analyzer) add(fn *Func) { a.funcs = append(a.funcs, fn) }

// collectLits names the literals directly inside parent the way the Go
// toolchain does: F.func1, F.func2, and F.func1.1 for one inside F.func1.
func (a *analyzer) collectLits(parent *Func, root ast.Node) {
	n := 0
	ast.Inspect(root, func(node ast.Node) bool {
		lit, ok := node.(*ast.FuncLit)
		if !ok {
			return true
		}
		n++
		name := parent.Name + "." + strconv.Itoa(n)
		if parent.Lit == nil {
			name = parent.Name + ".func" + strconv.Itoa(n)
		}
		fn := &Func{Name: name, Lit: lit, Pos: a.fset.Position(lit.Pos())}
		a.add(fn)
		a.byLit[lit] = fn
		a.collectLits(fn, lit.Body)
		return false
	})
}

// declName is the usual name of a declared function: "F", "T.M", "(*T).M".
func declName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		return "(*" + types.ExprString(star.X) + ")." + d.Name.Name
	}
	return types.ExprString(t) + "." + d.Name.Name
}

// eachBody calls visit for every function node with the syntax of its body.
// Literals are visited as their own nodes, not as part of their parent.
func (a *analyzer) eachBody(visit func(fn *Func, n ast.Node)) {
	var walk func(fn *Func, root ast.Node)
	walk = func(fn *Func, root ast.Node) {
		ast.Inspect(root, func(n ast.Node) bool {
			if lit, ok := n.(*ast.FuncLit); ok && n != root {
				visit(fn, lit) // the enclosing function refers to the literal
				walk(a.byLit[lit], lit)
				return false
			}
			if n != nil {
				visit(fn, n)
			}
			return true
		})
	}
	for _, f := range a.files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if fn := a.byObj[a.defFunc(d)]; fn != nil && d.Body != nil {
					walk(fn, d.Body)
				}
			case *ast.GenDecl:
				if d.Tok == token.VAR {
					walk(a.init, d)
				}
			}
		}
	}
}

func (a *analyzer) defFunc(d *ast.FuncDecl) *types.Func {
	obj, _ := a.info.Defs[d.Name].(*types.Func)
	return obj
}

// sig is the signature of a function node.
func (a *analyzer) sig(fn *Func) *types.Signature {
	switch {
	case fn.Obj != nil:
		return fn.Obj.Type().(*types.Signature)
	case fn.Lit != nil:
		s, _ := a.info.TypeOf(fn.Lit).(*types.Signature)
		return s
	}
	return nil
}
