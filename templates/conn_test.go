package templates

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// poolClient is a sync client written like gomemcache, as the converter
// leaves it: a free list of connections, each wrapped in its own
// bufio.Reader (shareReader) and bufio.Writer; a dial that became
// shareConn; a bind where a function takes a connection.
type poolClient struct {
	addr    string
	maxIdle int

	mu   sync.Mutex
	free []*poolConn
}

type poolConn struct {
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

func (c *poolClient) conn(ctx context.Context) (*poolConn, error) {
	c.mu.Lock()
	if n := len(c.free); n > 0 {
		cn := c.free[n-1]
		c.free = c.free[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	nc, err := shareConn(ctx, c, "tcp", c.addr, func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", c.addr)
	})
	if err != nil {
		return nil, err
	}
	return &poolConn{nc: nc, r: shareReader(nc, 0), w: bufio.NewWriter(nc)}, nil
}

// condRelease is gomemcache's: a connection that failed is closed, others go
// back to the free list, which closes what does not fit.
func (c *poolClient) condRelease(cn *poolConn, err *error) {
	if *err != nil {
		cn.nc.Close()
		return
	}
	c.mu.Lock()
	if len(c.free) >= c.maxIdle {
		c.mu.Unlock()
		cn.nc.Close()
		return
	}
	c.free = append(c.free, cn)
	c.mu.Unlock()
}

func (c *poolClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cn := range c.free {
		cn.nc.Close()
	}
	c.free = nil
}

func (c *poolClient) get(ctx context.Context, token string, size int) (string, error) {
	return runOp(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
		return c.getBody(ctx, token, size)
	})
}

func (c *poolClient) getBody(ctx context.Context, token string, size int) (val string, err error) {
	cn, err := c.conn(ctx)
	if err != nil {
		return "", err
	}
	defer c.condRelease(cn, &err)
	defer bindConn(ctx, cn.nc, &err)()
	fmt.Fprintf(cn.w, "get %s %d\n", token, size)
	if err := cn.w.Flush(); err != nil {
		return "", err
	}
	line, err := cn.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	var tok string
	var n int
	if _, err := fmt.Sscanf(line, "val %s %d\n", &tok, &n); err != nil {
		return "", fmt.Errorf("bad reply %q: %v", line, err)
	}
	if tok != token || n != size {
		return "", fmt.Errorf("%w: got %s %d, want %s %d", errMismatch, tok, n, token, size)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(cn.r, buf); err != nil {
		return "", err
	}
	if string(buf) != strings.Repeat("x", n)+"\n" {
		return "", fmt.Errorf("%w: bad value for %s", errMismatch, token)
	}
	return tok, nil
}

// twoRounds writes after reading: exclusive.
func (c *poolClient) twoRounds(ctx context.Context, a, b string) error {
	_, err := runOp(ctx, "twoRounds", opExclusive, func(ctx context.Context) (struct{}, error) {
		for _, tok := range []string{a, b} {
			if _, err := c.getBody(ctx, tok, 3); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	return err
}

func sharedGroups() int {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	return len(shared)
}

func TestSharedConnNoCrossTalk(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	c := &poolClient{addr: srv.addr(), maxIdle: 2}
	dials := shareDials.Load()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(g)))
			for i := 0; i < 100; i++ {
				size := rnd.Intn(64)
				if i%17 == 0 {
					size = 20000 + rnd.Intn(5000) // beyond the shared buffer
				}
				tok := fmt.Sprintf("g%d-%d", g, i)
				ctx, cancel := context.WithCancel(context.Background())
				if rnd.Intn(3) == 0 {
					time.AfterFunc(time.Duration(rnd.Intn(200))*time.Microsecond, cancel)
				}
				got, err := c.get(ctx, tok, size)
				cancel()
				if err != nil && !errors.Is(err, context.Canceled) || err == nil && got != tok {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %q, %v", tok, got, err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs[:min(len(errs), 5)] {
		t.Error(err)
	}
	// The client keeps working.
	if got, err := c.get(context.Background(), "after", 5); err != nil || got != "after" {
		t.Fatalf("after: %q, %v", got, err)
	}
	if err := c.twoRounds(t.Context(), "x1", "x2"); err != nil {
		t.Fatal(err)
	}
	if n := shareDials.Load() - dials; n < 1 || n > 3 {
		t.Errorf("%d physical connections dialed, want 1 to 3", n)
	}
	// Detached bodies may still be finishing.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.close()
		if sharedGroups() == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := sharedGroups(); n != 0 {
		t.Fatalf("%d share groups left after every handle closed", n)
	}
	srv.close()
}

func TestSharedConnCloseMidExchange(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	c := &poolClient{addr: srv.addr(), maxIdle: 4}
	ctx := context.Background()
	a, err := c.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// a commits a request and reads part of its reply; b's request is in
	// flight behind it. Closing a mid-exchange must close the physical
	// connection (b's request may or may not have run) rather than hand
	// the rest of a's reply to b.
	fmt.Fprintf(a.w, "get half 10\n")
	a.w.Flush()
	if _, err := a.r.ReadByte(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(b.w, "get b 1\n")
	b.w.Flush()
	bErr := make(chan error, 1)
	go func() {
		_, err := b.r.ReadString('\n')
		bErr <- err
	}()
	for srv.requests.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	a.nc.Close()
	if err := <-bErr; !errors.Is(err, ErrMaybeExecuted) {
		t.Fatalf("b's read after a closed mid-exchange: %v, want ErrMaybeExecuted", err)
	}
	b.nc.Close()
	// A new handle dials again.
	if got, err := c.get(ctx, "again", 2); err != nil || got != "again" {
		t.Fatalf("again: %q, %v", got, err)
	}
	c.close()
	if n := sharedGroups(); n != 0 {
		t.Fatalf("%d share groups left", n)
	}
	srv.close()
}

func TestPipeliningOff(t *testing.T) {
	defer goleak.VerifyNone(t)
	AsyncifyPipelining = false
	defer func() { AsyncifyPipelining = true }()
	srv := newFakeServer(t)
	c := &poolClient{addr: srv.addr(), maxIdle: 2}
	if got, err := c.get(t.Context(), "plain", 3); err != nil || got != "plain" {
		t.Fatalf("%q, %v", got, err)
	}
	c.mu.Lock()
	_, isHandle := c.free[0].nc.(*pipeConn)
	c.mu.Unlock()
	if isHandle {
		t.Fatal("AsyncifyPipelining=false still gave a handle")
	}
	c.close()
	srv.close()
}

// TestSharedConnWriteAfterRead: a pipelined operation that writes again
// after reading (two rounds on one handle) gets two exchanges, each its own
// reply, while other goroutines share the connection.
func TestSharedConnWriteAfterRead(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	c := &poolClient{addr: srv.addr(), maxIdle: 4}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				_, err := runOp(context.Background(), "rounds", opDetachable, func(ctx context.Context) (struct{}, error) {
					cn, err := c.conn(ctx)
					if err != nil {
						return struct{}{}, err
					}
					defer c.condRelease(cn, &err)
					defer bindConn(ctx, cn.nc, &err)()
					for _, tok := range []string{fmt.Sprintf("a%d-%d", g, i), fmt.Sprintf("b%d-%d", g, i)} {
						fmt.Fprintf(cn.w, "get %s 3\n", tok)
						cn.w.Flush()
						line, err := cn.r.ReadString('\n')
						if err != nil {
							return struct{}{}, err
						}
						if want := "val " + tok + " 3\n"; line != want {
							return struct{}{}, fmt.Errorf("%w: %q, want %q", errMismatch, line, want)
						}
						if _, err := cn.r.Discard(4); err != nil {
							return struct{}{}, err
						}
					}
					return struct{}{}, nil
				})
				if err != nil {
					errs <- err
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
	c.close()
	srv.close()
}

// TestShareOwners: handles dialed by a function (owner nil, a package-level
// Dial) each get a physical connection of their own; handles of one owner
// (a receiver, or a share rule's function name) share one.
func TestShareOwners(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	accepted := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.conns)
	}
	dial := func(owner any) net.Conn {
		t.Helper()
		nc, err := shareConn(context.Background(), owner, "tcp", srv.addr(), func(ctx context.Context) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", srv.addr())
		})
		if err != nil {
			t.Fatal(err)
		}
		return nc
	}
	waitAccepted := func(want int) {
		t.Helper()
		for i := 0; accepted() != want && i < 200; i++ {
			time.Sleep(5 * time.Millisecond)
		}
		if got := accepted(); got != want {
			t.Fatalf("server accepted %d connections, want %d", got, want)
		}
	}
	for _, tc := range []struct {
		owner any
		want  int
	}{{nil, 3}, {"Dial", 1}, {new(int), 1}} {
		before, acc := shareDials.Load(), accepted()
		var hs []net.Conn
		for i := 0; i < 3; i++ {
			hs = append(hs, dial(tc.owner))
		}
		if d := shareDials.Load() - before; d != int64(tc.want) {
			t.Errorf("owner %v: %d physical connections for 3 dials, want %d", tc.owner, d, tc.want)
		}
		waitAccepted(acc + tc.want)
		// Unshared handles work side by side, each on its own connection
		// (outside an operation, a shared handle's exchange would end only
		// at its next request or Close).
		for i, h := range hs {
			if tc.owner != nil {
				break
			}
			tok := fmt.Sprintf("own%d", i)
			if _, err := fmt.Fprintf(h, "get %s 0\n", tok); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(h).ReadString('\n')
			if err != nil || !strings.Contains(line, tok) {
				t.Fatalf("owner %v, handle %d: %q, %v", tc.owner, i, line, err)
			}
		}
		for _, h := range hs {
			h.Close()
		}
	}
	sharedMu.Lock()
	n := len(shared)
	sharedMu.Unlock()
	if n != 0 {
		t.Errorf("%d share groups left after every handle closed", n)
	}
	srv.close()
}

// TestSharedConnEndedCtx: a dial with an ended ctx fails, as
// net.Dialer.DialContext does, even while a shared connection to the
// address is open for the same owner, and leaves the share group as it
// was.
func TestSharedConnEndedCtx(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	dial := func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", srv.addr())
	}
	owner := new(int)
	nc, err := shareConn(t.Context(), owner, "tcp", srv.addr(), dial)
	if err != nil {
		t.Fatal(err)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if h, err := shareConn(ended, owner, "tcp", srv.addr(), dial); !errors.Is(err, context.Canceled) {
		if h != nil {
			h.Close()
		}
		t.Errorf("shareConn with an ended ctx beside an open connection: %v, want context.Canceled", err)
	}
	nc.Close()
	if n := sharedGroups(); n != 0 {
		t.Errorf("%d share groups left", n)
	}
	srv.close()
}

// TestSharedConnCloseDuringRead: the client closes a connection while
// another goroutine (an operation's body its caller left) is blocked
// reading on it. The read fails, the handle's exchange ends on that
// goroutine, not under Close (go test -race saw Close touch the stream the
// read was using), and nothing leaks.
func TestSharedConnCloseDuringRead(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	srv.mute.Store(true)
	c := &poolClient{addr: srv.addr(), maxIdle: 4}
	cn, err := c.conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(cn.w, "get never 1\n")
	if err := cn.w.Flush(); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := cn.r.ReadString('\n')
		readErr <- err
	}()
	for srv.requests.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // let the read block on the connection
	if err := cn.nc.Close(); err != nil {
		t.Fatalf("Close during a read: %v", err)
	}
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("the read on a closed handle returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read on a handle closed under it is still blocked after 5 s")
	}
	if _, err := cn.nc.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a read after Close: %v, want net.ErrClosed", err)
	}
	srv.mute.Store(false)
	if got, err := c.get(context.Background(), "after", 2); err != nil || got != "after" {
		t.Fatalf("a new connection after the close: %q, %v", got, err)
	}
	c.close()
	if n := sharedGroups(); n != 0 {
		t.Fatalf("%d share groups left", n)
	}
	srv.close()
}
