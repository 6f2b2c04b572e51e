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
		runInnerBench(b, dir, "internal/plmemcache", "memcache", memcacheBench, "E2E_MEMCACHED_ADDR", addr)
	})
	b.Run("resp", func(b *testing.B) {
		addr := needServer(b, "REDIS_ADDR", "127.0.0.1:16379")
		runInnerBench(b, respModule(b, "share Dial\n"), "internal/resp", "resp", respBench, "E2E_REDIS_ADDR", addr)
	})
}

func runInnerBench(b *testing.B, dir, pkgDir, pkgName, src, env, addr string) {
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
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkPipelined", "-benchtime", benchtime, "-count", count, "./"+pkgDir)
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
// then of each reference, for the same number of operations, and reports the rates and ratios.
const benchCommon = `package %[1]s

import (
	"bufio"
	"context"
	"net"
	"os"
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

// meter adds up the operations and time of each measured part.
type meter struct {
	ops   map[string]float64
	spent map[string]time.Duration
}

func newMeter() *meter { return &meter{ops: map[string]float64{}, spent: map[string]time.Duration{}} }

func (m *meter) measure(b *testing.B, name string, n int, f func() error) {
	start := time.Now()
	if err := f(); err != nil {
		b.Fatalf("%%s: %%v", name, err)
	}
	m.spent[name] += time.Since(start)
	m.ops[name] += float64(n)
}

func (m *meter) rate(name string) float64 { return m.ops[name] / m.spent[name].Seconds() }

// report reports the rate of each part, and the ratios of the converted client's to the others'.
func (m *meter) report(b *testing.B, names ...string) {
	for _, n := range names {
		b.ReportMetric(m.rate(n), n+"-ops/s")
	}
	for _, n := range names[1:] {
		b.ReportMetric(m.rate(names[0])/m.rate(n), names[0]+"/"+n)
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
				m.measure(b, "converted", n, func() error { return parallel(n, g, cget) })
				m.measure(b, "original", n, func() error { return parallel(n, g, oget) })
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

// respBench compares the converted RESP fixture, one Conn per goroutine (their dials share a
// connection), with the original fixture (a connection per Conn) and with the ceiling.
const respBench = `
	orig "github.com/asyncify-dev/asyncify/fixtures/resp"
)

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

func BenchmarkPipelined(b *testing.B) {
	addr := benchAddr(b, "E2E_REDIS_ADDR")
	var convs []*Conn
	var origs []*orig.Conn
	for g := 0; g < 256; g++ {
		c, err := Dial(addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		oc, err := orig.Dial(addr)
		if err != nil {
			b.Fatal(err)
		}
		defer oc.Close()
		convs, origs = append(convs, c), append(origs, oc)
	}
	if err := convs[0].Set("k", "0123456789abcdef"); err != nil {
		b.Fatal(err)
	}
	cget := func(g int) error { _, err := convs[g].Get("k"); return err }
	oget := func(g int) error { _, err := origs[g].Get("k"); return err }
	ceil := func(n int) func() error {
		return func() error { return ceiling(addr, n, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", respReply) }
	}
	for _, g := range []int{1, 64, 256} {
		n := 12800
		if g == 1 {
			n = 3000
		}
		b.Run("goroutines="+strconv.Itoa(g), func(b *testing.B) {
			m := newMeter()
			for i := 0; i < b.N; i++ {
				m.measure(b, "converted", n, func() error { return each(n, g, cget) })
				m.measure(b, "original", n, func() error { return each(n, g, oget) })
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
