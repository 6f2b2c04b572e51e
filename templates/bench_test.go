package templates

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// The benchmarks compare a tiny `gets k` client on the runtime with the
// ceiling (a raw loop on one connection: write 64 `gets k`, read 64
// replies), a plain synchronous exchange, and gomemcache's pool, all against
// a real memcached (MEMCACHED_ADDR, default 127.0.0.1:11211).

const benchValue = "0123456789abcdef0123456789abcdef" // 32 bytes under key "k"

func memcachedAddr(b *testing.B) string {
	addr := os.Getenv("MEMCACHED_ADDR")
	if addr == "" {
		addr = "127.0.0.1:11211"
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatalf("memcached at %s: %v", addr, err)
		}
		b.Skipf("no memcached at %s (set MEMCACHED_ADDR): %v", addr, err)
	}
	defer c.Close()
	fmt.Fprintf(c, "set k 0 0 %d\r\n%s\r\n", len(benchValue), benchValue)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "STORED\r\n" {
		b.Fatalf("set k: %q, %v", line, err)
	}
	return addr
}

// valueSize parses "VALUE <key> <flags> <bytes> [<cas>]\r\n".
func valueSize(line []byte) (int, bool) {
	field, size := 0, 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == ' ' {
			field++
			continue
		}
		if field == 3 {
			if c < '0' || c > '9' {
				break
			}
			size = size*10 + int(c-'0')
		}
	}
	return size, field >= 3 && len(line) > 6 && string(line[:6]) == "VALUE "
}

var errBadReply = errors.New("bad gets reply")

// plainGets is the plain synchronous exchange on a bufio.ReadWriter.
func plainGets(rw *bufio.ReadWriter, key string) ([]byte, error) {
	rw.WriteString("gets ")
	rw.WriteString(key)
	rw.WriteString("\r\n")
	if err := rw.Flush(); err != nil {
		return nil, err
	}
	return plainReply(rw.Reader)
}

func plainReply(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	size, ok := valueSize(line)
	if !ok {
		return nil, errBadReply
	}
	buf := make([]byte, size+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if line, err = r.ReadSlice('\n'); err != nil || string(line) != "END\r\n" {
		return nil, errBadReply
	}
	return buf[:size], nil
}

// rtGets is the same code, converted: bufio.ReadWriter -> stream, ctx added.
func rtGets(ctx context.Context, s *stream, key string) ([]byte, error) {
	s.writeString(ctx, "gets ")
	s.writeString(ctx, key)
	s.writeString(ctx, "\r\n")
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	line, err := s.readSlice(ctx, '\n')
	if err != nil {
		return nil, err
	}
	size, ok := valueSize(line)
	if !ok {
		return nil, errBadReply
	}
	buf := make([]byte, size+2)
	if _, err := io.ReadFull(s.reader(ctx), buf); err != nil {
		return nil, err
	}
	if line, err = s.readSlice(ctx, '\n'); err != nil || string(line) != "END\r\n" {
		return nil, errBadReply
	}
	return buf[:size], nil
}

// rtGet is what a converted client's GetContext looks like.
func rtGet(ctx context.Context, pl *pipeline, key string) ([]byte, error) {
	return runOp(ctx, "Get", opDetachable, func(ctx context.Context) ([]byte, error) {
		s := pl.begin(ctx)
		v, err := rtGets(ctx, s, key)
		if err != nil {
			s.close()
		} else {
			s.release()
		}
		return v, err
	})
}

func dialBench(b *testing.B, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// ---- references ----

func ceilingOps(b *testing.B, addr string, n int) {
	c := dialBench(b, addr)
	defer c.Close()
	rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
	for done := 0; done < n; done += 64 {
		for i := 0; i < 64; i++ {
			rw.WriteString("gets k\r\n")
		}
		if err := rw.Flush(); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 64; i++ {
			if _, err := plainReply(rw.Reader); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func plainOps(b *testing.B, addr string, n int) {
	c := dialBench(b, addr)
	defer c.Close()
	rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
	for i := 0; i < n; i++ {
		if _, err := plainGets(rw, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

func gomemcacheOps(b *testing.B, mc *memcache.Client, n, goroutines int) {
	parallel(n, goroutines, func() {
		if _, err := mc.Get("k"); err != nil {
			b.Error(err)
		}
	})
}

// parallel runs n calls of f spread over goroutines.
func parallel(n, goroutines int, f func()) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				f()
			}
		}()
	}
	wg.Wait()
}

func rate(n int, f func()) float64 {
	start := time.Now()
	f()
	return float64(n) / time.Since(start).Seconds()
}

// Ratios are taken against references measured right after each benchmark,
// for as many operations, so that both see the same machine (a shared
// 2-vCPU machine drifts by tens of percent within a minute).
func ceilingRate(b *testing.B, addr string, n int) float64 {
	n = max(n, 64*100)
	return rate(n, func() { ceilingOps(b, addr, n) })
}

func plainRate(b *testing.B, addr string, n int) float64 {
	n = max(n, 2000)
	return rate(n, func() { plainOps(b, addr, n) })
}

func gomemcacheRate(b *testing.B, addr string, n int) float64 {
	n = max(n, 10000)
	mc := memcache.New(addr)
	mc.MaxIdleConns = 64
	defer mc.Close()
	gomemcacheOps(b, mc, 64, 64) // dial the pool first
	return rate(n, func() { gomemcacheOps(b, mc, n, 64) })
}

func report(b *testing.B) float64 {
	opsPerSec := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(opsPerSec, "ops/s")
	b.StopTimer()
	return opsPerSec
}

// ---- benchmarks ----

func BenchmarkCeiling(b *testing.B) {
	addr := memcachedAddr(b)
	b.ResetTimer()
	ceilingOps(b, addr, b.N)
	report(b)
}

func BenchmarkPlainSequential(b *testing.B) {
	addr := memcachedAddr(b)
	b.ReportAllocs()
	b.ResetTimer()
	plainOps(b, addr, b.N)
	report(b)
}

func BenchmarkGomemcache64(b *testing.B) {
	addr := memcachedAddr(b)
	mc := memcache.New(addr)
	mc.MaxIdleConns = 64
	defer mc.Close()
	b.ResetTimer()
	gomemcacheOps(b, mc, b.N, 64)
	b.ReportMetric(report(b)/ceilingRate(b, addr, b.N), "x-ceiling")
}

func BenchmarkRuntime(b *testing.B) {
	addr := memcachedAddr(b)
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()

	b.Run("sequential", func(b *testing.B) {
		pl := newPipeline(dialBench(b, addr), pipelineConfig{})
		defer pl.close()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := rtGet(context.Background(), pl, "k"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(report(b)/plainRate(b, addr, b.N), "x-plain")
	})
	for _, tc := range []struct {
		name       string
		goroutines int
		ctx        context.Context
	}{
		{"goroutines-64", 64, context.Background()},
		{"goroutines-64-cancellable-ctx", 64, cancellable},
		{"goroutines-256", 256, context.Background()},
		{"goroutines-256-cancellable-ctx", 256, cancellable},
	} {
		b.Run(tc.name, func(b *testing.B) {
			pl := newPipeline(dialBench(b, addr), pipelineConfig{MaxInFlight: 1024})
			defer pl.close()
			b.ReportAllocs()
			b.ResetTimer()
			parallel(b.N, tc.goroutines, func() {
				if _, err := rtGet(tc.ctx, pl, "k"); err != nil {
					b.Error(err)
				}
			})
			ops := report(b)
			b.ReportMetric(ops/ceilingRate(b, addr, b.N), "x-ceiling")
			b.ReportMetric(ops/gomemcacheRate(b, addr, b.N), "x-gomemcache")
		})
	}
	b.Run("futures-64-one-goroutine", func(b *testing.B) {
		pl := newPipeline(dialBench(b, addr), pipelineConfig{})
		defer pl.close()
		futures := make([]*Future[[]byte], 64)
		b.ReportAllocs()
		b.ResetTimer()
		for done := 0; done < b.N; done += 64 {
			for i := range futures {
				futures[i] = startOp(cancellable, "Get", opDetachable, func(ctx context.Context) ([]byte, error) {
					s := pl.begin(ctx)
					v, err := rtGets(ctx, s, "k")
					if err != nil {
						s.close()
					} else {
						s.release()
					}
					return v, err
				})
			}
			for _, f := range futures {
				if _, err := f.Await(cancellable); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(report(b)/ceilingRate(b, addr, b.N), "x-ceiling")
	})
}

// BenchmarkBoundedQueue reports, for callers against a server that never
// replies (the bounded-queue test), the peak heap, how long the blocked
// callers take to return once cancelled, and how long Close takes to fail
// every future. No memcached needed.
func BenchmarkBoundedQueue(b *testing.B) {
	const callers, bound = 10000, 32
	for i := 0; i < b.N; i++ {
		srv := newFakeServer(b)
		srv.mute.Store(true)
		pl := newPipeline(dialRWC(b, srv.addr(), false), pipelineConfig{MaxInFlight: bound})
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithCancel(context.Background())
		futures := make([]*Future[string], callers)
		for i := range futures {
			tok := fmt.Sprint("b", i)
			futures[i] = startOp(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
				return getBody(ctx, pl.begin(ctx), tok, 1)
			})
		}
		for srv.requests.Load() < bound {
			time.Sleep(time.Millisecond)
		}
		var peak runtime.MemStats
		runtime.ReadMemStats(&peak)
		start := time.Now()
		cancel()
		for _, f := range futures {
			f.Await(ctx)
		}
		cancelled := time.Since(start)
		start = time.Now()
		pl.close()
		for _, f := range futures {
			<-f.Done()
		}
		closed := time.Since(start)
		srv.close()
		b.ReportMetric(float64(peak.HeapInuse-before.HeapInuse)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(peak.StackInuse-before.StackInuse)/(1<<20), "peak-stack-MB")
		b.ReportMetric(float64(cancelled.Microseconds())/1000, "cancel-ms")
		b.ReportMetric(float64(closed.Microseconds())/1000, "close-ms")
	}
}
