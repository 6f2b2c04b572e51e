package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The gomemcache version before DESIGN.md §6's pin: between the two, upstream renamed Client.lk
// to Client.mu and changed withAddrRw's callback from func(*bufio.ReadWriter) error to
// func(*conn) error.
const gomemcacheOldVersion = "v0.0.0-20230905024940-24af94b03874"

// TestRegenerateAcrossUpgrade is the user's loop of DESIGN.md §1 on a real client: convert
// gomemcache at an old version with -o, check, catch a hand edit, upgrade upstream, catch the stale
// output, regenerate, review a diff that carries upstream's changes, build and test the result.
// Along the way the upstream module stays required after go mod tidy, though nothing but the record
// imports it any more.
func TestRegenerateAcrossUpgrade(t *testing.T) {
	const out = "./internal/memcache"
	dir := writeModule(t, "regen", map[string]string{
		"go.mod": "module example.com/app\n\ngo 1.26\n\nrequire " + gomemcacheModule + " " + gomemcacheOldVersion + "\n",
		"app.go": "package app\n\nimport _ \"" + gomemcachePkg + "\"\n",
	})
	goIn(t, dir, "mod", "tidy")

	res := asyncify(t, dir, "-o", out, gomemcachePkg)
	if res.exit != 0 {
		t.Fatalf("asyncify -o: exit %d\n%s", res.exit, res.stderr)
	}
	// the first run's diff is from upstream to the converted package; the runtime is written, not shown
	if !strings.Contains(res.stdout, "+++ b/memcache/memcache.go\n") || !strings.Contains(res.stdout, "+func (c *Client) GetContext(ctx context.Context, key string)") {
		t.Errorf("first -o: want the diff from upstream, got:\n%.2000s", res.stdout)
	}
	if strings.Contains(res.stdout, "+++ b/memcache/asyncify_stream.go") || !strings.Contains(res.stderr, "asyncify_stream.go") {
		t.Errorf("first -o: the runtime is shown in the diff, or stderr does not say it was written:\n%s", res.stderr)
	}
	record := regenRead(t, filepath.Join(dir, out, "asyncify_record.go"))
	for _, want := range []string{
		"// asyncify:module " + gomemcacheModule + " " + gomemcacheOldVersion + "\n",
		"// asyncify:input memcache.go sha256:",
		"import _ \"" + gomemcachePkg + "\"\n",
	} {
		if !strings.Contains(record, want) {
			t.Errorf("the record lacks %q:\n%s", want, record)
		}
	}

	// The user's code now imports the copy only: go mod tidy keeps upstream required (the
	// record imports it under a build tag), and the next regeneration has its input.
	regenWrite(t, filepath.Join(dir, "app.go"), "package app\n\nimport _ \"example.com/app/internal/memcache\"\n")
	goIn(t, dir, "mod", "tidy")
	if gomod := regenRead(t, filepath.Join(dir, "go.mod")); !strings.Contains(gomod, gomemcacheModule+" "+gomemcacheOldVersion) {
		t.Fatalf("go mod tidy dropped upstream:\n%s", gomod)
	}
	goIn(t, dir, "build", "./...")

	check := func(step string, wantExit int, wantErr ...string) {
		t.Helper()
		res := asyncify(t, dir, "-check", "-o", out, gomemcachePkg)
		if res.exit != wantExit {
			t.Fatalf("%s: -check exit %d, want %d\nstdout:\n%.3000s\nstderr:\n%s", step, res.exit, wantExit, res.stdout, res.stderr)
		}
		for _, w := range wantErr {
			if !strings.Contains(res.stderr, w) {
				t.Errorf("%s: -check stderr lacks %q:\n%s", step, w, res.stderr)
			}
		}
	}
	check("fresh output", 0)

	converted := filepath.Join(dir, out, "memcache.go")
	orig := regenRead(t, converted)
	regenWrite(t, converted, strings.Replace(orig, "\nfunc New(", "\n// a local tweak\nfunc New(", 1))
	check("hand edit", 1, "internal/memcache/memcache.go: edited by hand")
	regenWrite(t, converted, orig)
	check("edit undone", 0)

	goIn(t, dir, "get", gomemcacheModule+"@"+gomemcacheVersion)
	check("after upgrading upstream", 1, "stale", gomemcacheVersion)

	res = asyncify(t, dir, "-o", out, gomemcachePkg)
	if res.exit != 0 {
		t.Fatalf("regenerating: exit %d\n%s", res.exit, res.stderr)
	}
	// The diff runs from the previous output to the new one, and carries upstream's changes:
	// lk renamed to mu, withAddrRw's callback type.
	diff := res.stdout
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^--- a/internal/memcache/memcache\.go$`),
		regexp.MustCompile(`(?m)^-.*\bc\.lk\.Lock\(\)`),
		regexp.MustCompile(`(?m)^\+.*\bc\.mu\.Lock\(\)`),
		regexp.MustCompile(`(?m)^-func \(c \*Client\) withAddrRw\(.*\*bufio\.ReadWriter`),
		regexp.MustCompile(`(?m)^\+func \(c \*Client\) withAddrRw\(.*\*conn\b`),
		regexp.MustCompile(`(?m)^-// asyncify:module ` + regexp.QuoteMeta(gomemcacheModule+" "+gomemcacheOldVersion) + `$`),
		regexp.MustCompile(`(?m)^\+// asyncify:module ` + regexp.QuoteMeta(gomemcacheModule+" "+gomemcacheVersion) + `$`),
	} {
		if !want.MatchString(diff) {
			t.Errorf("the regeneration diff has no line matching %s", want)
		}
	}
	if strings.Contains(diff, "--- /dev/null\n+++ b/internal/memcache/memcache.go") {
		t.Error("the regeneration diff shows memcache.go as a new file, not upstream's changes")
	}
	if t.Failed() {
		t.Logf("regeneration diff:\n%.6000s", diff)
	}

	goIn(t, dir, "build", "./...")
	goIn(t, dir, "vet", out)
	regenNeedMemcached(t)
	// A focused subset of the converted package's own tests: TestLocalhost runs the whole API against
	// the memcached on 127.0.0.1:11211; TestFakeServer against upstream's fake server. (The tests
	// that start a memcached binary of their own run in the realclients e2e test.)
	cmd := exec.Command("go", "test", "-count=1", "-v", "-run", "^(TestLocalhost|TestFakeServer|TestScanGetResponseLine)$", out)
	cmd.Dir = dir
	cmd.Env = moduleEnv()
	testOut, err := cmd.CombinedOutput()
	if err != nil && touchExpiryFlake(string(testOut)) {
		t.Logf("TestLocalhost missed its touch-expiry timing; running the tests once more:\n%s", testOut)
		cmd = exec.Command("go", cmd.Args[1:]...)
		cmd.Dir = dir
		cmd.Env = moduleEnv()
		testOut, err = cmd.CombinedOutput()
	}
	if err != nil {
		t.Fatalf("go test of the regenerated package: %v\n%s", err, testOut)
	}
	for _, name := range []string{"TestLocalhost", "TestFakeServer"} {
		if !strings.Contains(string(testOut), "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass (skipped?):\n%s", name, testOut)
		}
	}

	check("after regenerating", 0)
	// and once more through go mod tidy: the regeneration still finds its input, and is a no-op
	goIn(t, dir, "mod", "tidy")
	res = asyncify(t, dir, "-o", out, gomemcachePkg)
	if res.exit != 0 || res.stdout != "" {
		t.Errorf("regenerating after go mod tidy: exit %d, printed:\n%.2000s\n%s", res.exit, res.stdout, res.stderr)
	}
	// Vendoring the same version changes nothing: the record names the module from
	// vendor/modules.txt and the inputs by name, the tests come from the module cache's copy.
	goIn(t, dir, "mod", "vendor")
	if res := asyncifyEnv(t, dir, []string{"GOFLAGS=-mod=vendor"}, "-check", "-o", out, gomemcachePkg); res.exit != 0 {
		t.Errorf("-check after go mod vendor: exit %d\nstdout:\n%.3000s\nstderr:\n%s", res.exit, res.stdout, res.stderr)
	}
}

// TestGoGenerate: a //go:generate asyncify directive in a file of the user's own in the output
// directory regenerates the copy with go generate (asyncify on PATH), and -check passes after it.
// The user's file is left alone.
func TestGoGenerate(t *testing.T) {
	const gen = "// Package lines is a context-aware copy of example.com/gen/upstream, made by asyncify.\npackage lines\n\n//go:generate asyncify -o . example.com/gen/upstream\n"
	dir := writeModule(t, "generate", map[string]string{
		"go.mod": "module example.com/gen\n\ngo 1.26\n",
		"upstream/lines.go": `// Package lines is a line client.
package lines

import (
	"bufio"
	"net"
)

// Conn is a connection.
type Conn struct {
	nc net.Conn
	r  *bufio.Reader
}

// Dial connects to addr.
func Dial(addr string) (*Conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Conn{nc: nc, r: bufio.NewReader(nc)}, nil
}

// Line reads a line.
func (c *Conn) Line() (string, error) { return c.r.ReadString('\n') }
`,
		"lines/generate.go": gen,
	})
	env := append(moduleEnv(), "PATH="+filepath.Dir(asyncifyBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	generate := func() string {
		t.Helper()
		cmd := exec.Command("go", "generate", "./lines")
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go generate: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := generate(); !strings.Contains(out, "+func (c *Conn) LineContext(ctx context.Context)") {
		t.Errorf("go generate printed no conversion diff:\n%s", out)
	}
	if regenRead(t, filepath.Join(dir, "lines", "generate.go")) != gen {
		t.Error("the user's generate.go was changed")
	}
	goIn(t, dir, "vet", "./lines")
	if res := asyncify(t, filepath.Join(dir, "lines"), "-check", "-o", ".", "example.com/gen/upstream"); res.exit != 0 {
		t.Errorf("-check after go generate: exit %d\n%s", res.exit, res.stderr)
	}
	// upstream changes; go generate carries the change over
	up := filepath.Join(dir, "upstream", "lines.go")
	regenWrite(t, up, strings.Replace(regenRead(t, up), "// Line reads a line.", "// Line reads one line.", 1))
	if res := asyncify(t, dir, "-check", "-o", "./lines", "example.com/gen/upstream"); res.exit != 1 || !strings.Contains(res.stderr, "stale") {
		t.Errorf("-check after an upstream change: exit %d\n%s", res.exit, res.stderr)
	}
	if out := generate(); !strings.Contains(out, "+// Line reads one line.") {
		t.Errorf("go generate after an upstream change printed:\n%s", out)
	}
	if res := asyncify(t, dir, "-check", "-o", "./lines", "example.com/gen/upstream"); res.exit != 0 {
		t.Errorf("-check after regenerating: exit %d\n%s", res.exit, res.stderr)
	}
}

// regenNeedMemcached fails the test (under CI=true) or skips it when no memcached listens on
// 127.0.0.1:11211 (MEMCACHED_ADDR).
func regenNeedMemcached(t *testing.T) {
	t.Helper()
	addr := os.Getenv("MEMCACHED_ADDR")
	if addr == "" {
		addr = "127.0.0.1:11211"
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("memcached at %s: %v (.ci/run starts it)", addr, err)
		}
		t.Skipf("memcached at %s: %v", addr, err)
	}
	c.Close()
}

func regenRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func regenWrite(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
