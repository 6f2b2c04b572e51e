package main

// replyConnTest is written into the converted fixtures/replyconn (a client
// whose reader goroutine routes replies by id) by TestConvertGolden: the
// waits for replies end with ctx, a caller who left never blocks the
// reader or takes another caller's reply, the connection outlives the
// ctx of the dial, and no goroutine is left.
const replyConnTest = `package replyconn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/internal/fakeserver"
)

func TestReplyWaitCtx(t *testing.T) {
	t.Run("silent", func(t *testing.T) {
		c, err := DialContext(context.Background(), fakeserver.Start(t, serve))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, op := range []struct {
			name string
			call func(context.Context) (string, error)
		}{
			{"GetContext", func(ctx context.Context) (string, error) { return c.GetContext(ctx, "silent") }},
			{"EchoContext", func(ctx context.Context) (string, error) { return c.EchoContext(ctx, "silent") }},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			start := time.Now()
			_, err := op.call(ctx)
			d := time.Since(start)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s against a silent server: %v, want context.DeadlineExceeded", op.name, err)
			}
			t.Logf("%s with a 50ms ctx against a silent server returned after %v", op.name, d)
			if d > 2*time.Second {
				t.Errorf("%s returned after %v", op.name, d)
			}
		}
		if v, err := c.GetContext(context.Background(), "after"); err != nil || v != "value-of-after" {
			t.Errorf("GetContext after the silent calls: %q, %v", v, err)
		}
	})
	t.Run("dialctx", func(t *testing.T) {
		// the connection outlives the ctx of the dial
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		c, err := DialContext(ctx, fakeserver.Start(t, serve))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		<-ctx.Done()
		cancel()
		<-time.After(20 * time.Millisecond)
		if v, err := c.GetContext(context.Background(), "x"); err != nil || v != "value-of-x" {
			t.Errorf("Get after the dial's ctx ended: %q, %v", v, err)
		}
		if v, err := c.EchoContext(context.Background(), "y"); err != nil || v != "y" {
			t.Errorf("EchoContext after the dial's ctx ended: %q, %v", v, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c, err := DialContext(context.Background(), fakeserver.Start(t, serve))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var wg sync.WaitGroup
		var mu sync.Mutex
		cancelled, completed := 0, 0
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 125 {
					key := fmt.Sprintf("c%d-%d", g, i)
					if i%3 == 0 {
						key = "slow-1-" + key
					}
					ctx, cancel := context.WithCancel(context.Background())
					time.AfterFunc(time.Duration(rand.IntN(400))*time.Microsecond, cancel)
					var v, want string
					var err error
					if i%2 == 0 {
						v, err = c.GetContext(ctx, key)
						want = "value-of-" + key
					} else {
						v, err = c.EchoContext(ctx, key)
						want = key
					}
					cancel()
					mu.Lock()
					switch {
					case err == nil && v != want:
						t.Errorf("call %s got %q: another caller's reply", key, v)
					case err == nil:
						completed++
					case errors.Is(err, context.Canceled):
						cancelled++
					default:
						t.Errorf("call %s: %v", key, err)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		t.Logf("1000 calls cancelled at random: %d cancelled, %d completed", cancelled, completed)
		if cancelled == 0 {
			t.Error("no call was cancelled: the test cancels nothing")
		}
		for i := range 50 {
			key := fmt.Sprintf("later-%d", i)
			if v, err := c.GetContext(context.Background(), key); err != nil || v != "value-of-"+key {
				t.Errorf("GetContext(%s) after the cancelled calls: %q, %v", key, v, err)
			}
			if v, err := c.EchoContext(context.Background(), key); err != nil || v != key {
				t.Errorf("Echo(%s) after the cancelled calls: %q, %v", key, v, err)
			}
		}
	})
	// no goroutine is left: the package's TestMain runs goleak
}
`

// replyMemTest is written into the converted fixtures/replymem, whose
// reader decodes each reply into the value the caller passed: a caller who
// left never has its value written (the reader decodes into a private
// copy; -race sees any write), and later calls get their own results.
const replyMemTest = `package replymem

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/internal/fakeserver"
)

func TestCallCtx(t *testing.T) {
	t.Run("silent", func(t *testing.T) {
		c, err := DialContext(context.Background(), fakeserver.Start(t, serve))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		var x int
		start := time.Now()
		err = c.CallContext(ctx, "silent", nil, &x)
		d := time.Since(start)
		t.Logf("CallContext with a 50ms ctx against a silent server returned after %v", d)
		if !errors.Is(err, context.DeadlineExceeded) || d > 2*time.Second {
			t.Errorf("CallContext: %v after %v, want context.DeadlineExceeded", err, d)
		}
	})
	t.Run("late", func(t *testing.T) {
		c, err := DialContext(context.Background(), fakeserver.Start(t, serve))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		reply := "untouched"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		if err := c.CallContext(ctx, "slow-30", nil, &reply); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("CallContext: %v", err)
		}
		<-time.After(60 * time.Millisecond) // the late reply arrives and is decoded
		if reply != "untouched" {
			t.Errorf("the late reply was written into the caller's value: %q", reply)
		}
		var ok string
		if err := c.CallContext(context.Background(), "slow-1", nil, &ok); err != nil || ok != "ok" {
			t.Errorf("a later call: %q, %v", ok, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c, err := DialContext(context.Background(), fakeserver.Start(t, serve))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 125 {
					ctx, cancel := context.WithCancel(context.Background())
					time.AfterFunc(time.Duration(rand.IntN(400))*time.Microsecond, cancel)
					got := -1
					err := c.CallContext(ctx, "add", []int{g, i}, &got)
					cancel()
					switch {
					case err == nil && got != g+i:
						t.Errorf("add(%d, %d) = %d: another caller's reply", g, i, got)
					case err != nil && !errors.Is(err, context.Canceled):
						t.Errorf("add(%d, %d): %v", g, i, err)
					case err != nil && got != -1:
						t.Errorf("add(%d, %d) was cancelled but wrote %d into the caller's value", g, i, got)
					}
				}
			}()
		}
		wg.Wait()
		for i := range 50 {
			var got []string
			if err := c.CallContext(context.Background(), "echo", []string{fmt.Sprint(i)}, &got); err != nil || len(got) != 1 || got[0] != fmt.Sprint(i) {
				t.Errorf("echo %d after the cancelled calls: %v, %v", i, got, err)
			}
		}
	})
	// no goroutine is left: the package's TestMain runs goleak
}
`

// replyGuardTest is written into the converted fixtures/replyguard, whose
// reader hands each reply to the one caller waiting on the connection's
// channel and selects only on the connection's end (amqp091-go's shape):
// a wait that ctx ends cuts the exchange off, closing the connection, so
// that no later call gets the reply left behind; the dial's greeting
// follows ctx too; the client's goroutines end with its connection.
const replyGuardTest = `package replyguard

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/asyncify-dev/asyncify/fixtures/internal/fakeserver"
)

// serveSlow greets, then answers GET k with "value-of-k" after a random
// delay of up to a millisecond; GET silent is never answered.
var serveSlow = serveWith("HELLO\n", func() time.Duration { return time.Duration(rand.IntN(1000)) * time.Microsecond })

func bounded(t *testing.T, what string, call func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := call(ctx)
	d := time.Since(start)
	t.Logf("%s with a 50ms ctx returned after %v: %v", what, d, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: %v, want context.DeadlineExceeded", what, err)
	}
	if d > 250*time.Millisecond {
		t.Errorf("%s returned after %v, want within 250ms", what, d)
	}
}

func TestCutOff(t *testing.T) {
	t.Run("greeting", func(t *testing.T) {
		// a server that accepts and never greets
		addr := fakeserver.Start(t, func(nc net.Conn) { nc.Read(make([]byte, 1)) })
		bounded(t, "DialContext", func(ctx context.Context) error {
			c, err := DialContext(ctx, addr)
			if err == nil {
				c.Close()
			}
			return err
		})
	})
	t.Run("silent", func(t *testing.T) {
		c, err := DialContext(context.Background(), fakeserver.Start(t, serveSlow))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		bounded(t, "GetContext", func(ctx context.Context) error {
			_, err := c.GetContext(ctx, "silent")
			return err
		})
		// the exchange was cut off: the connection is closed, and no later
		// call waits for the reply the server never sent
		if v, err := c.GetContext(context.Background(), "after"); err == nil {
			t.Errorf("GetContext after a call cut off: %q, want an error (the connection is closed)", v)
		}
	})
	t.Run("dialctx", func(t *testing.T) {
		// the connection outlives the ctx of the dial
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		c, err := DialContext(ctx, fakeserver.Start(t, serveSlow))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		<-ctx.Done()
		cancel()
		if v, err := c.GetContext(context.Background(), "x"); err != nil || v != "value-of-x" {
			t.Errorf("GetContext after the dial's ctx ended: %q, %v", v, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		// 1000 calls cancelled at random, each on the client the one before
		// used: a call gets its own reply, or ctx.Err(), or, on a
		// connection cut off before, an error (the client dials again
		// then); never the reply a call cancelled before it left behind
		addr := fakeserver.Start(t, serveSlow)
		var c *Client
		cancelled, completed, closed, redials := 0, 0, 0, 0
		for i := range 1000 {
			if c == nil {
				var err error
				if c, err = DialContext(context.Background(), addr); err != nil {
					t.Fatal(err)
				}
				redials++
			}
			key := fmt.Sprint("k", i)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Duration(rand.IntN(1500))*time.Microsecond, cancel)
			v, err := c.GetContext(ctx, key)
			cancel()
			switch {
			case err == nil && v != "value-of-"+key:
				t.Fatalf("call %s got %q: another call's reply", key, v)
			case err == nil:
				completed++
			case errors.Is(err, context.Canceled):
				cancelled++
			default:
				// the connection a cancelled call cut off
				closed++
				c.Close()
				c = nil
			}
		}
		if c != nil {
			c.Close()
		}
		t.Logf("1000 calls cancelled at random: %d cancelled, %d completed, %d on a connection cut off, %d dials", cancelled, completed, closed, redials)
		if cancelled == 0 || completed == 0 || closed == 0 {
			t.Errorf("%d cancelled, %d completed, %d on a connection cut off: the test misses a case", cancelled, completed, closed)
		}
	})
	// no goroutine is left: the package's TestMain runs goleak
}
`
