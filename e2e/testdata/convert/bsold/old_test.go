// Package bsold uses go-beanstalk through its old exported signatures only:
// the e2e tests run it against the converted package and against upstream.
package bsold

import (
	"errors"
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

func TestOldAPI(t *testing.T) {
	c, err := beanstalk.Dial("tcp", addr())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	name := fmt.Sprintf("bsold-%d", time.Now().UnixNano())
	tube := beanstalk.NewTube(c, name)
	ts := beanstalk.NewTubeSet(c, name)
	id, err := tube.Put([]byte("hello"), 10, 0, time.Minute)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if body, err := c.Peek(id); err != nil || string(body) != "hello" {
		t.Fatalf("Peek = %q, %v", body, err)
	}
	rid, body, err := ts.Reserve(time.Second)
	if err != nil || rid != id || string(body) != "hello" {
		t.Fatalf("Reserve = %d %q %v, want %d hello", rid, body, err, id)
	}
	st, err := c.StatsJob(id)
	if err != nil || st["tube"] != name || st["state"] != "reserved" {
		t.Fatalf("StatsJob = %v, %v", st, err)
	}
	if err := c.Release(id, 10, 0); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if rid, _, err = ts.Reserve(time.Second); err != nil || rid != id {
		t.Fatalf("Reserve after Release = %d, %v", rid, err)
	}
	if err := c.Bury(id, 10); err != nil {
		t.Fatalf("Bury: %v", err)
	}
	if bid, _, err := tube.PeekBuried(); err != nil || bid != id {
		t.Fatalf("PeekBuried = %d, %v", bid, err)
	}
	if n, err := tube.Kick(10); err != nil || n != 1 {
		t.Fatalf("Kick = %d, %v", n, err)
	}
	if st, err := tube.Stats(); err != nil || st["current-jobs-ready"] != "1" {
		t.Fatalf("tube Stats = %v, %v", st, err)
	}
	if tubes, err := c.ListTubes(); err != nil || !contains(tubes, name) {
		t.Fatalf("ListTubes = %v, %v", tubes, err)
	}
	if err := c.Delete(id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	var cerr beanstalk.ConnError
	if err := c.Delete(id); !errors.As(err, &cerr) || cerr.Err != beanstalk.ErrNotFound {
		t.Fatalf("second Delete: %v, want a ConnError holding ErrNotFound", err)
	}
	if _, _, err := ts.Reserve(0); !errors.As(err, &cerr) || cerr.Err != beanstalk.ErrTimeout {
		t.Fatalf("Reserve of an empty tube: %v, want a ConnError holding ErrTimeout", err)
	}
	if _, err := c.Stats(); err != nil {
		t.Fatalf("Stats: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
