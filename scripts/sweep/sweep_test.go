package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/scripts/internal/gorun"
)

// TestSweepSubset is the sweep's fixed subset that CI runs: three network
// packages of the standard library and two of the module graph. (The
// graph's gomemcache and go-diff are left out while the converter refuses
// modules older than go1.21 without a position.)
func TestSweepSubset(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "asyncify")
	build := exec.Command("go", "build", "-o", bin, "./cmd/asyncify")
	build.Dir = "../.." // the repository root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building asyncify: %v\n%s", err, out)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	stdDir := filepath.Join(tmp, "std")
	if err := os.MkdirAll(stdDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stdDir, "go.mod"), []byte("module sweep.invalid/std\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	std := runner{bin: bin, dir: stdDir, env: gorun.ModuleEnv(), timeout: 60 * time.Second}
	// golang.org/x/net at the module graph's version, as the sweep takes it.
	mods, err := graph(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	mods = slices.DeleteFunc(mods, func(m module) bool { return m.Path != "golang.org/x/net" })
	if len(mods) != 1 {
		t.Fatal("golang.org/x/net is not in the module graph")
	}
	graphDir := filepath.Join(tmp, "graph")
	if err := os.MkdirAll(graphDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeGraphModule(graphDir, root, mods); err != nil {
		t.Fatal(err)
	}
	mod := runner{bin: bin, dir: graphDir, env: gorun.ModuleEnv(), timeout: 60 * time.Second}
	targets := []target{
		{Pkg: "net/smtp", r: std},
		{Pkg: "net/textproto", r: std},
		{Pkg: "net/rpc", r: std},
		{Pkg: "golang.org/x/net/proxy", r: mod},
		{Pkg: "golang.org/x/net/internal/socks", r: mod},
	}
	results := sweep(t.Context(), targets, 2, nil)
	for i, r := range results {
		if r.Detect.Outcome != ok {
			t.Errorf("detect %s: %s: %s", r.Pkg, r.Detect.Outcome, r.Detect.Detail)
		}
		switch r.Convert.Outcome {
		case converted, unchanged:
		case refused:
			for _, f := range r.Convert.Reasons {
				checkPosition(t, targets[i].r.dir, r.Pkg, f.Pos)
			}
		default:
			t.Errorf("asyncify -d %s: %s: %s", r.Pkg, r.Convert.Outcome, r.Convert.Detail)
		}
	}
}

// checkPosition fails unless pos names a line of an existing file.
func checkPosition(t *testing.T, dir, pkg, pos string) {
	t.Helper()
	parts := strings.Split(pos, ":")
	file := strings.Join(parts[:len(parts)-2], ":")
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("asyncify -d %s: refusal at %s: %v", pkg, pos, err)
		return
	}
	line, _ := strconv.Atoi(parts[len(parts)-2])
	if n := strings.Count(string(b), "\n") + 1; line < 1 || line > n {
		t.Errorf("asyncify -d %s: refusal at %s: the file has %d lines", pkg, pos, n)
	}
}

func TestClassify(t *testing.T) {
	const panicked = "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\n" +
		"github.com/asyncify-dev/asyncify/iodetect.(*walker).call(...)\n\t/src/iodetect/walk.go:12 +0x1d\nmain.main()\n\t/src/main.go:3 +0x5\nexit status 2\n"
	cases := []struct {
		name      string
		isConvert bool
		status    int
		stdout    string
		stderr    string
		outcome   string
		detail    string
		reason    string
	}{
		{"diff", true, 0, "--- a/x.go\n+++ b/x.go\n", "x.go:3:1: F keeps its signature\n", converted, "", ""},
		{"no diff", true, 0, "", "", unchanged, "", ""},
		{"detect", false, 0, "x.go:1:2: root\n", "", ok, "", ""},
		{"panic", true, 2, "", panicked, failed,
			"crash: panic: runtime error: index out of range [3] with length 3; github.com/asyncify-dev/asyncify/iodetect.(*walker).call(...) at /src/iodetect/walk.go:12 +0x1d", ""},
		{"unpositioned", true, 2, "", "asyncify: no export data for golang.org/x/net/http/httpguts\n", failed,
			"message without a position: asyncify: no export data for golang.org/x/net/http/httpguts", ""},
		{"exit 1", true, 1, "", "x.go:1:1: differs\n", failed, "exit status 1: x.go:1:1: differs", ""},
		{"refusal", true, 2, "",
			"/r/reader.go:328:30: r.ReadCodeLineContext undefined (type ReaderReadCodeLineResult has no field or method ReadCodeLineContext) (in the rewritten code: a construct asyncify does not handle yet)\n",
			refused, "", "X undefined (type X has no field or method X) (in the rewritten code: a construct asyncify does not handle yet)"},
		{"refusal with details", true, 2, "",
			"a.go:4:9: cannot use f (variable of type func(int)) as func() value in argument to each\n\thave func(int)\n\twant func()\n",
			refused, "", "cannot use X as X value in argument"},
		{"cannot use, names collapse", true, 2, "",
			"/r/a_test.go:190:1: in TestX: cannot use req (variable of type *Request) as *RequestX value in argument to get: *Request does not implement Doer (wrong type for method Do) (asyncify produced code that does not type-check, at line 7 of the rewritten a_test.go: a construct it does not handle yet)\n",
			refused, "", "cannot use X as X value in argument: X does not implement X (wrong type for method X) (in the rewritten code)"},
		{"cannot use a constant", true, 2, "",
			"/r/a_test.go:190:1: in X.Y: cannot use A | B (constant 3 of int type Mode) as LoadMode value in assignment (asyncify produced code that does not type-check, at line 7 of the rewritten a_test.go: a construct it does not handle yet)\n",
			refused, "", "cannot use X as X value in assignment (in the rewritten code)"},
		{"cannot use, argument to a name", true, 2, "",
			"/r/a_test.go:190:1: in TestX: cannot use h (variable of type Handler) as Handler value in argument to slogtest.TestHandler (asyncify produced code that does not type-check, at line 7 of the rewritten a_test.go: a construct it does not handle yet); likely cause: testing/slogtest imports log/slog itself and so sees its unconverted types\n",
			refused, "", "cannot use X as X value in argument (in the rewritten code); likely cause: a package the input imports imports the package itself"},
		{"mismatched types", true, 2, "",
			"/r/a_test.go:3:1: in F: invalid operation: before != after (mismatched types Node and Node) (asyncify produced code that does not type-check, at line 7 of the rewritten a_test.go: a construct it does not handle yet)\n",
			refused, "", "invalid operation: X (mismatched types X and X) (in the rewritten code)"},
		{"detect refuses", false, 2, "", "a.go:1:1: undefined: x\n", failed, "detect exit 2: a.go:1:1: undefined: x", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := classify(c.isConvert, c.status, c.stdout, c.stderr)
			if s.Outcome != c.outcome || s.Detail != c.detail {
				t.Errorf("outcome %q, detail %q; want %q, %q", s.Outcome, s.Detail, c.outcome, c.detail)
			}
			if c.reason != "" && (len(s.Reasons) != 1 || s.Reasons[0].Reason != c.reason) {
				t.Errorf("reasons %+v; want one: %q", s.Reasons, c.reason)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	// A stand-in for asyncify that hangs: the time limit must end it.
	r := runner{bin: "/bin/sh", dir: t.TempDir(), env: os.Environ(), timeout: 200 * time.Millisecond}
	start := time.Now()
	s := r.run(context.Background(), false, "-c", "sleep 30")
	if s.Outcome != timedOut {
		t.Errorf("outcome %q, want %q", s.Outcome, timedOut)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the time-out took %v", d)
	}
}
