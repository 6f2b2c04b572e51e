// Package mctext uses the mctext fixture through its old exported
// signatures only, against the real memcached: the e2e tests run it against
// the converted fixture and against the original.
package mctext

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/mctext"
)

func TestOldAPI(t *testing.T) {
	addr := os.Getenv("MEMCACHED_ADDR")
	if addr == "" {
		addr = "127.0.0.1:11211"
	}
	c := mctext.New(addr)
	c.Timeout = 2 * time.Second
	key := fmt.Sprintf("fxold-%d", time.Now().UnixNano())
	if _, err := c.Get(key); !errors.Is(err, mctext.ErrCacheMiss) {
		t.Fatalf("Get of a missing key: %v, want ErrCacheMiss", err)
	}
	if err := c.Set(&mctext.Item{Key: key, Value: []byte("v"), Flags: 3}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if it, err := c.Get(key); err != nil || string(it.Value) != "v" || it.Flags != 3 {
		t.Fatalf("Get = %+v, %v", it, err)
	}
	if err := c.Add(&mctext.Item{Key: key, Value: []byte("x")}); err != mctext.ErrNotStored {
		t.Fatalf("Add of an existing key: %v, want ErrNotStored", err)
	}
	n := key + "-n"
	if err := c.Set(&mctext.Item{Key: n, Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Increment(n, 4); err != nil || v != 5 {
		t.Fatalf("Increment = %d, %v", v, err)
	}
	if m, err := c.GetMulti([]string{key, n}); err != nil || len(m) != 2 {
		t.Fatalf("GetMulti = %v, %v", m, err)
	}
	if err := c.Touch(key, 60); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	if v, err := c.Versions(); err != nil || len(v) != 1 {
		t.Fatalf("Versions = %v, %v", v, err)
	}
	if err := c.Delete(key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := c.Delete(key); !errors.Is(err, mctext.ErrCacheMiss) {
		t.Fatalf("second Delete: %v, want ErrCacheMiss", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
