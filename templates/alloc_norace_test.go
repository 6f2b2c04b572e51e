//go:build !race

// Allocation counts, which the race detector changes: .ci/run runs these
// without -race.

package templates

import (
	"context"
	"testing"
)

// bound is a function of a client that uses its connection under ctx, as
// the rewrite emits it.
func bound(ctx context.Context, c connWithDeadline) (err error) {
	defer bindConn(ctx, c, &err)()
	return nil
}

// TestBindConnNoAlloc: bindConn is inlined where it is deferred, so a bind
// of a handle costs no allocation (a body binds its handle once per function
// of the client that uses the connection: five times per RESP Get).
func TestBindConnNoAlloc(t *testing.T) {
	srv := newFakeServer(t)
	h := dialOwner(t, srv, nil)
	defer h.Close()
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { bound(ctx, h) }); n != 0 {
		t.Errorf("bindConn on a handle: %v allocations, want 0", n)
	}
	srv.close()
}
