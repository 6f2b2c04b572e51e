package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
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

// TestDetectGolden runs detect once over every fixture package and compares
// each package's part of the report (the package and its external tests)
// with its golden files, in both formats.
func TestDetectGolden(t *testing.T) {
	t.Chdir("../..")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"detect", "-json", "./fixtures/..."}, &stdout, &stderr); code != exitOK {
		t.Fatalf("asyncify detect -json ./fixtures/...: exit %d\n%s", code, stderr.String())
	}
	var report iodetect.Report
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	byDir := make(map[string][]iodetect.PackageReport)
	for _, p := range report.Packages {
		dir := strings.TrimSuffix(strings.TrimPrefix(p.Path, "github.com/asyncify-dev/asyncify/fixtures/"), "_test")
		byDir[dir] = append(byDir[dir], p)
	}
	for _, dir := range fixturePackages(t) {
		t.Run(dir, func(t *testing.T) {
			part := &iodetect.Report{Packages: byDir[filepath.ToSlash(dir)]}
			if len(part.Packages) == 0 {
				t.Fatalf("the report has no package for fixtures/%s", dir)
			}
			var text, js bytes.Buffer
			if err := part.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := part.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "detect/"+filepath.ToSlash(dir)+".txt", text.Bytes())
			checkGolden(t, "detect/"+filepath.ToSlash(dir)+".json", js.Bytes())
		})
	}
}

// TestDetectTextMatchesJSON checks that the CLI's text output of one package
// is what the golden test derives from the JSON report.
func TestDetectTextMatchesJSON(t *testing.T) {
	t.Chdir("../..")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"detect", "./fixtures/mctext"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	checkGolden(t, "detect/mctext.txt", stdout.Bytes())
}
