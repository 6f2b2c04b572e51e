package iodetect_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/iodetect"
	"golang.org/x/tools/go/packages"
)

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// FuzzAnalyze feeds the detector mutated client sources. Whatever parses is
// type-checked as far as it goes (errors are expected: Analyze also runs on
// code that uses cgo's unknown types) and analysed: Analyze must not panic,
// and every site and async function must lie in the source.
func FuzzAnalyze(f *testing.F) {
	seeds, _ := filepath.Glob("../fixtures/*/*.go")
	edge, _ := filepath.Glob("../fixtures/edge/*/*.go")
	for _, name := range append(seeds, edge...) {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(string(src))
		}
	}
	// The standard library packages clients import, loaded once from export
	// data: no go command runs while fuzzing.
	std, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedTypes},
		"bufio", "bytes", "context", "crypto/tls", "encoding/binary", "errors", "fmt", "io",
		"net", "net/textproto", "os", "os/exec", "reflect", "slices", "strconv", "strings",
		"sync", "testing", "time")
	if err != nil {
		f.Fatal(err)
	}
	byPath := make(map[string]*types.Package)
	for _, p := range std {
		byPath[p.PkgPath] = p.Types
	}
	imp := importerFunc(func(path string) (*types.Package, error) {
		if p := byPath[path]; p != nil {
			return p, nil
		}
		return nil, fmt.Errorf("%s: not loaded for fuzzing", path)
	})
	f.Fuzz(func(t *testing.T, src string) {
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, "x.go", src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return
		}
		info := iodetect.NewInfo()
		conf := types.Config{Importer: imp, FakeImportC: true, Error: func(error) {}}
		pkg, _ := conf.Check("example.com/fuzz", fset, []*ast.File{file}, info)
		if pkg == nil {
			return
		}
		done := make(chan *iodetect.Package, 1)
		go func() { done <- iodetect.Analyze(fset, []*ast.File{file}, pkg, info, nil) }()
		var res *iodetect.Package
		select {
		case res = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Analyze still running after 5 s")
		}
		end := fset.Position(file.End()).Line
		for _, s := range res.Sites {
			if s.Pos.Line < 1 || s.Pos.Line > end {
				t.Errorf("site %s %s outside the file", s.Pos, s.Callee)
			}
		}
		for _, fn := range res.Async {
			if len(fn.Chain(func(p token.Position) string { return p.String() })) < 2 {
				t.Errorf("async %s has no chain", fn.Name)
			}
		}
	})
}
