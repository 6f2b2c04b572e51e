package oldapi

import (
	"net"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/connreader"
)

// TestOldAPIConnreader uses the edge/connreader fixture through its old exported
// signatures only (Dial, NewClient, Get, BytesRead, Close): the e2e tests
// run it against the converted fixture and against the original.
func TestOldAPIConnreader(t *testing.T) {
	addr := lineServer(t, func(line string) string {
		key, ok := strings.CutPrefix(line, "GET ")
		if !ok || key == "nope" {
			return "ERR unknown key\n"
		}
		return strings.Repeat(key, 3) + "\n"
	})
	c, err := connreader.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	var read int64
	for _, key := range []string{"ab", "x", "long-key"} {
		if got, err := c.Get(key); err != nil || got != strings.Repeat(key, 3) {
			t.Errorf("Get(%q) = %q, %v", key, got, err)
		}
		read += int64(3*len(key) + 1)
	}
	if got := c.BytesRead(); got != read {
		t.Errorf("BytesRead = %d, want %d", got, read)
	}
	if _, err := c.Get("nope"); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("Get of an unknown key: err = %v", err)
	}

	// NewClient over a connection of the program's own.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	own := connreader.NewClient(nc)
	defer own.Close()
	if got, err := own.Get("o"); err != nil || got != "ooo" || own.BytesRead() != 4 {
		t.Errorf("NewClient: Get = %q, %v after %d bytes", got, err, own.BytesRead())
	}
}
