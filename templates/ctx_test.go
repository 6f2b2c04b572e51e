package templates

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// wrappedErr wraps an i/o timeout in a type of the client's.
type wrappedErr struct{ err error }

func (w *wrappedErr) Error() string { return "client: " + w.err.Error() }
func (w *wrappedErr) Unwrap() error { return w.err }

func deferredCtxErr(ctx context.Context, err error) error {
	ctxErr(ctx, &err)
	return err
}

// ctxErr, deferred at the boundary of a converted function: when ctx
// ended, an error that ending it causes matches ctx's error; the client's
// own type keeps its message and errors.As; a server's sentinel is left
// alone.
func TestCtxErr(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}

	for _, err := range []error{nil, errMiss, io.EOF, io.ErrUnexpectedEOF, &connectTimeout{}} {
		if got := deferredCtxErr(cancelled, err); got != err {
			t.Errorf("%v: got %v, want it unchanged", err, got)
		}
	}
	if got := deferredCtxErr(context.Background(), opErr); got != opErr {
		t.Errorf("ctx live: got %v, want the i/o timeout unchanged", got)
	}
	if got := deferredCtxErr(cancelled, opErr); got != context.Canceled {
		t.Errorf("i/o timeout: got %v, want context.Canceled", got)
	}
	if got := deferredCtxErr(expired, &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}); got != context.DeadlineExceeded {
		t.Errorf("closed: got %v, want context.DeadlineExceeded", got)
	}
	w := &wrappedErr{opErr}
	for _, err := range []error{w, timeoutType{}} {
		got := deferredCtxErr(expired, err)
		if !errors.Is(got, context.DeadlineExceeded) || got.Error() != err.Error() || !errors.Is(got, err) {
			t.Errorf("%v: got %v (%T), want it matching context.DeadlineExceeded with its message", err, got, got)
		}
		if again := deferredCtxErr(expired, got); again != got {
			t.Errorf("%v: not idempotent", err)
		}
	}
	var wt *wrappedErr
	if got := deferredCtxErr(cancelled, w); !errors.As(got, &wt) || wt != w || !errors.Is(got, context.Canceled) {
		t.Errorf("errors.As finds no *wrappedErr in %v", got)
	}
}

// A client with retries of its own (gosnmp) turns the timeout of an
// exchange that the watch cut into an error of its own that wraps nothing:
// it matches ctx's error too, with its message, and the connection is
// closed. An exchange that ended before ctx did leaves the same error
// alone, and its connection open.
func TestWatchConnCut(t *testing.T) {
	retries := errors.New("request timeout (after 0 retries): max retries exceeded")

	c1, c2 := net.Pipe()
	defer c2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	end := watchConn(ctx, c1)
	if _, err := c1.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read under the watch: %v, want a timeout", err)
	}
	end()
	if _, err := c1.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("a cut connection is not closed: write: %v", err)
	}
	got := deferredCtxErr(ctx, retries)
	if !errors.Is(got, context.DeadlineExceeded) || got.Error() != retries.Error() || !errors.Is(got, retries) {
		t.Errorf("cut exchange: got %v (%T), want it matching context.DeadlineExceeded with its message", got, got)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	c3, c4 := net.Pipe()
	defer c3.Close()
	defer c4.Close()
	end2 := watchConn(ctx2, c3)
	go c4.Write([]byte("x"))
	if _, err := c3.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	end2()
	cancel2()
	if got := deferredCtxErr(ctx2, retries); got != retries {
		t.Errorf("exchange done before ctx ended: got %v, want it unchanged", got)
	}
	go c4.Read(make([]byte, 1))
	if _, err := c3.Write([]byte("y")); err != nil {
		t.Errorf("the connection of an exchange done in time was closed: %v", err)
	}

	// no watch when ctx cannot end, nor on a nil connection
	watchConn(context.Background(), c3)()
	watchConn(ctx, nil)()
}

func TestCtxDeadline(t *testing.T) {
	client := time.Now().Add(time.Hour)
	if got := ctxDeadline(context.Background(), client); !got.Equal(client) {
		t.Errorf("no ctx deadline: %v, want the client's %v", got, client)
	}
	if got := ctxDeadline(context.Background(), time.Time{}); !got.IsZero() {
		t.Errorf("no deadline at all: %v, want none", got)
	}
	soon := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), soon)
	defer cancel()
	if got := ctxDeadline(ctx, client); !got.Equal(soon) {
		t.Errorf("ctx's is earlier: %v, want %v", got, soon)
	}
	if got := ctxDeadline(ctx, time.Time{}); !got.Equal(soon) {
		t.Errorf("the client has none: %v, want ctx's %v", got, soon)
	}
	early := time.Now().Add(time.Second)
	if got := ctxDeadline(ctx, early); !got.Equal(early) {
		t.Errorf("the client's is earlier: %v, want %v", got, early)
	}
	cancel()
	if got := ctxDeadline(ctx, client); !got.Before(time.Now()) {
		t.Errorf("ctx ended: %v, want a time in the past", got)
	}
}

func TestSleep(t *testing.T) {
	if err := sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleep: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := sleep(ctx, time.Hour); err != context.DeadlineExceeded {
		t.Errorf("sleep past ctx's deadline: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("sleep returned after %v", d)
	}
	if err := sleep(ctx, 0); err != context.DeadlineExceeded {
		t.Errorf("sleep(0) with ctx ended: %v, want ctx's error", err)
	}
	if err := sleep(context.Background(), -time.Second); err != nil {
		t.Errorf("sleep(<0): %v", err)
	}
}

// An operation runOp runs maps its error once, there: a watch under its ctx
// that ctx's end cut records the cut on the operation, so that a client's
// own error made of the timeout (one that wraps nothing) matches ctx's
// error, with its message; an exchange that failed on its own, ctx live,
// comes back as it is.
func TestRunOpSeesWatchCut(t *testing.T) {
	retries := errors.New("request timeout (after 0 retries): max retries exceeded")
	body := func(c net.Conn) func(ctx context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			defer watchConn(ctx, c)()
			if _, err := c.Read(make([]byte, 1)); err != nil {
				return 0, retries
			}
			return 1, nil
		}
	}
	c1, c2 := net.Pipe()
	defer c2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := runOp(ctx, "Get", opAttached, body(c1))
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != retries.Error() || !errors.Is(err, retries) {
		t.Errorf("cut exchange: got %v (%T), want it matching context.DeadlineExceeded with its message", err, err)
	}

	c3, c4 := net.Pipe()
	c4.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	if _, err := runOp(ctx2, "Get", opAttached, body(c3)); err != retries {
		t.Errorf("no cut (the peer closed, ctx live): got %v, want the client's error as it is", err)
	}
}
