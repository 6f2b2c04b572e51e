package oldapi

import (
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/embedded"
)

// TestOldAPIEmbedded uses the edge/embedded fixture through its old exported
// signatures only, promoted methods included (Dial, Hello, Send, Addr,
// Probe, Close): the e2e tests run it against the converted fixture and
// against the original.
func TestOldAPIEmbedded(t *testing.T) {
	addr := lineServer(t, func(line string) string {
		switch {
		case line == "PING":
			return "PONG\n"
		case strings.HasPrefix(line, "HELLO "):
			return "hi " + line[len("HELLO "):] + "\n"
		}
		return strings.ToUpper(line) + "\n"
	})
	c, err := embedded.Dial(addr, "bob")
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if got, err := c.Hello(); err != nil || got != "hi bob" {
		t.Errorf("Hello = %q, %v", got, err)
	}
	if got, err := c.Send("shout"); err != nil || got != "SHOUT" {
		t.Errorf("Send (promoted) = %q, %v", got, err)
	}
	send := c.Send // a method value of the promoted method
	if got, err := send("again"); err != nil || got != "AGAIN" {
		t.Errorf("Send through a method value = %q, %v", got, err)
	}
	if c.Addr() != addr {
		t.Errorf("Addr = %q, want %q", c.Addr(), addr)
	}
	if err := embedded.Probe(addr); err != nil {
		t.Errorf("Probe: %v", err)
	}
	wrong := lineServer(t, func(string) string { return "PANG\n" })
	if err := embedded.Probe(wrong); err == nil || !strings.Contains(err.Error(), "PANG") {
		t.Errorf("Probe of a server that answers PANG: err = %v", err)
	}
}
