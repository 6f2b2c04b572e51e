package templates

import (
	"context"
	"sync"
	"testing"
	"time"
)

// condWait waits as Cond.Wait does, and a wait that ctx can end is woken
// when it does, with the lock held.
func TestCondWait(t *testing.T) {
	var mu sync.Mutex
	c := sync.NewCond(&mu)
	ready := false

	// woken by the producer
	done := make(chan bool)
	go func() {
		mu.Lock()
		defer mu.Unlock()
		for !ready {
			if condWait(context.Background(), c) {
				done <- true
				return
			}
		}
		done <- false
	}()
	time.Sleep(5 * time.Millisecond)
	mu.Lock()
	ready = true
	c.Broadcast()
	mu.Unlock()
	if <-done {
		t.Error("condWait reported ctx ended for a ctx that cannot end")
	}

	// woken by ctx
	ready = false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	go func() {
		mu.Lock()
		defer mu.Unlock()
		for !ready {
			if condWait(ctx, c) {
				done <- true
				return
			}
		}
		done <- false
	}()
	select {
	case ended := <-done:
		if !ended {
			t.Error("condWait did not report that ctx ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("condWait was not woken when ctx ended")
	}
	mu.Lock()
	if !condWait(ctx, c) {
		t.Error("condWait with ctx ended already: want true at once")
	}
	mu.Unlock()
}

// replyPrivate gives a reader goroutine a copy to decode into when ctx can
// end; keep copies the reply back into the caller's memory.
func TestReplyPrivate(t *testing.T) {
	type reply struct{ N int }
	dst := &reply{N: 1}
	priv, keep, done := replyPrivate(context.Background(), dst)
	if priv != dst || done != nil {
		t.Errorf("ctx cannot end: got a private value %v or a done channel", priv)
	}
	keep()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	priv, keep, done = replyPrivate(ctx, dst)
	p, ok := priv.(*reply)
	if !ok || p == dst || p.N != 1 || done != ctx.Done() {
		t.Fatalf("ctx can end: got %#v, done %v; want a copy of *dst and ctx.Done()", priv, done)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the reader goroutine
		defer wg.Done()
		p.N = 2
	}()
	wg.Wait()
	if dst.N != 1 {
		t.Error("the reader wrote into the caller's memory")
	}
	keep()
	if dst.N != 2 {
		t.Errorf("keep: dst.N = %d, want 2", dst.N)
	}

	for _, v := range []interface{}{nil, reply{}, (*reply)(nil)} {
		if priv, _, done := replyPrivate(ctx, v); priv != v || done != nil {
			t.Errorf("%#v: want it back as it is, with no done channel", v)
		}
	}
}
