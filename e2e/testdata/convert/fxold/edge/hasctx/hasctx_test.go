package oldapi

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/edge/hasctx"
)

// TestOldAPIHasctx uses the edge/hasctx fixture through its exported API as
// upstream declares it (Dial, DialContext, Ping, PingContext, GetContext,
// Echo, Close; the context forms are upstream's own): the e2e tests run it
// against the converted fixture and against the original.
func TestOldAPIHasctx(t *testing.T) {
	addr := lineServer(t, func(line string) string {
		switch {
		case line == "PING":
			return "PONG\n"
		case strings.HasPrefix(line, "ECHO "):
			return line[len("ECHO "):] + "!\n"
		case strings.HasPrefix(line, "GET "):
			return "[" + line[len("GET "):] + "]\n"
		}
		return "ERR\n"
	})
	c, err := hasctx.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if err := c.Ping(); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if got, err := c.Echo("hey"); err != nil || got != "hey!" {
		t.Errorf("Echo = %q, %v", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.PingContext(ctx); err != nil {
		t.Errorf("PingContext: %v", err)
	}
	if got, err := c.GetContext(ctx, "k"); err != nil || got != "[k]" {
		t.Errorf("GetContext = %q, %v", got, err)
	}
	if _, err := c.GetContext(ctx, "two words"); err == nil {
		t.Error("GetContext accepted a bad key")
	}
	ended, end := context.WithCancel(context.Background())
	end()
	if _, err := c.GetContext(ended, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetContext with an ended ctx: err = %v", err)
	}
	if _, err := hasctx.DialContext(ended, addr); err == nil {
		t.Error("DialContext with an ended ctx succeeded")
	}
	d, err := hasctx.DialContext(ctx, addr)
	if err != nil {
		t.Fatalf("DialContext: %v", err)
	}
	defer d.Close()
	if got, err := d.Echo("two"); err != nil || got != "two!" {
		t.Errorf("Echo on a DialContext client = %q, %v", got, err)
	}

	// A server that never answers: PingContext ends at ctx's deadline.
	silent, err := hasctx.Dial(lineServer(t, func(string) string { return "" }))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer silent.Close()
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	err = silent.PingContext(short)
	var ne net.Error
	if !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PingContext to a silent server: err = %v, want a timeout", err)
	}
}
