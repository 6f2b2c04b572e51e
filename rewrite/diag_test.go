package rewrite

import (
	"slices"
	"strings"
	"testing"
)

func TestSortDiags(t *testing.T) {
	in := []string{
		"p.go:134:2: later",
		"no position here",
		"p.go:36:9: earlier",
		"a.go:200:1: another file",
		"p.go:36:3: same line, earlier column",
		"p.go:40: line only",
	}
	want := []string{
		"a.go:200:1: another file",
		"p.go:36:3: same line, earlier column",
		"p.go:36:9: earlier",
		"p.go:40: line only",
		"p.go:134:2: later",
		"no position here",
	}
	got := parseDiags(in)
	sortDiags(got)
	if strs := strings.Split(diagLines(got), "\n"); !slices.Equal(strs, want) {
		t.Errorf("sortDiags:\ngot  %q\nwant %q", strs, want)
	}
}
