package rewrite

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/asyncify-dev/asyncify/templates"
)

// tree is every file and directory under dir ("" for a directory).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			m[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(path)
		m[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// failEvery calls write with a failure injected at step 1, 2, ... of the
// writes, and checks that each failure leaves root exactly as it was and
// returns the error; it stops at the first call that meets no failure
// (which must succeed) and returns the number of steps.
func failEvery(t *testing.T, root string, write func() error) int {
	t.Helper()
	injected := errors.New("injected")
	defer func() { WriteHook = nil }()
	for k := 1; ; k++ {
		before := tree(t, root)
		step := 0
		WriteHook = func(op, path string) error {
			if step++; step == k {
				return fmt.Errorf("%s %s: %w", op, path, injected)
			}
			return nil
		}
		err := write()
		if step < k {
			if err != nil {
				t.Fatalf("without a failure: %v", err)
			}
			return step
		}
		if !errors.Is(err, injected) {
			t.Fatalf("failure at step %d: err = %v, want the injected one", k, err)
		}
		if after := tree(t, root); !maps.Equal(before, after) {
			t.Fatalf("failure at step %d changed the tree:\nbefore %v\nafter  %v", k, before, after)
		}
	}
}

// TestWriteDirFailures: WriteDir into a directory that does not exist yet,
// then over an earlier output (a file changed, one added, a stale one
// removed, the user's file kept), with a failure at every step in turn.
func TestWriteDirFailures(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "out")
	gen := func(s string) []byte { return []byte(templates.Header + "\n\npackage p\n\n// " + s + "\n") }
	files := map[string][]byte{"p.go": gen("p"), "q.go": gen("q"), "LICENSE": []byte("license\n")}
	if n := failEvery(t, root, func() error { return WriteDir(dir, maps.Clone(files)) }); n < 6 {
		t.Errorf("the first write took %d steps", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "user.go"), []byte("package p\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{"p.go": gen("p2"), "r.go": gen("r"), "LICENSE": []byte("license\n")}
	if n := failEvery(t, root, func() error { return WriteDir(dir, maps.Clone(files)) }); n < 5 {
		t.Errorf("the regeneration took %d steps", n)
	}
	want := map[string]string{"./": "", "p.go": string(gen("p2")), "r.go": string(gen("r")), "LICENSE": "license\n", "user.go": "package p\n"}
	if got := tree(t, dir); !maps.Equal(got, want) {
		t.Errorf("after the regeneration: %v", got)
	}
}

// TestWriteInPlaceFailures: WriteInPlace changing two files and adding one,
// with a failure at every step in turn.
func TestWriteInPlaceFailures(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{"p.go": "package p\n", "q.go": "package p\n\n// q\n", "other.txt": "x\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := &Result{Files: []File{
		{Path: filepath.Join(dir, "asyncify_ctx.go"), New: []byte("package p\n\n// new\n")},
		{Path: filepath.Join(dir, "p.go"), Old: []byte("package p\n"), New: []byte("package p\n\n// p2\n")},
		{Path: filepath.Join(dir, "q.go"), Old: []byte("package p\n\n// q\n"), New: []byte("package p\n\n// q2\n")},
	}}
	if n := failEvery(t, dir, func() error { return WriteInPlace(res) }); n < 9 {
		t.Errorf("the write took %d steps", n)
	}
	want := map[string]string{"./": "", "asyncify_ctx.go": "package p\n\n// new\n", "p.go": "package p\n\n// p2\n", "q.go": "package p\n\n// q2\n", "other.txt": "x\n"}
	if got := tree(t, dir); !maps.Equal(got, want) {
		t.Errorf("after the write: %v", got)
	}
}
