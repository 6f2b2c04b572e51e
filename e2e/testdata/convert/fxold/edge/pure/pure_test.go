package oldapi

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/edge/pure"
)

// TestOldAPIPure uses the edge/pure fixture, a memcached-style client,
// through its old exported signatures only (Dial, Set, Get, Stats, Close),
// against the real memcached: the e2e tests run it against the converted
// fixture and against the original.
func TestOldAPIPure(t *testing.T) {
	addr := os.Getenv("MEMCACHED_ADDR")
	if addr == "" {
		addr = "127.0.0.1:11211"
	}
	c, err := pure.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	key := fmt.Sprintf("fxold-pure-%d", time.Now().UnixNano())
	if _, _, err := c.Get(key); !errors.Is(err, pure.ErrCacheMiss) {
		t.Fatalf("Get of a missing key: err = %v, want ErrCacheMiss", err)
	}
	if err := c.Set(key, 42, []byte("line one\r\nline two")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	// Get lower-cases the key.
	if v, flags, err := c.Get(strings.ToUpper(key)); err != nil || string(v) != "line one\r\nline two" || flags != 42 {
		t.Errorf("Get = %q, %d, %v", v, flags, err)
	}
	if err := c.Set("two words", 0, nil); !errors.Is(err, pure.ErrMalformedKey) {
		t.Errorf("Set with a bad key: err = %v, want ErrMalformedKey", err)
	}
	// memcached refuses items larger than its 1 MB default limit.
	var se *pure.ServerError
	if err := c.Set(key+"-big", 0, make([]byte, 2<<20)); !errors.As(err, &se) {
		t.Errorf("Set of 2 MB: err = %v, want a *ServerError", err)
	}
	stats, err := c.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if n, err := strconv.Atoi(stats["curr_items"]); err != nil || n < 1 || stats["version"] == "" {
		t.Errorf("Stats: curr_items %q, version %q", stats["curr_items"], stats["version"])
	}
	if v, _, err := c.Get(key); err != nil || len(v) != len("line one\r\nline two") {
		t.Errorf("Get after Stats = %q, %v", v, err)
	}
}
