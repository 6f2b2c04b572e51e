package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDetectVendored runs detect on gomemcache vendored into a module (go mod
// vendor), by import path and by ./vendor/... directory: patterns resolve as
// the go command resolves them in that module, and the facts are those of the
// module-cache copy, less the tests that go mod vendor drops.
func TestDetectVendored(t *testing.T) {
	dir := vendoredGomemcache(t, "vendored")

	for _, pattern := range []string{gomemcachePkg, "./vendor/" + gomemcachePkg} {
		t.Run(pattern, func(t *testing.T) {
			// moduleEnv forces -mod=mod; a vendored module must be read from vendor/
			res := asyncifyEnv(t, dir, []string{"GOFLAGS=-mod=vendor"}, "detect", "-json", pattern)
			if res.exit != 0 {
				t.Fatalf("exit %d\n%s", res.exit, res.stderr)
			}
			var rep report
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Packages) != 1 || rep.Packages[0].Name != "memcache" {
				t.Fatalf("want exactly the memcache package, got %d packages", len(rep.Packages))
			}
			p := rep.Packages[0]
			async := map[string]bool{}
			for _, a := range p.Async {
				async[a.Func] = true
			}
			for _, m := range gomemcacheAPI {
				if !async["(*Client)."+m] {
					t.Errorf("(*Client).%s not async in the vendored copy", m)
				}
			}
			for _, s := range p.Sites {
				if !strings.HasPrefix(s.Pos, "vendor/") {
					t.Errorf("site %s %s: want a position under vendor/ (relative to the module)", s.Pos, s.Call)
				}
				if strings.Contains(s.Pos, "_test.go") {
					t.Errorf("site %s in a test file, but go mod vendor drops tests", s.Pos)
				}
			}
			if len(p.Sites) < len(gomemcacheSites) {
				t.Errorf("%d sites in the vendored copy, want at least the %d of memcache.go", len(p.Sites), len(gomemcacheSites))
			}
		})
	}
}

// TestConvertVendored converts gomemcache vendored into a module (go mod vendor drops test
// files): the tests come from the module cache copy of the exact vendored version, downloaded
// through the module proxy when missing, and asyncify says so; without it, asyncify converts
// without tests and warns.
//
// gomemcache's go.mod says go 1.18, and the line vendor/modules.txt keeps for it is the language
// version its vendored files compile with, older than the converted code needs (1.21): -d on the
// vendored copy is refused, saying so, and -o into a module of one's own works. For the diff
// applied in place, the same gomemcache, its go line raised to 1.24, is served by a module proxy
// of the test's own (a directory, GOPROXY=file://) with a module cache of its own: git apply
// accepts the -d output on a copy of the module, which then builds, vets and passes the
// converted tests.
func TestConvertVendored(t *testing.T) {
	t.Parallel()
	t.Run("real", func(t *testing.T) {
		dir := vendoredGomemcache(t, "vendored")
		vendored := "./vendor/" + gomemcachePkg
		vendorMode := []string{"GOFLAGS=-mod=vendor"}

		res := asyncifyEnv(t, dir, vendorMode, "-d", vendored)
		if res.exit != 2 || !strings.Contains(res.stderr, "go1.18") || !strings.Contains(res.stderr, "-o") {
			t.Errorf("-d on vendored gomemcache (go 1.18 in vendor/modules.txt): exit %d, want 2 and a refusal naming go1.18 and -o\n%s", res.exit, res.stderr)
		}

		res = asyncifyEnv(t, dir, vendorMode, "-o", "./internal/memcache", vendored)
		if res.exit != 0 {
			t.Fatalf("-o ./internal/memcache %s: exit %d\n%s", vendored, res.exit, res.stderr)
		}
		want := "go mod vendor dropped the package's tests: 4 test files taken from the module cache copy of " + gomemcacheModule + "@" + gomemcacheVersion
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say where the tests come from (%q):\n%s", want, res.stderr)
		}
		for _, f := range []string{"memcache_test.go", "selector_test.go", "fakeserver_test.go", "fakecerts_test.go"} {
			if _, err := os.Stat(filepath.Join(dir, "internal", "memcache", f)); err != nil {
				t.Errorf("the converted package has no %s: %v", f, err)
			}
		}
		cmd := exec.Command("go", "vet", "./internal/memcache")
		cmd.Dir = dir
		cmd.Env = append(moduleEnv(), vendorMode...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go vet ./internal/memcache: %v\n%s", err, out)
		}
		// go vet type-checks the tests too; they run (against memcached) in
		// TestConvertGomemcache, and below against gomemcache's fake server.
	})

	t.Run("proxy", func(t *testing.T) {
		const version = gomemcacheVersion
		proxy := fileProxy(t, gomemcacheModule, version, func(gomod []byte) []byte {
			return bytes.Replace(gomod, []byte("\ngo 1.18\n"), []byte("\ngo 1.24\n"), 1)
		})
		cache := filepath.Join(tmpRoot, "vendored-modcache")
		env := []string{"GOMODCACHE=" + cache, "GOPROXY=file://" + filepath.ToSlash(proxy), "GOSUMDB=off", "GOFLAGS=-mod=mod"}
		t.Cleanup(func() { goEnv(t, tmpRoot, env, "clean", "-modcache") }) // its files are read-only
		dir := writeModule(t, "vendored-proxy", map[string]string{
			"go.mod":  "module example.com/vendored\n\ngo 1.26\n\nrequire " + gomemcacheModule + " " + version + "\n",
			"main.go": "package main\n\nimport \"" + gomemcachePkg + "\"\n\nfunc main() { _ = memcache.New(\"127.0.0.1:11211\") }\n",
		})
		goEnv(t, dir, env, "mod", "tidy")
		goEnv(t, dir, env, "mod", "vendor")
		// The module cache loses its copy: asyncify must download it through the proxy.
		goEnv(t, dir, env, "clean", "-modcache")
		vendorEnv := append(env[:len(env):len(env)], "GOFLAGS=-mod=vendor")
		vendored := "./vendor/" + gomemcachePkg

		// Without the proxy: no tests, a warning.
		off := append(vendorEnv[:len(vendorEnv):len(vendorEnv)], "GOPROXY=off")
		res := asyncifyEnv(t, dir, off, "-d", vendored)
		if res.exit != 0 {
			t.Fatalf("-d with GOPROXY=off: exit %d\n%s", res.exit, res.stderr)
		}
		if !strings.Contains(res.stderr, "warning: converted without tests") {
			t.Errorf("-d with no module cache copy and GOPROXY=off: no warning that the tests are left out:\n%s", res.stderr)
		}
		if strings.Contains(res.stdout, "_test.go") {
			t.Errorf("-d with no module cache copy: the diff has test files")
		}

		git := func(args ...string) {
			t.Helper()
			cmd := exec.Command("git", append([]string{"-c", "user.name=e2e", "-c", "user.email=e2e@example.com"}, args...)...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		git("init", "-q")
		git("add", "-A")
		git("commit", "-q", "-m", "vendored gomemcache")

		res = asyncifyEnv(t, dir, vendorEnv, "-d", vendored)
		if res.exit != 0 {
			t.Fatalf("-d %s: exit %d\n%s", vendored, res.exit, res.stderr)
		}
		want := "4 test files taken from the module cache copy of " + gomemcacheModule + "@" + version + " (" + cache
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say the tests come from the downloaded module cache copy (%q):\n%s", want, res.stderr)
		}
		for _, f := range []string{"memcache_test.go", "selector_test.go", "fakeserver_test.go", "fakecerts_test.go"} {
			if !strings.Contains(res.stdout, "--- /dev/null\n+++ b/vendor/"+gomemcachePkg+"/"+f+"\n") {
				t.Errorf("the diff does not add vendor/%s/%s", gomemcachePkg, f)
			}
		}
		patch := filepath.Join(tmpRoot, "vendored.patch")
		if err := os.WriteFile(patch, []byte(res.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		git("apply", "--check", patch)
		git("apply", patch)
		goEnv(t, dir, vendorEnv, "build", "./...")
		goEnv(t, dir, vendorEnv, "vet", gomemcachePkg)
		goEnv(t, dir, vendorEnv, "test", "-count=1", "-run", "^(TestFakeServer|TestScanGetResponseLine)$", gomemcachePkg)
	})
}

// goEnv runs the go command in dir with moduleEnv plus env (later entries win).
func goEnv(tb testing.TB, dir string, env []string, args ...string) {
	tb.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(moduleEnv(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// fileProxy lays out a module proxy in a directory (for GOPROXY=file://) serving module@version
// with the files of the module cache's copy of it, its go.mod passed through editMod.
func fileProxy(tb testing.TB, module, version string, editMod func([]byte) []byte) string {
	tb.Helper()
	src := moduleDir(tb, module)
	proxy := filepath.Join(tmpRoot, "proxy")
	at := filepath.Join(proxy, filepath.FromSlash(module), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		tb.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	var gomod []byte
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == "go.mod" {
			data = editMod(data)
			gomod = data
		}
		w, err := zw.Create(module + "@" + version + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": []byte(`{"Version":"` + version + `","Time":"2026-04-22T23:19:31Z"}`),
		version + ".mod":  gomod,
		version + ".zip":  zbuf.Bytes(),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return proxy
}

// vendoredGomemcache writes a module named name that imports gomemcache and vendors it (go mod
// tidy, go mod vendor); it returns the module's directory.
func vendoredGomemcache(tb testing.TB, name string) string {
	tb.Helper()
	dir := writeModule(tb, name, map[string]string{
		"go.mod":  "module example.com/" + name + "\n\ngo 1.26\n\nrequire " + gomemcacheModule + " " + gomemcacheVersion + "\n",
		"main.go": "package main\n\nimport \"" + gomemcachePkg + "\"\n\nfunc main() { _ = memcache.New(\"127.0.0.1:11211\") }\n",
	})
	goIn(tb, dir, "mod", "tidy")
	goIn(tb, dir, "mod", "vendor")
	return dir
}
