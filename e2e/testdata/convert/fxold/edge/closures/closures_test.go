package oldapi

import (
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/closures"
)

// TestOldAPIClosures uses the edge/closures fixture through its old exported
// signatures only (Dial, Get, GetAll, Close): the e2e tests run it against
// the converted fixture and against the original.
func TestOldAPIClosures(t *testing.T) {
	addr := lineServer(t, func(line string) string {
		key, ok := strings.CutPrefix(line, "GET ")
		if !ok {
			return "ERR\n"
		}
		return "value of " + key + "\n"
	})
	c, err := closures.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if got, err := c.Get("a"); err != nil || got != "value of a" {
		t.Errorf("Get = %q, %v", got, err)
	}
	var keys, want []string
	for i := range 50 {
		keys = append(keys, fmt.Sprint("key", i))
		want = append(want, fmt.Sprint("value of key", i))
	}
	if got, err := c.GetAll(keys); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GetAll = %d values, %v", len(got), err)
	}
	if got, err := c.GetAll(nil); err != nil || len(got) != 0 {
		t.Errorf("GetAll(nil) = %q, %v", got, err)
	}
	if got, err := c.Get("b"); err != nil || got != "value of b" {
		t.Errorf("Get after GetAll = %q, %v", got, err)
	}

	// A server that hangs up: GetAll returns the read error.
	gone, err := closures.Dial(serve(t, func(nc net.Conn) {}))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer gone.Close()
	if _, err := gone.GetAll([]string{"x", "y"}); err == nil {
		t.Error("GetAll from a server that hung up succeeded")
	}
}
