package oldapi

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/edge/selector"
)

// store is one key-value server and what it holds.
type store struct {
	mu    sync.Mutex
	data  map[string]string
	pings int
}

func (s *store) reply(line string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := strings.SplitN(line, " ", 3)
	switch {
	case f[0] == "PING":
		s.pings++
		return "PONG\n"
	case f[0] == "FLUSH":
		clear(s.data)
		return "OK\n"
	case f[0] == "GET" && len(f) == 2:
		return s.data[f[1]] + "\n"
	case f[0] == "SET" && len(f) == 3 && f[2] != "refused":
		s.data[f[1]] = f[2]
		return "OK\n"
	}
	return "ERR\n"
}

func (s *store) counts() (keys, pings int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data), s.pings
}

// pinned is the program's own ServerSelector: every key goes to one
// server, and Each visits only that one.
type pinned struct{ addr net.Addr }

func (p pinned) PickServer(string) (net.Addr, error) { return p.addr, nil }

func (p pinned) Each(f func(net.Addr) error) error { return f(p.addr) }

// TestOldAPISelector uses the edge/selector fixture through its old exported
// signatures only (New, NewFromSelector, ServerList's SetServers,
// PickServer and Each, a ServerSelector of its own, Ping, FlushAll, Get,
// Set, the Timeout field): the e2e tests run it against the converted
// fixture and against the original.
func TestOldAPISelector(t *testing.T) {
	s1, s2 := &store{data: map[string]string{}}, &store{data: map[string]string{}}
	a1, a2 := lineServer(t, s1.reply), lineServer(t, s2.reply)
	c, err := selector.New(a1, a2)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.Timeout = 5 * time.Second
	if err := c.Ping(); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	for i := range 16 {
		if err := c.Set(fmt.Sprint("key", i), fmt.Sprint("val", i)); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	for i := range 16 {
		if got, err := c.Get(fmt.Sprint("key", i)); err != nil || got != fmt.Sprint("val", i) {
			t.Errorf("Get(key%d) = %q, %v", i, got, err)
		}
	}
	k1, p1 := s1.counts()
	k2, p2 := s2.counts()
	if k1+k2 != 16 || k1 == 0 || k2 == 0 || p1 != 1 || p2 != 1 {
		t.Errorf("servers hold %d and %d keys after %d and %d pings", k1, k2, p1, p2)
	}
	if err := c.Set("k", "refused"); err == nil || !strings.Contains(err.Error(), `"ERR"`) {
		t.Errorf("Set refused by the server: err = %v", err)
	}
	if err := c.FlushAll(); err != nil {
		t.Fatalf("FlushAll: %v", err)
	}
	if k1, _ := s1.counts(); k1 != 0 {
		t.Errorf("%d keys left after FlushAll", k1)
	}

	var list selector.ServerList
	if _, err := list.PickServer("k"); !errors.Is(err, selector.ErrNoServers) {
		t.Errorf("PickServer with no servers: err = %v", err)
	}
	if _, err := selector.NewFromSelector(&list).Get("k"); !errors.Is(err, selector.ErrNoServers) {
		t.Errorf("Get with no servers: err = %v", err)
	}
	if err := list.SetServers(a1, a2); err != nil {
		t.Fatal(err)
	}
	var seen []string
	if err := list.Each(func(a net.Addr) error { seen = append(seen, a.String()); return nil }); err != nil || len(seen) != 2 {
		t.Errorf("Each visited %q, %v", seen, err)
	}
	first, err := list.PickServer("any")
	if err != nil {
		t.Fatal(err)
	}
	own := selector.NewFromSelector(pinned{first})
	if err := own.Set("mine", "1"); err != nil {
		t.Fatalf("Set through the program's selector: %v", err)
	}
	if got, err := own.Get("mine"); err != nil || got != "1" {
		t.Errorf("Get through the program's selector = %q, %v", got, err)
	}
	if err := own.Ping(); err != nil {
		t.Errorf("Ping through the program's selector: %v", err)
	}
	if _, err := selector.New("not an address"); err == nil {
		t.Error("New with a bad address succeeded")
	}
}
