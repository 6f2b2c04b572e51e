// Package tproto uses the tproto fixture through its old exported
// signatures only: the e2e tests run it against the converted fixture and
// against the original. The fixture's protocol is beanstalk-style but not
// beanstalkd's (a put line carries only the body's size), so the server is
// a small one of ours.
package tproto

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/tproto"
)

// serve answers use, put, peek and delete on one connection.
func serve(nc net.Conn) {
	defer nc.Close()
	r, w := bufio.NewReader(nc), bufio.NewWriter(nc)
	jobs := map[uint64][]byte{}
	var next uint64
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			fmt.Fprintf(w, "BAD_FORMAT\r\n")
			w.Flush()
			continue
		}
		n, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "use":
			fmt.Fprintf(w, "USING %s\r\n", f[1])
		case "put":
			body := make([]byte, n+2)
			if _, err := io.ReadFull(r, body); err != nil {
				return
			}
			next++
			jobs[next] = body[:n]
			fmt.Fprintf(w, "INSERTED %d\r\n", next)
		case "peek":
			if j, ok := jobs[n]; ok {
				fmt.Fprintf(w, "FOUND %d %d\r\n%s\r\n", n, len(j), j)
			} else {
				fmt.Fprintf(w, "NOT_FOUND\r\n")
			}
		case "delete":
			if _, ok := jobs[n]; ok {
				delete(jobs, n)
				fmt.Fprintf(w, "DELETED\r\n")
			} else {
				fmt.Fprintf(w, "NOT_FOUND\r\n")
			}
		default:
			fmt.Fprintf(w, "UNKNOWN_COMMAND\r\n")
		}
		w.Flush()
	}
}

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
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); serve(nc) }()
		}
	}()

	c, err := tproto.Dial(ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	tube := &tproto.Tube{Conn: c, Name: "fxold"}
	id, err := tube.Put([]byte("job"))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if body, err := c.Peek(id); err != nil || string(body) != "job" {
		t.Fatalf("Peek = %q, %v", body, err)
	}
	if err := c.Delete(id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.Peek(id); !errors.Is(err, tproto.ErrNotFound) {
		t.Fatalf("Peek of a deleted job: %v, want ErrNotFound", err)
	}
}
