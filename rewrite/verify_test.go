package rewrite

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
	"golang.org/x/tools/go/packages"
)

// A type error in rewritten code is reported at the input declaration it
// comes from: GetContext's at Get.
func TestInputError(t *testing.T) {
	inFset := token.NewFileSet()
	in, err := parser.ParseFile(inFset, "in.go", "package p\n\ntype T struct{}\n\nfunc (c *T) Get() int { return 1 }\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	outFset := token.NewFileSet()
	out, err := parser.ParseFile(outFset, "in.go", "package p\n\ntype T struct{}\n\nfunc (c *T) Get() int { return 1 }\n\nfunc (c *T) GetContext() int {\n\treturn undefinedThing\n}\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	var pos token.Pos
	ast.Inspect(out, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == "undefinedThing" {
			pos = id.Pos()
		}
		return true
	})
	l := &iodetect.Loaded{Pkg: &packages.Package{Fset: inFset, Syntax: []*ast.File{in}}}
	got := inputError(l, []*ast.File{out}, types.Error{Fset: outFset, Pos: pos, Msg: "undefined: undefinedThing"})
	want := "in.go:5:1: in T.Get: undefined: undefinedThing (asyncify produced code that does not type-check, at line 8 of the rewritten in.go"
	if !strings.HasPrefix(got, want) {
		t.Errorf("got  %s\nwant %s...", got, want)
	}
}
