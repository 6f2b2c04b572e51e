package rewrite

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/tools/txtar"
)

// TestSplitFollowsTheRuntimesModule: whether XxxAsync is a split operation
// (startSplit, which imports iter: go1.23) depends on the module the
// runtime files go into, not on upstream's language version, which -o
// keeps for upstream's files: the go1.22 package of txtar splitgoversion
// keeps startOp in place and gets startSplit converted into a go1.26
// module.
func TestSplitFollowsTheRuntimesModule(t *testing.T) {
	ar, err := txtar.ParseFile(filepath.Join("testdata", "splitgoversion.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		goVersion, want string
	}{
		{"", "startOp("},
		{"go1.26", "startSplit("},
	} {
		dir := t.TempDir()
		for _, f := range ar.Files {
			if f.Name != "want.diff" {
				writeFile(t, filepath.Join(dir, f.Name), f.Data)
			}
		}
		res, err := Convert(Config{Dir: dir, GoVersion: c.goVersion, Env: append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")}, ".")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range res.Files {
			if f.Rel == "p.go" {
				found = bytes.Contains(f.New, []byte(c.want))
			}
		}
		if !found {
			t.Errorf("GoVersion %q: p.go has no %s", c.goVersion, c.want)
		}
	}
}
