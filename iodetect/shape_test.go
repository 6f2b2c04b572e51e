package iodetect_test

import (
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// Operation modes on the fixtures: one round of writes then reads is
// pipelined (state written before the command, like tproto's "use" line, is
// fine); a write after a read — a loop of exchanges, a retry — is exclusive.
func TestModes(t *testing.T) {
	loaded, err := iodetect.Load(iodetect.LoadConfig{Dir: ".."},
		"github.com/asyncify-dev/asyncify/fixtures/mctext",
		"github.com/asyncify-dev/asyncify/fixtures/tproto",
		"github.com/asyncify-dev/asyncify/fixtures/edge/callbacks",
		"github.com/asyncify-dev/asyncify/fixtures/edge/retry",
		"github.com/asyncify-dev/asyncify/fixtures/multipkg")
	if err != nil {
		t.Fatal(err)
	}
	fns := map[string]*iodetect.Func{}
	for _, l := range loaded {
		short := l.Path[strings.LastIndex(l.Path, "/")+1:]
		for _, fn := range l.Async {
			fns[short+" "+fn.Name] = fn
		}
	}
	for _, tc := range []struct {
		fn     string
		mode   iodetect.Mode
		reason string // for exclusive: the write that follows a read
	}{
		{"mctext (*Client).Get", iodetect.Pipelined, ""},
		{"mctext (*Client).Set", iodetect.Pipelined, ""},
		{"mctext (*Client).Increment", iodetect.Pipelined, ""},
		{"tproto (*Tube).Put", iodetect.Pipelined, ""},
		{"tproto (*Conn).Reserve", iodetect.Pipelined, ""},
		{"multipkg (*Client).Get", iodetect.Pipelined, ""},
		{"callbacks (*Client).Echo", iodetect.Pipelined, ""},
		{"callbacks (*Client).PingN", iodetect.Exclusive, "(*bufio.Writer).WriteString"},
		{"retry (*Client).Do", iodetect.Exclusive, "fmt.Fprintf"},
		{"mctext (*Client).Versions", iodetect.Exclusive, "fmt.Fprintf"},
	} {
		fn := fns[tc.fn]
		if fn == nil {
			t.Errorf("%s: not async", tc.fn)
			continue
		}
		if fn.Mode != tc.mode {
			t.Errorf("%s: mode %s, want %s", tc.fn, fn.Mode, tc.mode)
			continue
		}
		if tc.mode == iodetect.Exclusive {
			if fn.ModeWrite == nil || fn.ModeRead == nil || fn.ModeWrite.Callee != tc.reason {
				t.Errorf("%s: exclusive because of %v after %v, want a %s", tc.fn, fn.ModeWrite, fn.ModeRead, tc.reason)
			}
		}
	}
}
