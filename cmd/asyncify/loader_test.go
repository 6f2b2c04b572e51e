package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Loading what a user has (issue 12): a client whose tests import a module
// that the user's module does not require, nor has sums for, served by a
// module proxy of the test's own (a directory, GOPROXY=file://).

// proxyModules are the modules of the test's proxy, by module@version,
// each file by its path in the module.
var proxyModules = map[string]map[string]string{
	// lib is the client: its tests import check, which its go.mod requires.
	"example.com/lib@v1.0.0": {
		"go.mod": "module example.com/lib\n\ngo 1.24\n\nrequire example.com/check v1.0.0\n",
		"lib.go": `// Package lib is a line client.
package lib

import (
	"bufio"
	"net"
)

type Conn struct {
	nc net.Conn
	r  *bufio.Reader
}

func Dial(addr string) (*Conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Conn{nc: nc, r: bufio.NewReader(nc)}, nil
}

// Get sends key and reads the reply line.
func (c *Conn) Get(key string) (string, error) {
	if _, err := c.nc.Write([]byte("get " + key + "\n")); err != nil {
		return "", err
	}
	return c.r.ReadString('\n')
}

func (c *Conn) Close() error { return c.nc.Close() }
`,
		"lib_test.go": `package lib

import (
	"net"
	"testing"

	"example.com/check"
)

func TestGet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			buf := make([]byte, 64)
			nc.Read(buf)
			nc.Write([]byte("v\n"))
			nc.Close()
		}
	}()
	c, err := Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Get("k")
	check.Equal(t, err, nil)
	check.Equal(t, got, "v\n")
}
`,
	},
	// check imports diff, which only its own go.mod requires: the user's
	// module graph (pruned) does not hold it.
	"example.com/check@v1.0.0": {
		"go.mod": "module example.com/check\n\ngo 1.24\n\nrequire example.com/diff v1.0.0\n",
		"check.go": `// Package check is an assertion library.
package check

import (
	"testing"

	"example.com/diff"
)

func Equal(t testing.TB, got, want any) {
	t.Helper()
	if got != want {
		t.Fatal(diff.Diff(got, want))
	}
}
`,
	},
	"example.com/diff@v1.0.0": {
		"go.mod":  "module example.com/diff\n\ngo 1.24\n",
		"diff.go": "package diff\n\nimport \"fmt\"\n\nfunc Diff(a, b any) string { return fmt.Sprintf(\"%v != %v\", a, b) }\n",
	},
}

// writeProxy lays out modules in a directory for GOPROXY=file://.
func writeProxy(t *testing.T, modules map[string]map[string]string) string {
	t.Helper()
	proxy := t.TempDir()
	for modv, files := range modules {
		mod, version, _ := strings.Cut(modv, "@")
		at := filepath.Join(proxy, filepath.FromSlash(mod), "@v")
		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			w, err := zw.Create(modv + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(files[name]))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		list, _ := os.ReadFile(filepath.Join(at, "list"))
		writeTestFile(t, filepath.Join(at, "list"), string(list)+version+"\n")
		writeTestFile(t, filepath.Join(at, version+".info"), `{"Version":"`+version+`","Time":"2026-01-02T03:04:05Z"}`)
		gomod, ok := files["go.mod"]
		if !ok {
			// a module from before go.mod: the proxy serves a go.mod
			// naming the module, the zip has none
			gomod = "module " + mod + "\n"
		}
		writeTestFile(t, filepath.Join(at, version+".mod"), gomod)
		writeTestFile(t, filepath.Join(at, version+".zip"), zbuf.String())
	}
	return proxy
}

// proxyEnv makes the go command, in this process (t.Setenv) and the
// commands the test runs, use proxy and a module cache of the test's own.
func proxyEnv(t *testing.T, proxy string) []string {
	env := []string{
		"GOPROXY=file://" + filepath.ToSlash(proxy),
		"GOSUMDB=off",
		"GOMODCACHE=" + filepath.Join(t.TempDir(), "modcache"),
		"GOFLAGS=-modcacherw",
		"GOWORK=off",
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return env
}

// TestTestOnlyDependencies: detect and -o load a dependency's tests that
// import a module the user's module neither requires nor has sums for
// (go get adds only what the package needs), with no command of the user's
// first, and leave the user's go.mod and go.sum byte for byte as they
// were. The output builds; its tests, after go mod tidy adds what they
// import (as for any new test), pass.
func TestTestOnlyDependencies(t *testing.T) {
	proxyEnv(t, writeProxy(t, proxyModules))
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/u\n\ngo 1.24\n")
	goCmdEnv(t, dir, nil, "get", "example.com/lib@v1.0.0")
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	gosum, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
	if bytes.Contains(gosum, []byte("example.com/check v1.0.0 h1:")) {
		t.Fatalf("go get recorded check's sum: the fixture does not test what it should\n%s", gosum)
	}
	unchanged := func(what string) {
		t.Helper()
		m, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
		s, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
		if !bytes.Equal(m, gomod) || !bytes.Equal(s, gosum) {
			t.Errorf("%s changed the user's go.mod or go.sum:\n%s\n%s", what, m, s)
		}
	}

	r := runArgs("detect", "example.com/lib")
	if r.code != exitOK || !strings.Contains(r.stdout, "(*Conn).Get") {
		t.Errorf("detect example.com/lib: want exit 0 and (*Conn).Get async\n%s", r)
	}
	unchanged("detect")

	r = runArgs("-o", "./x", "example.com/lib")
	if r.code != exitOK {
		t.Fatalf("-o ./x example.com/lib: %s", r)
	}
	unchanged("-o")
	if _, err := os.Stat(filepath.Join(dir, "x", "lib_test.go")); err != nil {
		t.Errorf("the output has no converted tests: %v", err)
	}
	goCmdEnv(t, dir, nil, "build", "./x")
	goCmdEnv(t, dir, nil, "mod", "tidy")
	goCmdEnv(t, dir, nil, "test", "-count=1", "./x")
}

// TestLoaderFailureSaysWhy: when the go command cannot load the package's
// tests' imports (no module proxy to fetch them from), asyncify says what
// the go command says, not what type-checking without them meets.
func TestLoaderFailureSaysWhy(t *testing.T) {
	proxyEnv(t, writeProxy(t, proxyModules))
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/u\n\ngo 1.24\n")
	goCmdEnv(t, dir, nil, "get", "example.com/lib@v1.0.0")
	// check is in the module cache and go.sum, diff is not anywhere
	goCmdEnv(t, dir, nil, "mod", "download", "example.com/check")
	t.Setenv("GOPROXY", "off")
	for _, args := range [][]string{{"detect", "example.com/lib"}, {"-o", "./x", "example.com/lib"}} {
		r := runArgs(args...)
		t.Logf("asyncify %s: %s", strings.Join(args, " "), r.stderr)
		if r.code != exitError || !strings.Contains(r.stderr, "GOPROXY=off") || strings.Contains(r.stderr, "no export data") {
			t.Errorf("asyncify %s with GOPROXY=off: want exit 2 and the go command's message (module lookup disabled by GOPROXY=off)\n%s", strings.Join(args, " "), r)
		}
	}
}

// TestModuleWithoutGoMod: -o converts a package of a module from before
// go.mod (an old pseudo-version, like gomemcache's of 2017): the import
// path of the package is what go list reports, not read from a go.mod
// file above it, and its external tests import the converted copy.
func TestModuleWithoutGoMod(t *testing.T) {
	lib := proxyModules["example.com/lib@v1.0.0"]
	old := map[string]string{
		"LICENSE": "the old module's license\n",
		"lib.go":  strings.Replace(lib["lib.go"], "package lib", "package old", 1),
		"old_test.go": `package old_test

import (
	"testing"

	"example.com/old"
)

func TestDialRefused(t *testing.T) {
	if _, err := old.Dial("127.0.0.1:0"); err == nil {
		t.Fatal("dialled port 0")
	}
}
`,
	}
	const version = "v0.0.0-20170208213004-1952afaa557d"
	proxyEnv(t, writeProxy(t, map[string]map[string]string{"example.com/old@" + version: old}))
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/u\n\ngo 1.24\n")
	goCmdEnv(t, dir, nil, "get", "example.com/old@"+version)

	r := runArgs("-o", "./x", "example.com/old")
	if r.code != exitOK {
		t.Fatalf("-o ./x example.com/old: %s", r)
	}
	xtest, err := os.ReadFile(filepath.Join(dir, "x", "old_test.go"))
	if err != nil || !bytes.Contains(xtest, []byte(`"example.com/u/x"`)) {
		t.Errorf("x/old_test.go does not import the converted copy example.com/u/x (%v):\n%s", err, xtest)
	}
	goCmdEnv(t, dir, nil, "vet", "./x")
	goCmdEnv(t, dir, nil, "test", "-count=1", "./x")
}

// dataModule is a client whose tests read files beside the package, in
// folders that hold no Go package (testdata/, unitTestData/), and that has
// a subpackage of its own (sub/), which -o does not copy.
func dataModule() map[string]string {
	lib := proxyModules["example.com/lib@v1.0.0"]
	return map[string]string{
		"go.mod": "module example.com/data\n\ngo 1.24\n",
		"lib.go": strings.Replace(lib["lib.go"], "package lib", "package data", 1),
		"data_test.go": `package data

import (
	"os"
	"testing"
)

func TestFiles(t *testing.T) {
	for _, name := range []string{"testdata/reply.txt", "testdata/deep/more.txt", "unitTestData/case.json"} {
		if _, err := os.ReadFile(name); err != nil {
			t.Error(err)
		}
	}
}
`,
		"testdata/reply.txt":      "v\n",
		"testdata/with space.txt": "a name with a space\n",
		"testdata/deep/more.txt":  "more\n",
		"testdata/gen.go":         "package ignored\n",
		"unitTestData/case.json":  "{}\n",
		"sub/sub.go":              "package sub\n",
		"sub/testdata/x.txt":      "x\n",
		"fixtures/README":         "a folder that holds a Go package below it\n",
		"fixtures/p/p.go":         "package p\n",
	}
}

// TestDataFolders: -o copies the folders of the package's directory that
// hold no Go package (testdata/, unitTestData/), whole, and never a
// subpackage; the converted tests that read them pass, and a second run
// finds nothing to change (-check exits 0).
func TestDataFolders(t *testing.T) {
	proxyEnv(t, writeProxy(t, map[string]map[string]string{"example.com/data@v1.0.0": dataModule()}))
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/u\n\ngo 1.24\n")
	goCmdEnv(t, dir, nil, "get", "example.com/data@v1.0.0")

	r := runArgs("-o", "./x", "example.com/data")
	if r.code != exitOK {
		t.Fatalf("-o ./x example.com/data: %s", r)
	}
	for _, name := range []string{"testdata/reply.txt", "testdata/with space.txt", "testdata/deep/more.txt", "testdata/gen.go", "unitTestData/case.json"} {
		got, err := os.ReadFile(filepath.Join(dir, "x", filepath.FromSlash(name)))
		if err != nil || string(got) != dataModule()[name] {
			t.Errorf("x/%s: %q, %v; want upstream's %q", name, got, err, dataModule()[name])
		}
	}
	for _, name := range []string{"sub", "fixtures"} {
		if _, err := os.Stat(filepath.Join(dir, "x", name)); err == nil {
			t.Errorf("x/%s was copied: it holds a Go package", name)
		}
	}
	goCmdEnv(t, dir, nil, "test", "-count=1", "-run", "TestFiles", "./x")

	before := snapshot(t, filepath.Join(dir, "x"))
	if r := runArgs("-o", "./x", "example.com/data"); r.code != exitOK || r.stdout != "" {
		t.Errorf("a second -o: want exit 0 and no diff\n%s", r)
	}
	sameTree(t, "a second -o", before, filepath.Join(dir, "x"))
	if r := runArgs("-check", "-o", "./x", "example.com/data"); r.code != exitOK {
		t.Errorf("-check after -o: %s", r)
	}
}

// TestVendoredBuildTaggedTests: a vendored package whose module has a test
// file behind a build tag (//go:build integration): go mod vendor drops
// the tests, asyncify takes them from the module cache copy, and the
// tagged one, which the build does not see, is copied unchanged from
// there, as it is for a package that is not vendored; so is testdata/.
func TestVendoredBuildTaggedTests(t *testing.T) {
	mod := dataModule()
	mod["go.mod"] = "module example.com/vlib\n\ngo 1.24\n"
	mod["lib.go"] = strings.Replace(mod["lib.go"], "package data", "package vlib", 1)
	delete(mod, "data_test.go")
	mod["vlib_test.go"] = strings.Replace(dataModule()["data_test.go"], "package data", "package vlib", 1)
	mod["integration_test.go"] = "//go:build integration\n\npackage vlib\n\nimport \"testing\"\n\nfunc TestServer(t *testing.T) {\n\tif _, err := Dial(\"127.0.0.1:1\"); err != nil {\n\t\tt.Skip(err)\n\t}\n}\n"
	proxyEnv(t, writeProxy(t, map[string]map[string]string{"example.com/vlib@v1.0.0": mod}))
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/u\n\ngo 1.24\n\nrequire example.com/vlib v1.0.0\n")
	writeTestFile(t, filepath.Join(dir, "main.go"), "package main\n\nimport \"example.com/vlib\"\n\nfunc main() { vlib.Dial(\"127.0.0.1:1\") }\n")
	goCmdEnv(t, dir, nil, "mod", "tidy")
	goCmdEnv(t, dir, nil, "mod", "vendor")
	t.Setenv("GOFLAGS", "-modcacherw -mod=vendor")

	r := runArgs("-o", "./x", "./vendor/example.com/vlib")
	if r.code != exitOK {
		t.Fatalf("-o ./x ./vendor/example.com/vlib: %s", r)
	}
	// found in the module cache copy, and converted with the tag it is
	// behind turned on (iodetect's tags.go)
	got, err := os.ReadFile(filepath.Join(dir, "x", "integration_test.go"))
	if err != nil || !strings.Contains(string(got), "//go:build integration\n") || !strings.Contains(string(got), "DialContext(t.Context(), ") {
		t.Errorf("x/integration_test.go is not upstream's converted (%v):\n%s", err, got)
	}
	if _, err := os.Stat(filepath.Join(dir, "x", "testdata", "reply.txt")); err != nil {
		t.Errorf("testdata/ is not copied from the module cache copy: %v", err)
	}
	goCmdEnv(t, dir, nil, "vet", "./x")
	goCmdEnv(t, dir, nil, "vet", "-tags=integration", "./x")
	goCmdEnv(t, dir, nil, "test", "-count=1", "-run", "TestFiles", "./x")
}

// helperModule is a client whose external tests use a test-only helper
// package of its module, internal/libtest, which imports the client (as
// redigo's internal/redistest does); with inTests, the client has
// in-package tests too, so that the go command recompiles the helper for
// them (libtest [example.com/hlp.test]).
func helperModule(inTests bool) map[string]string {
	lib := proxyModules["example.com/lib@v1.0.0"]
	m := map[string]string{
		"go.mod": "module example.com/hlp\n\ngo 1.24\n",
		"lib.go": strings.Replace(lib["lib.go"], "package lib", "package hlp", 1),
		"internal/libtest/libtest.go": `// Package libtest starts a server for the tests and dials it.
package libtest

import (
	"net"

	"example.com/hlp"
)

var Addr string

func init() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	Addr = ln.Addr().String()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 64)
				for {
					if _, err := nc.Read(buf); err != nil {
						return
					}
					nc.Write([]byte("v\n"))
				}
			}()
		}
	}()
}

// Dial dials the test server.
func Dial() (*hlp.Conn, error) { return hlp.Dial(Addr) }
`,
		"hlp_test.go": `package hlp_test

import (
	"testing"

	"example.com/hlp"
	"example.com/hlp/internal/libtest"
)

func get(t *testing.T, dial func() (*hlp.Conn, error)) {
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.Get("k"); err != nil || got != "v\n" {
		t.Fatalf("Get: %q, %v", got, err)
	}
}

func TestGet(t *testing.T) { get(t, libtest.Dial) }
`,
	}
	if inTests {
		m["internal_test.go"] = "package hlp\n\nimport \"testing\"\n\nfunc TestDialRefused(t *testing.T) {\n\tif _, err := Dial(\"127.0.0.1:0\"); err == nil {\n\t\tt.Fatal(\"dialled port 0\")\n\t}\n}\n"
	}
	return m
}

// TestTestOnlyHelper: -o copies a test-only helper package of the
// client's module that imports the client (internal/libtest) beside the
// output, its import of the client naming the converted copy, as internal
// packages the client imports are; the converted tests that hand the
// helper's values to the client pass. With and without in-package tests
// (which make the go command recompile the helper for them).
func TestTestOnlyHelper(t *testing.T) {
	for _, inTests := range []bool{false, true} {
		t.Run(fmt.Sprintf("inTests=%t", inTests), func(t *testing.T) {
			proxyEnv(t, writeProxy(t, map[string]map[string]string{"example.com/hlp@v1.0.0": helperModule(inTests)}))
			dir := t.TempDir()
			t.Chdir(dir)
			writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/u\n\ngo 1.24\n")
			goCmdEnv(t, dir, nil, "get", "example.com/hlp@v1.0.0")

			r := runArgs("-o", "./x", "example.com/hlp")
			if r.code != exitOK {
				t.Fatalf("-o ./x example.com/hlp: %s", r)
			}
			src, err := os.ReadFile(filepath.Join(dir, "x", "internal", "libtest", "libtest.go"))
			if err != nil || !bytes.Contains(src, []byte(`"example.com/u/x"`)) || bytes.Contains(src, []byte(`"example.com/hlp"`)) {
				t.Errorf("x/internal/libtest/libtest.go does not import the converted copy (%v):\n%s", err, src)
			}
			goCmdEnv(t, dir, nil, "vet", "./x/...")
			goCmdEnv(t, dir, nil, "test", "-count=1", "./x")
		})
	}
}

// TestVendoredTestOnlyDependencies: a vendored package whose tests (which
// go mod vendor drops, and asyncify takes from the module cache copy)
// import a module that vendor/ does not hold. -o converts the module cache
// copy, identical to vendor/'s, with its tests; -d, which changes vendor/
// in place, where such tests could not build, converts without them and
// says why. Neither touches the user's module.
func TestVendoredTestOnlyDependencies(t *testing.T) {
	proxyEnv(t, writeProxy(t, proxyModules))
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/u\n\ngo 1.24\n\nrequire example.com/lib v1.0.0\n")
	writeTestFile(t, filepath.Join(dir, "main.go"), "package main\n\nimport \"example.com/lib\"\n\nfunc main() { lib.Dial(\"127.0.0.1:1\") }\n")
	goCmdEnv(t, dir, nil, "mod", "tidy")
	goCmdEnv(t, dir, nil, "mod", "vendor")
	t.Setenv("GOFLAGS", "-modcacherw -mod=vendor")
	before := snapshot(t, dir)

	r := runArgs("-d", "./vendor/example.com/lib")
	if r.code != exitOK || !strings.Contains(r.stderr, "(cannot find module providing package example.com/check: import lookup disabled by -mod=vendor") || strings.Contains(r.stdout, "_test.go") {
		t.Errorf("-d ./vendor/example.com/lib: want exit 0, no test file in the diff, and a warning quoting the go command on example.com/check\n%s", r)
	}
	sameTree(t, "-d", before, dir)

	r = runArgs("-o", "./x", "./vendor/example.com/lib")
	if r.code != exitOK {
		t.Fatalf("-o ./x ./vendor/example.com/lib: %s", r)
	}
	t.Log(r.stderr)
	if _, err := os.Stat(filepath.Join(dir, "x", "lib_test.go")); err != nil {
		t.Errorf("the output has no converted tests: %v", err)
	}
	after := snapshot(t, dir)
	for name := range after {
		if strings.HasPrefix(name, "x/") {
			delete(after, name)
		}
	}
	delete(after, "x/")
	if !maps.Equal(before, after) {
		t.Errorf("-o changed the module outside ./x")
	}
	goCmdEnv(t, dir, nil, "build", "./x")
}

// TestDataFoldersUpgrade: upstream's test data changes in a new version:
// -check says the output is stale and names the file, and the
// regeneration replaces it, a binary file shown as such in the diff.
func TestDataFoldersUpgrade(t *testing.T) {
	v1 := dataModule()
	v1["testdata/blob.bin"] = "\x00\x01old"
	v2 := dataModule()
	v2["testdata/blob.bin"] = "\x00\x02new"
	delete(v2, "unitTestData/case.json")
	v2["data_test.go"] = strings.Replace(v2["data_test.go"], `, "unitTestData/case.json"`, "", 1)
	proxyEnv(t, writeProxy(t, map[string]map[string]string{"example.com/data@v1.0.0": v1, "example.com/data@v1.0.1": v2}))
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/u\n\ngo 1.24\n")
	goCmdEnv(t, dir, nil, "get", "example.com/data@v1.0.0")
	if r := runArgs("-o", "./x", "example.com/data"); r.code != exitOK {
		t.Fatalf("-o ./x example.com/data@v1.0.0: %s", r)
	}
	goCmdEnv(t, dir, nil, "get", "example.com/data@v1.0.1")

	r := runArgs("-check", "-o", "./x", "example.com/data")
	if r.code != exitDiff || !strings.Contains(r.stderr, "stale") || !strings.Contains(r.stderr, "testdata/blob.bin") || !strings.Contains(r.stderr, "unitTestData/case.json (removed)") {
		t.Errorf("-check after the upgrade: want exit 1 and stale naming testdata/blob.bin and unitTestData/case.json (removed)\n%s", r)
	}
	r = runArgs("-o", "./x", "example.com/data")
	if r.code != exitOK || !strings.Contains(r.stdout, "Binary files a/x/testdata/blob.bin and b/x/testdata/blob.bin differ\n") {
		t.Errorf("-o after the upgrade: want exit 0 and the blob shown as a binary file\n%s", r)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "x", "testdata", "blob.bin")); string(got) != v2["testdata/blob.bin"] {
		t.Errorf("x/testdata/blob.bin is %q, want v1.0.1's", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "x", "unitTestData")); err == nil {
		t.Errorf("x/unitTestData is left although v1.0.1 has none")
	}
	goCmdEnv(t, dir, nil, "test", "-count=1", "-run", "TestFiles", "./x")
}

// TestOlderModuleKeepsItsVersion: a client whose module is older (go 1.17,
// redigo v1.9.3's) than the user's (go 1.26) is copied with upstream's
// language version: each of its Go files gets //go:build go1.21 (the
// oldest the converted code builds with), so vet's printf check for
// non-constant formats, which fires from go1.24 on, sees upstream's tests
// as upstream's go vet does, and loop variables keep their meaning. The
// copy vets clean and its tests pass; it vetted with "non-constant format
// string" when the files took the user's version.
func TestOlderModuleKeepsItsVersion(t *testing.T) {
	lib := proxyModules["example.com/lib@v1.0.0"]
	old := map[string]string{
		"go.mod": "module example.com/oldgo\n\ngo 1.17\n",
		"lib.go": strings.Replace(lib["lib.go"], "package lib", "package oldgo", 1),
		"oldgo_test.go": `package oldgo

import "testing"

func TestDialRefused(t *testing.T) {
	if _, err := Dial("127.0.0.1:0"); err == nil {
		msg := "dialled port 0"
		t.Errorf(msg)
	}
}
`,
		"unix_test.go": `// +build linux darwin

package oldgo

import "testing"

func TestUnix(t *testing.T) {
	var fs []func() int
	for i := 0; i < 2; i++ {
		fs = append(fs, func() int { return i })
	}
	if fs[0]() != 2 {
		t.Errorf("loop variables are per loop before go1.22")
	}
}
`,
	}
	// a go line that names a release (go 1.25.0): the build line names
	// the language version, go1.25; "go1.25.0" is no valid constraint
	newer := map[string]string{
		"go.mod": "module example.com/newgo\n\ngo 1.25.0\n",
		"lib.go": strings.Replace(lib["lib.go"], "package lib", "package newgo", 1),
	}
	proxyEnv(t, writeProxy(t, map[string]map[string]string{"example.com/oldgo@v1.0.0": old, "example.com/newgo@v1.0.0": newer}))
	dir := t.TempDir()
	t.Chdir(dir)
	writeTestFile(t, filepath.Join(dir, "go.mod"), "module example.com/u\n\ngo 1.26.0\n")
	goCmdEnv(t, dir, nil, "get", "example.com/oldgo@v1.0.0", "example.com/newgo@v1.0.0")
	if r := runArgs("-o", "./y", "example.com/newgo"); r.code != exitOK {
		t.Fatalf("-o ./y example.com/newgo: %s", r)
	}
	if src, err := os.ReadFile(filepath.Join(dir, "y", "lib.go")); err != nil || !bytes.Contains(src, []byte("\n//go:build go1.25\n")) {
		t.Errorf("y/lib.go: want //go:build go1.25 (%v):\n%s", err, src)
	}
	goCmdEnv(t, dir, nil, "vet", "./y")

	r := runArgs("-o", "./x", "example.com/oldgo")
	if r.code != exitOK {
		t.Fatalf("-o ./x example.com/oldgo: %s", r)
	}
	if !strings.Contains(r.stderr, "the copy keeps upstream's language version: its Go files get //go:build go1.21") {
		t.Errorf("no note about the files' version:\n%s", r.stderr)
	}
	for name, want := range map[string]string{
		"lib.go":        "\n//go:build go1.21\n",
		"oldgo_test.go": "\n//go:build go1.21\n",
		"unix_test.go":  "\n//go:build (linux || darwin) && go1.21\n\npackage oldgo",
	} {
		src, err := os.ReadFile(filepath.Join(dir, "x", name))
		if err != nil || !bytes.Contains(src, []byte(want)) || bytes.Contains(src, []byte("+build")) {
			t.Errorf("x/%s: want %q and no +build line (%v):\n%s", name, want, err, src)
		}
	}
	if src, _ := os.ReadFile(filepath.Join(dir, "x", "asyncify_ctx.go")); bytes.Contains(src, []byte("go:build")) {
		t.Errorf("the runtime's file got a version line: it is written for the user's module")
	}
	goCmdEnv(t, dir, nil, "vet", "./x")
	goCmdEnv(t, dir, nil, "test", "-count=1", "./x")
}
