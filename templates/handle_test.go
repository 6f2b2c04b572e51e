package templates

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// dialOwner dials srv through shareConn for owner's group.
func dialOwner(t *testing.T, srv *fakeServer, owner any) net.Conn {
	t.Helper()
	nc, err := shareConn(context.Background(), owner, "tcp", srv.addr(), func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", srv.addr())
	})
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// roundTrip runs one get on h as a converted operation would (bound, its
// reply read whole through r, a reader over h from shareReader).
func roundTrip(ctx context.Context, h net.Conn, r *bufio.Reader, tok string) error {
	_, err := runOp(ctx, "get", opDetachable, func(ctx context.Context) (struct{}, error) {
		var err error
		defer bindConn(ctx, h, &err)()
		if _, err = fmt.Fprintf(h, "get %s 2\n", tok); err != nil {
			return struct{}{}, err
		}
		var line string
		if line, err = r.ReadString('\n'); err != nil {
			return struct{}{}, err
		}
		if line != "val "+tok+" 2\n" {
			err = fmt.Errorf("%w: %q for %s", errMismatch, line, tok)
			return struct{}{}, err
		}
		_, err = r.Discard(3)
		return struct{}{}, err
	})
	return err
}

// TestHandleSwitchMidExchange: a second handle joins the group while the
// first, alone and in pass-through, waits for a reply. The first handle
// finishes its exchange on the connection directly; the second's request
// reaches the server only after that (the connection's write side and the
// head of its reply queue are held for the first), and both then share the
// one physical connection, every reply to its own request.
func TestHandleSwitchMidExchange(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	c := &poolClient{addr: srv.addr(), maxIdle: 4}
	dials := shareDials.Load()
	srv.replyDelay.Store(int64(time.Second))
	first := make(chan error, 1)
	go func() {
		got, err := c.get(context.Background(), "first", 10)
		if err == nil && got != "first" {
			err = fmt.Errorf("got %q", got)
		}
		first <- err
	}()
	for srv.requests.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	// The first handle is in use (not in the free list): the second get
	// dials a handle that joins the group mid-exchange.
	second := make(chan error, 1)
	go func() {
		got, err := c.get(context.Background(), "second", 3)
		if err == nil && got != "second" {
			err = fmt.Errorf("got %q", got)
		}
		second <- err
	}()
	joined := func() bool {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		g := shared[shareKey{c, "tcp", srv.addr()}]
		return g != nil && g.handles == 2
	}
	for i := 0; !joined(); i++ {
		if i > 500 {
			t.Fatal("the second handle did not join the group")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // time for its request to go out, if it could
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d requests reached the server while the first handle's exchange was under way, want 1", n)
	}
	c.mu.Lock()
	if len(c.free) != 0 {
		t.Error("the first get ended before the second handle joined: nothing was tested")
	}
	c.mu.Unlock()
	srv.replyDelay.Store(0)
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	// Shared from now on: concurrent gets on the one connection.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				tok := fmt.Sprintf("s%d-%d", g, i)
				if got, err := c.get(context.Background(), tok, i); err != nil || got != tok {
					errs <- fmt.Errorf("%s: %q, %v", tok, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := shareDials.Load() - dials; n != 1 {
		t.Errorf("%d physical connections dialed, want 1", n)
	}
	if n := srv.connections.Load(); n != 1 {
		t.Errorf("the server accepted %d connections, want 1", n)
	}
	c.close()
	if n := sharedGroups(); n != 0 {
		t.Fatalf("%d share groups left", n)
	}
	srv.close()
}

// TestHandleClosed: Read, Write and the deadlines of a closed handle fail
// as a closed net.Conn's do (net.ErrClosed in a *net.OpError), and a second
// Close is safe, in pass-through and on a shared connection.
func TestHandleClosed(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	owner := new(int)
	a := dialOwner(t, srv, owner)
	if err := roundTrip(t.Context(), a, shareReader(a, 0), "solo"); err != nil {
		t.Fatal(err)
	}
	b := dialOwner(t, srv, owner) // a was idle: both now share a's connection
	if a.(*pipeConn).raw != nil || b.(*pipeConn).raw != nil {
		t.Fatal("two handles of a group, still in pass-through")
	}
	plain := dialOwner(t, srv, nil) // alone for good
	for _, tc := range []struct {
		name string
		c    net.Conn
	}{{"shared", a}, {"pass-through", plain}} {
		if err := tc.c.Close(); err != nil {
			t.Fatalf("%s: Close: %v", tc.name, err)
		}
		_, rerr := tc.c.Read(make([]byte, 1))
		_, werr := tc.c.Write([]byte("get x 1\n"))
		for what, err := range map[string]error{
			"Read":             rerr,
			"Write":            werr,
			"SetDeadline":      tc.c.SetDeadline(time.Now()),
			"SetReadDeadline":  tc.c.SetReadDeadline(time.Now()),
			"SetWriteDeadline": tc.c.SetWriteDeadline(time.Now()),
			"second Close":     tc.c.Close(),
		} {
			var oe *net.OpError
			if !errors.As(err, &oe) || !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: %s after Close: %v (%T), want net.ErrClosed in a *net.OpError", tc.name, what, err, err)
			}
		}
	}
	// The other handle of the shared group is unaffected.
	if err := roundTrip(t.Context(), b, shareReader(b, 0), "after"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if n := sharedGroups(); n != 0 {
		t.Fatalf("%d share groups left", n)
	}
	srv.close()
}

// bareConn is a test fake that implements only what a client calls: any
// other method of net.Conn panics (its embedded net.Conn is nil).
type bareConn struct {
	net.Conn
	c net.Conn
}

func (b *bareConn) Read(p []byte) (int, error)  { return b.c.Read(p) }
func (b *bareConn) Write(p []byte) (int, error) { return b.c.Write(p) }
func (b *bareConn) Close() error                { return b.c.Close() }

// TestHandleTouchesOnlyWhatTheClientDoes: a dial that returns a fake
// implementing only Read, Write and Close (LocalAddr, RemoteAddr and the
// deadlines would panic) works through shareConn, alone and shared: the
// runtime calls nothing on a connection the client did not.
func TestHandleTouchesOnlyWhatTheClientDoes(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	dial := func(ctx context.Context) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", srv.addr())
		if err != nil {
			return nil, err
		}
		return &bareConn{c: c}, nil
	}
	owner := new(int)
	var hs []net.Conn
	for i := 0; i < 3; i++ {
		h, err := shareConn(t.Context(), owner, "tcp", srv.addr(), dial)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		// Alone (i == 0), then shared.
		_, err = runOp(t.Context(), "get", opDetachable, func(ctx context.Context) (string, error) {
			var err error
			defer bindConn(ctx, h, &err)()
			r := shareReader(h, 0)
			tok := fmt.Sprintf("bare%d", i)
			if _, err = fmt.Fprintf(h, "get %s 2\n", tok); err != nil {
				return "", err
			}
			var line string
			if line, err = r.ReadString('\n'); err != nil {
				return "", err
			}
			if line != "val "+tok+" 2\n" {
				err = fmt.Errorf("%q", line)
				return "", err
			}
			_, err = r.Discard(3)
			return "", err
		})
		if err != nil {
			t.Fatalf("handle %d: %v", i, err)
		}
	}
	for _, h := range hs {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	}
	if n := srv.connections.Load(); n != 1 {
		t.Errorf("the server accepted %d connections, want 1", n)
	}
	srv.close()
}

// TestHandleWriteOnly: messages written with no reply expected, outside
// any function that bound the handle (log/syslog's shape: a Write through
// an interface that takes no ctx), reach the server at once, from a handle
// alone, then from two sharing a connection, the first of which joined
// while the other's message was its last exchange.
func TestHandleWriteOnly(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	owner := new(int)
	a := dialOwner(t, srv, owner)
	waitSeen := func(tok string) {
		t.Helper()
		for i := 0; !srv.saw(tok); i++ {
			if i > 500 {
				t.Fatalf("%s has not reached the server after 5 s", tok)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, err := fmt.Fprintf(a, "nop alone\n"); err != nil {
		t.Fatal(err)
	}
	waitSeen("alone")
	b := dialOwner(t, srv, owner)
	if a.(*pipeConn).raw != nil {
		t.Fatal("a handle whose last exchange was a message without reply is still in pass-through after a second joined")
	}
	for i := 0; i < 3; i++ {
		for j, h := range []net.Conn{b, a} {
			tok := fmt.Sprintf("shared%d-%d", j, i)
			_, err := runOp(t.Context(), "info", opDetachable, func(ctx context.Context) (struct{}, error) {
				_, err := fmt.Fprintf(h, "nop %s\n", tok)
				return struct{}{}, err
			})
			if err != nil {
				t.Fatal(err)
			}
			waitSeen(tok)
		}
	}
	a.Close()
	b.Close()
	if n := srv.connections.Load(); n != 1 {
		t.Errorf("the server accepted %d connections, want 1", n)
	}
	srv.close()
}

// TestSharedConnStuckError: requests lost with a stuck shared connection
// keep a network error reachable: errors.As finds a *net.OpError (a read
// that timed out: no socket deadline fires on a shared connection, the
// runtime's stuck limit does), Timeout() is true, and errors.Is matches
// ErrMaybeExecuted and os.ErrDeadlineExceeded.
func TestSharedConnStuckError(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	srv.mute.Store(true)
	owner := new(int)
	a := dialOwner(t, srv, owner)
	b := dialOwner(t, srv, owner)
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for i, h := range []net.Conn{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The stuck limit of the exchange at the head of the queue.
			h.SetReadDeadline(time.Now().Add(time.Second))
			if i == 1 { // in flight behind the first
				for srv.requests.Load() < 1 {
					time.Sleep(time.Millisecond)
				}
			}
			fmt.Fprintf(h, "get stuck%d 1\n", i)
			_, err := h.Read(make([]byte, 8))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		var oe *net.OpError
		if !errors.As(err, &oe) {
			t.Fatalf("%v (%T): errors.As finds no *net.OpError", err, err)
		}
		if oe.Op != "read" || oe.Err != os.ErrDeadlineExceeded || !oe.Timeout() {
			t.Errorf("%v: the *net.OpError is %#v, want a read timing out", err, oe)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%v: no net.Error whose Timeout() is true", err)
		}
		if !errors.Is(err, ErrMaybeExecuted) || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, errStuck) {
			t.Errorf("%v: errors.Is ErrMaybeExecuted %v, os.ErrDeadlineExceeded %v, errStuck %v", err,
				errors.Is(err, ErrMaybeExecuted), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, errStuck))
		}
		if !strings.Contains(err.Error(), "stuck") {
			t.Errorf("%q does not say the connection was stuck", err)
		}
	}
	a.Close()
	b.Close()
	srv.close()
}

// TestHandleSoloCancel: in pass-through, the end of the ctx of an attached
// operation interrupts a blocked read on the connection (as the watch of a
// plain connection does), the caller gets ctx's error, and the connection,
// cut mid-exchange, is closed.
func TestHandleSoloCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	srv.mute.Store(true)
	h := dialOwner(t, srv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := runOp(ctx, "get", opAttached, func(ctx context.Context) (struct{}, error) {
		var err error
		defer bindConn(ctx, h, &err)()
		if _, err = fmt.Fprintf(h, "get never 1\n"); err != nil {
			return struct{}{}, err
		}
		_, err = h.Read(make([]byte, 8))
		return struct{}{}, err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want context.DeadlineExceeded", err)
	}
	if _, err := h.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("a read after the cut: %v, want net.ErrClosed", err)
	}
	if _, err := io.WriteString(h, "get more 1\n"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("a write after the cut: %v, want net.ErrClosed", err)
	}
	h.Close()
	srv.close()
}
