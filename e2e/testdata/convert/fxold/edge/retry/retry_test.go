package oldapi

import (
	"bufio"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/edge/retry"
)

// flaky returns a server that hangs up on its first drop connections
// after reading a line, and answers "re: line" on the others.
func flaky(t *testing.T, drop int32) (string, *atomic.Int32) {
	var conns atomic.Int32
	return serve(t, func(nc net.Conn) {
		n := conns.Add(1)
		sc := bufio.NewScanner(nc)
		for sc.Scan() && n > drop {
			if _, err := nc.Write([]byte("re: " + sc.Text() + "\n")); err != nil {
				return
			}
		}
	}), &conns
}

// TestOldAPIRetry uses the edge/retry fixture through its old exported
// signatures only (New, the Attempts and Backoff fields, Do, Close): the
// e2e tests run it against the converted fixture and against the original.
// Backoffs are a millisecond, to keep it fast.
func TestOldAPIRetry(t *testing.T) {
	addr, conns := flaky(t, 1)
	c := retry.New(addr)
	c.Backoff = time.Millisecond
	defer c.Close()
	if got, err := c.Do("first"); err != nil || got != "re: first" || conns.Load() != 2 {
		t.Errorf("Do = %q, %v after %d connections, want 2", got, err, conns.Load())
	}
	if got, err := c.Do("second"); err != nil || got != "re: second" || conns.Load() != 2 {
		t.Errorf("Do on the same connection = %q, %v after %d connections", got, err, conns.Load())
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if got, err := c.Do("third"); err != nil || got != "re: third" || conns.Load() != 3 {
		t.Errorf("Do after Close = %q, %v after %d connections", got, err, conns.Load())
	}

	// Every connection hung up: Do gives up after Attempts.
	down, downConns := flaky(t, 1000)
	g := retry.New(down)
	g.Attempts, g.Backoff = 2, time.Millisecond
	defer g.Close()
	if _, err := g.Do("x"); err == nil || !strings.Contains(err.Error(), "2 attempts failed") || downConns.Load() != 2 {
		t.Errorf("Do against a server that hangs up: %v after %d connections", err, downConns.Load())
	}

	// Nothing listens: the dial fails after Attempts tries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	none := ln.Addr().String()
	ln.Close()
	n := retry.New(none)
	n.Attempts, n.Backoff = 3, time.Millisecond
	if _, err := n.Do("x"); err == nil {
		t.Error("Do with no server succeeded")
	}
	if err := n.Close(); err != nil {
		t.Errorf("Close without a connection: %v", err)
	}
}
