package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/iodetect"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/txtar"
)

// FuzzConvert converts mutated client sources: the fixtures' files and the
// rules' cases, with the fuzzer's byte mutations and one of ours on top,
// chosen by op and k: rename a declared name everywhere (to names the
// converter itself uses or adds: ctx, context, err...), wrap a statement in
// a closure called at once, pass it as a callback, store it in a variable
// called later, run it in defer or go, or call a method through a method
// value. Whatever parses and type-checks is converted, in memory (no go
// command runs per input): the converter must not panic, and either its
// output type-checks (checked again here, apart from the converter's own
// check) or its error is a refusal whose every line has a file:line:col
// position. The seed corpus is testdata/fuzz/FuzzConvert plus the seeds
// added below.
func FuzzConvert(f *testing.F) {
	for i, src := range fuzzSeeds(f) {
		f.Add(src, uint8(opNone), uint16(0))
		f.Add(src, uint8(1+i%(numOps-1)), uint16(i))
	}
	imp := newStdImporter(f)
	f.Fuzz(func(t *testing.T, src string, op uint8, k uint16) {
		src = mutate(src, op, k)
		dir := t.TempDir()
		name := filepath.Join(dir, "x.go")
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		l := loadOne(imp, name, src)
		if l == nil {
			t.Log("does not parse or type-check: Convert refuses it at load")
			return
		}
		type outcome struct {
			res *Result
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, err := convertLoaded(Config{Dir: dir, GoVersion: "go1.24"}, ".", []*iodetect.Loaded{l}, nil, Diag{}, nil)
			done <- outcome{res, err}
		}()
		var out outcome
		select {
		case out = <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("Convert still running after 20 s on:\n%s", src)
		}
		if out.err != nil {
			t.Logf("refused: %v", out.err)
			checkRefusal(t, out.err, src)
			return
		}
		t.Logf("converted: %d files changed or added", len(out.res.Files))
		checkOutput(t, imp, out.res, src)
	})
}

// positioned is the start of a refusal: a Go file or go.mod, line, column.
var positioned = regexp.MustCompile(`^\S+(\.go|go\.mod):\d+:\d+: \S`)

func checkRefusal(t *testing.T, err error, src string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Convert failed with %T %v, not a refusal (*Error), on:\n%s", err, err, src)
	}
	if len(e.Errs) == 0 {
		t.Fatalf("Convert refused with no message, on:\n%s", src)
	}
	for _, m := range e.Errs {
		if !positioned.MatchString(m.String()) {
			t.Fatalf("refusal without a file:line:col position: %q, on:\n%s", m, src)
		}
	}
}

// checkOutput type-checks the converted package apart from the converter.
func checkOutput(t *testing.T, imp *stdImporter, res *Result, src string) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, f := range res.All {
		af, err := parser.ParseFile(fset, f.Path, f.New, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("converted %s does not parse: %v\ninput:\n%s\noutput:\n%s", filepath.Base(f.Path), err, src, f.New)
		}
		files = append(files, af)
	}
	var errs []string
	conf := types.Config{GoVersion: "go1.24", Importer: imp, Error: func(err error) { errs = append(errs, err.Error()) }}
	conf.Check("example.com/fuzz", fset, files, nil)
	if len(errs) > 0 {
		var out string
		for _, f := range res.All {
			if filepath.Base(f.Path) == "x.go" {
				out = string(f.New)
			}
		}
		t.Fatalf("the converted package does not type-check:\n%s\ninput:\n%s\nconverted x.go:\n%s", strings.Join(errs, "\n"), src, out)
	}
}

// loadOne parses and type-checks src as package example.com/fuzz in the
// file name, and analyses it as iodetect.Load would; nil if it does not
// type-check.
func loadOne(imp *stdImporter, name, src string) *iodetect.Loaded {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	for _, i := range file.Imports {
		if i.Path.Value == `"C"` {
			return nil // cgo: refused by path before conversion
		}
	}
	info := iodetect.NewInfo()
	failed := false
	conf := types.Config{GoVersion: "go1.24", Importer: imp, Error: func(error) { failed = true }}
	pkg, _ := conf.Check("example.com/fuzz", fset, []*ast.File{file}, info)
	if failed || pkg == nil || pkg.Name() == "main" && len(file.Decls) == 0 {
		return nil
	}
	// The packages the rewrite may add are known, as a real package's
	// dependencies would make them: the converter's check then finds them
	// without running the go command.
	pkg.SetImports(append(pkg.Imports(), imp.all...))
	dir := filepath.Dir(name)
	p := &packages.Package{
		ID: "example.com/fuzz", Name: pkg.Name(), PkgPath: "example.com/fuzz",
		Fset: fset, Syntax: []*ast.File{file}, Types: pkg, TypesInfo: info,
		GoFiles: []string{name}, CompiledGoFiles: []string{name},
		Module: &packages.Module{Path: "example.com/fuzz", Dir: dir, GoVersion: "1.24", Main: true},
	}
	res := iodetect.Analyze(fset, p.Syntax, pkg, info, nil)
	return &iodetect.Loaded{Package: res, Pkg: p}
}

// stdImporter gives the standard packages that clients and the runtime
// import, read from export data once, in one universe: no go command runs
// while fuzzing.
type stdImporter struct {
	pkgs map[string]*types.Package
	all  []*types.Package
}

var fuzzStd = []string{"bufio", "bytes", "context", "crypto/tls", "encoding/binary", "errors", "fmt",
	"io", "iter", "log", "math/rand", "net", "net/http", "net/textproto", "os", "os/exec", "reflect", "runtime",
	"slices", "sort", "strconv", "strings", "sync", "sync/atomic", "testing", "time", "unicode/utf8"}

func newStdImporter(f *testing.F) *stdImporter {
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedTypes}, fuzzStd...)
	if err != nil {
		f.Fatal(err)
	}
	imp := &stdImporter{pkgs: make(map[string]*types.Package)}
	for _, p := range pkgs {
		if p.Types == nil || len(p.Errors) > 0 {
			f.Fatalf("loading %s: %v", p.PkgPath, p.Errors)
		}
		imp.pkgs[p.PkgPath] = p.Types
		imp.all = append(imp.all, p.Types)
	}
	return imp
}

func (imp *stdImporter) Import(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	if p := imp.pkgs[path]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("%s: not loaded for fuzzing", path)
}

// fuzzSeeds are the non-test Go files of the fixtures and of the rules'
// cases that type-check on their own (a file of a package whose other
// files it needs would be dropped by loadOne anyway).
func fuzzSeeds(f *testing.F) []string {
	var seeds []string
	for _, pattern := range []string{"../fixtures/*/*.go", "../fixtures/edge/*/*.go"} {
		names, _ := filepath.Glob(pattern)
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			if src, err := os.ReadFile(name); err == nil {
				seeds = append(seeds, string(src))
			}
		}
	}
	cases, _ := filepath.Glob("testdata/*.txtar")
	for _, c := range cases {
		ar, err := txtar.ParseFile(c)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if strings.HasSuffix(file.Name, ".go") && !strings.HasSuffix(file.Name, "_test.go") {
				seeds = append(seeds, string(file.Data))
			}
		}
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	sort.Strings(seeds)
	return seeds
}

// The structured mutations (op % 7).
const (
	opNone = iota
	opRename
	opClosure
	opCallback
	opStored
	opDeferGo
	opMethodValue
	numOps
)

// newNames are what a rename picks from: names the conversion declares or
// imports, and ordinary ones.
var newNames = []string{"ctx", "context", "err", "net", "c", "cancel", "watchConn", "ctxErr", "Future", "startOp", "x2", "GetContext", "time"}

// mutate applies the structured mutation op to the k-th candidate in src;
// src is returned unchanged when it does not parse or has no candidate.
func mutate(src string, op uint8, k uint16) string {
	op %= numOps
	if op == opNone {
		return src
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return src
	}
	changed := false
	switch op {
	case opRename:
		changed = fuzzRename(f, int(k))
	default:
		changed = wrapStmt(f, op, int(k))
	}
	if !changed {
		return src
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return src
	}
	return b.String()
}

// fuzzRename renames the k-th declared name (in order of first declaration)
// everywhere in the file, fields and methods included.
func fuzzRename(f *ast.File, k int) bool {
	var names []string
	seen := map[string]bool{"_": true, "init": true, "main": true}
	declare := func(id *ast.Ident) {
		if id != nil && !seen[id.Name] {
			seen[id.Name] = true
			names = append(names, id.Name)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			declare(n.Name)
		case *ast.TypeSpec:
			declare(n.Name)
		case *ast.ValueSpec:
			for _, id := range n.Names {
				declare(id)
			}
		case *ast.Field:
			for _, id := range n.Names {
				declare(id)
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						declare(id)
					}
				}
			}
		}
		return true
	})
	if len(names) == 0 {
		return false
	}
	from := names[k%len(names)]
	to := newNames[(k/len(names))%len(newNames)]
	if from == to {
		return false
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == from {
			id.Name = to
		}
		return true
	})
	return true
}

// wrapStmt replaces the k-th call statement or plain assignment inside a
// function body, as op says.
func wrapStmt(f *ast.File, op uint8, k int) bool {
	type slot struct {
		list []ast.Stmt
		i    int
	}
	var slots []slot
	ast.Inspect(f, func(n ast.Node) bool {
		b, ok := n.(*ast.BlockStmt)
		if !ok {
			return true
		}
		for i, s := range b.List {
			switch s := s.(type) {
			case *ast.ExprStmt:
				if _, ok := s.X.(*ast.CallExpr); ok {
					slots = append(slots, slot{b.List, i})
				}
			case *ast.AssignStmt:
				if s.Tok != token.DEFINE && op != opDeferGo && op != opMethodValue {
					slots = append(slots, slot{b.List, i})
				}
			}
		}
		return true
	})
	if len(slots) == 0 {
		return false
	}
	s := slots[k%len(slots)]
	stmt := s.list[s.i]
	body := func(stmts ...ast.Stmt) *ast.FuncLit {
		return &ast.FuncLit{Type: &ast.FuncType{Params: &ast.FieldList{}}, Body: &ast.BlockStmt{List: stmts}}
	}
	call := func(fun ast.Expr, args ...ast.Expr) *ast.CallExpr { return &ast.CallExpr{Fun: fun, Args: args} }
	switch op {
	case opClosure:
		s.list[s.i] = &ast.ExprStmt{X: call(body(stmt))}
	case opCallback:
		s.list[s.i] = &ast.ExprStmt{X: call(ast.NewIdent("fuzzEach"), body(stmt))}
		addDecl(f, "func fuzzEach(f func()) { f() }")
	case opStored:
		s.list[s.i] = &ast.ExprStmt{X: call(body(
			&ast.AssignStmt{Lhs: []ast.Expr{ast.NewIdent("fuzzHook")}, Tok: token.ASSIGN, Rhs: []ast.Expr{body(stmt)}},
			&ast.ExprStmt{X: call(ast.NewIdent("fuzzHook"))},
		))}
		addDecl(f, "var fuzzHook func()")
	case opDeferGo:
		c := stmt.(*ast.ExprStmt).X.(*ast.CallExpr)
		if k%2 == 0 {
			s.list[s.i] = &ast.DeferStmt{Call: c}
		} else {
			s.list[s.i] = &ast.GoStmt{Call: c}
		}
	case opMethodValue:
		c := stmt.(*ast.ExprStmt).X.(*ast.CallExpr)
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		m := ast.NewIdent("fuzzM")
		s.list[s.i] = &ast.ExprStmt{X: call(body(
			&ast.AssignStmt{Lhs: []ast.Expr{m}, Tok: token.DEFINE, Rhs: []ast.Expr{sel}},
			&ast.ExprStmt{X: &ast.CallExpr{Fun: ast.NewIdent("fuzzM"), Args: c.Args, Ellipsis: c.Ellipsis}},
		))}
	}
	return true
}

// addDecl appends the declaration src to f, once.
func addDecl(f *ast.File, src string) {
	d, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+src, 0)
	if err != nil {
		panic(err)
	}
	name := strings.Fields(src)[1]
	for _, old := range f.Decls {
		if fd, ok := old.(*ast.FuncDecl); ok && fd.Name.Name == name {
			return
		}
		if gd, ok := old.(*ast.GenDecl); ok && gd.Tok == token.VAR {
			for _, s := range gd.Specs {
				if vs, ok := s.(*ast.ValueSpec); ok && vs.Names[0].Name == name {
					return
				}
			}
		}
	}
	f.Decls = append(f.Decls, d.Decls[0])
}

// TestMutate: each structured mutation changes a small client as meant.
func TestMutate(t *testing.T) {
	src := `package p

import "net"

type C struct{ nc net.Conn }

func (c *C) Ping() error {
	c.send("ping")
	var err error
	err = c.flush()
	return err
}

func (c *C) send(s string) { c.nc.Write([]byte(s)) }

func (c *C) flush() error { return nil }
`
	for _, c := range []struct {
		op   uint8
		k    uint16
		want string
	}{
		{opRename, 0, "type ctx struct"},
		{opClosure, 0, "func() {\n\t\tc.send(\"ping\")\n\t}()"},
		{opCallback, 0, "fuzzEach(func() {\n\t\tc.send(\"ping\")\n\t})"},
		{opStored, 1, "fuzzHook = func() {\n\t\t\terr = c.flush()\n\t\t}"},
		{opDeferGo, 0, "\tdefer c.send(\"ping\")"},
		{opDeferGo, 1, "{ go c.nc.Write("},
		{opMethodValue, 0, "fuzzM := c.send\n\t\tfuzzM(\"ping\")"},
	} {
		got := mutate(src, c.op, c.k)
		if !strings.Contains(got, c.want) {
			t.Errorf("mutate(op %d, k %d) has no %q:\n%s", c.op, c.k, c.want, got)
		}
	}
}
