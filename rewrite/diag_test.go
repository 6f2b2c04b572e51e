package rewrite

import (
	"slices"
	"testing"
)

func TestSortDiags(t *testing.T) {
	got := []string{
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
	sortDiags(got)
	if !slices.Equal(got, want) {
		t.Errorf("sortDiags:\ngot  %q\nwant %q", got, want)
	}
}
