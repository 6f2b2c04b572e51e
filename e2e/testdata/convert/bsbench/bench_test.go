// Package bsbench measures go-beanstalk's put then delete, 32 goroutines
// sharing one Conn, through the old exported signatures: the e2e benchmark
// runs it against upstream and against the converted package (issue 5's
// go-beanstalk row). ctx_test.go, installed only with the converted package,
// adds the same through the context API with a cancellable ctx.
package bsbench

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/beanstalkd/go-beanstalk"
)

func addr() string {
	if a := os.Getenv("BEANSTALKD_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:21300"
}

func setup(b *testing.B) (*beanstalk.Conn, *beanstalk.Tube) {
	c, err := beanstalk.Dial("tcp", addr())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c, beanstalk.NewTube(c, fmt.Sprintf("bsbench-%d", time.Now().UnixNano()))
}

// BenchmarkPutDelete32 runs put then delete from 32 goroutines (16 per
// GOMAXPROCS on 2 cores) on one Conn.
func BenchmarkPutDelete32(b *testing.B) {
	c, tube := setup(b)
	body := []byte("job")
	b.SetParallelism(32 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, err := tube.Put(body, 1, 0, time.Minute)
			if err != nil {
				b.Error(err)
				return
			}
			if err := c.Delete(id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
