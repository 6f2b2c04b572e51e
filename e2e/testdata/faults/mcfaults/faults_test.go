// Package mcfaults runs the converted gomemcache under faults: a memcached
// of its own (started on a free port, killed by PID and restarted), and a
// TCP proxy that delays, stalls or cuts replies. Every successful Get must
// return the value of its own key (values are derived from keys), so a
// reply that reaches the wrong caller is caught. The figures go to the
// JSON file FAULTS_REPORT names, for docs/robustness.md.
package mcfaults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"example.com/converted/internal/memcache"
	"go.uber.org/goleak"
)

const workers = 64

// promptly is how long a call may take to return after its fault; the
// measured times are reported.
const promptly = 2 * time.Second

var (
	server  *memcached
	figures = struct {
		sync.Mutex
		m map[string]map[string]any
	}{m: make(map[string]map[string]any)}
)

func TestMain(m *testing.M) {
	s, err := startMemcached(freePort())
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcfaults:", err)
		os.Exit(1)
	}
	server = s
	code := m.Run()
	server.kill()
	if name := os.Getenv("FAULTS_REPORT"); name != "" {
		figures.Lock()
		data, _ := json.MarshalIndent(figures.m, "", "  ")
		figures.Unlock()
		if err := os.WriteFile(name, data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "mcfaults:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func report(t *testing.T, key string, value any) {
	figures.Lock()
	defer figures.Unlock()
	if figures.m[t.Name()] == nil {
		figures.m[t.Name()] = make(map[string]any)
	}
	figures.m[t.Name()][key] = value
	t.Logf("%s: %v", key, value)
}

// memcached is a memcached process of this test's own.
type memcached struct {
	port string
	cmd  *exec.Cmd
}

func (s *memcached) addr() string { return "127.0.0.1:" + s.port }

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func startMemcached(port string) (*memcached, error) {
	bin := os.Getenv("MEMCACHED_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("memcached"); err != nil {
			return nil, err
		}
	}
	args := []string{"-l", "127.0.0.1", "-p", port, "-U", "0", "-c", "4096", "-t", "2"}
	if os.Geteuid() == 0 {
		user := "memcache"
		if exec.Command("id", user).Run() != nil {
			user = "nobody"
		}
		args = append(args, "-u", user)
	}
	s := &memcached{port: port, cmd: exec.Command(bin, args...)}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if c, err := net.Dial("tcp", s.addr()); err == nil {
			c.Close()
			return s, nil
		}
	}
	s.kill()
	return nil, fmt.Errorf("memcached did not come up on %s", s.addr())
}

// kill kills the process by its PID (SIGKILL: no goodbye to the clients)
// and waits for it.
func (s *memcached) kill() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

func valueFor(key string) []byte {
	return bytes.Repeat([]byte(key+";"), 1+1500/(len(key)+1))
}

// kind names the kind of a failure, for the counts.
func kind(err error) string {
	var ne net.Error
	var cte *memcache.ConnectTimeoutError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "connection cut"
	case errors.As(err, &ne) && ne.Timeout():
		return "i/o timeout"
	case errors.As(err, &cte):
		// gomemcache turns a dial that timed out into its own error; when
		// the caller's ctx ended the dial, the runtime makes it match
		// ctx's error too (counted as a deadline above): this one did not.
		return "connect timeout (gomemcache's own error, not matching ctx)"
	}
	msg := err.Error()
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return "other: " + msg
}

// tally counts calls and failures by kind.
type tally struct {
	calls, ok atomic.Int64
	mu        sync.Mutex
	failed    map[string]int
	example   map[string]string // the first error of each kind
}

func (t *tally) add(err error) { t.addKind(err, "") }

// addKind counts err as k, or by its own kind when k is "".
func (t *tally) addKind(err error, k string) {
	t.calls.Add(1)
	if err == nil {
		t.ok.Add(1)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil {
		t.failed, t.example = make(map[string]int), make(map[string]string)
	}
	if k == "" {
		k = kind(err)
	}
	if t.failed[k]++; t.failed[k] == 1 {
		t.example[k] = err.Error()
	}
}

// examples are the first error of each kind, for the log.
func (t *tally) examples() map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]string)
	for k, v := range t.example {
		out[k] = v
	}
	return out
}

func (t *tally) summary() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	failed := make(map[string]int)
	for k, v := range t.failed {
		failed[k] = v
	}
	return map[string]any{"calls": t.calls.Load(), "ok": t.ok.Load(), "failed": failed}
}

// heapPeak samples the heap in use until stop is called, which returns the
// peak in bytes.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// checkGet fails the test when a successful Get returned another key's
// value: a reply reached the wrong caller.
func checkGet(t *testing.T, key string, it *memcache.Item, err error) {
	if err != nil {
		return
	}
	if it == nil || it.Key != key || !bytes.Equal(it.Value, valueFor(key)) {
		got := "<nil>"
		if it != nil {
			got = fmt.Sprintf("key %q, value %.40q", it.Key, it.Value)
		}
		t.Errorf("Get(%q) returned %s: a reply reached the wrong caller", key, got)
	}
}

// setAll stores the value of every key directly (no proxy).
func setAll(t *testing.T, keys []string) {
	c := memcache.New(server.addr())
	c.Timeout = 5 * time.Second
	defer c.Close()
	for _, k := range keys {
		if err := c.SetContext(t.Context(), &memcache.Item{Key: k, Value: valueFor(k)}); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
}

func keysOf(prefix string, g, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s-%d-%d", prefix, g, i)
	}
	return keys
}

// TestKillMidLoad: 64 goroutines Set and Get; memcached is killed in the
// middle. Every call pending at the kill returns within 2 s (the slowest
// is reported), no goroutine is left behind, and once memcached is back on
// the same port calls succeed again (the time that takes is reported) and
// go on succeeding.
func TestKillMidLoad(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	stopHeap := heapPeak()
	c := memcache.New(server.addr())
	c.Timeout = 5 * time.Second // longer than promptly: the errors must come from the cut connections
	c.MaxIdleConns = workers

	var before, after tally
	var killAt, deadAt atomic.Pointer[time.Time]
	var okWhileDead atomic.Int64 // calls started once the process was gone
	var stop atomic.Bool
	var mu sync.Mutex
	var pendingAtKill, pendingErrors int
	var slowest time.Duration
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys := keysOf("kill", g, 16)
			for i := 0; !stop.Load(); i++ {
				key := keys[i%len(keys)]
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				start := time.Now()
				var err error
				if i%2 == 0 {
					err = c.SetContext(ctx, &memcache.Item{Key: key, Value: valueFor(key)})
				} else {
					var it *memcache.Item
					it, err = c.GetContext(ctx, key)
					if !errors.Is(err, memcache.ErrCacheMiss) {
						checkGet(t, key, it, err)
					} else {
						err = nil
					}
				}
				end := time.Now()
				cancel()
				k := killAt.Load()
				switch {
				case k == nil || end.Before(*k):
					before.add(err)
				default:
					after.add(err)
					if d := deadAt.Load(); err == nil && d != nil && start.After(*d) {
						okWhileDead.Add(1)
					}
					if start.Before(*k) {
						mu.Lock()
						pendingAtKill++
						if err != nil {
							pendingErrors++
						}
						if d := end.Sub(*k); d > slowest {
							slowest = d
						}
						mu.Unlock()
					}
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	now := time.Now()
	killAt.Store(&now)
	server.kill()
	dead := time.Now()
	deadAt.Store(&dead)
	time.Sleep(300 * time.Millisecond) // calls made against the dead server fail too
	stop.Store(true)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(promptly + 5*time.Second):
		t.Fatalf("calls still pending %v after the kill", time.Since(now))
	}
	if before.ok.Load() == 0 {
		t.Fatalf("no call succeeded before the kill: %v", before.summary())
	}
	report(t, "before kill", before.summary())
	report(t, "after kill", after.summary())
	report(t, "pending at kill", pendingAtKill)
	report(t, "pending at kill that failed", pendingErrors)
	report(t, "kill to last pending call's return", slowest.Round(10*time.Microsecond).String())
	if slowest > promptly {
		t.Errorf("a call pending at the kill returned %v after it (allowed %v)", slowest, promptly)
	}
	if n := okWhileDead.Load(); n > 0 {
		t.Errorf("%d calls made after memcached was gone succeeded", n)
	}

	// memcached comes back on the same port
	restartAt := time.Now()
	s, err := startMemcached(server.port)
	if err != nil {
		t.Fatal(err)
	}
	server = s
	ready := time.Now()
	var recovered time.Duration
	var tries int
	for {
		tries++
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.SetContext(ctx, &memcache.Item{Key: "kill-probe", Value: valueFor("kill-probe")})
		cancel()
		if err == nil {
			recovered = time.Since(ready)
			break
		}
		if time.Since(ready) > 10*time.Second {
			t.Fatalf("no call succeeded within 10 s of memcached's restart: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	report(t, "restart (process start to accepting)", ready.Sub(restartAt).Round(10*time.Microsecond).String())
	report(t, "accepting to first successful call", recovered.Round(10*time.Microsecond).String())
	report(t, "calls until the first success", tries)

	// and every call succeeds again
	var again tally
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, key := range keysOf("kill", g, 8) {
				err := c.SetContext(t.Context(), &memcache.Item{Key: key, Value: valueFor(key)})
				again.add(err)
				it, err := c.GetContext(t.Context(), key)
				checkGet(t, key, it, err)
				again.add(err)
			}
		}()
	}
	wg.Wait()
	report(t, "after restart", again.summary())
	if again.ok.Load() != again.calls.Load() {
		t.Errorf("after the restart, calls failed: %v", again.summary())
	}
	c.Close()
	report(t, "peak heap", mib(stopHeap()))
	goleak.VerifyNone(t, leaks)
}

// proxy is a TCP proxy to memcached that passes, delays, stalls or cuts
// what the server sends.
type proxy struct {
	ln    net.Listener
	mode  atomic.Int32
	delay atomic.Int64 // ns, in delay mode
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
	once  sync.Once
}

const (
	pass int32 = iota
	delay
	stall
	cut
)

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			cc, err := ln.Accept()
			if err != nil {
				return
			}
			sc, err := net.Dial("tcp", target)
			if err != nil {
				cc.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, cc, sc)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() {
				defer p.wg.Done()
				io.Copy(sc, cc)
				sc.Close()
			}()
			// server to client: a reader stamps each chunk with its
			// arrival, a writer forwards it as the mode says (a delay is
			// latency added to each chunk, not a cap on throughput)
			type chunk struct {
				data []byte
				at   time.Time
			}
			chunks := make(chan chunk, 1024)
			done := make(chan struct{})
			go func() {
				defer p.wg.Done()
				defer close(chunks)
				for {
					buf := make([]byte, 512)
					n, err := sc.Read(buf)
					if n > 0 {
						select {
						case chunks <- chunk{buf[:n], time.Now()}:
						case <-done:
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer close(done)
				defer cc.Close()
				defer sc.Close()
				for ch := range chunks {
					switch p.mode.Load() {
					case delay:
						time.Sleep(time.Until(ch.at.Add(time.Duration(p.delay.Load()))))
					case stall:
						for p.mode.Load() == stall {
							time.Sleep(time.Millisecond)
						}
					case cut:
						cc.Write(ch.data[:len(ch.data)/2])
						return
					}
					if _, err := cc.Write(ch.data); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(p.close)
	return p
}

// close closes the proxy and its connections and waits for its goroutines.
func (p *proxy) close() {
	p.once.Do(func() {
		p.mode.Store(pass)
		p.ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// phase runs n Gets per goroutine, each goroutine on its own keys, each
// call with its own deadline; it returns the tally, the largest time a
// failing call took past its deadline, and the longest a failing call
// took.
func phase(t *testing.T, c *memcache.Client, keys [][]string, n int, deadline func() time.Duration) (*tally, time.Duration, time.Duration) {
	var tl tally
	var mu sync.Mutex
	var over, slowest time.Duration
	var wg sync.WaitGroup
	for g := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(g)))
			for i := range n {
				key := keys[g][(i+r.Intn(len(keys[g])))%len(keys[g])]
				d := deadline()
				ctx, cancel := context.WithTimeout(context.Background(), d)
				start := time.Now()
				it, err := c.GetContext(ctx, key)
				took := time.Since(start)
				live := ctx.Err() == nil
				cancel()
				checkGet(t, key, it, err)
				if err != nil && live && errors.Is(err, net.ErrClosed) {
					// the call was given a connection that was closed before it
					// began, while its own ctx was live
					tl.addKind(err, closedReused)
				} else {
					tl.add(err)
				}
				if err != nil {
					mu.Lock()
					over = max(over, took-d)
					slowest = max(slowest, took)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return &tl, over, slowest
}

func allKeys(prefix string, per int) (keys [][]string, flat []string) {
	keys = make([][]string, workers)
	for g := range keys {
		keys[g] = keysOf(prefix, g, per)
		flat = append(flat, keys[g]...)
	}
	return keys, flat
}

// TestProxyFaults: through a proxy that delays replies, stalls them, or
// cuts the connection in the middle of one. Delays shorter than the
// deadline only slow calls down; longer ones, and stalls, end every call
// with its deadline, promptly; a cut ends the calls on that connection
// with an error. After each fault, with the proxy passing again at once
// (the replies of cancelled calls still on their way), every call gets
// its own key's value.
func TestProxyFaults(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	stopHeap := heapPeak()
	keys, flat := allKeys("proxy", 8)
	setAll(t, flat)
	p := newProxy(t, server.addr())
	c := memcache.New(p.addr())
	c.Timeout = 5 * time.Second
	c.MaxIdleConns = workers
	fixed := func(d time.Duration) func() time.Duration { return func() time.Duration { return d } }

	allOK := func(what string) {
		t.Helper()
		tl, _, _ := phase(t, c, keys, 10, fixed(2*time.Second))
		report(t, what, tl.summary())
		if tl.ok.Load() != tl.calls.Load() {
			t.Errorf("%s: calls failed: %v", what, tl.summary())
		}
	}
	allDeadline := func(what string, tl *tally, over time.Duration) {
		t.Helper()
		report(t, what, tl.summary())
		report(t, what+": largest time past the deadline", over.Round(10*time.Microsecond).String())
		s := tl.summary()
		if tl.ok.Load() != 0 || s["failed"].(map[string]int)["deadline"] != int(tl.calls.Load()) {
			t.Errorf("%s: want every call to end with its deadline: %v", what, s)
		}
		if over > promptly {
			t.Errorf("%s: a call returned %v after its deadline (allowed %v)", what, over, promptly)
		}
	}

	allOK("passing")

	p.delay.Store(int64(20 * time.Millisecond))
	p.mode.Store(delay)
	tl, _, _ := phase(t, c, keys, 3, fixed(2*time.Second))
	report(t, "replies delayed 20ms, deadline 2s", tl.summary())
	if tl.ok.Load() != tl.calls.Load() {
		t.Errorf("delays shorter than the deadline failed calls: %v", tl.summary())
	}

	p.delay.Store(int64(300 * time.Millisecond))
	tl, over, _ := phase(t, c, keys, 2, fixed(50*time.Millisecond))
	p.mode.Store(pass)
	allDeadline("replies delayed 300ms, deadline 50ms", tl, over)
	allOK("passing again at once after the delays")

	p.mode.Store(stall)
	tl, over, _ = phase(t, c, keys, 2, fixed(50*time.Millisecond))
	p.mode.Store(pass)
	allDeadline("replies stalled, deadline 50ms", tl, over)
	allOK("passing again at once after the stall")

	p.mode.Store(cut)
	tl, _, slowest := phase(t, c, keys, 2, fixed(2*time.Second))
	p.mode.Store(pass)
	report(t, "connections cut mid-reply", tl.summary())
	report(t, "connections cut mid-reply: slowest failing call", slowest.Round(10*time.Microsecond).String())
	if tl.ok.Load() != 0 {
		t.Errorf("calls whose reply was cut in half succeeded: %v", tl.summary())
	}
	allOK("passing again after the cuts")

	c.Close()
	p.close()
	report(t, "peak heap", mib(stopHeap()))
	goleak.VerifyNone(t, leaks)
}

// closedReused is the kind of a failure on a connection closed before the
// call began, with the call's ctx live: the exclusive-connection
// conversion closed a connection whose watch fired just after a
// successful exchange, which gomemcache then put back in its pool (see
// docs/robustness.md, "Faults"); the pipelined conversion does not.
const closedReused = "closed connection reused (ctx live)"

// TestRandomDeadlines: 10,000 Gets from 64 goroutines, each call with a
// random deadline between 0 and 5 ms: every call either gets its own
// key's value (no cross-talk) or ends with an error matching
// context.DeadlineExceeded (also when the deadline ended a dial and
// gomemcache made its own ConnectTimeoutError of it); never on a
// connection closed before it began (closedReused); then every call
// succeeds.
func TestRandomDeadlines(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	stopHeap := heapPeak()
	keys, flat := allKeys("rand", 16)
	setAll(t, flat)
	c := memcache.New(server.addr())
	c.Timeout = 5 * time.Second
	c.MaxIdleConns = workers

	var rmu sync.Mutex
	r := rand.New(rand.NewSource(1))
	random := func() time.Duration {
		rmu.Lock()
		defer rmu.Unlock()
		return time.Duration(r.Int63n(int64(5 * time.Millisecond)))
	}
	const calls = 10000
	start := time.Now()
	tl, over, _ := phase(t, c, keys, calls/workers+1, random)
	if tl.ok.Load() == 0 {
		// A machine loaded enough (CI's parallel -race tests) that no call
		// beats a 0-5 ms deadline tests only the deadline side: again
		// with 0-50 ms, so that both sides are seen.
		report(t, "random deadlines 0-5ms, no call succeeded", tl.summary())
		slower := func() time.Duration { return 10 * random() }
		tl, over, _ = phase(t, c, keys, calls/workers+1, slower)
	}
	report(t, "random deadlines 0-5ms", tl.summary())
	t.Logf("errors: %q", tl.examples())
	report(t, "largest time past the deadline", over.Round(10*time.Microsecond).String())
	report(t, "wall time", time.Since(start).Round(time.Millisecond).String())
	s := tl.summary()
	failed := s["failed"].(map[string]int)
	var kinds []string
	for k := range failed {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	if tl.calls.Load() < calls {
		t.Errorf("%d calls, want %d", tl.calls.Load(), calls)
	}
	for _, k := range kinds {
		if k != "deadline" {
			t.Errorf("failures other than the deadline: %s", strings.Join(kinds, ", "))
			break
		}
	}
	if tl.ok.Load() == 0 || failed["deadline"] == 0 {
		t.Errorf("want both successes and deadlines, got %v", s)
	}
	after, _, _ := phase(t, c, keys, 10, func() time.Duration { return 2 * time.Second })
	report(t, "afterwards, deadline 2s", after.summary())
	if after.ok.Load() != after.calls.Load() {
		t.Errorf("afterwards, calls failed: %v", after.summary())
	}
	c.Close()
	report(t, "peak heap", mib(stopHeap()))
	goleak.VerifyNone(t, leaks)
}

// blackhole returns a loopback address whose dials hang: a listener with a
// backlog of 0 that never accepts, its queue filled.
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
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
		if i > 16 {
			t.Fatal("dials to a full accept queue do not hang on this machine")
		}
	}
}

// TestConnectDeadline: a server whose dials hang, a ctx deadline (30 ms)
// much shorter than the client's connect timeout (1 s). The first call
// dials; calls behind it wait for that dial, and their deadline ends the
// wait, which gomemcache turns into its own *ConnectTimeoutError. Every
// caller's error matches context.DeadlineExceeded; one awaited after it
// resolved is gomemcache's error too (errors.As) with its message. With
// ctx live, gomemcache's own connect timeout comes back as it made it.
func TestConnectDeadline(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	addr := blackhole(t)
	c := memcache.New(addr)
	c.Timeout = time.Second
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			_, errs[i] = c.GetContext(ctx, "k")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("call %d: %v (%T) does not match context.DeadlineExceeded", i, err, err)
		}
	}
	// The first dial is still under way: this call waits for it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	f := c.GetAsync(ctx, "k")
	<-f.Done()
	_, err := f.Await(ctx)
	var cte *memcache.ConnectTimeoutError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &cte) {
		t.Errorf("awaited after it resolved: %v (%T): want a match for context.DeadlineExceeded that is gomemcache's *ConnectTimeoutError", err, err)
	} else if want := (&memcache.ConnectTimeoutError{Addr: cte.Addr}).Error(); err.Error() != want {
		t.Errorf("message %q, want gomemcache's %q", err, want)
	}
	report(t, "error when ctx's deadline ended the wait for a dial", fmt.Sprintf("%q (%T)", err, err))
	// Let the first dial give up; then, ctx live, the client's own timeout.
	time.Sleep(1100 * time.Millisecond)
	_, err = c.GetContext(context.Background(), "k")
	if _, ok := err.(*memcache.ConnectTimeoutError); !ok {
		t.Errorf("ctx live: %v (%T), want gomemcache's *ConnectTimeoutError itself", err, err)
	}
	c.Close()
	time.Sleep(100 * time.Millisecond)
	goleak.VerifyNone(t, leaks)
}
