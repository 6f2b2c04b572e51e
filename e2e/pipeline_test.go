package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The pipelined conversion under load (issue 5): a converted client shares a few physical
// connections among goroutines, and no goroutine ever reads another's reply, even when a third
// of the calls are cancelled at random. The checks run inside the converted package (a test
// file written next to it, so that it can count the physical connections the runtime dialed),
// under -race, against the real servers.

// crossTalkTest is the test written into the converted package. %[1]s is the package name,
// %[2]s declares newClient(t) returning set/get/close functions for one goroutine (a client
// shared by all, or a connection of its own), %[3]s the server address's env variable.
const crossTalkTest = `package %[1]s

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

%[2]s

// TestPipelinedCrossTalk: 64 goroutines on distinct keys with random values; every read
// returns its own key's latest value. Then a third of the calls are cancelled at random:
// a value read is still always one this goroutine wrote to this key, and afterwards the client
// still works and the values are exact again.
func TestPipelinedCrossTalk(t *testing.T) {
	addr := os.Getenv(%[3]q)
	dials := shareDials.Load()
	const goroutines, rounds = 64, 60
	run := time.Now().UnixNano()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*4)
	var closers []func()
	var mu sync.Mutex
	for g := 0; g < goroutines; g++ {
		set, get, closeFn := newClient(t, addr)
		mu.Lock()
		closers = append(closers, closeFn)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(run + int64(g)))
			key := fmt.Sprintf("asyncify-pl-%%d-%%d", run, g)
			latest := ""
			value := func(i int) string {
				return key + ":" + strconv.Itoa(i) + ":" + strings.Repeat("v", rnd.Intn(200))
			}
			fail := func(format string, args ...any) {
				select {
				case errs <- fmt.Errorf(key+": "+format, args...):
				default:
				}
			}
			// Exact phase.
			for i := 0; i < rounds; i++ {
				v := value(i)
				if err := set(context.Background(), key, v); err != nil {
					fail("set: %%v", err)
					return
				}
				latest = v
				got, err := get(context.Background(), key)
				if err != nil || got != latest {
					fail("get = %%.40q, %%v; want %%.40q", got, err, latest)
					return
				}
			}
			// Cancellation phase.
			for i := rounds; i < 2*rounds; i++ {
				ctx, cancel := context.WithCancel(context.Background())
				if rnd.Intn(3) == 0 {
					time.AfterFunc(time.Duration(rnd.Intn(300))*time.Microsecond, cancel)
				}
				if rnd.Intn(2) == 0 {
					err := set(ctx, key, value(i))
					if err != nil && !errors.Is(err, context.Canceled) {
						fail("set (maybe cancelled): %%v", err)
					}
				} else {
					got, err := get(ctx, key)
					if err != nil && !errors.Is(err, context.Canceled) {
						fail("get (maybe cancelled): %%v", err)
					}
					if err == nil && !strings.HasPrefix(got, key+":") {
						fail("cross-talk: got %%.60q", got)
					}
				}
				cancel()
			}
			// The requests of cancelled callers still complete: let them land, then exact again.
			time.Sleep(300 * time.Millisecond)
			for i := 2 * rounds; i < 2*rounds+10; i++ {
				v := value(i)
				if err := set(context.Background(), key, v); err != nil {
					fail("set after cancellations: %%v", err)
					return
				}
				if got, err := get(context.Background(), key); err != nil || got != v {
					fail("get after cancellations = %%.40q, %%v; want %%.40q", got, err, v)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	t.Logf("PHYSICAL_CONNECTIONS %%d", shareDials.Load()-dials)
	if d := shareDials.Load() - dials; d < 1 || d > 8 {
		t.Errorf("%%d physical connections dialed for %%d goroutines, want 1 to 8", d, goroutines)
	}
	for _, c := range closers {
		c()
	}
	goleak.VerifyNone(t)
}
`

// gomemcacheClient: one converted gomemcache Client shared by every goroutine, with its
// default settings.
const gomemcacheClient = `var sharedClient struct {
	sync.Once
	c *Client
}

func newClient(t *testing.T, addr string) (set func(context.Context, string, string) error, get func(context.Context, string) (string, error), closeFn func()) {
	sharedClient.Do(func() { sharedClient.c = New(addr) })
	c := sharedClient.c
	set = func(ctx context.Context, k, v string) error { return c.SetContext(ctx, &Item{Key: k, Value: []byte(v)}) }
	get = func(ctx context.Context, k string) (string, error) {
		it, err := c.GetContext(ctx, k)
		if err != nil {
			return "", err
		}
		return string(it.Value), nil
	}
	return set, get, func() { c.Close() }
}`

// respClient: a converted RESP Conn per goroutine (the Conn is not safe for concurrent use);
// the Conns' dials share physical connections: the module is converted with "share Dial".
const respClient = `func newClient(t *testing.T, addr string) (set func(context.Context, string, string) error, get func(context.Context, string) (string, error), closeFn func()) {
	c, err := DialContext(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	return c.SetContext, c.GetContext, func() { c.Close() }
}`

// runCrossTalk writes the test into dir/pkgDir and runs it with the server at addr.
func runCrossTalk(t *testing.T, dir, pkgDir, pkgName, client, env, addr string) {
	t.Helper()
	src := fmt.Sprintf(crossTalkTest, pkgName, client, env)
	if err := os.WriteFile(filepath.Join(dir, pkgDir, "asyncify_e2e_crosstalk_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-race", "-count=1", "-timeout=3m", "-v", "-run", "^TestPipelinedCrossTalk$", "./"+pkgDir)
	cmd.Dir = dir
	cmd.Env = append(moduleEnv(), env+"="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test ./%s: %v\n%s", pkgDir, err, out)
	}
	if m := regexp.MustCompile(`PHYSICAL_CONNECTIONS (\d+)`).FindSubmatch(out); m != nil {
		t.Logf("64 goroutines: %s physical connection(s) dialed", m[1])
	}
}

func TestPipelinedGomemcache(t *testing.T) {
	addr := needServer(t, "MEMCACHED_ADDR", "127.0.0.1:11211")
	dir, res := convertInto(t, "plmemcache", gomemcachePkg)
	if res.exit != 0 {
		t.Fatalf("asyncify: exit %d\n%s", res.exit, res.stderr)
	}
	runCrossTalk(t, dir, "internal/plmemcache", "memcache", gomemcacheClient, "E2E_MEMCACHED_ADDR", addr)
}

func TestPipelinedRESP(t *testing.T) {
	addr := needServer(t, "REDIS_ADDR", "127.0.0.1:16379")
	dir := respModule(t, "share Dial\n")
	runCrossTalk(t, dir, "internal/resp", "resp", respClient, "E2E_REDIS_ADDR", addr)
}

// separateDialsTest is written into the RESP fixture converted without a share rule: two Dials
// to one address are two physical connections (two connection ids on the server, two dials
// by the runtime), and a connection's state (the database SELECT chose) stays with it.
const separateDialsTest = `package resp

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestSeparateDials(t *testing.T) {
	addr := os.Getenv("E2E_REDIS_ADDR")
	dials := shareDials.Load()
	ctx := context.Background()
	c1, err := DialContext(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := DialContext(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if d := shareDials.Load() - dials; d != 2 {
		t.Errorf("two Dials: %d physical connections dialed, want 2", d)
	}
	id1, err1 := c1.DoContext(ctx, "CLIENT", "ID")
	id2, err2 := c2.DoContext(ctx, "CLIENT", "ID")
	if err1 != nil || err2 != nil || id1.Int == id2.Int {
		t.Errorf("CLIENT ID: %v, %v / %v, %v: want two different connections", id1, err1, id2, err2)
	}
	key := fmt.Sprintf("asyncify-sep-%d", time.Now().UnixNano())
	if _, err := c1.DoContext(ctx, "SELECT", "1"); err != nil {
		t.Fatal(err)
	}
	if err := c1.SetContext(ctx, key, "db1"); err != nil {
		t.Fatal(err)
	}
	defer c1.DelContext(ctx, key)
	// c2 is still on database 0: the key c1 set in database 1 is not there.
	if n, err := c2.DoContext(ctx, "EXISTS", key); err != nil || n.Int != 0 {
		t.Errorf("EXISTS on the second connection = %v, %v: the first one's SELECT leaked into it", n, err)
	}
	if got, err := c1.GetContext(ctx, key); err != nil || got != "db1" {
		t.Errorf("GET on the first connection = %q, %v", got, err)
	}
	c1.DelContext(ctx, key)
	c1.Close()
	c2.Close()
	goleak.VerifyNone(t)
}
`

// TestRESPDialsSeparate: without a share rule, separate Dials of the converted RESP fixture
// are separate connections (issue: a shared one leaked SELECT between them).
func TestRESPDialsSeparate(t *testing.T) {
	runRESPTest(t, "", "asyncify_e2e_separate_test.go", separateDialsTest, "TestSeparateDials")
}

// runRESPTest writes src, a test file, as file into the RESP fixture converted under conf, and
// runs its test name there with -race against the redis-server of REDIS_ADDR.
func runRESPTest(t *testing.T, conf, file, src, name string) {
	t.Helper()
	addr := needServer(t, "REDIS_ADDR", "127.0.0.1:16379")
	dir := respModule(t, conf)
	if err := os.WriteFile(filepath.Join(dir, "internal", "resp", file), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-race", "-count=1", "-timeout=2m", "-v", "-run", "^"+name+"$", "./internal/resp")
	cmd.Dir = dir
	cmd.Env = append(moduleEnv(), "E2E_REDIS_ADDR="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("go test ./internal/resp: %v\n%s", err, out)
	}
}

// futuresOneConnTest is written into the RESP fixture converted with "share Dial": futures on
// one Conn (not safe for concurrent use) run in the order issued, whatever order they are
// awaited in, each with its own reply, and the Conn works after them (issue 16: before, the
// second future's write failed).
const futuresOneConnTest = `package resp

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestFuturesOnOneConn(t *testing.T) {
	addr := os.Getenv("E2E_REDIS_ADDR")
	ctx := context.Background()
	c, err := DialContext(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	other, err := DialContext(ctx, addr) // a second Conn: the connection is shared
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("asyncify-e2e-oneconn-%d", os.Getpid())
	var sets []*Future[struct{}]
	var gets []*Future[string]
	for i := 0; i < 50; i++ {
		sets = append(sets, c.SetAsync(ctx, key, fmt.Sprint(i)))
		gets = append(gets, c.GetAsync(ctx, key))
	}
	for i := len(gets) - 1; i >= 0; i-- { // awaited last first
		if v, err := gets[i].Await(ctx); err != nil || v != fmt.Sprint(i) {
			t.Errorf("GetAsync after SetAsync %d: %q, %v", i, v, err)
		}
	}
	for i, f := range sets {
		if _, err := f.Await(ctx); err != nil {
			t.Errorf("SetAsync %d: %v", i, err)
		}
	}
	// Never awaited, then a call on the Conn: it runs after them.
	for i := 0; i < 10; i++ {
		c.IncrAsync(ctx, key)
	}
	if n, err := c.IncrContext(ctx, key); err != nil || n != 60 {
		t.Errorf("Incr after 10 IncrAsync never awaited: %d, %v; want 60", n, err)
	}
	c.DelContext(ctx, key)
	c.Close()
	other.Close()
	goleak.VerifyNone(t)
}
`

// TestRESPFuturesOnOneConn: futures on one Conn of the converted RESP fixture keep their order.
func TestRESPFuturesOnOneConn(t *testing.T) {
	runRESPTest(t, "share Dial\n", "asyncify_e2e_oneconn_test.go", futuresOneConnTest, "TestFuturesOnOneConn")
}

// respModule is a temporary module holding the RESP fixture converted with -o, under the
// configuration conf ("" for none).
func respModule(tb testing.TB, conf string) string {
	tb.Helper()
	fixtures, err := filepath.Abs(filepath.Join("..", "fixtures"))
	if err != nil {
		tb.Fatal(err)
	}
	const fixturesModule = "github.com/asyncify-dev/asyncify/fixtures"
	dir := writeModule(tb, "resp", map[string]string{
		"go.mod": fmt.Sprintf("module example.com/plresp\n\ngo 1.26\n\nrequire %s v0.0.0\n\nreplace %s => %s\n",
			fixturesModule, fixturesModule, fixtures),
		"tools.go": fmt.Sprintf("//go:build tools\n\npackage plresp\n\nimport _ %q\n", fixturesModule+"/resp"),
	})
	goIn(tb, dir, "get", "go.uber.org/goleak@"+goleakVersion)
	if err := os.WriteFile(filepath.Join(dir, "asyncify-e2e.conf"), []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	if r := asyncify(tb, dir, "-config", "asyncify-e2e.conf", "-o", "./internal/resp", fixturesModule+"/resp"); r.exit != 0 || strings.Contains(r.stderr, "matched nothing") {
		tb.Fatalf("asyncify: exit %d\n%s", r.exit, r.stderr)
	}
	return dir
}
