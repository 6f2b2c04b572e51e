package templates

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
)

// countConn counts the syscalls on a connection.
type countConn struct {
	net.Conn
	reads, writes, wbytes atomic.Int64
}

func (c *countConn) Read(p []byte) (int, error) { c.reads.Add(1); return c.Conn.Read(p) }
func (c *countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	c.wbytes.Add(int64(len(p)))
	return c.Conn.Write(p)
}

// BenchmarkBatching reports how many requests share a write and how many
// replies share a read, 64 and 256 goroutines on one connection.
func BenchmarkBatching(b *testing.B) {
	addr := memcachedAddr(b)
	for _, g := range []int{64, 256} {
		cc := &countConn{Conn: dialBench(b, addr)}
		pl := newPipeline(cc, pipelineConfig{MaxInFlight: 1024})
		n := 200000
		r := rate(n, func() {
			parallel(n, g, func() {
				if _, err := rtGet(context.Background(), pl, "k"); err != nil {
					b.Error(err)
				}
			})
		})
		b.Logf("%d goroutines: %.0f ops/s, %.1f requests per write, %.1f replies per read",
			g, r, float64(n)/float64(cc.writes.Load()), float64(n)/float64(cc.reads.Load()))
		pl.close()
	}
}
