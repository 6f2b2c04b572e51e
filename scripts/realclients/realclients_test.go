package main

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strings"
	"testing"
)

// A column's state follows the client's expectation: a failure an issue
// expects does not fail the run, one it does not expect does, and an
// expected failure that passes is reported without failing the run.
func TestExpectations(t *testing.T) {
	c := client{Name: "x", Expect: map[column]expectation{colForms: {13, "reply wait"}, colProbe: {13, "no ctx form"}}}
	r := newRow(c)
	r.set(colLoads, "", "")
	r.set(colForms, "0/1", "Client.Call: no CallContext")
	r.set(colProbe, "1/1", "")
	if r.unexpected() {
		t.Errorf("an expected failure and an expected failure that passes count as unexpected: %s", r.verdict())
	}
	if got := r.Cells[colForms].State; got != stExpected {
		t.Errorf("forms: state %q, want %q", got, stExpected)
	}
	if got := r.Cells[colProbe].State; got != stFixed {
		t.Errorf("probe: state %q, want %q", got, stFixed)
	}
	f := r.failures()
	if len(f) != 2 || !strings.Contains(f[0], "issue 13") || !strings.Contains(f[1], "now passing, remove the expectation") {
		t.Errorf("failures: %q", f)
	}
	r.set(colTests, "3/4", "TestX: boom")
	if !r.unexpected() {
		t.Error("a failure no issue expects does not count as unexpected")
	}
}

// Vet findings are compared by file and message: the conversion moves
// positions; lines that are not findings are kept apart.
func TestVetFindings(t *testing.T) {
	out := "# example.com/app/internal/redis_test\n" +
		"# [example.com/app/internal/redis_test]\n" +
		"internal/redis/reply_test.go:181:12: non-constant format string in call to (*testing.common).Errorf\n" +
		"vet: something else\n"
	findings, other := vetFindings(out)
	want := []string{"reply_test.go: non-constant format string in call to (*testing.common).Errorf"}
	if !slices.Equal(findings, want) {
		t.Errorf("findings %q, want %q", findings, want)
	}
	if !slices.Equal(other, []string{"vet: something else"}) {
		t.Errorf("other lines %q", other)
	}
}

// ctxForm accepts OpContext with ctx first, or Op itself taking ctx
// first, on a type, its pointer, an interface or a function, and says
// what is missing otherwise.
func TestCtxForm(t *testing.T) {
	const src = `package p

import "context"

type Client struct{}

func (c *Client) Get(key string) error { return nil }
func (c *Client) GetContext(ctx context.Context, key string) error { return nil }
func (c *Client) Call(name string) error { return nil }
func (c *Client) Send(ctx context.Context) error { return nil }
func (c *Client) Bad(key string, ctx context.Context) error { return nil }
func (c *Client) BadContext(key string, ctx context.Context) error { return nil }

type Conn interface {
	Do(cmd string) error
	DoContext(ctx context.Context, cmd string) error
}

func Dial(addr string) (*Client, error) { return nil, nil }
func DialContext(ctx context.Context, addr string) (*Client, error) { return nil, nil }
func New() *Client { return nil }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check("p", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for op, want := range map[string]string{
		"Client.Get":  "",
		"Client.Send": "",
		"Conn.Do":     "",
		"Dial":        "",
		"Client.Call": "Client.Call: no CallContext, and Call takes no ctx",
		"Client.Bad":  "Client.Bad: no BadContext, and Bad takes no ctx",
		"New":         "New: no NewContext, and New takes no ctx",
		"Client.Nope": "Client.Nope: not in the output",
		"Other.Get":   "Other.Get: not in the output",
	} {
		if got := ctxForm(pkg.Scope(), op); got != want {
			t.Errorf("ctxForm(%q) = %q, want %q", op, got, want)
		}
	}
}

// A failed test's output is cut to the lines that say why.
func TestFailureLines(t *testing.T) {
	out := "=== RUN   TestX\n    x_test.go:12: want 1, got 2\n    x_test.go:13: want 3, got 4\n    x_test.go:14: more\n--- FAIL: TestX (0.00s)\n"
	if got, want := failureLines(out), "x_test.go:13: want 3, got 4 / x_test.go:14: more"; got != want {
		t.Errorf("failureLines = %q, want %q", got, want)
	}
	panicked := "=== RUN   TestY\n    y_test.go:3: starting\npanic: test timed out after 45s\n\trunning tests:\n"
	if got, want := failureLines(panicked), "panic: test timed out after 45s"; got != want {
		t.Errorf("failureLines = %q, want %q", got, want)
	}
}
