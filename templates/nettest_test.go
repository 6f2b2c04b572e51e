package templates

import (
	"context"
	"net"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"
)

// TestHandleNetConn: a handle alone in its share group is a net.Conn in
// every detail nettest.TestConn checks (reads, writes, deadlines and Close
// from several goroutines, the peer sending bytes nobody asked for), with
// c1 the handle and c2 the connection the server accepted. Run for a
// function's dial (owner nil: never shared) and for a receiver's (shared
// once a second handle joins).
func TestHandleNetConn(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		name  string
		owner func() any
	}{
		{"function", func() any { return nil }},
		{"receiver", func() any { return new(int) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return nil, nil, nil, err
				}
				accepted := make(chan net.Conn, 1)
				go func() {
					c, err := ln.Accept()
					if err != nil {
						close(accepted)
						return
					}
					accepted <- c
				}()
				addr := ln.Addr().String()
				c1, err = shareConn(context.Background(), tc.owner(), "tcp", addr, func(ctx context.Context) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				})
				if err != nil {
					ln.Close()
					return nil, nil, nil, err
				}
				if h := c1.(*pipeConn); h.raw == nil {
					t.Fatal("a handle alone in its group is not in pass-through")
				}
				c2, ok := <-accepted
				if !ok {
					c1.Close()
					ln.Close()
					return nil, nil, nil, net.ErrClosed
				}
				stop = func() {
					c1.Close()
					c2.Close()
					ln.Close()
				}
				return c1, c2, stop, nil
			})
		})
	}
	if n := sharedGroups(); n != 0 {
		t.Errorf("%d share groups left after every handle closed", n)
	}
}
