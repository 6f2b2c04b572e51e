package templates

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// splitGet is a get on pl as an XxxAsync on a shared connection starts it.
func splitGet(ctx context.Context, pl *pipeline, tok string) *Future[string] {
	return startSplit(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
		return getBody(ctx, pl.begin(ctx), tok, 1)
	})
}

// TestSplitCommitsBeforeReturn: 64 split gets from one goroutine each hold
// their place on the connection when startSplit returns (committed, in
// order), and each gets its own reply.
func TestSplitCommitsBeforeReturn(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	srv.stall.Store(true) // no reply until every request is issued
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	futures := make([]*Future[string], 64)
	for i := range futures {
		futures[i] = splitGet(context.Background(), pl, fmt.Sprint("c", i))
		if n := len(pl.slots); n != i+1 {
			t.Fatalf("after %d split gets, %d exchanges hold a place", i+1, n)
		}
	}
	pl.mu.Lock()
	queued := 0
	for s := pl.head; s != nil; s = s.next {
		queued++
	}
	pl.mu.Unlock()
	if queued != 64 {
		t.Errorf("%d exchanges committed, want 64", queued)
	}
	// Closing the connection resumes the parked bodies, though nobody
	// awaits them (f.done, not Done, which asks for a driver): each fails.
	pl.close()
	within(t, 2*time.Second, "parked gets on a closed connection", func() {
		for _, f := range futures {
			<-f.done
		}
	})
	srv.close()
	for i, f := range futures {
		if _, err := f.Await(context.Background()); err == nil {
			t.Errorf("get %d: no error from a closed connection", i)
		}
	}

	// A server that goes away while nobody waits: the first Await reads,
	// finds the connection closed, and every parked get fails.
	srv = newFakeServer(t)
	srv.stall.Store(true)
	pl = newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	for i := range futures {
		futures[i] = splitGet(context.Background(), pl, fmt.Sprint("d", i))
	}
	srv.close()
	for i, f := range futures {
		within(t, 2*time.Second, "a get on a closed server", func() {
			if _, err := f.Await(context.Background()); err == nil {
				t.Errorf("get %d: no error from a closed server", i)
			}
		})
	}
	pl.close()

	srv = newFakeServer(t)
	pl = newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	for round := 0; round < 3; round++ {
		for i := range futures {
			futures[i] = splitGet(context.Background(), pl, fmt.Sprint("r", round, "-", i))
		}
		// awaited last first: the driver reads them in order regardless
		for i := len(futures) - 1; i >= 0; i-- {
			v, err := futures[i].Await(context.Background())
			if want := fmt.Sprint("r", round, "-", i); err != nil || v != want {
				t.Fatalf("get %s: %q, %v", want, v, err)
			}
		}
	}
	pl.close()
	srv.close()
}

// TestSplitNeverAwaited: futures nobody awaits still complete (the driver
// reads their replies), the connection stays in sync, and no goroutine is
// left once they have.
func TestSplitNeverAwaited(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	var futures []*Future[string]
	for i := 0; i < 200; i++ {
		futures = append(futures, splitGet(context.Background(), pl, fmt.Sprint("n", i)))
	}
	within(t, 5*time.Second, "futures nobody awaits", func() {
		for _, f := range futures {
			<-f.Done()
		}
	})
	if v, err := get(context.Background(), pl, "after", 1); err != nil || v != "after" {
		t.Fatalf("get after: %q, %v", v, err)
	}
	pl.close()
	srv.close()
}

// TestSplitEscapes: a split operation that would block before its request
// is committed, or on a connection it does not share (pass-through), goes
// on on a goroutine of its own: startSplit returns at once.
func TestSplitEscapes(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	srv.replyDelay.Store(int64(300 * time.Millisecond))
	h := dialOwner(t, srv, t) // alone in its group: pass-through
	r := shareReader(h, 0)
	var f *Future[struct{}]
	within(t, 150*time.Millisecond, "startSplit on a pass-through handle", func() {
		f = startSplit(context.Background(), "get", opDetachable, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, roundTrip(ctx, h, r, "solo")
		})
	})
	if _, err := f.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.Close()

	// the write side held by another exchange's write phase
	srv.replyDelay.Store(0)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	holder := pl.begin(context.Background())
	if err := holder.beginWrite(context.Background()); err != nil {
		t.Fatal(err)
	}
	var g *Future[string]
	within(t, 150*time.Millisecond, "startSplit while the write side is held", func() {
		g = splitGet(context.Background(), pl, "waits")
	})
	holder.dropWrite()
	holder.release()
	if v, err := g.Await(context.Background()); err != nil || v != "waits" {
		t.Fatalf("get: %q, %v", v, err)
	}
	pl.close()
	srv.close()
}

// TestSplitRandomCancel: 10,000 split operations on handles sharing one
// connection, from 8 goroutines, a third of them with a ctx that ends at a
// random moment (before the call, while it waits, never): each caller gets
// its own reply or its ctx's error, never another's reply; the connection
// stays usable; no goroutine is left.
func TestSplitRandomCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	owner := new(int)
	const workers, perWorker = 8, 1250
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got, cancelled, failed int
	for w := 0; w < workers; w++ {
		// one handle per operation in flight: a client's connection is
		// used by one operation at a time
		var hs [16]net.Conn
		var rs [16]*bufio.Reader
		for k := range hs {
			hs[k] = dialOwner(t, srv, owner)
			rs[k] = shareReader(hs[k], 0)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				for _, h := range hs {
					h.Close()
				}
			}()
			for i := 0; i < perWorker; i += 16 {
				var futures [16]*Future[string]
				var ctxs [16]context.Context
				var cancels [16]context.CancelFunc
				for k := range futures {
					ctx := context.Background()
					var cancel context.CancelFunc = func() {}
					switch rand.IntN(6) {
					case 0:
						ctx, cancel = context.WithCancel(ctx)
						cancel()
					case 1:
						ctx, cancel = context.WithTimeout(ctx, time.Duration(rand.IntN(200))*time.Microsecond)
					}
					ctxs[k], cancels[k] = ctx, cancel
					tok := fmt.Sprint("w", w, "-", i+k)
					h, r := hs[k], rs[k]
					futures[k] = startSplit(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
						return tok, roundTrip(ctx, h, r, tok)
					})
				}
				for k, f := range futures {
					v, err := f.Await(ctxs[k])
					cancels[k]()
					// a body whose caller left goes on: the handle is free
					// once it ends (runOpOn's lanes, in converted code)
					<-f.Done()
					mu.Lock()
					switch {
					case err == nil:
						if want := fmt.Sprint("w", w, "-", i+k); v != want {
							t.Errorf("got %q for %s", v, want)
						}
						got++
					case errors.Is(err, errMismatch):
						t.Errorf("another caller's reply: %v", err)
					case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
						cancelled++
					default:
						if failed < 3 {
							t.Logf("failed: %v", err)
						}
						failed++
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d replies, %d cancelled, %d failed otherwise", got, cancelled, failed)
	if got < workers*perWorker/2 {
		t.Errorf("only %d of %d operations completed", got, workers*perWorker)
	}
	srv.close()
}

// TestSplitTwoExchanges: a split operation whose body, resumed by an
// awaiting goroutine, goes on to a second exchange on the same connection
// behind other split operations still parked: a driver takes those over,
// and every operation completes with its own replies.
func TestSplitTwoExchanges(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	futures := make([]*Future[string], 32)
	for i := range futures {
		tok := fmt.Sprint("t", i)
		futures[i] = startSplit(context.Background(), "get2", opDetachable, func(ctx context.Context) (string, error) {
			a, err := getBody(ctx, pl.begin(ctx), tok+"a", 1)
			if err != nil {
				return "", err
			}
			b, err := getBody(ctx, pl.begin(ctx), tok+"b", 1)
			return a + b, err
		})
	}
	within(t, 5*time.Second, "two exchanges per operation", func() {
		for i := len(futures) - 1; i >= 0; i-- {
			v, err := futures[i].Await(context.Background())
			if want := fmt.Sprintf("t%da"+"t%db", i, i); err != nil || v != want {
				t.Errorf("get2 %d: %q, %v", i, v, err)
			}
		}
	})
	pl.close()
	srv.close()
}

// idleFor counts the idle workers kept for pl.
func idleFor(pl *pipeline) (n, all int) {
	idleWorkers.mu.Lock()
	defer idleWorkers.mu.Unlock()
	for _, w := range idleWorkers.ws {
		if w.pl == pl {
			n++
		}
	}
	return n, len(idleWorkers.ws)
}

// TestSplitReusesWorkers: the coroutines of a connection's split operations
// are kept for its next ones (a second round of 64 futures makes none),
// never more than maxIdleWorkers, and end when the connection closes.
func TestSplitReusesWorkers(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{MaxInFlight: 512})
	defer srv.close()
	defer pl.close() // also when a check fails: its idle workers end with it
	round := func(n int, tag string) {
		futures := make([]*Future[string], n)
		for i := range futures {
			futures[i] = splitGet(context.Background(), pl, fmt.Sprint(tag, i))
		}
		for i, f := range futures {
			if v, err := f.Await(context.Background()); err != nil || v != fmt.Sprint(tag, i) {
				t.Fatalf("get %s%d: %q, %v", tag, i, v, err)
			}
		}
	}
	// A driver may end some bodies while later ones are issued: their
	// workers serve the later ones, and a worker whose body has just ended
	// may not be back yet when the next future takes one: a round keeps
	// about 64, and a second round reuses them (without reuse it would add
	// as many again).
	round(64, "a")
	if n, _ := idleFor(pl); n < 1 || n > 64+8 {
		t.Fatalf("after 64 futures, %d idle workers kept for the connection, want 1 to 72", n)
	}
	round(64, "b")
	if n, _ := idleFor(pl); n < 1 || n > 64+8 {
		t.Fatalf("after a second round of 64, %d idle workers, want 1 to 72 (reused, not new ones)", n)
	}
	round(300, "c")
	if n, all := idleFor(pl); n < 1 || n > maxIdleWorkers || all > maxIdleWorkers {
		t.Fatalf("after 300 futures, %d idle workers kept (%d in all), want 1 to %d", n, all, maxIdleWorkers)
	}
	pl.close()
	if n, _ := idleFor(pl); n != 0 {
		t.Fatalf("%d idle workers kept for a closed connection", n)
	}
}

// TestSplitJoinsWithoutEscaping: a split operation whose body makes a new
// handle on a group that has its connection already (gomemcache's Get
// beyond its two idle connections) commits and parks on its caller: making
// the handle does not wait, so it does not escape.
func TestSplitJoinsWithoutEscaping(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	owner := new(int)
	h0, h1 := dialOwner(t, srv, owner), dialOwner(t, srv, owner) // dialed, then shared
	srv.replyDelay.Store(int64(100 * time.Millisecond))
	f := startSplit(context.Background(), "get", opDetachable, func(ctx context.Context) (struct{}, error) {
		h, err := shareConn(ctx, owner, "tcp", srv.addr(), func(ctx context.Context) (net.Conn, error) {
			t.Error("the split operation dialed")
			return nil, errors.New("no dial")
		})
		if err != nil {
			return struct{}{}, err
		}
		defer h.Close()
		return struct{}{}, roundTrip(ctx, h, shareReader(h, 0), "joined")
	})
	if st := f.co.state; st != coParked {
		t.Errorf("after startSplit, its body's state is %d, want parked (%d): it left its caller before committing", st, coParked)
	}
	if _, err := f.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	h0.Close()
	h1.Close()
	srv.close()
}

// TestFuturesOnOneOwnerInOrder: futures on one value not safe for
// concurrent use (a Conn: one handle, one bufio.Reader) run one after the
// other in the order issued, whatever order they are awaited in, or when
// only their Done channels are waited on, and an operation that runs on
// its caller waits for them: each gets its own reply. Before lanes took
// futures, the second split future's write failed ("write after commit").
func TestFuturesOnOneOwnerInOrder(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	group := new(int)
	other := dialOwner(t, srv, group) // a second handle: the connection is pipelined
	h := dialOwner(t, srv, group)
	r := shareReader(h, 0)
	conn := new(int) // the value that holds h, the futures' owner
	var bodiesEnded atomic.Int32
	get := func(ctx context.Context, tok string) *Future[struct{}] {
		return startSplitOn(ctx, conn, "get", opDetachable, func(ctx context.Context) (struct{}, error) {
			defer bodiesEnded.Add(1)
			return struct{}{}, roundTrip(ctx, h, r, tok)
		})
	}
	for round := 0; round < 3; round++ {
		before := bodiesEnded.Load()
		futures := make([]*Future[struct{}], 8)
		for i := range futures {
			futures[i] = get(context.Background(), fmt.Sprint("o", round, "-", i))
		}
		within(t, 2*time.Second, "futures on one owner", func() {
			switch round {
			case 0: // awaited last first
				for i := len(futures) - 1; i >= 0; i-- {
					if _, err := futures[i].Await(context.Background()); err != nil {
						t.Errorf("future %d: %v", i, err)
					}
				}
			case 1: // only their Done channels
				for _, f := range futures {
					<-f.Done()
				}
			case 2: // an operation on the owner that runs on its caller, first
				_, err := runOpOn(context.Background(), conn, "get", opDetachable, func(ctx context.Context) (struct{}, error) {
					if n := bodiesEnded.Load() - before; n != int32(len(futures)) {
						t.Errorf("the operation on the owner began after %d of the futures' bodies ended, want all %d", n, len(futures))
					}
					return struct{}{}, roundTrip(ctx, h, r, "inline")
				})
				if err != nil {
					t.Errorf("the operation after the futures: %v", err)
				}
			}
		})
		for i, f := range futures {
			if _, err := f.Await(context.Background()); err != nil {
				t.Errorf("round %d, future %d: %v", round, i, err)
			}
		}
	}
	// A queued future whose Await's ctx ends returns its error; the body
	// still runs, and the lane ends.
	stuck := get(context.Background(), "first")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	queued := get(context.Background(), "second")
	if _, err := queued.Await(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a queued future awaited with an ended ctx: %v", err)
	}
	if _, err := stuck.Await(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := queued.Await(context.Background()); err != nil {
		t.Error(err)
	}
	if n := lanesHeld.Load(); n != 0 {
		t.Errorf("lanesHeld = %d after every future resolved", n)
	}
	h.Close()
	other.Close()
	srv.close()
}
