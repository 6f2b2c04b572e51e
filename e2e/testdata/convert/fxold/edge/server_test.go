// Package oldapi uses the 15 edge fixtures through their old exported
// signatures only, one TestOldAPIName per fixture, in NAME/NAME_test.go:
// TestConvertFixturesOldAPI copies them all into one package that imports
// the converted fixtures and into one that imports the original ones. This
// file holds the loopback servers they share.
package oldapi

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
)

// serve listens on a loopback port and runs handle on each connection it
// accepts, until the test ends: then it closes the listener and the open
// connections and waits for the handlers. It returns the address.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		open  = map[net.Conn]struct{}{}
		ended bool
	)
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if ended {
				mu.Unlock()
				nc.Close()
				continue
			}
			open[nc] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				handle(nc)
				nc.Close()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		ended = true
		for nc := range open {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// lineServer is serve with a handler for a line protocol: every line the
// client sends, without its line ending, gets reply(line) back, which is
// zero or more whole lines.
func lineServer(t *testing.T, reply func(line string) string) string {
	t.Helper()
	return serve(t, func(nc net.Conn) {
		sc := bufio.NewScanner(nc)
		for sc.Scan() {
			out := reply(strings.TrimSuffix(sc.Text(), "\r"))
			if out == "" {
				continue
			}
			if _, err := nc.Write([]byte(out)); err != nil {
				return
			}
		}
	})
}
