// Package resp uses the resp fixture through its old exported signatures
// only, against the real redis-server: the e2e tests run it against the
// converted fixture and against the original.
package resp

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/resp"
)

func TestOldAPI(t *testing.T) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:16379"
	}
	c, err := resp.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if err := c.Ping(); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	key := fmt.Sprintf("fxold-%d", time.Now().UnixNano())
	if _, err := c.Get(key); !errors.Is(err, resp.ErrNil) {
		t.Fatalf("Get of a missing key: %v, want ErrNil", err)
	}
	if err := c.Set(key, "v"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if v, err := c.Get(key); err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if n, err := c.Incr(key + "-n"); err != nil || n != 1 {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	if v, err := c.Do("ECHO", "hi"); err != nil || v.Str != "hi" {
		t.Fatalf("Do ECHO = %+v, %v", v, err)
	}
	var rerr resp.Error
	if _, err := c.Do("NOSUCHCOMMAND"); !errors.As(err, &rerr) {
		t.Fatalf("Do of an unknown command: %v, want a resp.Error", err)
	}
	if n, err := c.Del(key, key+"-n"); err != nil || n != 2 {
		t.Fatalf("Del = %d, %v", n, err)
	}
}
