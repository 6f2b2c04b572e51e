package bsbench

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// BenchmarkPutDelete32Ctx is BenchmarkPutDelete32 through PutContext and
// DeleteContext with a ctx that can end (the detached path).
func BenchmarkPutDelete32Ctx(b *testing.B) {
	c, tube := setup(b)
	body := []byte("job")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.SetParallelism(32 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, err := tube.PutContext(ctx, body, 1, 0, time.Minute)
			if err != nil {
				b.Error(err)
				return
			}
			if err := c.DeleteContext(ctx, id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
