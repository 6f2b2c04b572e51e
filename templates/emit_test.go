package templates

import (
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"text/template"
)

// RuntimeFiles must list every non-test file but this one and doc.go.
func TestRuntimeFilesComplete(t *testing.T) {
	all, _ := filepath.Glob("*.go")
	var want []string
	for _, f := range all {
		if !strings.HasSuffix(f, "_test.go") && f != "emit.go" && f != "doc.go" {
			want = append(want, f)
		}
	}
	got := append([]string(nil), RuntimeFiles...)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RuntimeFiles = %v, want %v (update it and the go:embed line)", got, want)
	}
}

// clashSrc declares names the runtime uses, at top level and as import
// names, and calls the runtime by the names Emit gives back.
const clashSrc = `package clash

import stdctx "context"

type stream int

func runOp() {}

var Future = 1

var errors, sync = 2, 3

var context = "taken"

func use(c interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	Close() error
}) (string, error) {
	pl := {{.newPipeline}}(c, {{.pipelineConfig}}{MaxInFlight: 8})
	defer pl.close()
	f := {{.startOp}}(stdctx.Background(), "get", {{.opDetachable}}, func(ctx stdctx.Context) (string, error) {
		s := pl.begin(ctx)
		defer s.release()
		s.writeString(ctx, "get k\n")
		if err := s.flush(ctx); err != nil {
			return "", err
		}
		return s.readString(ctx, '\n')
	})
	var _ *{{.Future}}[string] = f
	return {{.runOp}}(stdctx.Background(), "get", {{.opDetachable}}, func(ctx stdctx.Context) (string, error) {
		return f.Await(ctx)
	})
}

var _ = use
var _ = {{.ErrMaybeExecuted}}
`

func TestEmitBuildsInClashingPackage(t *testing.T) {
	taken := map[string]bool{"stream": true, "runOp": true, "Future": true, "errors": true, "sync": true, "context": true, "stdctx": true, "use": true, "clash": true}
	// what clashSrc uses, pruned as for a converted package
	keep := []string{"newPipeline", "pipelineConfig", "pipeline.close", "pipeline.begin", "stream.release", "stream.writeString",
		"stream.flush", "stream.readString", "startOp", "Future", "runOp", "opDetachable", "ErrMaybeExecuted"}
	files, names, err := Emit("clash", func(n string) bool { return taken[n] }, keep)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"stream", "runOp", "Future"} {
		if names[n] == n || names[n] == "" {
			t.Errorf("names[%q] = %q: a taken name was kept", n, names[n])
		}
	}
	if names["pool"] != "pool" {
		t.Errorf("names[pool] = %q: a free name was changed", names["pool"])
	}
	if names["Future"] != "AsyncifyFuture" || names["runOp"] != "asyncifyRunOp" {
		t.Errorf("prefixing: Future -> %q, runOp -> %q", names["Future"], names["runOp"])
	}
	again, names2, _ := Emit("clash", func(n string) bool { return taken[n] }, keep)
	if !reflect.DeepEqual(files, again) || !reflect.DeepEqual(names, names2) {
		t.Error("Emit is not deterministic")
	}

	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range files {
		if !bytes.HasPrefix(b, []byte(Header+"\n")) {
			t.Errorf("%s does not start with the generated-code header", name)
		}
		if strings.HasSuffix(name, "_test.go") {
			t.Errorf("test file %s emitted", name)
		}
		write(name, b)
	}
	var src bytes.Buffer
	template.Must(template.New("").Parse(clashSrc)).Execute(&src, names)
	write("clash.go", src.Bytes())
	// The oldest language version the runtime promises.
	write("go.mod", []byte("module example.com/clash\n\ngo "+RuntimeGoVersion+"\n"))
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the emitted package: %v\n%s", args[0], err, out)
		}
	}
}

// Emit with keep writes only what the names reach: each runtime name alone
// type-checks, and the ctx helpers alone bring nothing of the pipelined
// connection.
func TestEmitKeepsWhatIsReached(t *testing.T) {
	names, err := Names(nil)
	if err != nil {
		t.Fatal(err)
	}
	imp := importer.Default()
	check := func(keep []string) map[string][]byte {
		t.Helper()
		files, _, err := Emit("p", nil, keep)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		var parsed []*ast.File
		for name, src := range files {
			f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
			if err != nil {
				t.Fatalf("%v: %v", keep, err)
			}
			parsed = append(parsed, f)
		}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check("p", fset, parsed, nil); err != nil {
			t.Fatalf("keep %v: %v", keep, err)
		}
		again, _, _ := Emit("p", nil, keep)
		if !reflect.DeepEqual(files, again) {
			t.Fatalf("keep %v: not deterministic", keep)
		}
		return files
	}
	for n := range names {
		check([]string{n})
	}

	files := check([]string{"watchConn", "ctxErr", "ctxDeadline", "sleep"})
	if len(files) != 1 || files["asyncify_ctx.go"] == nil {
		var got []string
		for name := range files {
			got = append(got, name)
		}
		t.Fatalf("the ctx helpers emit %v, want asyncify_ctx.go alone", got)
	}
	src := string(files["asyncify_ctx.go"])
	for _, gone := range []string{"func runOp", "type stream", "func bindConn", "Future"} {
		if strings.Contains(src, gone) {
			t.Errorf("asyncify_ctx.go holds %q, which the ctx helpers do not reach", gone)
		}
	}
	for _, kept := range []string{"func watchConn", "func markCut", "func ctxEnded", "type ctxEndedError", "func (e *ctxEndedError) Unwrap"} {
		if !strings.Contains(src, kept) {
			t.Errorf("asyncify_ctx.go lacks %q", kept)
		}
	}

	// An exported type keeps its exported methods, reached or not; an
	// unexported method goes when nothing names it.
	files = check([]string{"Future"})
	fut := string(files["asyncify_future.go"])
	if !strings.Contains(fut, "func (f *Future[T]) Await") || !strings.Contains(fut, "func (f *Future[T]) Done") {
		t.Errorf("Future lost its methods:\n%s", fut)
	}
	if strings.Contains(fut, ") resolve(") || strings.Contains(fut, "func newFuture") {
		t.Errorf("Future alone keeps resolve or newFuture:\n%s", fut)
	}
}
