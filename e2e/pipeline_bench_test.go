package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkPipelined measures the pipelined conversion against the original client and against
// the ceiling, all in the same run of the same process (docs/performance.md, "Pipelined
// conversion"). The benchmarks run inside the converted packages (a file written next to them);
// their output, with every rate and ratio, goes to stdout. ASYNCIFY_BENCHTIME is their
// -benchtime (default 1x: a smoke run), ASYNCIFY_BENCHCOUNT their -count (default 1).
//
//	go test -run '^$' -bench BenchmarkPipelined -benchtime=1x ./e2e
func BenchmarkPipelined(b *testing.B) {
	b.Run("gomemcache", func(b *testing.B) {
		addr := needServer(b, "MEMCACHED_ADDR", "127.0.0.1:11211")
		dir, res := convertInto(b, "plmemcache", gomemcachePkg)
		if res.exit != 0 {
			b.Fatalf("asyncify: exit %d\n%s", res.exit, res.stderr)
		}
		runInnerBench(b, dir, "internal/plmemcache", "memcache", memcacheBench, "BenchmarkPipelined", "E2E_MEMCACHED_ADDR", addr)
	})
	b.Run("resp", func(b *testing.B) {
		addr := needServer(b, "REDIS_ADDR", "127.0.0.1:16379")
		runInnerBench(b, respModule(b, "share Dial\n"), "internal/resp", "resp", respBench, "BenchmarkPipelined", "E2E_REDIS_ADDR", addr)
	})
}

// runInnerBench writes benchCommon with src into pkgDir of the module in dir, as package pkgName,
// and runs its benchmark name there with env set to addr.
func runInnerBench(b *testing.B, dir, pkgDir, pkgName, src, name, env, addr string) {
	b.Helper()
	code := fmt.Sprintf(benchCommon, pkgName, src)
	if err := os.WriteFile(filepath.Join(dir, pkgDir, "asyncify_e2e_bench_test.go"), []byte(code), 0o644); err != nil {
		b.Fatal(err)
	}
	benchtime, count := os.Getenv("ASYNCIFY_BENCHTIME"), os.Getenv("ASYNCIFY_BENCHCOUNT")
	if benchtime == "" {
		benchtime = "1x"
	}
	if count == "" {
		count = "1"
	}
	if keep := os.Getenv("ASYNCIFY_BENCHKEEP"); keep != "" {
		// a copy of the module to profile by hand (go test -cpuprofile there)
		if out, err := exec.Command("cp", "-r", dir, keep).CombinedOutput(); err != nil {
			b.Fatalf("ASYNCIFY_BENCHKEEP: %v: %s", err, out)
		}
	}
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^"+name+"$", "-benchtime", benchtime, "-count", count, "./"+pkgDir)
		cmd.Dir = dir
		cmd.Env = append(moduleEnv(), env+"="+addr)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("go test -bench ./%s: %v", pkgDir, err)
		}
	}
}

// benchCommon is the benchmark file: %[1]s the package name, %[2]s the end of the import block
// and the code of one client's benchmark. Each sub-benchmark runs, per iteration, one round of the converted client,
// then of each reference, for the same number of operations, and reports the median rates and
// ratios over the rounds.
const benchCommon = `package %[1]s

import (
	"bufio"
	"context"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
%[2]s

// parallel runs n calls of f spread over goroutines.
func parallel(n, goroutines int, f func() error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := f(); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

// each runs n operations over goroutines, goroutine g calling f(g) n/goroutines times.
func each(n, goroutines int, f func(g int) error) error {
	var wg sync.WaitGroup
	var first atomic.Value
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/goroutines; i++ {
				if err := f(g); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

// meter keeps the rate of each measured part in each round.
type meter struct{ rates map[string][]float64 }

func newMeter() *meter { return &meter{rates: map[string][]float64{}} }

func (m *meter) measure(b *testing.B, name string, n int, f func() error) {
	start := time.Now()
	if err := f(); err != nil {
		b.Fatalf("%%s: %%v", name, err)
	}
	m.rates[name] = append(m.rates[name], float64(n)/time.Since(start).Seconds())
}

func median(xs []float64) float64 {
	xs = append([]float64(nil), xs...)
	sort.Float64s(xs)
	if len(xs)%%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// part is one client's call, for meter.alternate.
type part struct {
	name string
	call func() error
}

// alternate is one round of one goroutine's sequential calls: the parts take turns, chunk calls
// each, until each has made n, and each part's rate is over its own time. One call is one round
// trip, whose latency on a shared machine drifts by more than the clients differ within a round
// of whole parts (the CPUs' idle states, where the server runs); parts that take turns every few
// milliseconds see the same drift.
func (m *meter) alternate(b *testing.B, n, chunk int, parts ...part) {
	took := make([]time.Duration, len(parts))
	for done := 0; done < n; done += chunk {
		for i, p := range parts {
			start := time.Now()
			for j := 0; j < chunk; j++ {
				if err := p.call(); err != nil {
					b.Fatalf("%%s: %%v", p.name, err)
				}
			}
			took[i] += time.Since(start)
		}
	}
	for i, p := range parts {
		m.rates[p.name] = append(m.rates[p.name], float64(n)/took[i].Seconds())
	}
}

// report reports the median rate of each part over the rounds, and the median over the rounds of
// the ratio of the first part's rate to each other part's in the same round.
func (m *meter) report(b *testing.B, names ...string) {
	for _, n := range names {
		b.ReportMetric(median(m.rates[n]), n+"-ops/s")
	}
	for _, n := range names[1:] {
		ratios := make([]float64, len(m.rates[n]))
		for i, r := range m.rates[n] {
			ratios[i] = m.rates[names[0]][i] / r
		}
		b.ReportMetric(median(ratios), names[0]+"/"+n)
	}
}

// ceiling is a raw loop on one connection writing 64 requests, then reading 64 replies,
// n operations in all. req is one request; reply reads one reply.
func ceiling(addr string, n int, req string, reply func(*bufio.Reader) error) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for done := 0; done < n; done += 64 {
		for i := 0; i < 64; i++ {
			w.WriteString(req)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		for i := 0; i < 64; i++ {
			if err := reply(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func benchAddr(b *testing.B, env string) string {
	addr := os.Getenv(env)
	if addr == "" {
		b.Skip(env + " not set")
	}
	return addr
}

var _, _, _ = context.Background, strconv.Itoa, strings.Fields
`

// memcacheBench compares the converted gomemcache (default settings) with the original one
// (MaxIdleConns 64, so that its pool does not dial per call) and with the ceiling.
const memcacheBench = `
	orig "github.com/bradfitz/gomemcache/memcache"
)

func memcacheReply(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if string(line) == "END\r\n" {
			return nil
		}
		f := strings.Fields(string(line))
		size, _ := strconv.Atoi(f[3])
		if _, err := r.Discard(size + 2); err != nil {
			return err
		}
	}
}

func BenchmarkPipelined(b *testing.B) {
	addr := benchAddr(b, "E2E_MEMCACHED_ADDR")
	conv := New(addr) // default settings
	defer conv.Close()
	o := orig.New(addr)
	o.MaxIdleConns = 64
	defer o.Close()
	if err := conv.Set(&Item{Key: "k", Value: []byte("0123456789abcdef")}); err != nil {
		b.Fatal(err)
	}
	// Other tests may flush the server meanwhile: a miss is a whole exchange too.
	cget := func() error {
		if _, err := conv.Get("k"); err != nil && err != ErrCacheMiss {
			return err
		}
		return nil
	}
	oget := func() error {
		if _, err := o.Get("k"); err != nil && err != orig.ErrCacheMiss {
			return err
		}
		return nil
	}
	ceil := func(n int) func() error {
		return func() error { return ceiling(addr, n, "gets k\r\n", memcacheReply) }
	}
	parallel(256, 64, oget) // fill the original's pool
	for _, g := range []int{1, 64, 256} {
		n := 12800
		if g == 1 {
			n = 3000
		}
		b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
			m := newMeter()
			for i := 0; i < b.N; i++ {
				if g == 1 {
					m.alternate(b, n, 50, part{"converted", cget}, part{"original", oget})
				} else {
					m.measure(b, "converted", n, func() error { return parallel(n, g, cget) })
					m.measure(b, "original", n, func() error { return parallel(n, g, oget) })
				}
				m.measure(b, "ceiling", n, ceil(n))
			}
			m.report(b, "converted", "original", "ceiling")
		})
	}
	b.Run("async64", func(b *testing.B) {
		ctx := context.Background()
		n := 12800
		m := newMeter()
		for i := 0; i < b.N; i++ {
			m.measure(b, "converted", n, func() error {
				fs := make([]*Future[*Item], 64)
				for done := 0; done < n; done += 64 {
					for j := range fs {
						fs[j] = conv.GetAsync(ctx, "k")
					}
					for _, f := range fs {
						if _, err := f.Await(ctx); err != nil && err != ErrCacheMiss {
							return err
						}
					}
				}
				return nil
			})
			m.measure(b, "ceiling", n, ceil(n))
		}
		m.report(b, "converted", "ceiling")
	})
	b.Run("physical", func(b *testing.B) {
		b.ReportMetric(float64(shareDials.Load()), "conns")
	})
}
`

// respCommon is the RESP benchmarks' shared code, after their import blocks: 256 converted Conns
// (their dials share a connection) and 256 original ones, "k" set, and the ceiling's request and
// reply.
const respCommon = `
func respReply(r *bufio.Reader) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line[0] != '$' {
		return nil
	}
	size, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	if size < 0 {
		return nil
	}
	_, err = r.Discard(size + 2)
	return err
}

func respCeiling(addr string, n int) func() error {
	return func() error { return ceiling(addr, n, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", respReply) }
}

func respConns(b *testing.B, addr string) (convs []*Conn, origs []*orig.Conn) {
	for g := 0; g < 256; g++ {
		c, err := Dial(addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		oc, err := orig.Dial(addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { oc.Close() })
		convs, origs = append(convs, c), append(origs, oc)
	}
	if err := convs[0].Set("k", "0123456789abcdef"); err != nil {
		b.Fatal(err)
	}
	return convs, origs
}

// async64 is n GETs from one goroutine: rounds of 64 GetAsync, one per Conn, then 64 Awaits.
func async64(convs []*Conn, n int) func() error {
	return func() error {
		ctx := context.Background()
		fs := make([]*Future[string], 64)
		for done := 0; done < n; done += 64 {
			for j := range fs {
				fs[j] = convs[j].GetAsync(ctx, "k")
			}
			for _, f := range fs {
				if _, err := f.Await(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	}
}
`

// respBench compares the converted RESP fixture, one Conn per goroutine (their dials share a
// connection), with the original fixture (a connection per Conn) and with the ceiling.
const respBench = `
	orig "github.com/asyncify-dev/asyncify/fixtures/resp"
)
` + respCommon + `
func BenchmarkPipelined(b *testing.B) {
	addr := benchAddr(b, "E2E_REDIS_ADDR")
	convs, origs := respConns(b, addr)
	cget := func(g int) error { _, err := convs[g].Get("k"); return err }
	oget := func(g int) error { _, err := origs[g].Get("k"); return err }
	for _, g := range []int{1, 64, 256} {
		n := 12800
		if g == 1 {
			n = 3000
		}
		b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
			m := newMeter()
			for i := 0; i < b.N; i++ {
				if g == 1 {
					m.alternate(b, n, 50, part{"converted", func() error { return cget(0) }}, part{"original", func() error { return oget(0) }})
				} else {
					m.measure(b, "converted", n, func() error { return each(n, g, cget) })
					m.measure(b, "original", n, func() error { return each(n, g, oget) })
				}
				m.measure(b, "ceiling", n, respCeiling(addr, n))
			}
			m.report(b, "converted", "original", "ceiling")
		})
	}
	b.Run("async64", func(b *testing.B) {
		n := 12800
		m := newMeter()
		for i := 0; i < b.N; i++ {
			m.measure(b, "converted", n, async64(convs, n))
			m.measure(b, "ceiling", n, respCeiling(addr, n))
		}
		m.report(b, "converted", "ceiling")
	})
	b.Run("physical", func(b *testing.B) {
		b.ReportMetric(float64(shareDials.Load()), "conns")
	})
}
`

// The best hand-written peers of the RESP fixture's conversion (issue 16), fetched through the
// module proxy into the benchmark's temporary module only: the root module does not require them.
const (
	rueidisModule = "github.com/redis/rueidis@v1.0.79"
	goredisModule = "github.com/redis/go-redis/v9@v9.23.0"
)

// BenchmarkPeers measures the converted RESP fixture (rule share Dial, as BenchmarkPipelined)
// against rueidis (DisableCache, its auto-pipelining on one connection), go-redis (PoolSize 64),
// the original fixture and the ceiling, in the same process and the same run, interleaved rounds,
// medians (docs/performance.md, "Against the best peers"). A benchmark of its own, so that
// BenchmarkPipelined's smoke run does not build the peers (a minute of CPU on a cold build cache).
// ASYNCIFY_BENCHTIME is the rounds (-benchtime), ASYNCIFY_BENCHCOUNT the runs (-count).
//
//	ASYNCIFY_BENCHTIME=5x ASYNCIFY_BENCHCOUNT=3 go test -run '^$' -bench BenchmarkPeers -benchtime=1x ./e2e
func BenchmarkPeers(b *testing.B) {
	addr := needServer(b, "REDIS_ADDR", "127.0.0.1:16379")
	dir := respModule(b, "share Dial\n")
	goIn(b, dir, "get", rueidisModule, goredisModule)
	runInnerBench(b, dir, "internal/resp", "resp", respPeersBench, "BenchmarkPeers", "E2E_REDIS_ADDR", addr)
}

// respPeersBench: every peer client is shared by all the goroutines, as its documentation has
// it; the converted and original fixtures have a Conn per goroutine, as in respBench. In async64,
// one goroutine's 64 GetAsync are set against the peers' 64 goroutines.
const respPeersBench = `
	orig "github.com/asyncify-dev/asyncify/fixtures/resp"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)
` + respCommon + `
func BenchmarkPeers(b *testing.B) {
	addr := benchAddr(b, "E2E_REDIS_ADDR")
	ctx := context.Background()
	convs, origs := respConns(b, addr)
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	gc := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 64})
	defer gc.Close()
	cget := func(g int) error { _, err := convs[g].Get("k"); return err }
	oget := func(g int) error { _, err := origs[g].Get("k"); return err }
	rget := func(int) error { _, err := rc.Do(ctx, rc.B().Get().Key("k").Build()).ToString(); return err }
	gget := func(int) error { _, err := gc.Get(ctx, "k").Result(); return err }
	if err := each(256, 64, gget); err != nil { // fill go-redis's pool
		b.Fatal(err)
	}
	if err := rget(0); err != nil {
		b.Fatal(err)
	}
	for _, g := range []int{1, 64, 256} {
		n := 12800
		if g == 1 {
			n = 3000
		}
		b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
			m := newMeter()
			for i := 0; i < b.N; i++ {
				if g == 1 {
					one := func(f func(int) error) func() error { return func() error { return f(0) } }
					m.alternate(b, n, 50, part{"converted", one(cget)}, part{"rueidis", one(rget)}, part{"goredis", one(gget)}, part{"original", one(oget)})
				} else {
					m.measure(b, "converted", n, func() error { return each(n, g, cget) })
					m.measure(b, "rueidis", n, func() error { return each(n, g, rget) })
					m.measure(b, "goredis", n, func() error { return each(n, g, gget) })
					m.measure(b, "original", n, func() error { return each(n, g, oget) })
				}
				m.measure(b, "ceiling", n, respCeiling(addr, n))
			}
			m.report(b, "converted", "rueidis", "goredis", "original", "ceiling")
		})
	}
	b.Run("async64", func(b *testing.B) {
		n := 12800
		m := newMeter()
		for i := 0; i < b.N; i++ {
			m.measure(b, "converted", n, async64(convs, n))
			m.measure(b, "rueidis", n, func() error { return each(n, 64, rget) })
			m.measure(b, "ceiling", n, respCeiling(addr, n))
		}
		m.report(b, "converted", "rueidis", "ceiling")
	})
}
`

// BenchmarkSingleCaller measures what one goroutine's Get costs the converted RESP fixture (rule
// share Dial) over the original, with the network taken out: every Conn runs over an in-memory
// connection that answers each request at once (docs/performance.md, "A single caller"). Its
// sub-benchmarks are ordinary ones (ns/op, allocations): the original, the converted client on a
// shared connection (64 handles) with context.Background() and with a ctx that can be cancelled,
// and in pass-through (a handle alone in its group). No server needed.
//
//	ASYNCIFY_BENCHTIME=200000x ASYNCIFY_BENCHCOUNT=3 go test -run '^$' -bench BenchmarkSingleCaller -benchtime=1x ./e2e
func BenchmarkSingleCaller(b *testing.B) {
	if os.Getenv("ASYNCIFY_BENCHTIME") == "" {
		b.Setenv("ASYNCIFY_BENCHTIME", "10000x") // 1x would measure nothing
	}
	runInnerBench(b, respModule(b, "share Dial\n"), "internal/resp", "resp", respSingleBench, "BenchmarkSingleCaller", "E2E_UNUSED", "")
}

const respSingleBench = `
	orig "github.com/asyncify-dev/asyncify/fixtures/resp"
)

// memConn answers every RESP array it is written with the same bulk reply, in memory.
type memConn struct {
	mu    sync.Mutex
	cond  *sync.Cond
	reply []byte
}

func newMemConn() *memConn { c := &memConn{}; c.cond = sync.NewCond(&c.mu); return c }

const memReply = "$16\r\n0123456789abcdef\r\n"

func (c *memConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	for _, b := range p {
		if b == '*' {
			c.reply = append(c.reply, memReply...)
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	return len(p), nil
}

func (c *memConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	for len(c.reply) == 0 {
		c.cond.Wait()
	}
	n := copy(p, c.reply)
	c.reply = c.reply[:copy(c.reply, c.reply[n:])]
	c.mu.Unlock()
	return n, nil
}

func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return nil }
func (c *memConn) RemoteAddr() net.Addr             { return nil }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// memConns dials n Conns of owner's share group over one memConn, as Dial would.
func memConns(b *testing.B, n int, owner string) []*Conn {
	var cs []*Conn
	for i := 0; i < n; i++ {
		h, err := shareConn(context.Background(), owner, "tcp", "mem", func(context.Context) (net.Conn, error) { return newMemConn(), nil })
		if err != nil {
			b.Fatal(err)
		}
		c := NewConn(h)
		b.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return cs
}

func getLoop(b *testing.B, get func() (string, error)) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v, err := get(); err != nil || v != "0123456789abcdef" {
			b.Fatalf("Get = %q, %v", v, err)
		}
	}
}

func BenchmarkSingleCaller(b *testing.B) {
	b.Run("original", func(b *testing.B) {
		c := orig.NewConn(newMemConn())
		getLoop(b, func() (string, error) { return c.Get("k") })
	})
	b.Run("shared", func(b *testing.B) {
		c := memConns(b, 64, "shared")[0]
		getLoop(b, func() (string, error) { return c.Get("k") })
	})
	b.Run("shared-cancellable-ctx", func(b *testing.B) {
		c := memConns(b, 64, "sharedctx")[0]
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		getLoop(b, func() (string, error) { return c.GetContext(ctx, "k") })
	})
	b.Run("passthrough", func(b *testing.B) {
		c := memConns(b, 1, "passthrough")[0]
		getLoop(b, func() (string, error) { return c.Get("k") })
	})
}
`
