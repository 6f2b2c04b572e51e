package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestConvertNetRPC converts the standard library's net/rpc (a copy of
// GOROOT's in a module of its own): Client.Call waits on a channel its
// reader goroutine fills, and the reader decodes the reply into the
// caller's reply value. The converted package must pass its own tests
// under -race, and CallContext must end with its ctx against a server that
// does not answer, leave the caller's reply alone when it does answer
// later (the reader decodes into a private value), keep the connection
// working for later calls and leave no goroutine behind.
func TestConvertNetRPC(t *testing.T) {
	src := filepath.Join(runtime.GOROOT(), "src", "net", "rpc")
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no net/rpc in GOROOT (%s): %v", src, err)
	}
	mod := map[string]string{"go.mod": "module example.com/netrpc\n\ngo 1.26\n"}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mod["upstream/rpc/"+filepath.Base(f)] = string(data)
	}
	dir := writeModule(t, "netrpc", mod)
	goIn(t, dir, "get", "go.uber.org/goleak@"+goleakVersion)
	r := asyncify(t, dir, "-o", "./internal/rpc", "./upstream/rpc")
	if r.exit != 0 {
		t.Fatalf("asyncify: exit %d\n%s", r.exit, r.stderr)
	}
	for _, want := range []string{
		"(*Client).input reads the connection on its own goroutine for every caller",
		"Call: the reader goroutine writes the reply into reply, memory the caller passed: it writes into a private value instead",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("notes lack %q:\n%s", want, r.stderr)
		}
	}
	out := filepath.Join(dir, "internal", "rpc")
	if err := os.WriteFile(filepath.Join(out, "ctxcall_test.go"), []byte(rpcCtxTest), 0o644); err != nil {
		t.Fatal(err)
	}
	goIn(t, dir, "mod", "tidy")
	goIn(t, dir, "vet", "./internal/rpc")
	// its own tests and ours; TestCountMallocs* skip themselves when
	// GOMAXPROCS > 1, and no test here may skip
	res := goTestJSONFlags(t, dir, nil, []string{"-count=1", "-skip", "TestCountMallocs"}, "./internal/rpc")
	checkPackage(t, res, "example.com/netrpc/internal/rpc", "TestCallContextSilent", "TestCallContextLateReply")
	// ours under -race: a late reply written into the caller's value is a race
	res = goTestJSONFlags(t, dir, nil, []string{"-race", "-count=1", "-run", "TestCallContext"}, "./internal/rpc")
	checkPackage(t, res, "example.com/netrpc/internal/rpc", "TestCallContextSilent", "TestCallContextLateReply")
	logLines(t, res, "example.com/netrpc/internal/rpc", "returned after")
}

// rpcCtxTest is written into the converted net/rpc.
const rpcCtxTest = `package rpc

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

type Slow struct{ release chan struct{} }

type SlowReply struct{ N int }

// Wait answers n+1 once released.
func (s *Slow) Wait(n int, reply *SlowReply) error {
	<-s.release
	reply.N = n + 1
	return nil
}

func slowServer(t *testing.T) (addr string, release chan struct{}, stop func()) {
	release = make(chan struct{})
	srv := NewServer()
	if err := srv.Register(&Slow{release: release}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Accept(ln)
	}()
	return ln.Addr().String(), release, func() {
		ln.Close()
		<-done
	}
}

func TestCallContextSilent(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	addr, release, stop := slowServer(t)
	c, err := Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var reply SlowReply
	start := time.Now()
	err = c.CallContext(ctx, "Slow.Wait", 1, &reply)
	d := time.Since(start)
	t.Logf("CallContext with a 50ms ctx against a server that does not answer returned after %v", d)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CallContext: %v, want context.DeadlineExceeded", err)
	}
	if d > 2*time.Second {
		t.Errorf("CallContext returned after %v", d)
	}
	close(release)
	var later SlowReply
	if err := c.Call("Slow.Wait", 41, &later); err != nil || later.N != 42 {
		t.Errorf("a later Call: %+v, %v", later, err)
	}
	c.Close()
	stop()
}

// TestCallContextLateReply: the reply to a call whose caller left arrives
// and is decoded, but never into the caller's value (-race sees any write).
func TestCallContextLateReply(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	addr, release, stop := slowServer(t)
	c, err := Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	reply := SlowReply{N: -1}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := c.CallContext(ctx, "Slow.Wait", 7, &reply); !errors.Is(err, context.Canceled) {
		t.Fatalf("CallContext: %v, want context.Canceled", err)
	}
	close(release)
	for i := range 20 {
		var r SlowReply
		if err := c.CallContext(context.Background(), "Slow.Wait", i, &r); err != nil || r.N != i+1 {
			t.Fatalf("call %d after the late reply: %+v, %v", i, r, err)
		}
	}
	if reply.N != -1 {
		t.Errorf("the late reply was written into the caller's value: %+v", reply)
	}
	c.Close()
	stop()
}
`

// TestConvertZookeeper converts go-zookeeper/zk v1.0.4, whose Conn reads
// its connection on a goroutine that Connect starts and keeps for the
// session's lifetime (ctx := context.Background() in Connect): the
// operations gain Context forms whose waits end with ctx against a server
// that never answers, Connect gains none (it only starts the connection,
// whose lifetime is no call's ctx), and after one call's ctx ended the next
// call still waits for its own reply (its ctx's deadline, not a closed
// connection). Its own tests need a ZooKeeper
// server and are not run here; upstream's tests do not pass go vet (a
// non-constant format string), so the probe runs with -vet=off.
func TestConvertZookeeper(t *testing.T) {
	const zkModule, zkVersion = "github.com/go-zookeeper/zk", "v1.0.4"
	dir := writeModule(t, "zk", map[string]string{
		"go.mod":   "module example.com/zkconv\n\ngo 1.26\n\nrequire " + zkModule + " " + zkVersion + "\n",
		"tools.go": "//go:build tools\n\npackage zkconv\n\nimport _ \"" + zkModule + "\"\n",
	})
	goIn(t, dir, "mod", "tidy")
	r := asyncify(t, dir, "-o", "./internal/zk", zkModule)
	if r.exit != 0 {
		t.Fatalf("asyncify: exit %d\n%s", r.exit, r.stderr)
	}
	if !strings.Contains(r.stderr, "Connect.func1 reads the connection on its own goroutine for every caller") {
		t.Errorf("notes lack the reader goroutine's:\n%s", r.stderr)
	}
	out := filepath.Join(dir, "internal", "zk")
	src, err := os.ReadFile(filepath.Join(out, "conn.go"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(src), "func ConnectContext(") {
		t.Error("Connect gained a ConnectContext: the connection's lifetime would follow a call's ctx")
	}
	if !strings.Contains(string(src), "ctx := context.Background()") {
		t.Error("Connect's context.Background(), the connection's lifetime, was replaced")
	}
	if err := os.WriteFile(filepath.Join(out, "ctxprobe_test.go"), []byte(zkProbeTest), 0o644); err != nil {
		t.Fatal(err)
	}
	res := goTestJSONFlags(t, dir, nil, []string{"-vet=off", "-race", "-count=1", "-run", "TestProbe"}, "./internal/zk")
	checkPackage(t, res, "example.com/zkconv/internal/zk", "TestProbeSilent", "TestProbeForms")
	logLines(t, res, "example.com/zkconv/internal/zk", "after")
}

// zkProbeTest is written into the converted zk: every listed operation has
// its Context form (the file compiles only then), and each ends with a
// 50 ms ctx against a server that accepts and never answers.
const zkProbeTest = `package zk

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { nc.Close() })
		}
	}()
	return ln.Addr().String()
}

func TestProbeForms(t *testing.T) {
	var c *Conn
	_ = []any{c.GetContext, c.SetContext, c.CreateContext, c.DeleteContext, c.ExistsContext,
		c.ChildrenContext, c.MultiContext, c.SyncContext}
}

func TestProbeSilent(t *testing.T) {
	c, _, err := Connect([]string{silentServer(t)}, 10*time.Second, WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	calls := map[string]func(context.Context) error{
		"GetContext":      func(ctx context.Context) error { _, _, err := c.GetContext(ctx, "/x"); return err },
		"ExistsContext":   func(ctx context.Context) error { _, _, err := c.ExistsContext(ctx, "/x"); return err },
		"ChildrenContext": func(ctx context.Context) error { _, _, err := c.ChildrenContext(ctx, "/x"); return err },
		"SetContext":      func(ctx context.Context) error { _, err := c.SetContext(ctx, "/x", nil, -1); return err },
		"DeleteContext":   func(ctx context.Context) error { return c.DeleteContext(ctx, "/x", -1) },
		"SyncContext":     func(ctx context.Context) error { _, err := c.SyncContext(ctx, "/x"); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		d := time.Since(start)
		cancel()
		t.Logf("%s with a 50ms ctx against a silent server: %v after %v", name, err, d)
		if !errors.Is(err, context.DeadlineExceeded) || d > 2*time.Second {
			t.Errorf("%s: %v after %v, want context.DeadlineExceeded", name, err, d)
		}
	}
}
`
