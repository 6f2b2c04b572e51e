package oldapi

import (
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/callbacks"
)

// TestOldAPICallbacks uses the edge/callbacks fixture through its old exported
// signatures only (Dial, Echo, PingN, Keys, Close): the e2e tests run it
// against the converted fixture and against the original.
func TestOldAPICallbacks(t *testing.T) {
	var pings atomic.Int32
	addr := lineServer(t, func(line string) string {
		switch {
		case line == "PING":
			pings.Add(1)
			return "PONG\n"
		case line == "KEYS":
			return "2\nred\nblue\n"
		case strings.HasPrefix(line, "ECHO "):
			return strings.ToUpper(line[len("ECHO "):]) + "\n"
		}
		return "ERR\n"
	})
	c, err := callbacks.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if got, err := c.Echo("old api"); err != nil || got != "OLD API" {
		t.Errorf("Echo = %q, %v", got, err)
	}
	if err := c.PingN(4); err != nil || pings.Load() != 4 {
		t.Errorf("PingN(4): %v; the server saw %d pings", err, pings.Load())
	}
	if keys, err := c.Keys(); err != nil || !reflect.DeepEqual(keys, []string{"red", "blue"}) {
		t.Errorf("Keys = %q, %v", keys, err)
	}
	if got, err := c.Echo("x"); err != nil || got != "X" {
		t.Errorf("Echo after Keys = %q, %v", got, err)
	}

	// A server that answers PING wrongly: PingN stops at the first reply.
	wrong, err := callbacks.Dial(lineServer(t, func(string) string { return "PANG\n" }))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer wrong.Close()
	if err := wrong.PingN(3); err == nil || !strings.Contains(err.Error(), `"PANG"`) {
		t.Errorf("PingN against a wrong server: err = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Echo("closed"); err == nil {
		t.Error("Echo after Close succeeded")
	}
}
