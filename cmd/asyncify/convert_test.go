package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/rewrite"
	"github.com/asyncify-dev/asyncify/templates"
)

// TestConvertGolden converts every fixture package, compares the diff with
// golden/diff/<fixture>.diff, applies all the diffs with git apply to a copy
// of the fixtures module, and runs go vet and go test there: each converted
// fixture builds and its converted tests pass against its fake server, under
// -race (the runtime shares connections between goroutines). A
// test of our own then checks that a converted operation ends with its ctx
// against a server that never answers. Finally asyncify runs on its own
// output, which must change nothing.
func TestConvertGolden(t *testing.T) {
	t.Chdir("../..")
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	copyDir(t, filepath.Join(root, "fixtures"), filepath.Join(tmp, "fixtures"))
	var all bytes.Buffer
	dirs := fixturePackages(t)
	for _, dir := range dirs {
		var stdout, stderr bytes.Buffer
		args := []string{"./" + filepath.ToSlash(filepath.Join("fixtures", dir))}
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Errorf("asyncify %s: exit %d\n%s", args[0], code, stderr.String())
			continue
		}
		if stdout.Len() == 0 {
			// nothing to convert: a server-only package, say
			if _, err := os.Stat(filepath.Join("golden", "diff", dir+".diff")); err == nil {
				t.Errorf("asyncify %s printed no diff, but golden/diff/%s.diff exists", args[0], dir)
			}
			continue
		}
		checkGolden(t, "diff/"+filepath.ToSlash(dir)+".diff", withoutRuntime(stdout.Bytes()))
		all.Write(stdout.Bytes())
	}
	if t.Failed() {
		return
	}
	gitApply(t, tmp, all.Bytes())
	mod := filepath.Join(tmp, "fixtures")
	if err := os.WriteFile(filepath.Join(mod, "mctext", "ctxcancel_test.go"), []byte(cancelTest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "edge", "callbacks", "ctxended_test.go"), []byte(storedCallbackTest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "multipkg", "ctxinternal_test.go"), []byte(internalCancelTest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "kvauth", "ctxiface_test.go"), []byte(ifaceCancelTest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "replyconn", "ctxreply_test.go"), []byte(replyConnTest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "replymem", "ctxreply_test.go"), []byte(replyMemTest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "replyguard", "ctxreply_test.go"), []byte(replyGuardTest), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd(t, mod, "vet", "./...")
	goCmd(t, mod, "test", "-race", "-count=1", "-timeout=5m", "./...")

	for _, dir := range dirs {
		res, err := rewrite.Convert(rewrite.Config{Dir: mod, Tests: true, Env: append(os.Environ(), "GOWORK=off")}, "./"+filepath.ToSlash(dir))
		if err != nil {
			t.Errorf("asyncify on the converted %s: %v", dir, err)
			continue
		}
		for _, f := range res.Files {
			t.Errorf("asyncify on the converted %s changes it (not idempotent):\n%s", dir, rewrite.UnifiedDiff(f.Path, f.Old, f.New))
		}
	}
}

// ifaceCancelTest runs in the converted kvauth package, whose operations
// sit behind interfaces: Connect's handshake goes through the
// package-private exchanger (which takes ctx now), Get and Set implement
// the exported Store (which keeps its methods and gains StoreContext), and
// GetAll calls Get through Store. Against a server that never answers (or
// answers only AUTH), each Context form given 50ms ends within 250ms with
// context.DeadlineExceeded; before, Connect's handshake waited for the
// server and Get had no Context form at all.
const ifaceCancelTest = `package kvauth

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// silent accepts connections and never answers; it returns its address.
func silent(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		for {
			nc, err := ln.Accept()
			if err != nil {
				break
			}
			conns = append(conns, nc)
		}
		for _, nc := range conns {
			nc.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// within runs f with a 50ms ctx and checks that it ends with
// context.DeadlineExceeded within 250ms.
func within(t *testing.T, what string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	d := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: err = %v after %v, want context.DeadlineExceeded", what, err, d)
	}
	if d > 250*time.Millisecond {
		t.Errorf("%s returned after %v, want within 250ms", what, d)
	}
}

// The handshake goes through the package-private exchanger: ConnectContext's
// ctx bounds it (the default dialer's own timeout is 10 s). The
// operations' bodies may outlive their callers (shared connections, the
// default): AsyncifyPipelining is left as it is.
func TestConnectContextSilentServer(t *testing.T) {
	within(t, "ConnectContext", func(ctx context.Context) error {
		return (&Client{Token: "secret"}).ConnectContext(ctx, silent(t))
	})
}

// A server that answers AUTH, then nothing: GetContext, SetContext and
// GetAllContext through the exported Store interface end with their ctx.
func TestOperationsSilentAfterAuth(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				buf := make([]byte, 512)
				n, _ := nc.Read(buf)
				if strings.HasPrefix(string(buf[:n]), "AUTH ") {
					nc.Write([]byte("OK\n"))
				}
				for {
					if _, err := nc.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()

	dial := func() *Client {
		c := &Client{Token: "secret"}
		if err := c.ConnectContext(t.Context(), ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	within(t, "GetContext", func(ctx context.Context) error {
		_, err := dial().GetContext(ctx, "k")
		return err
	})
	within(t, "SetContext", func(ctx context.Context) error {
		return dial().SetContext(ctx, "k", "v")
	})
	within(t, "GetAllContext", func(ctx context.Context) error {
		var s Store = dial()
		_, err := GetAllContext(ctx, s, "k")
		return err
	})
	within(t, "StoreContext.GetContext", func(ctx context.Context) error {
		var s Store = dial()
		_, err := s.(StoreContext).GetContext(ctx, "k")
		return err
	})
}
`

// storedCallbackTest runs in the converted callbacks package: Dial stores
// method values in unexported fields that later calls use. Their func
// types gain ctx: ending the ctx Dial was given, once it returned, must not
// break them, and a call through one ends with the caller's ctx (before the
// conversion took ctx at call time, it used context.Background() and a
// silent server held it forever).
const storedCallbackTest = `package callbacks

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"sync/atomic"
	"time"
)

func TestStoredCallbackOutlivesDialContext(t *testing.T) {
	var pings atomic.Int32
	addr := dial(t, &pings).nc.RemoteAddr().String()
	for _, shared := range []bool{true, false} {
		AsyncifyPipelining = shared
		ctx, cancel := context.WithCancel(t.Context())
		c, err := DialContext(ctx, addr)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingNContext(t.Context(), 2); err != nil {
			t.Errorf("AsyncifyPipelining=%v: PingN after DialContext's ctx ended: %v", shared, err)
		}
		c.Close()
	}
	AsyncifyPipelining = true
}

func TestStoredFieldTakesCallersContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		var conns []net.Conn // never answered
		for {
			nc, err := ln.Accept()
			if err != nil {
				break
			}
			conns = append(conns, nc)
		}
		for _, nc := range conns {
			nc.Close()
		}
	}()
	defer func() {
		ln.Close()
		<-accepted
	}()
	defer func() { AsyncifyPipelining = true }()
	for _, shared := range []bool{true, false} {
		AsyncifyPipelining = shared
		c, err := DialContext(t.Context(), ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := c.recv(ctx) // readLine, stored by Dial
			done <- err
		}()
		select {
		case err = <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("AsyncifyPipelining=%v: the call through c.recv did not end with its ctx", shared)
		}
		cancel()
		// Shared, the runtime reports ctx's error; on a plain connection,
		// the unexported readLine returns the deadline's (only the exported
		// operations map it to ctx's).
		if !errors.Is(err, context.DeadlineExceeded) && (shared || !errors.Is(err, os.ErrDeadlineExceeded)) {
			t.Errorf("AsyncifyPipelining=%v: c.recv(ctx) = %v after %v, want context.DeadlineExceeded", shared, err, time.Since(start))
		}
		c.Close()
	}
}
`

// internalCancelTest runs in the converted multipkg package, whose reads
// and writes happen in its internal package proto (converted in place with
// it): GetContext with a 50ms deadline against a server that accepts and
// never answers ends with the deadline, pipelined or not; not pipelined,
// the read blocked inside proto.ReadReply under call's ctx is interrupted
// when that ctx ends, and the connection, out of sync, closed (the server
// sees it end).
const internalCancelTest = `package multipkg

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestGetContextDeadlineInsideInternal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan chan struct{}, 4) // each connection's end
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			ended := make(chan struct{})
			accepted <- ended
			go func() {
				defer close(ended)
				defer nc.Close()
				io.Copy(io.Discard, nc) // reads requests, never answers
			}()
		}
	}()
	dial := func() (*Client, chan struct{}) {
		c, err := DialContext(t.Context(), ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		select {
		case ended := <-accepted:
			return c, ended
		case <-time.After(2 * time.Second):
			t.Fatal("DialContext connected nowhere")
		}
		return nil, nil
	}
	defer func() { AsyncifyPipelining = true }()
	for _, pipelined := range []bool{true, false} {
		AsyncifyPipelining = pipelined
		c, _ := dial()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		start := time.Now()
		_, err = c.GetContext(ctx, "k")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("pipelined=%v: GetContext: err = %v, want context.DeadlineExceeded", pipelined, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("pipelined=%v: GetContext returned after %v", pipelined, d)
		}
		c.Close()
	}
	// GetContext's body went on without its caller (the runtime's
	// detachable operation); call, which GetContext runs, watches the
	// connection with the ctx it is given around proto's calls
	AsyncifyPipelining = false
	c, ended := dial()
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := c.call(ctx, "GET", "k")
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("call: no error from a server that never answers")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("call still blocked 2s after its ctx ended")
	}
	select {
	case <-ended:
	case <-time.After(2 * time.Second):
		t.Fatal("the connection is still open: the read in proto.ReadReply was not interrupted")
	}
}
`

// cancelTest runs in the converted mctext package: GetContext with a 50ms
// deadline against a server that accepts and never answers.
const cancelTest = `package mctext

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestGetContextDeadlineOnSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			defer nc.Close()
		}
	}()
	c := New(ln.Addr().String())
	c.Timeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.GetContext(ctx, "k")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetContext: err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("GetContext returned after %v", d)
	}

	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := c.SetContext(ctx, &Item{Key: "k", Value: []byte("v")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("SetContext: err = %v, want context.Canceled", err)
	}
	// The interrupted connections were closed, not pooled.
	c.mu.Lock()
	n := len(c.freeconn[ln.Addr().String()])
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d interrupted connections went back to the pool", n)
	}

	// A future's Await ends with its own ctx; the operation goes on.
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	f := c.GetAsync(t.Context(), "k")
	if _, err := f.Await(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Await: err = %v, want context.DeadlineExceeded", err)
	}
}

// Futures resolve with the operations' results, errors unwrapped.
func TestAsyncAgainstFakeServer(t *testing.T) {
	s := startFakeServer(t)
	c := New(s.addr)
	defer c.Close()
	if _, err := c.GetAsync(t.Context(), "a").Await(t.Context()); err != ErrCacheMiss {
		t.Fatalf("GetAsync of a missing key: err = %v, want ErrCacheMiss", err)
	}
	if _, err := c.SetAsync(t.Context(), &Item{Key: "a", Value: []byte("1")}).Await(t.Context()); err != nil {
		t.Fatal(err)
	}
	it, err := c.GetAsync(t.Context(), "a").Await(t.Context())
	if err != nil || string(it.Value) != "1" {
		t.Fatalf("GetAsync = %+v, %v", it, err)
	}
}
`

// withoutRuntime drops the runtime's files from a diff: they are the
// templates' business, tested there, and would make every golden diff
// change with them.
func withoutRuntime(diff []byte) []byte {
	runtime := make(map[string]bool)
	for _, name := range templates.RuntimeFiles {
		runtime["asyncify_"+name] = true
	}
	var out bytes.Buffer
	keep := true
	for _, line := range bytes.SplitAfter(diff, []byte("\n")) {
		if name, ok := bytes.CutPrefix(line, []byte("+++ b/")); ok {
			keep = !runtime[filepath.Base(string(bytes.TrimSpace(name)))]
			if !keep {
				// the "--- /dev/null" line before it is already written
				out.Truncate(bytes.LastIndex(out.Bytes()[:out.Len()-1], []byte("\n")) + 1)
			}
		} else if bytes.HasPrefix(line, []byte("--- ")) {
			keep = true
		}
		if keep {
			out.Write(line)
		}
	}
	return out.Bytes()
}

func gitApply(t *testing.T, dir string, patch []byte) {
	t.Helper()
	cmd := exec.Command("git", "apply", "-")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(patch)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v\n%s", err, out)
	}
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// TestConvertErrors: a package that cannot be converted prints nothing on
// stdout, its errors as file:line:col relative to the current directory,
// and exits 2.
func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	files := map[string]string{
		"go.mod":      "module example.com/m\n\ngo 1.24\n",
		"broken/p.go": "package broken\n\nfunc f() int { return \"x\" }\n",
	}
	for name, src := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ pkg, want string }{
		{"./broken", "broken/p.go:3:23: "},
		{"./missing", "missing"},
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{c.pkg}, &stdout, &stderr)
		if code != exitError || stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), c.want) && !strings.Contains(stderr.String(), c.want) {
			t.Errorf("asyncify %s: exit %d, stdout %q, stderr %q; want exit 2, no stdout, stderr starting %q", c.pkg, code, stdout.String(), stderr.String(), c.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"./broken", "./missing"}, &stdout, &stderr); code != exitError || stdout.Len() != 0 {
		t.Errorf("two packages: exit %d, stdout %q", code, stdout.String())
	}
}

// TestConvertOutput: -o writes the converted package, tests included, with
// its external tests importing the copy; it builds and its tests pass. A
// second run prints and changes nothing; -check finds a hand edit (exit 1)
// and writes nothing; a user's file in the way is never overwritten.
func TestConvertOutput(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.24\n",
		"up/p.go": `// Package up is a line client.
package up

import (
	"bufio"
	"net"
)

// Conn is a connection.
type Conn struct {
	nc net.Conn
	r  *bufio.Reader
}

// NewConn returns a Conn on nc.
func NewConn(nc net.Conn) *Conn { return &Conn{nc: nc, r: bufio.NewReader(nc)} }

// Line reads a line.
func (c *Conn) Line() (string, error) { return c.r.ReadString('\n') }
`,
		"LICENSE": "Copyright upstream\n",
		"up/p_test.go": `package up_test

import (
	"net"
	"testing"

	"example.com/m/up"
)

func TestLine(t *testing.T) {
	a, b := net.Pipe()
	go b.Write([]byte("hi\n"))
	if l, err := up.NewConn(a).Line(); err != nil || l != "hi\n" {
		t.Fatalf("Line = %q, %v", l, err)
	}
}
`,
	}
	for name, src := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	asyncify := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := asyncify("-o", "./out", "./up")
	if code != exitOK || !strings.Contains(out, "+++ b/up/p.go") {
		t.Fatalf("asyncify -o: exit %d\n%s\n%s", code, out, errOut)
	}
	test, err := os.ReadFile("out/p_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(test), `"example.com/m/out"`) || !strings.Contains(string(test), "LineContext(t.Context())") {
		t.Errorf("out/p_test.go does not import the copy or call LineContext:\n%s", test)
	}
	if readString(t, "out/LICENSE") != "Copyright upstream\n" {
		t.Error("upstream's LICENSE was not copied")
	}
	goCmd(t, dir, "vet", "./out")
	goCmd(t, dir, "test", "-count=1", "./out")
	// -d=false with -o writes the same package and prints no diff
	if code, out, errOut := asyncify("-d=false", "-o", "./quiet", "./up"); code != exitOK || out != "" {
		t.Errorf("asyncify -d=false -o: exit %d, printed:\n%s\n%s", code, out, errOut)
	}
	if readString(t, "quiet/p.go") != readString(t, "out/p.go") {
		t.Error("-d=false -o wrote a different package than -o")
	}

	if code, out, _ := asyncify("-o", "./out", "./up"); code != exitOK || out != "" {
		t.Errorf("second run: exit %d, printed:\n%s", code, out)
	}
	if code, out, _ := asyncify("-check", "-o", "./out", "./up"); code != exitOK || out != "" {
		t.Errorf("-check on fresh output: exit %d, printed:\n%s", code, out)
	}
	edited := strings.Replace(readString(t, "out/p.go"), "// Line reads a line.", "// Line reads one line.", 1)
	if err := os.WriteFile("out/p.go", []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := asyncify("-check", "-o", "./out", "./up"); code != exitDiff || !strings.Contains(out, "-// Line reads one line.") || !strings.HasPrefix(out, "--- a/out/p.go") {
		t.Errorf("-check after a hand edit: exit %d, printed:\n%s", code, out)
	}
	if readString(t, "out/p.go") != edited {
		t.Error("-check wrote")
	}
	if err := os.WriteFile("out/asyncify_ctx.go", []byte("package up\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := asyncify("-o", "./out", "./up"); code != exitError || out != "" || !strings.Contains(errOut, "asyncify_ctx.go: exists and was not generated by asyncify") {
		t.Errorf("clash with a user file: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if readString(t, "out/p.go") != edited || readString(t, "out/asyncify_ctx.go") != "package up\n" {
		t.Error("a failed -o changed the directory")
	}
}

// TestConvertInPlace: -w rewrites the package itself and prints the diff;
// the result builds, and a second run changes and prints nothing.
func TestConvertInPlace(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	src := `package fork

import (
	"bufio"
	"net"
)

// Conn is a connection.
type Conn struct{ r *bufio.Reader }

// NewConn returns a Conn on nc.
func NewConn(nc net.Conn) *Conn { return &Conn{r: bufio.NewReader(nc)} }

// Line reads a line.
func (c *Conn) Line() (string, error) { return c.r.ReadString('\n') }
`
	for name, data := range map[string]string{"go.mod": "module example.com/m\n\ngo 1.24\n", "fork/p.go": src} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-w", "./fork"}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "+func (c *Conn) LineContext(ctx context.Context)") {
		t.Fatalf("asyncify -w: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(readString(t, "fork/p.go"), "LineContext") {
		t.Fatal("fork/p.go was not rewritten")
	}
	goCmd(t, dir, "vet", "./fork")
	stdout.Reset()
	if code := run([]string{"-w", "./fork"}, &stdout, &stderr); code != exitOK || stdout.Len() != 0 {
		t.Errorf("second -w: exit %d, printed:\n%s", code, stdout.String())
	}
}

func readString(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
