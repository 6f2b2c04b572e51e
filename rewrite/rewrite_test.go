package rewrite

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/templates"
	"golang.org/x/tools/txtar"
)

// The cases under testdata/*.txtar: the archive's comment says what the
// case is about; go.mod and Go files are the input package; want.diff is
// the expected diff (paths relative to the module), or want.err holds one
// regexp per expected error line; want.notes, if present, the notes;
// want.nothing, if present, why nothing changed (Result.Nothing); an
// asyncify.conf, if present, is the configuration.
// UPDATE_GOLDEN=1 rewrites want.diff and want.notes. Every case that
// converts is converted again from its own output, which must change
// nothing.
func TestRules(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			want := make(map[string][]byte)
			for _, f := range ar.Files {
				if strings.HasPrefix(f.Name, "want.") {
					want[f.Name] = f.Data
					continue
				}
				writeFile(t, filepath.Join(dir, f.Name), f.Data)
			}
			var ov *iodetect.Overrides
			if src, err := os.ReadFile(filepath.Join(dir, ConfigFile)); err == nil {
				if ov, err = ReadConfig(ConfigFile, src); err != nil {
					t.Fatal(err)
				}
			}
			res, err := convertIn(dir, ov)
			if wantErr, ok := want["want.err"]; ok {
				if err == nil {
					t.Fatalf("converted, want errors:\n%s", wantErr)
				}
				checkErrors(t, dir, err, string(wantErr))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := diffOf(dir, res)
			notes := strings.ReplaceAll(diagLines(res.Notes), dir+string(filepath.Separator), "")
			if notes != "" {
				notes += "\n"
			}
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				update(t, file, ar, got, notes)
			} else {
				if got != string(want["want.diff"]) {
					t.Errorf("diff:\n%s\nwant:\n%s", got, want["want.diff"])
				}
				if notes != string(want["want.notes"]) {
					t.Errorf("notes:\n%s\nwant:\n%s", notes, want["want.notes"])
				}
			}
			if w, ok := want["want.nothing"]; ok {
				if got := strings.ReplaceAll(res.Nothing, dir+string(filepath.Separator), "") + "\n"; got != string(w) {
					t.Errorf("nothing to do:\n%s\nwant:\n%s", got, w)
				}
			}

			// idempotence
			for _, f := range res.Files {
				writeFile(t, f.Path, f.New)
			}
			again, err := convertIn(dir, ov)
			if err != nil {
				t.Fatalf("converting the output: %v", err)
			}
			if d := diffOf(dir, again); d != "" {
				t.Errorf("converting the output changes it:\n%s", d)
			}
		})
	}
}

func convertIn(dir string, ov *iodetect.Overrides) (*Result, error) {
	return Convert(Config{Dir: dir, Tests: true, Env: append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod"), Overrides: ov}, ".")
}

// diffOf is the diff of a conversion, without the runtime's files (tested
// in templates/).
func diffOf(dir string, res *Result) string {
	var b strings.Builder
	for _, f := range res.Files {
		if slices.Contains(templates.RuntimeFiles, strings.TrimPrefix(filepath.Base(f.Path), "asyncify_")) {
			continue
		}
		rel, _ := filepath.Rel(dir, f.Path)
		b.WriteString(UnifiedDiff(filepath.ToSlash(rel), f.Old, f.New))
	}
	return b.String()
}

func checkErrors(t *testing.T, dir string, err error, want string) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v is a %T, want *Error", err, err)
	}
	var got []string
	for _, s := range e.Errs {
		got = append(got, strings.ReplaceAll(s.String(), dir+string(filepath.Separator), ""))
	}
	wantLines := strings.Split(strings.TrimSpace(want), "\n")
	if len(got) != len(wantLines) {
		t.Fatalf("errors:\n%s\nwant %d matching:\n%s", strings.Join(got, "\n"), len(wantLines), want)
	}
	for i, w := range wantLines {
		if !regexp.MustCompile(w).MatchString(got[i]) {
			t.Errorf("error %q does not match %q", got[i], w)
		}
	}
}

func update(t *testing.T, file string, ar *txtar.Archive, diff, notes string) {
	t.Helper()
	var files []txtar.File
	for _, f := range ar.Files {
		if f.Name != "want.diff" && f.Name != "want.notes" {
			files = append(files, f)
		}
	}
	files = append(files, txtar.File{Name: "want.diff", Data: []byte(diff)})
	if notes != "" {
		files = append(files, txtar.File{Name: "want.notes", Data: []byte(notes)})
	}
	ar.Files = files
	if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
