// Package mcold uses gomemcache through its old exported signatures only:
// the e2e tests run it against the converted package and against upstream.
package mcold

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

func addr() string {
	if a := os.Getenv("MEMCACHED_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:11211"
}

func TestOldAPI(t *testing.T) {
	c := memcache.New(addr())
	c.Timeout = 2 * time.Second
	c.MaxIdleConns = 4
	if err := c.Ping(); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	key := fmt.Sprintf("mcold-%d", time.Now().UnixNano())
	if _, err := c.Get(key); err != memcache.ErrCacheMiss {
		t.Fatalf("Get of a missing key: %v, want ErrCacheMiss (identity kept)", err)
	}
	if err := c.Set(&memcache.Item{Key: key, Value: []byte("v1"), Flags: 7}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	it, err := c.Get(key)
	if err != nil || string(it.Value) != "v1" || it.Flags != 7 {
		t.Fatalf("Get = %+v, %v", it, err)
	}
	if err := c.Add(&memcache.Item{Key: key, Value: []byte("x")}); err != memcache.ErrNotStored {
		t.Fatalf("Add of an existing key: %v, want ErrNotStored", err)
	}
	if err := c.Append(&memcache.Item{Key: key, Value: []byte("+a")}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := c.Prepend(&memcache.Item{Key: key, Value: []byte("p+")}); err != nil {
		t.Fatalf("Prepend: %v", err)
	}
	if err := c.Replace(&memcache.Item{Key: key, Value: []byte("r")}); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	it, err = c.Get(key)
	if err != nil || string(it.Value) != "r" {
		t.Fatalf("Get after Replace = %+v, %v", it, err)
	}
	it.Value = []byte("cas")
	if err := c.CompareAndSwap(it); err != nil {
		t.Fatalf("CompareAndSwap: %v", err)
	}
	if err := c.CompareAndSwap(it); err != memcache.ErrCASConflict {
		t.Fatalf("second CompareAndSwap: %v, want ErrCASConflict", err)
	}
	if err := c.Touch(key, 60); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	if it, err := c.GetAndTouch(key, 60); err != nil || string(it.Value) != "cas" {
		t.Fatalf("GetAndTouch = %+v, %v", it, err)
	}
	n := key + "-n"
	if err := c.Set(&memcache.Item{Key: n, Value: []byte("10")}); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Increment(n, 5); err != nil || v != 15 {
		t.Fatalf("Increment = %d, %v", v, err)
	}
	if v, err := c.Decrement(n, 3); err != nil || v != 12 {
		t.Fatalf("Decrement = %d, %v", v, err)
	}
	m, err := c.GetMulti([]string{key, n, key + "-missing"})
	if err != nil || len(m) != 2 || string(m[n].Value) != "12" {
		t.Fatalf("GetMulti = %v, %v", m, err)
	}
	if err := c.Delete(n); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := c.Delete(n); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("second Delete: %v, want ErrCacheMiss", err)
	}
	if err := c.Set(&memcache.Item{Key: "bad key", Value: []byte("x")}); err != memcache.ErrMalformedKey {
		t.Fatalf("Set with a bad key: %v, want ErrMalformedKey", err)
	}
	var ss memcache.ServerList
	if err := ss.SetServers(addr()); err != nil {
		t.Fatal(err)
	}
	c2 := memcache.NewFromSelector(&ss)
	if it, err := c2.Get(key); err != nil || string(it.Value) != "cas" {
		t.Fatalf("Get through NewFromSelector = %+v, %v", it, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
