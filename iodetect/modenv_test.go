package iodetect_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// goflags is the last GOFLAGS of env, as the go command reads it.
func goflags(env []string) string {
	v := ""
	for _, kv := range env {
		if s, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			v = s
		}
	}
	return v
}

// TestModuleEnv: in module mode the go command is given a copy of go.mod
// and go.sum (-modfile) that it may update (-mod=mod), the other flags
// kept; the copy is removed by cleanup. Outside a module, in workspace
// mode and in vendor mode the environment is left as it is; vendor mode
// too with ModuleEnvNoVendor.
func TestModuleEnv(t *testing.T) {
	dir := writeModule(t, map[string]string{"go.sum": "example.com/x v1.0.0/go.mod h1:abc=\n", "p/p.go": "package p\n"})
	base := append(os.Environ(), "GOWORK=off", "GOFLAGS=-modcacherw -mod=readonly")

	env, cleanup, err := iodetect.ModuleEnv(filepath.Join(dir, "p"), base)
	if err != nil {
		t.Fatal(err)
	}
	flags := strings.Fields(goflags(env))
	if !slices.Contains(flags, "-modcacherw") || !slices.Contains(flags, "-mod=mod") || slices.Contains(flags, "-mod=readonly") {
		t.Errorf("GOFLAGS=%s: want -modcacherw kept, -mod=readonly replaced by -mod=mod", goflags(env))
	}
	var modfile string
	for _, f := range flags {
		if s, ok := strings.CutPrefix(f, "-modfile="); ok {
			modfile = s
		}
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		want, _ := os.ReadFile(filepath.Join(dir, name))
		got, err := os.ReadFile(filepath.Join(filepath.Dir(modfile), name))
		if err != nil || string(got) != string(want) {
			t.Errorf("the copy of %s: %q, %v; want %q", name, got, err, want)
		}
	}
	if strings.HasPrefix(modfile, dir) {
		t.Errorf("-modfile=%s is inside the module", modfile)
	}
	cleanup()
	if _, err := os.Stat(modfile); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s: %v", modfile, err)
	}

	same := func(what, dir string, env []string, noVendor bool) {
		t.Helper()
		f := iodetect.ModuleEnv
		if noVendor {
			f = iodetect.ModuleEnvNoVendor
		}
		got, cleanup, err := f(dir, env)
		if err != nil {
			t.Fatal(err)
		}
		defer cleanup()
		if strings.Contains(goflags(got), "-modfile") != noVendor {
			t.Errorf("%s: GOFLAGS=%q", what, goflags(got))
		}
	}
	same("outside a module", t.TempDir(), append(os.Environ(), "GOWORK=off", "GO111MODULE=on"), false)
	work := filepath.Join(dir, "go.work")
	if err := os.WriteFile(work, []byte("go 1.26\n\nuse .\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	same("workspace mode", dir, append(os.Environ(), "GOWORK="+work), false)
	if err := os.MkdirAll(filepath.Join(dir, "vendor"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vendor", "modules.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	same("vendor mode", dir, append(os.Environ(), "GOWORK=off", "GOFLAGS="), false)
	same("-mod=vendor", dir, append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=vendor"), false)
	same("vendor mode, ModuleEnvNoVendor", dir, append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=vendor"), true)
}
