package iodetect_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// writeModule writes a module example.com/m with the given files into a
// temporary directory and returns it.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.com/m\n\ngo 1.26\n"
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func load(t *testing.T, dir string, tests bool, patterns ...string) ([]*iodetect.Loaded, error) {
	t.Helper()
	return iodetect.Load(iodetect.LoadConfig{Dir: dir, Tests: tests, Env: append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")}, patterns...)
}

// A package using cgo is analysed although C's types are unknown: its C calls
// are cgo sites, and its socket I/O is found as in any other package.
func TestLoadCgo(t *testing.T) {
	dir := writeModule(t, map[string]string{"c/c.go": `package c

// #include <stdlib.h>
// typedef struct { int n; } box;
import "C"

import "net"

func Rand() int { return int(C.rand()) }

func Size(b *C.box) int { return int(b.n) + 1 }

func Ping(addr string) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	_, err = nc.Write([]byte("ping\n"))
	return err
}
`})
	loaded, err := load(t, dir, false, "./c")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, s := range loaded[0].Sites {
		kinds[string(s.Kind)+" "+s.Callee] = true
	}
	for _, want := range []string{"cgo C.rand", "dial net.Dial", "write net.Conn.Write"} {
		if !kinds[want] {
			t.Errorf("no site %q; sites: %v", want, kinds)
		}
	}
	if len(loaded[0].Async) != 1 || loaded[0].Async[0].Name != "Ping" {
		t.Errorf("async set %v, want just Ping", names(loaded[0].Async))
	}
}

func names(fns []*iodetect.Func) []string {
	var out []string
	for _, f := range fns {
		out = append(out, f.Name)
	}
	return out
}

// Patterns that match packages with nothing to analyse leave them out, as go
// vet does; if nothing is left, that is an error.
func TestLoadSkipsEmptyPackages(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"a/a.go":             "package a\n\nfunc A() {}\n",
		"onlytest/x_test.go": "package onlytest\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) {}\n",
	})
	loaded, err := load(t, dir, false, "./...")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0].Path != "example.com/m/a" {
		t.Errorf("loaded %d packages, want just example.com/m/a", len(loaded))
	}
	_, err = load(t, dir, false, "./onlytest")
	var le *iodetect.LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "matched no packages") {
		t.Errorf("./onlytest without tests: error %v, want 'matched no packages'", err)
	}
}

// The standard library's network packages are analysed without a panic or an
// error, and their well-known blocking calls are found.
func TestLoadStdlibNetworkPackages(t *testing.T) {
	loaded, err := load(t, t.TempDir(), true, "net/smtp", "net/textproto", "net/rpc")
	if err != nil {
		t.Fatal(err)
	}
	async := map[string]bool{}
	for _, l := range loaded {
		for _, fn := range l.Async {
			async[l.Path+" "+fn.Name] = true
		}
	}
	for _, want := range []string{"net/smtp Dial", "net/smtp (*Client).Mail", "net/textproto (*Reader).ReadLine", "net/rpc (*Client).Call"} {
		if !async[want] {
			t.Errorf("%s not async", want)
		}
	}
}

// net/netip's tests import net, which imports net/netip: go list recompiles
// net for the test ("net [net/netip.test]"), and Load takes its slower way.
func TestLoadTestVariantDependencies(t *testing.T) {
	loaded, err := load(t, t.TempDir(), true, "net/netip")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, l := range loaded {
		paths = append(paths, l.Path)
		if l.Pkg.Types == nil || l.Pkg.TypesInfo == nil {
			t.Errorf("%s: not type-checked", l.Path)
		}
	}
	if len(loaded) != 2 || paths[0] != "net/netip" || paths[1] != "net/netip_test" {
		t.Errorf("loaded %v, want net/netip and net/netip_test", paths)
	}
}

// hash_test imports crypto/sha256, read from export data, which mentions
// hash, checked from source: both must be the same package, or hash.Hash
// would not implement hash.Hash.
func TestLoadExportDataMentionsCheckedPackage(t *testing.T) {
	loaded, err := load(t, t.TempDir(), true, "hash", "crypto")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) < 2 {
		t.Errorf("loaded %d packages, want hash, crypto and their tests", len(loaded))
	}
}
