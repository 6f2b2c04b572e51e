package rewrite

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/asyncify-dev/asyncify/templates"
)

// helperRuleTest checks asyncifyCtxErr, the rule at the boundary of a
// converted function that does not share connections: when ctx ended, an
// error that ending it causes matches ctx's error; the client's own type
// keeps its message and errors.As; a server's sentinel is left alone.
const helperRuleTest = `package h

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

type connectTimeout struct{}

func (*connectTimeout) Error() string { return "client: connect timeout" }

// wrapped wraps an i/o timeout in a type of the client's.
type wrapped struct{ err error }

func (w *wrapped) Error() string { return "client: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

type timeoutType struct{}

func (timeoutType) Error() string { return "client: timed out" }
func (timeoutType) Timeout() bool { return true }

var errMiss = errors.New("client: cache miss")

func TestCtxErr(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	ctxErr := func(ctx context.Context, err error) error { asyncifyCtxErr(ctx, &err); return err }

	// left alone
	for _, err := range []error{errMiss, io.EOF, io.ErrUnexpectedEOF, &connectTimeout{}} {
		if got := ctxErr(cancelled, err); got != err {
			t.Errorf("%v: got %v, want it unchanged", err, got)
		}
	}
	if got := ctxErr(context.Background(), opErr); got != opErr {
		t.Errorf("ctx live: got %v, want the i/o timeout unchanged", got)
	}
	// the standard library's own: ctx's error
	if got := ctxErr(cancelled, opErr); got != context.Canceled {
		t.Errorf("i/o timeout: got %v, want context.Canceled", got)
	}
	if got := ctxErr(expired, &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}); got != context.DeadlineExceeded {
		t.Errorf("closed: got %v, want context.DeadlineExceeded", got)
	}
	// the client's own: its message and type, and ctx's error
	w := &wrapped{opErr}
	for _, err := range []error{w, timeoutType{}} {
		got := ctxErr(expired, err)
		if !errors.Is(got, context.DeadlineExceeded) || got.Error() != err.Error() || !errors.Is(got, err) {
			t.Errorf("%v: got %v (%T), want it matching context.DeadlineExceeded with its message", err, got, got)
		}
		if again := ctxErr(expired, got); again != got {
			t.Errorf("%v: not idempotent", err)
		}
	}
	var wt *wrapped
	if got := ctxErr(cancelled, w); !errors.As(got, &wt) || wt != w || !errors.Is(got, context.Canceled) {
		t.Errorf("errors.As finds no *wrapped in %v", got)
	}
}

// A client with retries of its own (gosnmp) turns the timeout of an
// exchange that the watch cut into an error of its own that wraps nothing:
// it matches ctx's error too, with its message. An exchange that ended
// before ctx did leaves the same error alone.
func TestCtxErrCutExchange(t *testing.T) {
	retries := errors.New("request timeout (after 0 retries): max retries exceeded")
	ctxErr := func(ctx context.Context, err error) error { asyncifyCtxErr(ctx, &err); return err }

	c1, c2 := net.Pipe()
	defer c2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	stop := asyncifyWatch(ctx, c1)
	if _, err := c1.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read under the watch: %v, want a timeout", err)
	}
	stop()
	got := ctxErr(ctx, retries)
	if !errors.Is(got, context.DeadlineExceeded) || got.Error() != retries.Error() || !errors.Is(got, retries) {
		t.Errorf("cut exchange: got %v (%T), want it matching context.DeadlineExceeded with its message", got, got)
	}

	// an exchange that completed before ctx ended
	ctx2, cancel2 := context.WithCancel(context.Background())
	c3, c4 := net.Pipe()
	defer c4.Close()
	stop2 := asyncifyWatch(ctx2, c3)
	go c4.Write([]byte("x"))
	if _, err := c3.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	stop2()
	cancel2()
	if got := ctxErr(ctx2, retries); got != retries {
		t.Errorf("exchange done before ctx ended: got %v, want it unchanged", got)
	}
}
`

func TestHelperCtxErrRule(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":       "module example.com/h\n\ngo " + templates.RuntimeGoVersion + "\n",
		helperFileName: fmt.Sprintf(helperSource, templates.Header, "h"),
		"rule_test.go": helperRuleTest,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-count=1", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
}
