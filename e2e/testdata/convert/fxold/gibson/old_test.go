// Package gibson uses the gibson fixture through its old exported
// signatures only, against a frame server of its own: the e2e tests run it
// against the converted fixture and against the original.
package gibson

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/gibson"
)

// serve answers frames (uint16 code, uint8 encoding, uint32 size, payload,
// little-endian): set and ping are OK, get "k" is "v", other gets and dels
// are not found, inc is the number 42.
func serve(nc net.Conn) {
	defer nc.Close()
	for {
		var h [7]byte
		if _, err := io.ReadFull(nc, h[:]); err != nil {
			return
		}
		payload := make([]byte, binary.LittleEndian.Uint32(h[3:]))
		if _, err := io.ReadFull(nc, payload); err != nil {
			return
		}
		code, enc, body := uint16(0x80), uint8(0), []byte(nil)
		switch binary.LittleEndian.Uint16(h[:2]) {
		case 2: // get
			if string(payload) == "k" {
				code, body = 0x81, []byte("v")
			} else {
				code = 0x82
			}
		case 3: // del
			code = 0x82
		case 5: // inc
			code, enc, body = 0x81, 1, binary.LittleEndian.AppendUint64(nil, 42)
		}
		out := binary.LittleEndian.AppendUint16(nil, code)
		out = append(out, enc)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
		if _, err := nc.Write(append(out, body...)); err != nil {
			return
		}
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
		if nc, err := ln.Accept(); err == nil {
			serve(nc)
		}
	}()
	c, err := gibson.Dial(ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if err := c.Ping(); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := c.Set("k", []byte("v"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if v, err := c.Get("k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if _, err := c.Get("missing"); !errors.Is(err, gibson.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
	if err := c.Del("missing"); !errors.Is(err, gibson.ErrNotFound) {
		t.Fatalf("Del of a missing key: %v, want ErrNotFound", err)
	}
	if n, err := c.Inc("n"); err != nil || n != 42 {
		t.Fatalf("Inc = %d, %v", n, err)
	}
}
