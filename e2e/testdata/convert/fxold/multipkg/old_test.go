// Package multipkg uses the multipkg fixture through its old exported
// signatures only, against a line server of its own: the e2e tests run it
// against the converted fixture (its internal package copied along) and
// against the original.
package multipkg

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/multipkg"
)

func TestOldAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		data := map[string]string{}
		r := bufio.NewReader(nc)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			reply := "-bad command\r\n"
			switch f := strings.Fields(line); {
			case len(f) == 3 && f[0] == "SET":
				data[f[1]] = f[2]
				reply = "+OK\r\n"
			case len(f) == 2 && f[0] == "GET":
				reply = "-not found\r\n"
				if v, ok := data[f[1]]; ok {
					reply = "+" + v + "\r\n"
				}
			}
			if _, err := nc.Write([]byte(reply)); err != nil {
				return
			}
		}
	}()
	c, err := multipkg.Dial(ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if err := c.Set("k", "v1"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if v, err := c.Get("k"); err != nil || v != "v1" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if _, err := c.Get("missing"); err == nil || err.Error() != "not found" {
		t.Fatalf("Get of a missing key: %v, want the server's error", err)
	}
}
