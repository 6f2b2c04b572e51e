package oldapi

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/ifaces"
)

// frames answers each length-prefixed frame with its payload reversed.
func frames(nc net.Conn) {
	for {
		var head [4]byte
		if _, err := io.ReadFull(nc, head[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(head[:]))
		if _, err := io.ReadFull(nc, body); err != nil {
			return
		}
		for i, j := 0, len(body)-1; i < j; i, j = i+1, j-1 {
			body[i], body[j] = body[j], body[i]
		}
		if _, err := nc.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body)))); err != nil {
			return
		}
		if _, err := nc.Write(body); err != nil {
			return
		}
	}
}

// TestOldAPIIfaces uses the edge/ifaces fixture through its old exported
// signatures only (DialLine, DialFramed, Call, Close), over both of its
// transports: the e2e tests run it against the converted fixture and
// against the original.
func TestOldAPIIfaces(t *testing.T) {
	lc, err := ifaces.DialLine(lineServer(t, func(line string) string { return "line:" + line + "\n" }))
	if err != nil {
		t.Fatalf("DialLine: %v", err)
	}
	defer lc.Close()
	for _, req := range []string{"one", "two", ""} {
		if got, err := lc.Call(req); err != nil || got != "line:"+req {
			t.Errorf("line Call(%q) = %q, %v", req, got, err)
		}
	}
	if _, err := lc.Call("a\r\nb"); err == nil {
		t.Error("line Call with a line break succeeded")
	}

	fc, err := ifaces.DialFramed(serve(t, frames))
	if err != nil {
		t.Fatalf("DialFramed: %v", err)
	}
	defer fc.Close()
	for _, req := range []string{"abc", "with\nnew\nlines", strings.Repeat("xy", 5000)} {
		want := []byte(req)
		for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
			want[i], want[j] = want[j], want[i]
		}
		if got, err := fc.Call(req); err != nil || got != string(want) {
			t.Errorf("framed Call of %d bytes = %d bytes, %v", len(req), len(got), err)
		}
	}
	if err := fc.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := fc.Call("after"); err == nil {
		t.Error("framed Call after Close succeeded")
	}
}
