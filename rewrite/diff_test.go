package rewrite

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnifiedDiffApplies checks hunks, far apart and close together, past
// line 10, a new file and a missing final newline, by applying the diff
// with git apply.
func TestUnifiedDiffApplies(t *testing.T) {
	var oldLines, newLines []string
	for i := 1; i <= 40; i++ {
		l := strings.Repeat("x", i%7) + "line"
		oldLines = append(oldLines, l)
		switch {
		case i == 2, i == 15, i == 17, i == 39:
			newLines = append(newLines, "changed "+l)
		case i == 25:
			newLines = append(newLines, l, "inserted")
		case i == 30:
			// deleted
		default:
			newLines = append(newLines, l)
		}
	}
	old := strings.Join(oldLines, "\n") + "\n"
	new := strings.Join(newLines, "\n") // no final newline
	cases := []struct {
		path     string
		old, new []byte
	}{
		{"dir/a.txt", []byte(old), []byte(new)},
		{"dir/b.txt", nil, []byte("hello\nworld\n")},
		{"dir/c.txt", []byte("same\n"), []byte("same\n")},
	}
	dir := t.TempDir()
	var patch strings.Builder
	for _, c := range cases {
		if c.old != nil {
			if err := os.MkdirAll(filepath.Join(dir, "dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, c.path), c.old, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		patch.WriteString(UnifiedDiff(c.path, c.old, c.new))
	}
	if !strings.Contains(patch.String(), "@@ -12,9 +12,9 @@") {
		t.Errorf("no merged hunk for lines 15 and 17:\n%s", patch.String())
	}
	cmd := exec.Command("git", "apply", "-")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(patch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v\n%s\npatch:\n%s", err, out, patch.String())
	}
	for _, c := range cases {
		got, err := os.ReadFile(filepath.Join(dir, c.path))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(c.new) {
			t.Errorf("%s after git apply:\n%s\nwant:\n%s", c.path, got, c.new)
		}
	}
}
