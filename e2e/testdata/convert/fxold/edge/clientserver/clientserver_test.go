package oldapi

import (
	"errors"
	"net"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/clientserver"
)

// TestOldAPIClientserver uses the edge/clientserver fixture through its old
// exported signatures only, with the fixture's own Server as the server
// (NewServer, Serve, Dial, Get, Set, Close): the e2e tests run it against
// the converted fixture and against the original.
func TestOldAPIClientserver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- clientserver.NewServer().Serve(ln) }()

	a, err := clientserver.Dial(ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	b, err := clientserver.Dial(ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if _, err := a.Get("color"); !errors.Is(err, clientserver.ErrMiss) {
		t.Errorf("Get of an unset key: err = %v, want ErrMiss", err)
	}
	if err := a.Set("color", "deep blue"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := b.Get("color"); err != nil || got != "deep blue" {
		t.Errorf("Get from another client = %q, %v", got, err)
	}
	if err := b.Set("color", "red"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := a.Get("color"); err != nil || got != "red" {
		t.Errorf("Get after an overwrite = %q, %v", got, err)
	}
	a.Close()
	if _, err := a.Get("color"); err == nil {
		t.Error("Get after Close succeeded")
	}
	b.Close()
	ln.Close()
	if err := <-served; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve returned %v, want net.ErrClosed", err)
	}
}
