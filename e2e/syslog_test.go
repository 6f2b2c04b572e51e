package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertSyslog: the standard library's log/syslog, converted with default settings into a
// module of ours (asyncify -o), passes its own tests. Its traffic is writes with no replies, over
// stream and datagram sockets, with reconnects: when its connections were shared, TestFlap and
// TestWithSimulated hung and TestWrite failed with "unexpected EOF" (issue 14). The detector's
// evidence (operations that write and read no reply) keeps one connection per dial, as upstream,
// and a note at the write says so. (The real-client harness, scripts/realclients, converts
// log/syslog as well; this test stays so that e2e alone covers it.)
func TestConvertSyslog(t *testing.T) {
	t.Parallel()
	dir := writeModule(t, "syslog", map[string]string{
		"go.mod": "module example.com/syslogcopy\n\ngo 1.26\n",
	})
	res := asyncify(t, dir, "-o", "./syslog", "log/syslog")
	if res.exit != 0 {
		t.Fatalf("asyncify -o ./syslog log/syslog: exit %d\n%s", res.exit, res.stderr)
	}
	noted := false
	for _, line := range strings.Split(res.stderr, "\n") {
		if strings.Contains(line, "syslog.go:") && strings.Contains(line, "connections are not shared") && strings.Contains(line, "reads no reply") {
			noted = true
		}
	}
	if !noted {
		t.Errorf("no note says the connections are not shared because operations write with no reply:\n%s", res.stderr)
	}
	src, err := os.ReadFile(filepath.Join(dir, "syslog", "syslog.go"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(src), "shareConn(") {
		t.Error("the converted syslog.go shares its connections (shareConn)")
	}
	goIn(t, dir, "vet", "./syslog")
	goIn(t, dir, "test", "-count=1", "-race", "-timeout=5m", "./syslog")
}
