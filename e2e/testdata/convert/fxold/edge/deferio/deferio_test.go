package oldapi

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/edge/deferio"
)

// TestOldAPIDeferio uses the edge/deferio fixture through its old exported
// signatures only (Dial, SetQuiet, SetMany, Get, Close): the e2e tests run
// it against the converted fixture and against the original.
func TestOldAPIDeferio(t *testing.T) {
	var (
		mu   sync.Mutex
		data = map[string]string{}
		quit = make(chan struct{}, 1)
	)
	addr := lineServer(t, func(line string) string {
		mu.Lock()
		defer mu.Unlock()
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "SETQ":
			data[f[1]] = f[2]
			return ""
		case len(f) == 2 && f[0] == "GET":
			return "=" + data[f[1]] + "\n"
		case len(f) == 1 && f[0] == "QUIT":
			quit <- struct{}{}
			return ""
		}
		return "ERR\n"
	})
	c, err := deferio.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.SetQuiet("one", "1")
	c.SetMany(map[string]string{"two": "2", "three": "3"})
	for k, want := range map[string]string{"one": "=1", "two": "=2", "three": "=3", "four": "="} {
		if got, err := c.Get(k); err != nil || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", k, got, err, want)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-quit: // Close's deferred QUIT reached the server
	case <-time.After(10 * time.Second):
		t.Fatal("the server got no QUIT from Close")
	}
	if _, err := c.Get("one"); err == nil {
		t.Error("Get after Close succeeded")
	}
}
