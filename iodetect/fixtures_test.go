package iodetect_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// TestFixtureExpectations checks the detector against the fixtures' own
// annotations: every function declared in a fixture's non-test files ends
// its doc comment with "expect: async" or "expect: sync", written by reading
// the code, not by running the tool.
func TestFixtureExpectations(t *testing.T) {
	loaded, err := iodetect.Load(iodetect.LoadConfig{Dir: "..", Tests: true}, "github.com/asyncify-dev/asyncify/fixtures/...")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, l := range loaded {
		for _, fn := range l.Funcs {
			if fn.Decl == nil || strings.HasSuffix(fn.Pos.Filename, "_test.go") {
				continue
			}
			want := expectation(fn)
			where := filepath.Base(fn.Pos.Filename) + ": " + l.Path + " " + fn.Name
			switch {
			case want == "":
				t.Errorf("%s: no // expect: async|sync annotation", where)
			case want == "async" && !fn.Async:
				t.Errorf("%s: expected async, detector says sync", where)
			case want == "sync" && fn.Async:
				t.Errorf("%s: expected sync, detector says async: %s", where,
					strings.Join(fn.Chain(iodetect.Relative("..")), " -> "))
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("checked only %d annotated functions; the fixtures should have many more", checked)
	}
}

func expectation(fn *iodetect.Func) string {
	if fn.Decl.Doc == nil {
		return ""
	}
	for _, c := range fn.Decl.Doc.List {
		if rest, ok := strings.CutPrefix(c.Text, "// expect: "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}
