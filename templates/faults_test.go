package templates

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Cancel storm: 10,000 exchanges from 256 goroutines, a third of them
// cancelled at random moments (before sending, in flight, mid-reply).
func TestCancelStorm(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{MaxInFlight: 128})
	const total, workers = 10000, 256
	type result struct {
		tok       string
		f         *Future[string]
		cancelled bool
	}
	results := make([]result, total)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(w)))
			for i := w; i < total; i += workers {
				tok := fmt.Sprint("s", i)
				size := rnd.Intn(20000) // large replies span many reads: cancels land mid-reply
				ctx, cancel := context.WithCancel(context.Background())
				r := result{tok: tok, cancelled: rnd.Intn(3) == 0}
				if r.cancelled {
					switch rnd.Intn(3) {
					case 0: // before sending
						cancel()
					default: // in flight or mid-reply
						time.AfterFunc(time.Duration(rnd.Intn(300))*time.Microsecond, cancel)
					}
				}
				r.f = startOp(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
					return getBody(ctx, pl.begin(ctx), tok, size)
				})
				got, err := r.f.Await(ctx)
				switch {
				case err == nil && got != tok:
					t.Errorf("%s got %s", tok, got)
				case err != nil && !(r.cancelled && errors.Is(err, context.Canceled)):
					t.Errorf("%s: %v", tok, err)
				}
				cancel()
				results[i] = r
			}
		}(w)
	}
	wg.Wait()
	within(t, 10*time.Second, "resolving every future", func() {
		for _, r := range results {
			<-r.f.Done()
		}
	})
	for _, r := range results {
		got, err := r.f.Await(context.Background())
		if errors.Is(err, errMismatch) || (err == nil && got != r.tok) {
			t.Errorf("%s: mismatched reply %q, %v", r.tok, got, err)
		}
		if err != nil && !(r.cancelled && errors.Is(err, context.Canceled)) {
			t.Errorf("%s: %v", r.tok, err)
		}
	}
	if err := pl.failure(); err != nil {
		t.Errorf("cancels closed the connection: %v", err)
	}
	pl.close()
	srv.close()
}

// hammer runs 64 goroutines of gets until stop is closed or one fails, and
// returns every error; each get must return within 2 s.
func hammer(t *testing.T, pl *pipeline, ctx context.Context, stop <-chan struct{}) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tok := fmt.Sprintf("h%d-%d", g, i)
				got, err := get(ctx, pl, tok, 100)
				if err == nil && got != tok {
					err = fmt.Errorf("%w: %s got %s", errMismatch, tok, got)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}(g)
	}
	within(t, 5*time.Second, "the getters", wg.Wait)
	return errs
}

func TestFaultCloseMidReply(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, plain := range []bool{false, true} {
		srv := newFakeServer(t)
		srv.closeAfter.Store(300)
		pl := newPipeline(dialRWC(t, srv.addr(), plain), pipelineConfig{})
		errs := hammer(t, pl, context.Background(), nil)
		maybe := 0
		for _, err := range errs {
			if errors.Is(err, errMismatch) {
				t.Error(err)
			}
			if errors.Is(err, ErrMaybeExecuted) {
				maybe++
			}
		}
		if len(errs) != 64 || maybe == 0 {
			t.Errorf("plain=%v: %d errors, %d ErrMaybeExecuted: %v", plain, len(errs), maybe, errs)
		}
		pl.close()
		srv.close()
	}
}

func TestFaultStall(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{StuckAfter: 100 * time.Millisecond})
	if _, err := get(context.Background(), pl, "before", 1); err != nil {
		t.Fatal(err)
	}
	srv.stall.Store(true)
	// Callers that can cancel return at once; their bodies then fail with
	// the connection once it is found stuck.
	ctx, cancel := context.WithCancel(context.Background())
	futures := make([]*Future[string], 100)
	for i := range futures {
		tok := fmt.Sprint("st", i)
		futures[i] = startOp(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
			return getBody(ctx, pl.begin(ctx), tok, 1)
		})
	}
	within(t, 2*time.Second, "the first stalled request", func() {
		for srv.requests.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
	})
	cancel()
	within(t, 2*time.Second, "cancelled callers", func() {
		for _, f := range futures {
			if _, err := f.Await(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Await: %v", err)
			}
		}
	})
	within(t, 2*time.Second, "stuck detection", func() {
		for _, f := range futures {
			<-f.Done()
		}
	})
	committed := 0
	for _, f := range futures {
		_, err := f.Await(context.Background())
		switch {
		case errors.Is(err, ErrMaybeExecuted):
			committed++
		case errors.Is(err, errStuck), errors.Is(err, context.Canceled):
		default:
			t.Errorf("stalled get: %v", err)
		}
	}
	if committed == 0 || !errors.Is(pl.failure(), errStuck) {
		t.Errorf("%d requests in flight failed with ErrMaybeExecuted; connection: %v", committed, pl.failure())
	}
	pl.close()
	srv.close()
}

func TestFaultTrickle(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	srv.trickle.Store(true)
	pl := newPipeline(dialRWC(t, srv.addr(), true), pipelineConfig{})
	stop := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { close(stop) })
	for _, err := range hammer(t, pl, context.Background(), stop) {
		t.Error(err)
	}
	pl.close()
	srv.close()
}

// shortWriter accepts at most 3 bytes per Write.
type shortWriter struct{ io.ReadWriteCloser }

func (w shortWriter) Write(p []byte) (int, error) {
	if len(p) > 3 {
		p = p[:3]
	}
	return w.ReadWriteCloser.Write(p)
}

func TestFaultPartialWrites(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	pl := newPipeline(shortWriter{dialRWC(t, srv.addr(), true)}, pipelineConfig{})
	stop := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { close(stop) })
	for _, err := range hammer(t, pl, context.Background(), stop) {
		t.Error(err)
	}
	pl.close()
	srv.close()
}

func TestFaultCloseWhileBusy(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := newFakeServer(t)
	srv.replyDelay.Store(int64(100 * time.Microsecond))
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, func() { pl.close() })
	errs := hammer(t, pl, ctx, nil)
	if len(errs) != 64 {
		t.Errorf("%d getters failed, want 64", len(errs))
	}
	for _, err := range errs {
		if errors.Is(err, errMismatch) {
			t.Error(err)
		}
	}
	// Abandoned bodies are gone too.
	within(t, 2*time.Second, "close", func() { pl.close() })
	srv.close()
}

// Bounded queues: callers against a server that never replies never hold
// more than the bound in flight, and those blocked can cancel.
func TestBoundedQueue(t *testing.T) {
	defer goleak.VerifyNone(t)
	callers := 10000
	if raceEnabled {
		callers = 7000 // the race detector's goroutine limit
	}
	const bound = 32
	srv := newFakeServer(t)
	srv.mute.Store(true)
	pl := newPipeline(dialRWC(t, srv.addr(), false), pipelineConfig{MaxInFlight: bound})
	ctx, cancel := context.WithCancel(context.Background())
	futures := make([]*Future[string], callers)
	for i := range futures {
		tok := fmt.Sprint("b", i)
		futures[i] = startOp(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
			return getBody(ctx, pl.begin(ctx), tok, 1)
		})
	}
	within(t, 5*time.Second, "filling the queue", func() {
		for srv.requests.Load() < bound {
			time.Sleep(time.Millisecond)
		}
	})
	time.Sleep(50 * time.Millisecond) // room for a wrong extra request to arrive
	if n := srv.requests.Load(); n != bound {
		t.Errorf("%d requests reached the server, bound %d", n, bound)
	}
	cancel()
	within(t, 2*time.Second, "cancelled callers", func() {
		for _, f := range futures {
			if _, err := f.Await(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Await: %v", err)
			}
		}
	})
	within(t, 2*time.Second, "close", func() { pl.close() })
	within(t, 2*time.Second, "every future", func() {
		for _, f := range futures {
			<-f.Done()
		}
	})
	srv.close()
}

// BenchmarkFailFast reports how long every pending future takes to resolve
// after a fault: the server going away with replies owed (server-gone-ms), and Close
// while busy (close-ms), 64 exchanges in flight. No memcached needed.
func BenchmarkFailFast(b *testing.B) {
	pending := func(pl *pipeline) []*Future[string] {
		futures := make([]*Future[string], 64)
		for i := range futures {
			tok := fmt.Sprint("f", i)
			futures[i] = startOp(context.Background(), "get", opDetachable, func(ctx context.Context) (string, error) {
				return getBody(ctx, pl.begin(ctx), tok, 10)
			})
		}
		return futures
	}
	waitAll := func(futures []*Future[string]) {
		for _, f := range futures {
			<-f.Done()
		}
	}
	var midReply, closing time.Duration
	for i := 0; i < b.N; i++ {
		srv := newFakeServer(b)
		srv.mute.Store(true)
		pl := newPipeline(dialRWC(b, srv.addr(), false), pipelineConfig{})
		futures := pending(pl)
		for srv.requests.Load() < 64 {
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		srv.close() // the server goes away with every reply unsent
		waitAll(futures)
		midReply += time.Since(start)
		pl.close()

		srv = newFakeServer(b)
		srv.mute.Store(true)
		pl = newPipeline(dialRWC(b, srv.addr(), false), pipelineConfig{})
		futures = pending(pl)
		for srv.requests.Load() < 64 {
			time.Sleep(time.Millisecond)
		}
		start = time.Now()
		pl.close()
		waitAll(futures)
		closing += time.Since(start)
		srv.close()
	}
	b.ReportMetric(float64(midReply.Microseconds())/1000/float64(b.N), "server-gone-ms")
	b.ReportMetric(float64(closing.Microseconds())/1000/float64(b.N), "close-ms")
}
