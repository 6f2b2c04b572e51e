package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestFaults runs the converted gomemcache under faults (issue 7): the
// program in testdata/faults/mcfaults is installed next to the conversion
// (`asyncify -o ./internal/memcache`, shared with TestConvertGomemcache)
// and run there with `go test -race`. It starts a memcached of its own on
// a free port (never 11211), kills it by PID in the middle of a load from
// 64 goroutines and restarts it on the same port, puts a TCP proxy of its
// own between the client and memcached that delays, stalls or cuts the
// replies, and makes 10,000 calls with random deadlines of 0-5 ms. Every
// successful Get must return its own key's value, and every failure under
// a random deadline must match context.DeadlineExceeded (0 exceptions);
// a dial that hangs (TestConnectDeadline) gives callers whose deadline
// ends it an error matching both context.DeadlineExceeded and
// gomemcache's *ConnectTimeoutError. The figures it reports
// are logged here; docs/robustness.md ("Faults") keeps those of a run.
//
// FAULTS_REPORT=FILE keeps the figures as JSON.
func TestFaults(t *testing.T) {
	bin, err := exec.LookPath("memcached")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no memcached binary on PATH: %v", err)
		}
		t.Skipf("no memcached binary on PATH: %v", err)
	}
	dir, res := convertInto(t, "memcache", gomemcachePkg)
	if res.exit != 0 {
		t.Fatalf("asyncify -o ./internal/memcache %s: exit %d\n%s", gomemcachePkg, res.exit, res.stderr)
	}
	converted := convertedModulePath + "/internal/memcache"
	installProgram(t, dir, filepath.Join("..", "faults", "mcfaults"), "mcfaults", converted, converted, nil)
	reportFile := os.Getenv("FAULTS_REPORT")
	if reportFile == "" {
		reportFile = filepath.Join(t.TempDir(), "faults.json")
	} else if reportFile, err = filepath.Abs(reportFile); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-race", "-count=1", "-v", "./mcfaults")
	cmd.Dir = dir
	cmd.Env = append(moduleEnv(), "MEMCACHED_BIN="+bin, "FAULTS_REPORT="+reportFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test -race ./mcfaults: %v\n%s", err, out)
	}
	for _, want := range []string{"--- PASS: TestKillMidLoad", "--- PASS: TestProxyFaults", "--- PASS: TestRandomDeadlines", "--- PASS: TestConnectDeadline"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go test ./mcfaults: no %q in its output:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	var figures map[string]map[string]any
	if err := json.Unmarshal(data, &figures); err != nil {
		t.Fatalf("%s: %v", reportFile, err)
	}
	var tests []string
	for name := range figures {
		tests = append(tests, name)
	}
	sort.Strings(tests)
	for _, name := range tests {
		var keys []string
		for k := range figures[name] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Logf("%s: %s: %v", name, k, figures[name][k])
		}
	}
}
