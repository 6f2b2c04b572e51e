// Package bsreal runs the converted go-beanstalk, through its context API,
// against a real beanstalkd.
package bsreal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/converted/internal/beanstalk"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func addr() string {
	if a := os.Getenv("BEANSTALKD_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:21300"
}

func dial(t *testing.T) *beanstalk.Conn {
	t.Helper()
	c, err := beanstalk.DialContext(t.Context(), "tcp", addr())
	if err != nil {
		t.Fatalf("DialContext: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }

func TestPutReserveDelete(t *testing.T) {
	ctx := t.Context()
	c := dial(t)
	name := unique("bsreal")
	tube := beanstalk.NewTube(c, name)
	ts := beanstalk.NewTubeSet(c, name)
	id, err := tube.PutContext(ctx, []byte("job"), 1, 0, time.Minute)
	if err != nil {
		t.Fatalf("PutContext: %v", err)
	}
	rid, body, err := ts.ReserveContext(ctx, time.Second)
	if err != nil || rid != id || string(body) != "job" {
		t.Fatalf("ReserveContext = %d %q %v, want %d job", rid, body, err, id)
	}
	if err := c.DeleteContext(ctx, id); err != nil {
		t.Fatalf("DeleteContext: %v", err)
	}
	var cerr beanstalk.ConnError
	if _, err := c.PeekContext(ctx, id); !errors.As(err, &cerr) || cerr.Err != beanstalk.ErrNotFound {
		t.Fatalf("PeekContext of a deleted job: %v, want ErrNotFound", err)
	}
	// A ctx that has already ended sends nothing.
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tube.PutContext(ended, []byte("never"), 1, 0, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("PutContext with an ended ctx: %v, want context.Canceled", err)
	}
	if st, err := tube.StatsContext(ctx); err != nil || st["current-jobs-ready"] != "0" || st["total-jobs"] != "1" {
		t.Fatalf("StatsContext = %v, %v: want the one job, deleted", st, err)
	}
}

// TestReserveDeadline: a ctx deadline ends a blocking reserve promptly, and
// the same Conn keeps working.
func TestReserveDeadline(t *testing.T) {
	c := dial(t)
	name := unique("bsdeadline")
	ts := beanstalk.NewTubeSet(c, name)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := ts.ReserveContext(ctx, 2*time.Second) // the server holds the reply up to 2s
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReserveContext with a 100ms deadline: %v, want context.DeadlineExceeded", err)
	}
	if took > time.Second {
		t.Fatalf("ReserveContext with a 100ms deadline returned after %v", took)
	}
	t.Logf("ReserveContext with a 100ms deadline returned after %v", took)

	// The same Conn still works: its reply order is intact (the abandoned
	// reserve's TIMED_OUT is consumed by the reserve itself).
	other := unique("bsafter")
	tube := beanstalk.NewTube(c, other)
	id, err := tube.PutContext(t.Context(), []byte("after"), 1, 0, time.Minute)
	if err != nil {
		t.Fatalf("PutContext after the deadline: %v", err)
	}
	rid, body, err := beanstalk.NewTubeSet(c, other).ReserveContext(t.Context(), time.Second)
	if err != nil || rid != id || string(body) != "after" {
		t.Fatalf("ReserveContext after the deadline = %d %q %v, want %d after", rid, body, err, id)
	}
	if err := c.DeleteContext(t.Context(), id); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrent: 32 goroutines share one Conn. Each puts jobs into its own
// tube; every job lands in its tube; then each reserves and deletes from its
// tube concurrently, and every reply is its own.
func TestConcurrent(t *testing.T) {
	const goroutines, jobs = 32, 10
	ctx := t.Context()
	c := dial(t)
	base := unique("bsconc")
	tubeName := func(g int) string { return fmt.Sprintf("%s-%d", base, g) }
	ids := make([][]uint64, goroutines)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*jobs)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tube := beanstalk.NewTube(c, tubeName(g))
			for j := 0; j < jobs; j++ {
				id, err := tube.PutContext(ctx, []byte(fmt.Sprintf("%s/%d", tubeName(g), j)), 1, 0, time.Minute)
				if err != nil {
					errs <- fmt.Errorf("put %d into %s: %v", j, tubeName(g), err)
					return
				}
				ids[g] = append(ids[g], id)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for g := 0; g < goroutines; g++ {
		for _, id := range ids[g] {
			st, err := c.StatsJobContext(ctx, id)
			if err != nil || st["tube"] != tubeName(g) {
				t.Fatalf("job %d put into %s: stats-job says tube %q (%v)", id, tubeName(g), st["tube"], err)
			}
		}
	}

	errs = make(chan error, goroutines*jobs)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := beanstalk.NewTubeSet(c, tubeName(g))
			for j := 0; j < jobs; j++ {
				id, body, err := ts.ReserveContext(ctx, 0)
				if err != nil {
					errs <- fmt.Errorf("reserve from %s: %v", tubeName(g), err)
					return
				}
				if !strings.HasPrefix(string(body), tubeName(g)+"/") {
					errs <- fmt.Errorf("reserve from %s got %q: replies mixed", tubeName(g), body)
					return
				}
				if err := c.DeleteContext(ctx, id); err != nil {
					errs <- fmt.Errorf("delete %d: %v", id, err)
					return
				}
			}
			// The tube is empty now.
			var cerr beanstalk.ConnError
			if _, _, err := ts.ReserveContext(ctx, 0); !errors.As(err, &cerr) || cerr.Err != beanstalk.ErrTimeout {
				errs <- fmt.Errorf("reserve from the emptied %s: %v, want ErrTimeout", tubeName(g), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCancelledCallers: while 32 goroutines share one Conn, a third of their
// calls are cancelled at random points; the connection never stalls and
// every completed call gets its own reply.
func TestCancelledCallers(t *testing.T) {
	const goroutines, rounds = 32, 20
	c := dial(t)
	base := unique("bscancel")
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("%s-%d", base, g)
			tube := beanstalk.NewTube(c, name)
			for r := 0; r < rounds; r++ {
				ctx, cancel := context.WithCancel(t.Context())
				if (g+r)%3 == 0 {
					go cancel()
				}
				id, err := tube.PutContext(ctx, []byte(name), 1, 0, time.Minute)
				if err == nil {
					body, err := c.PeekContext(ctx, id)
					if err == nil && string(body) != name {
						errs <- fmt.Errorf("peek of job %d put into %s got %q: replies mixed", id, name, body)
						cancel()
						return
					}
				}
				if err != nil && !errors.Is(err, context.Canceled) {
					errs <- fmt.Errorf("%s: %v", name, err)
					cancel()
					return
				}
				cancel()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("callers with cancelled contexts stalled the connection")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Still usable.
	if _, err := c.StatsContext(t.Context()); err != nil {
		t.Fatalf("StatsContext after the cancellations: %v", err)
	}
}
