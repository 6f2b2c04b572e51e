package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The golden files under golden/ hold the expected output of the CLI on
// every fixture package. UPDATE_GOLDEN=1 rewrites them (read their diff
// before committing it).
var updateGolden = os.Getenv("UPDATE_GOLDEN") == "1"

// fixturePackages lists the directories under fixtures/ holding Go files,
// relative to fixtures/.
func fixturePackages(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir("fixtures", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			dir, _ := filepath.Rel("fixtures", filepath.Dir(path))
			if len(dirs) == 0 || dirs[len(dirs)-1] != dir {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no fixture packages found")
	}
	return dirs
}

// checkGolden compares got with the golden file, or rewrites it.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("golden", filepath.FromSlash(name))
	if updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (UPDATE_GOLDEN=1 rewrites it):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the lines only in want (-) and only in got (+), enough
// to see what changed in a golden file.
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := make(map[string]bool)
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

func TestDetectGolden(t *testing.T) {
	t.Chdir("../..")
	for _, dir := range fixturePackages(t) {
		t.Run(dir, func(t *testing.T) {
			for _, format := range []string{"txt", "json"} {
				args := []string{"detect", "./" + filepath.ToSlash(filepath.Join("fixtures", dir))}
				if format == "json" {
					args = []string{"detect", "-json", args[1]}
				}
				var stdout, stderr bytes.Buffer
				if code := run(args, &stdout, &stderr); code != exitOK {
					t.Fatalf("asyncify %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
				}
				if stdout.Len() == 0 {
					t.Fatalf("asyncify %s printed nothing", strings.Join(args, " "))
				}
				checkGolden(t, "detect/"+filepath.ToSlash(dir)+"."+format, stdout.Bytes())
			}
		})
	}
}
