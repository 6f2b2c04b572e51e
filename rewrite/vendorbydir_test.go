package rewrite

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVendoredByDir: a ./vendor/... pattern is matched against
// vendor/modules.txt, with the module's version or replacement; anything
// else is left to the go command.
func TestVendoredByDir(t *testing.T) {
	root := t.TempDir()
	modules := `# example.com/a v1.2.3
## explicit; go 1.20
example.com/a/p
# example.com/b v0.1.0 => example.com/fork/b v0.1.1
## explicit
example.com/b
# example.com/c v1.0.0 => ../c
example.com/c/q
`
	for _, f := range []struct{ name, data string }{
		{"vendor/modules.txt", modules},
		{"vendor/example.com/a/p/p.go", "package p\n"},
		{"vendor/example.com/b/b.go", "package b\n"},
		{"vendor/example.com/c/q/q.go", "package q\n"},
		{"vendor/example.com/a/other/o.go", "package other\n"},
	} {
		name := filepath.Join(root, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Dir: root}
	for _, c := range []struct {
		pattern, path, mod, version, repl, replVersion string
	}{
		{"./vendor/example.com/a/p", "example.com/a/p", "example.com/a", "v1.2.3", "", ""},
		{"./vendor/example.com/b", "example.com/b", "example.com/b", "v0.1.0", "example.com/fork/b", "v0.1.1"},
		{"./vendor/example.com/c/q", "example.com/c/q", "example.com/c", "v1.0.0", "../c", ""},
		{"./vendor/example.com/a/other", "", "", "", "", ""}, // not in modules.txt
		{"example.com/a/p", "", "", "", "", ""},              // an import path
		{"./vendor/...", "", "", "", "", ""},
	} {
		p := vendoredByDir(cfg, c.pattern)
		if c.path == "" {
			if p != nil {
				t.Errorf("%s: got %s, want nil", c.pattern, p.PkgPath)
			}
			continue
		}
		if p == nil {
			t.Errorf("%s: got nil, want %s", c.pattern, c.path)
			continue
		}
		if p.PkgPath != c.path || p.Module.Path != c.mod || p.Module.Version != c.version || len(p.GoFiles) != 1 {
			t.Errorf("%s: got %s in %s@%s (%d files)", c.pattern, p.PkgPath, p.Module.Path, p.Module.Version, len(p.GoFiles))
		}
		r := p.Module.Replace
		if c.repl == "" && r != nil || c.repl != "" && (r == nil || r.Path != c.repl || r.Version != c.replVersion) {
			t.Errorf("%s: replacement %+v, want %s %s", c.pattern, r, c.repl, c.replVersion)
		}
	}
}
