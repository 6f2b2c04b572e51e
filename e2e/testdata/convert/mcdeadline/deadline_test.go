// Package mcdeadline runs the converted gomemcache against a server that
// accepts connections and never answers, then against the live memcached.
package mcdeadline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"example.com/converted/internal/memcache"
)

func liveAddr() string {
	if a := os.Getenv("MEMCACHED_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:11211"
}

// silentServer accepts connections and never writes a byte; it reads and
// drops whatever arrives, so the client's writes never block.
func silentServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// getWithDeadline calls GetContext with a 50 ms deadline and returns its
// error and how long it took.
func getWithDeadline(c *memcache.Client, key string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetContext(ctx, key)
	return time.Since(start), err
}

func TestUnresponsiveServer(t *testing.T) {
	var ss memcache.ServerList
	if err := ss.SetServers(silentServer(t)); err != nil {
		t.Fatal(err)
	}
	c := memcache.NewFromSelector(&ss)
	c.Timeout = 10 * time.Second // the client's own timeout must not be what ends the call
	for i := 0; i < 3; i++ {
		took, err := getWithDeadline(c, "k")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("GetContext against a silent server: %v (%T), want an error satisfying errors.Is(err, context.DeadlineExceeded)", err, err)
		}
		if took > 2*time.Second {
			t.Fatalf("GetContext with a 50ms deadline returned after %v", took)
		}
		t.Logf("GetContext with a 50ms deadline returned after %v: %v", took, err)
	}

	// The same client, switched to the live server, works normally.
	if err := ss.SetServers(liveAddr()); err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("mcdeadline-%d", time.Now().UnixNano())
	if err := c.SetContext(t.Context(), &memcache.Item{Key: key, Value: []byte("alive")}); err != nil {
		t.Fatalf("SetContext on the live server after the deadlines: %v", err)
	}
	it, err := c.GetContext(t.Context(), key)
	if err != nil || string(it.Value) != "alive" {
		t.Fatalf("GetContext on the live server = %+v, %v", it, err)
	}
	if _, err := c.Get(key + "-missing"); err != memcache.ErrCacheMiss {
		t.Fatalf("Get of a missing key: %v, want ErrCacheMiss", err)
	}
}

// BenchmarkDeadlineLatency reports how long GetContext with a 50 ms
// deadline takes to return against a server that never answers.
func BenchmarkDeadlineLatency(b *testing.B) {
	var ss memcache.ServerList
	if err := ss.SetServers(silentServer(b)); err != nil {
		b.Fatal(err)
	}
	c := memcache.NewFromSelector(&ss)
	c.Timeout = 10 * time.Second
	var total, worst time.Duration
	for i := 0; i < b.N; i++ {
		took, err := getWithDeadline(c, "k")
		if !errors.Is(err, context.DeadlineExceeded) {
			b.Fatalf("GetContext: %v", err)
		}
		total += took
		worst = max(worst, took)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/deadline")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
