// Package bsstall reproduces go-beanstalk's stall through the old exported
// signatures: a reserve on a tube set with an invalid name fails between
// textproto.Pipeline's Next and its response calls, and upstream then hangs
// every later call on the connection. The e2e tests run it against upstream
// (upstream is true: the stall must be seen, so that this test would catch
// it) and against the converted package (it must not stall).
package bsstall

import (
	"fmt"
	"os"
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

func TestStall(t *testing.T) {
	c, err := beanstalk.Dial("tcp", addr())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	name := fmt.Sprintf("bsstall-%d", time.Now().UnixNano())
	tube := beanstalk.NewTube(c, name)
	for round := 0; round < 3; round++ {
		bad := beanstalk.NewTubeSet(c, "bad name")
		if _, _, err := bad.Reserve(0); err == nil {
			t.Fatal("Reserve on a tube set with an invalid name succeeded")
		}
		done := make(chan error, 1)
		go func() {
			_, err := tube.Put([]byte("after"), 1, 0, time.Minute)
			done <- err
		}()
		select {
		case err := <-done:
			if upstream {
				t.Fatalf("upstream did not stall (Put: %v): this test no longer reproduces the stall", err)
			}
			if err != nil {
				t.Fatalf("Put after the failed Reserve: %v", err)
			}
		case <-time.After(3 * time.Second):
			if upstream {
				t.Logf("upstream stalled, as expected: Put after a failed Reserve did not return in 3s")
				return // the goroutine stays blocked; the test binary exits
			}
			t.Fatalf("round %d: Put after a failed Reserve did not return in 3s: the connection stalled", round)
		}
	}
	if st, err := tube.Stats(); err != nil || st["current-jobs-ready"] != "3" {
		t.Fatalf("tube Stats = %v, %v: want the 3 jobs put", st, err)
	}
	ts := beanstalk.NewTubeSet(c, name)
	for i := 0; i < 3; i++ {
		id, body, err := ts.Reserve(0)
		if err != nil || string(body) != "after" {
			t.Fatalf("Reserve = %q, %v", body, err)
		}
		if err := c.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
}
