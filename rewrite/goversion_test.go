package rewrite

import (
	"os"
	"path/filepath"
	"testing"
)

func TestGoDirectivePos(t *testing.T) {
	dir := t.TempDir()
	gomod := filepath.Join(dir, "go.mod")
	if err := os.WriteFile(gomod, []byte("module example.com/old\n\n  go 1.18\n\nrequire example.com/x v1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := goDirectivePos(gomod).String(), gomod+":3:3"; got != want {
		t.Errorf("goDirectivePos = %q, want %q", got, want)
	}
	if got := goDirectivePos(filepath.Join(dir, "missing.mod")).String(); got != filepath.Join(dir, "missing.mod") {
		t.Errorf("goDirectivePos(missing) = %q, want the file name", got)
	}
}
