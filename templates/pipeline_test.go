package templates

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestSequential(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			srv := newFakeServer(t)
			pl := newPipeline(dialRWC(t, srv.addr(), plain), pipelineConfig{})
			for i := 0; i < 100; i++ {
				tok := fmt.Sprint("t", i)
				got, err := get(context.Background(), pl, tok, i*100)
				if err != nil || got != tok {
					t.Fatalf("get %s = %q, %v", tok, got, err)
				}
			}
			pl.close()
			srv.close()
		})
	}
}

func TestConcurrent(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{MaxInFlight: 16})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i := 0; i < 200; i++ {
				tok := fmt.Sprintf("g%d-%d", g, i)
				if got, err := get(ctx, pl, tok, (g*i)%5000); err != nil || got != tok {
					errs <- fmt.Errorf("get %s = %q, %v", tok, got, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	pl.close()
	srv.close()
}

func TestNoReplyExchanges(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	nop := func(ctx context.Context, tok string) error {
		_, err := runOp(ctx, "nop", opDetachable, func(ctx context.Context) (struct{}, error) {
			s := pl.begin(ctx)
			defer s.release()
			s.writeString(ctx, "nop "+tok+"\n")
			return struct{}{}, s.flush(ctx)
		})
		return err
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				tok := fmt.Sprintf("g%d-%d", g, i)
				if i%3 == 0 {
					if err := nop(context.Background(), tok); err != nil {
						t.Error(err)
					}
					continue
				}
				if got, err := get(context.Background(), pl, tok, 10); err != nil || got != tok {
					t.Errorf("get %s = %q, %v", tok, got, err)
				}
			}
		}(g)
	}
	wg.Wait()
	pl.close()
	srv.close()
}

func TestWriteAfterCommitFailsFast(t *testing.T) {
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	defer pl.close()
	ctx := context.Background()
	_, err := runOp(ctx, "bad", opDetachable, func(ctx context.Context) (string, error) {
		s := pl.begin(ctx)
		defer s.release()
		s.writeString(ctx, "get a 1\n")
		if err := s.flush(ctx); err != nil {
			return "", err
		}
		if _, err := readVal(ctx, s, "a"); err != nil {
			return "", err
		}
		_, err := s.writeString(ctx, "get b 1\n")
		return "", err
	})
	if !errors.Is(err, errNotPipelinable) {
		t.Fatalf("write after read: %v, want errNotPipelinable", err)
	}
	// The exclusive form of the same operation works.
	pl2 := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	defer pl2.close()
	got, err := runOp(ctx, "twice", opAttached, func(ctx context.Context) (string, error) {
		s := pl2.beginExclusive(ctx)
		defer s.release()
		for _, tok := range []string{"a", "b"} {
			s.writeString(ctx, "get "+tok+" 3\n")
			if err := s.flush(ctx); err != nil {
				return "", err
			}
			if _, err := readVal(ctx, s, tok); err != nil {
				return "", err
			}
		}
		return "ok", nil
	})
	if err != nil || got != "ok" {
		t.Fatalf("exclusive write after read: %q, %v", got, err)
	}
}

// A body that returns without ending its stream must not stall the others.
func TestForgottenRelease(t *testing.T) {
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	defer pl.close()
	ctx := context.Background()
	// Uncommitted: dropped.
	runOp(ctx, "forget", opDetachable, func(ctx context.Context) (int, error) {
		return pl.begin(ctx).writeString(ctx, "get never 1\n")
	})
	within(t, 2*time.Second, "get after a forgotten uncommitted stream", func() {
		if got, err := get(ctx, pl, "x", 1); err != nil || got != "x" {
			t.Errorf("get = %q, %v", got, err)
		}
	})
	if srv.saw("never") {
		t.Error("an uncommitted request reached the server")
	}
	// Committed, reply unread, body failed: connection closed, not stalled.
	runOp(ctx, "forget", opDetachable, func(ctx context.Context) (int, error) {
		s := pl.begin(ctx)
		s.writeString(ctx, "get y 1\n")
		return 0, errors.Join(s.flush(ctx), errors.New("client gave up"))
	})
	within(t, 2*time.Second, "get after a forgotten committed stream", func() {
		if _, err := get(ctx, pl, "z", 1); err == nil {
			t.Error("get on a connection left out of sync succeeded")
		}
	})
}

func TestDropUnsent(t *testing.T) {
	srv := newFakeServer(t)
	srv.replyDelay.Store(int64(300 * time.Millisecond))
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{MaxInFlight: 1})
	defer pl.close()
	first := startOp(context.Background(), "get", opDetachable, func(ctx context.Context) (string, error) {
		return getBody(ctx, pl.begin(ctx), "first", 1)
	})
	for len(pl.slots) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	second := startOp(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
		return getBody(ctx, pl.begin(ctx), "second", 1)
	})
	cancel()
	if _, err := second.Await(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("second: %v, want context.Canceled", err)
	}
	if got, err := first.Await(context.Background()); err != nil || got != "first" {
		t.Fatalf("first: %q, %v", got, err)
	}
	if got, err := get(context.Background(), pl, "third", 1); err != nil || got != "third" {
		t.Fatalf("third: %q, %v", got, err)
	}
	if srv.saw("second") {
		t.Error("a request cancelled before its commit reached the server")
	}
}

// The caller leaves; the body reads its reply; the connection stays in sync
// and open.
func TestCancelledCallerReplyDrained(t *testing.T) {
	srv := newFakeServer(t)
	srv.replyDelay.Store(int64(50 * time.Millisecond))
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	defer pl.close()
	ctx, cancel := context.WithCancel(context.Background())
	f := startOp(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
		return getBody(ctx, pl.begin(ctx), "left", 10)
	})
	for !srv.saw("left") {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if _, err := f.Await(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await: %v", err)
	}
	srv.replyDelay.Store(0)
	if got, err := get(context.Background(), pl, "next", 3); err != nil || got != "next" {
		t.Fatalf("next: %q, %v", got, err)
	}
	if got, err := f.Await(context.Background()); err != nil || got != "left" {
		t.Fatalf("abandoned body: %q, %v", got, err)
	}
	if err := pl.failure(); err != nil {
		t.Fatalf("connection closed by a cancel: %v", err)
	}
}

func TestExclusiveDeadlines(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, plain := range []bool{false, true} {
		srv := newFakeServer(t)
		srv.stall.Store(true)
		pl := newPipeline(dialRWC(t, srv.addr(), plain), pipelineConfig{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		within(t, 2*time.Second, "exclusive exchange past ctx's deadline", func() {
			_, err := runOp(ctx, "get", opAttached, func(ctx context.Context) (string, error) {
				return getBody(ctx, pl.beginExclusive(ctx), "a", 1)
			})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("plain=%v: %v, want DeadlineExceeded", plain, err)
			}
		})
		cancel()
		if pl.failure() == nil {
			t.Errorf("plain=%v: a connection cut off mid-exchange was kept", plain)
		}
		pl.close()
		srv.close()
	}
	// The client's own deadline, earlier than ctx's, wins.
	srv := newFakeServer(t)
	srv.stall.Store(true)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	within(t, 2*time.Second, "exclusive exchange past the client's deadline", func() {
		_, err := runOp(ctx, "get", opAttached, func(ctx context.Context) (string, error) {
			s := pl.beginExclusive(ctx)
			s.setDeadline(time.Now().Add(50 * time.Millisecond))
			return getBody(ctx, s, "a", 1)
		})
		if err == nil || errors.Is(err, context.DeadlineExceeded) || !isTimeout(err) {
			t.Errorf("%v, want the connection's timeout error", err)
		}
	})
	pl.close()
	srv.close()
}

func TestServerWaitRaisesStuckLimit(t *testing.T) {
	srv := newFakeServer(t)
	srv.replyDelay.Store(int64(300 * time.Millisecond))
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{StuckAfter: 20 * time.Millisecond})
	defer pl.close()
	got, err := runOp(context.Background(), "reserve", opDetachable, func(ctx context.Context) (string, error) {
		s := pl.begin(ctx)
		s.expectServerWait(10 * time.Second)
		return getBody(ctx, s, "r", 1)
	})
	if err != nil || got != "r" {
		t.Fatalf("reserve = %q, %v", got, err)
	}
}

func TestPool(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	p := newPool(poolConfig{
		Dial: func(ctx context.Context, addr net.Addr) (io.ReadWriteCloser, error) {
			var d net.Dialer
			return d.DialContext(ctx, addr.Network(), addr.String())
		},
		ConnsPerAddr: 2,
		Pipeline:     pipelineConfig{MaxInFlight: 4},
	})
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				tok := fmt.Sprintf("g%d-%d", g, i)
				got, err := runOp(context.Background(), "get", opDetachable, func(ctx context.Context) (string, error) {
					s, err := p.begin(ctx, srv.ln.Addr())
					if err != nil {
						return "", err
					}
					return getBody(ctx, s, tok, 100)
				})
				if err != nil || got != tok {
					t.Errorf("get %s = %q, %v", tok, got, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if n := srv.connections.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	// Exclusive exchanges get a connection with nothing in flight.
	got, err := runOp(context.Background(), "x", opAttached, func(ctx context.Context) (string, error) {
		s, err := p.beginExclusive(ctx, srv.ln.Addr())
		if err != nil {
			return "", err
		}
		return getBody(ctx, s, "ex", 1)
	})
	if err != nil || got != "ex" {
		t.Fatalf("exclusive: %q, %v", got, err)
	}
	p.close()
	// Usable after close.
	got, err = runOp(context.Background(), "get", opDetachable, func(ctx context.Context) (string, error) {
		s, err := p.begin(ctx, srv.ln.Addr())
		if err != nil {
			return "", err
		}
		return getBody(ctx, s, "again", 1)
	})
	if err != nil || got != "again" {
		t.Fatalf("after close: %q, %v", got, err)
	}
	p.close()
	srv.close()
}

func TestSlowLog(t *testing.T) {
	if got := parseDebugSlow("x=1, slow=10ms"); got != 10*time.Millisecond {
		t.Errorf("parseDebugSlow = %v", got)
	}
	if got := parseDebugSlow("slow=bogus"); got != 0 {
		t.Errorf("parseDebugSlow(bogus) = %v", got)
	}
	old, oldLog := slowThreshold, logSlow
	defer func() { slowThreshold, logSlow = old, oldLog }()
	var mu sync.Mutex
	var logged []string
	logSlow = func(name string, d time.Duration) {
		mu.Lock()
		logged = append(logged, name)
		mu.Unlock()
	}
	slowThreshold = 20 * time.Millisecond
	runOp(context.Background(), "fast", opDetachable, func(ctx context.Context) (int, error) { return 0, nil })
	runOp(context.Background(), "slowOne", opDetachable, func(ctx context.Context) (int, error) {
		return 0, sleep(ctx, 30*time.Millisecond)
	})
	startOp(context.Background(), "slowAsync", opDetachable, func(ctx context.Context) (int, error) {
		return 0, sleep(ctx, 30*time.Millisecond)
	}).Await(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(logged, ",") != "slowOne,slowAsync" {
		t.Errorf("logged %v", logged)
	}
}

func TestFuture(t *testing.T) {
	f := newFuture[int]()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Await(ctx); err != context.Canceled {
		t.Fatalf("Await on a cancelled ctx: %v", err)
	}
	f.resolve(7, nil) // no one waits: must not block
	<-f.Done()
	if v, err := f.Await(ctx); v != 7 || err != nil {
		t.Fatalf("Await = %v, %v; a result already there wins over ctx", v, err)
	}
	if err := sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("sleep: %v", err)
	}
}

// The textproto.Pipeline shape (go-beanstalk): state read and changed between
// startWrite and the commit stays in wire order.
func TestTextprotoShape(t *testing.T) {
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), true), pipelineConfig{})
	defer pl.close()
	var state int // touched only while holding the write side
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				tok := fmt.Sprintf("p%d-%d", g, i)
				_, err := runOp(context.Background(), "cmd", opDetachable, func(ctx context.Context) (string, error) {
					s := pl.begin(ctx)
					defer s.release()
					if err := s.startWrite(ctx); err != nil {
						return "", err
					}
					state++
					if err := s.printfLine(ctx, "get %s %d", tok, state%7); err != nil {
						return "", err
					}
					if err := s.startRead(ctx); err != nil {
						return "", err
					}
					line, err := s.readTextLine(ctx)
					if err != nil {
						return "", err
					}
					if f := strings.Fields(line); len(f) != 3 || f[1] != tok {
						return "", fmt.Errorf("%w: %q for %s", errMismatch, line, tok)
					}
					_, err = s.readTextLine(ctx)
					return "", err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// A body that panics, recovered by its caller, must not leave its
// connection stalled.
func TestPanickingBody(t *testing.T) {
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	defer pl.close()
	func() {
		defer func() { recover() }()
		runOp(context.Background(), "panics", opDetachable, func(ctx context.Context) (int, error) {
			pl.begin(ctx).writeString(ctx, "get p 1\n")
			panic("client bug")
		})
	}()
	within(t, 2*time.Second, "get after a panicking body", func() {
		if got, err := get(context.Background(), pl, "after", 1); err != nil || got != "after" {
			t.Errorf("get = %q, %v", got, err)
		}
	})
}

// An attached operation is never abandoned: when its ctx ends mid-exchange
// its connection is closed, and the others in flight learn that their
// requests may or may not have run.
func TestAttachedCutOff(t *testing.T) {
	srv := newFakeServer(t)
	srv.mute.Store(true)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	defer pl.close()
	other := startOp(context.Background(), "get", opDetachable, func(ctx context.Context) (string, error) {
		return getBody(ctx, pl.begin(ctx), "other", 1)
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	within(t, 2*time.Second, "the attached operation", func() {
		_, err := runOp(ctx, "read", opAttached, func(ctx context.Context) (string, error) {
			return getBody(ctx, pl.begin(ctx), "attached", 1)
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("attached: %v, want context.Canceled", err)
		}
	})
	within(t, 2*time.Second, "the other operation", func() {
		if _, err := other.Await(context.Background()); !errors.Is(err, ErrMaybeExecuted) {
			t.Errorf("other: %v, want ErrMaybeExecuted", err)
		}
	})
}
