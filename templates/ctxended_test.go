package templates

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// connectTimeout is a client's own error built from a timeout, like
// gomemcache's *ConnectTimeoutError: no Unwrap, no Timeout method.
type connectTimeout struct{ addr string }

func (e *connectTimeout) Error() string { return "client: connect timeout to " + e.addr }

// timeoutType is a client's own timeout that says so (a net.Error).
type timeoutType struct{}

func (timeoutType) Error() string   { return "client: timed out" }
func (timeoutType) Timeout() bool   { return true }
func (timeoutType) Temporary() bool { return true }

var errMiss = errors.New("client: cache miss")

// noDoneCtx has a deadline but no Done channel: the deadline has passed
// before ctx's own timer said so.
type noDoneCtx struct{ context.Context }

func (noDoneCtx) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

func TestCtxEnded(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	opErr := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	closedErr := &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}
	cte := &connectTimeout{"127.0.0.1:1"}

	type want struct {
		same    bool  // the very error passed
		exactly error // == this error
		is      error // errors.Is(got, is)
		as      bool  // errors.As finds *connectTimeout
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		cut  bool
		want want
	}{
		{"nil", cancelled, nil, true, want{exactly: nil}},
		{"ctx live, client timeout", live, cte, true, want{same: true}},
		{"ctx live, i/o timeout", live, opErr, false, want{same: true}},
		{"already ctx's error", cancelled, context.Canceled, true, want{exactly: context.Canceled}},
		{"ctx's error wrapped", expired, new(pipeline).lost(context.DeadlineExceeded), false, want{same: true}},
		{"server's sentinel, not cut", cancelled, errMiss, false, want{exactly: errMiss}},
		{"server's sentinel, wrapped, not cut", expired, &os.PathError{Op: "x", Err: errMiss}, false, want{same: true}},
		{"EOF, not cut", cancelled, io.EOF, false, want{exactly: io.EOF}},
		{"unexpected EOF, not cut", expired, io.ErrUnexpectedEOF, false, want{exactly: io.ErrUnexpectedEOF}},
		{"i/o timeout", cancelled, opErr, false, want{exactly: context.Canceled}},
		{"closed connection", expired, closedErr, false, want{exactly: context.DeadlineExceeded}},
		{"os.ErrDeadlineExceeded itself", expired, os.ErrDeadlineExceeded, false, want{exactly: context.DeadlineExceeded}},
		{"client type from a cut-off wait", expired, cte, true, want{is: context.DeadlineExceeded, as: true}},
		{"client type, deadline before ctx's timer", noDoneCtx{live}, cte, true, want{is: context.DeadlineExceeded, as: true}},
		{"client type, not cut: cannot tell", expired, cte, false, want{same: true}},
		{"client timeout type, not cut", cancelled, timeoutType{}, false, want{is: context.Canceled}},
		{"maybe executed after a close", cancelled, new(pipeline).lost(net.ErrClosed), false, want{is: ErrMaybeExecuted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ctxEnded(tc.ctx, tc.err, tc.cut)
			switch {
			case tc.want.same:
				if got != tc.err {
					t.Fatalf("got %#v, want the error itself %#v", got, tc.err)
				}
				return
			case tc.want.is == nil:
				if got != tc.want.exactly {
					t.Fatalf("got %#v, want exactly %#v", got, tc.want.exactly)
				}
				return
			}
			if !errors.Is(got, tc.want.is) {
				t.Errorf("errors.Is(%v, %v) = false", got, tc.want.is)
			}
			if cerr := ctxError(tc.ctx); !errors.Is(got, cerr) {
				t.Errorf("errors.Is(%v, ctx's %v) = false", got, cerr)
			}
			if got.Error() != tc.err.Error() {
				t.Errorf("message %q, want upstream's %q", got, tc.err)
			}
			var c *connectTimeout
			if errors.As(got, &c) != tc.want.as || (tc.want.as && c != tc.err) {
				t.Errorf("errors.As(*connectTimeout) = %v (%p), want %v", c != nil, c, tc.want.as)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("errors.Is(got, upstream's error) = false")
			}
			if again := ctxEnded(tc.ctx, got, tc.cut); again != got {
				t.Errorf("not idempotent: %#v then %#v", got, again)
			}
		})
	}
}

// blackhole returns a loopback address whose dials hang: a listener with
// a backlog of 0 that never accepts, its queue filled.
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", itoa(sa.(*syscall.SockaddrInet4).Port))
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
		if i > 16 {
			if os.Getenv("CI") == "true" {
				t.Fatal("CI=true but dials to a full accept queue do not hang here: the dial-deadline tests cannot run")
			}
			t.Skip("dials to a full accept queue do not hang here")
		}
	}
	return addr
}

func itoa(n int) string {
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// mcClient is gomemcache's shape: a dial through shareConn under the
// client's own connect timeout, whose timeout the client turns into an
// error of its own that does not wrap it.
type mcClient struct{ addr string }

func (c *mcClient) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	nc, err := shareConn(ctx, c, "tcp", c.addr, func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", c.addr)
	})
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return nil, &connectTimeout{c.addr}
	}
	return nc, err
}

func (c *mcClient) pingContext(ctx context.Context, mode opMode) error {
	_, err := runOp(ctx, "ping", mode, func(ctx context.Context) (struct{}, error) {
		nc, err := c.dial(ctx)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, nc.Close()
	})
	return err
}

// TestCtxEndedDial: a dial that the caller's deadline ends, turned by the
// client into its own error: the caller's error matches
// context.DeadlineExceeded and errors.As still finds the client's type,
// on every path (inline, detached and awaited after it resolved, waiting
// for another caller's dial).
func TestCtxEndedDial(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := &mcClient{addr: blackhole(t)}
	check := func(what string, err error, wantAs bool) {
		t.Helper()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v (%T) does not match context.DeadlineExceeded", what, err, err)
		}
		var cte *connectTimeout
		if wantAs && !errors.As(err, &cte) {
			t.Errorf("%s: %v (%T): errors.As finds no *connectTimeout", what, err, err)
		}
	}
	// Inline (attached): the dial runs under the caller's ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	err := c.pingContext(ctx, opAttached)
	cancel()
	check("attached", err, true)

	// Detached: the first caller dials (its body goes on, bounded by the
	// client's connect timeout); the second waits for that dial, its
	// deadline ends the wait, and the client makes its own error of it.
	first, cancel1 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel1()
	if err := c.pingContext(first, opDetachable); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("first caller: %v", err)
	}
	second, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	f := startOp(second, "ping", opDetachable, func(ctx context.Context) (struct{}, error) {
		_, err := c.dial(ctx)
		return struct{}{}, err
	})
	<-f.Done()
	if f.err == nil {
		t.Fatal("the dial did not fail")
	}
	if _, ok := f.err.(*connectTimeout); !ok {
		t.Fatalf("the body returned %v (%T), want the client's *connectTimeout", f.err, f.err)
	}
	_, err = f.Await(second)
	check("awaited after it resolved", err, true)
	if err.Error() != f.err.Error() {
		t.Errorf("message %q, want the client's %q", err, f.err)
	}
	// The client's own timeout, with ctx live, is left as it is.
	if _, err := f.Await(context.Background()); err != f.err {
		t.Errorf("ctx live: %v, want the client's error itself", err)
	}
	time.Sleep(1100 * time.Millisecond) // the first body's dial gives up
}

// TestCtxEndedServerReply: a reply that arrived before the caller's ctx
// ended comes back as the client made it, even when ctx has ended by the
// time the caller looks: err == errMiss.
func TestCtxEndedServerReply(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, mode := range []opMode{opDetachable, opAttached} {
		_, err := runOp(ctx, "get", mode, func(ctx context.Context) (struct{}, error) {
			cancel() // the reply was read; ctx ends as the body returns
			return struct{}{}, errMiss
		})
		if err != errMiss && !(mode == opDetachable && err == context.Canceled) {
			t.Errorf("mode %d: %v, want errMiss itself", mode, err)
		}
	}
	f := startOp(context.Background(), "get", opDetachable, func(ctx context.Context) (struct{}, error) { return struct{}{}, errMiss })
	<-f.Done()
	if _, err := f.Await(ctx); err != errMiss {
		t.Errorf("Await after the result with ctx ended: %v, want errMiss itself", err)
	}
}
