package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The real clients of DESIGN.md §6, at the versions pinned there.
const (
	gomemcacheModule  = "github.com/bradfitz/gomemcache"
	gomemcacheVersion = "v0.0.0-20260422231931-4d751bb6e37c"
	gomemcachePkg     = gomemcacheModule + "/memcache"

	beanstalkModule  = "github.com/beanstalkd/go-beanstalk"
	beanstalkVersion = "v0.2.0"
	beanstalkPkg     = beanstalkModule
)

var (
	tmpRoot     string // removed when the tests end
	asyncifyBin string // built once by TestMain
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "asyncify-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	tmpRoot = dir
	asyncifyBin = filepath.Join(dir, "bin", "asyncify")
	build := exec.Command("go", "build", "-o", asyncifyBin, "./cmd/asyncify")
	build.Dir = ".." // the repository root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building asyncify: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// moduleEnv is the environment for commands run in a temporary module: outside the repository's
// workspace, and free to record the go.sum lines it needs.
func moduleEnv() []string {
	return append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
}

// goIn runs the go command in dir with moduleEnv.
func goIn(tb testing.TB, dir string, args ...string) {
	tb.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = moduleEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// writeModule creates a module in a new directory under tmpRoot with the given files.
func writeModule(tb testing.TB, name string, files map[string]string) string {
	tb.Helper()
	dir, err := os.MkdirTemp(tmpRoot, name+"-")
	if err != nil {
		tb.Fatal(err)
	}
	for path, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

var clients struct {
	once sync.Once
	dir  string
	err  error
}

// clientsModule returns a temporary module that requires both real clients, fetched through the
// module proxy the first time it is called.
func clientsModule(tb testing.TB) string {
	tb.Helper()
	clients.once.Do(func() {
		dir, err := os.MkdirTemp(tmpRoot, "clients-")
		if err != nil {
			clients.err = err
			return
		}
		files := map[string]string{
			"go.mod": fmt.Sprintf("module example.com/e2eclients\n\ngo 1.26\n\nrequire (\n\t%s %s\n\t%s %s\n)\n",
				gomemcacheModule, gomemcacheVersion, beanstalkModule, beanstalkVersion),
			// Imports keep both requirements when go mod tidy writes go.sum.
			"clients.go": fmt.Sprintf("package e2eclients\n\nimport (\n\t_ %q\n\t_ %q\n)\n", gomemcachePkg, beanstalkPkg),
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				clients.err = err
				return
			}
		}
		cmd := exec.Command("go", "mod", "tidy")
		cmd.Dir = dir
		cmd.Env = moduleEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			clients.err = fmt.Errorf("go mod tidy (fetching the real clients): %v\n%s", err, out)
			return
		}
		clients.dir = dir
	})
	if clients.err != nil {
		tb.Fatal(clients.err)
	}
	return clients.dir
}

// result is what one run of the asyncify binary did.
type result struct {
	stdout, stderr string
	exit           int
}

// asyncify runs the binary in dir with moduleEnv.
func asyncify(tb testing.TB, dir string, args ...string) result {
	tb.Helper()
	return asyncifyEnv(tb, dir, nil, args...)
}

// asyncifyEnv runs the binary in dir with moduleEnv plus env (later entries win).
func asyncifyEnv(tb testing.TB, dir string, env []string, args ...string) result {
	tb.Helper()
	cmd := exec.Command(asyncifyBin, args...)
	cmd.Dir = dir
	cmd.Env = append(moduleEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
	default:
		tb.Fatalf("running asyncify %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// The -json schema of `asyncify detect` (docs/detect-json.md). Fields the tests do not read are
// left out, so additions to the schema do not break them.
type report struct {
	Packages []pkgReport `json:"packages"`
}

type pkgReport struct {
	Path  string      `json:"path"`
	Name  string      `json:"name"`
	Sites []site      `json:"sites"`
	Roots []root      `json:"roots"`
	Async []asyncFunc `json:"async"`
}

type site struct {
	Pos  string `json:"pos"`
	Kind string `json:"kind"`
	Call string `json:"call"`
	On   string `json:"on"`
	Func string `json:"func"`
	Side string `json:"side"`
}

type root struct {
	Pos  string `json:"pos"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	Type string `json:"type"`
	Func string `json:"func"`
}

type asyncFunc struct {
	Func     string   `json:"func"`
	Pos      string   `json:"pos"`
	Exported bool     `json:"exported"`
	Chain    []string `json:"chain"`
	Site     struct {
		Pos  string `json:"pos"`
		Call string `json:"call"`
	} `json:"site"`
	Implements []string `json:"implements"`
}

var detectCache struct {
	sync.Mutex
	m map[string]*pkgReport
}

// detectPackage runs `asyncify detect -json -tests=true PKG` in the clients module once per
// package and merges the facts of every variant of PKG it reports (the package itself, the package
// compiled with its tests, its external test package).
func detectPackage(t *testing.T, pkg string) *pkgReport {
	t.Helper()
	detectCache.Lock()
	defer detectCache.Unlock()
	if r, ok := detectCache.m[pkg]; ok {
		if r == nil {
			t.Fatalf("detect %s failed earlier", pkg)
		}
		return r
	}
	if detectCache.m == nil {
		detectCache.m = make(map[string]*pkgReport)
	}
	detectCache.m[pkg] = nil
	res := asyncify(t, clientsModule(t), "detect", "-json", "-tests=true", pkg)
	if res.exit != 0 {
		t.Fatalf("asyncify detect -json %s: exit %d\nstderr:\n%s", pkg, res.exit, res.stderr)
	}
	var rep report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("asyncify detect -json %s: output is not the documented JSON: %v\n%s", pkg, err, res.stdout)
	}
	merged := &pkgReport{Path: pkg}
	seenSite := map[string]bool{}
	seenRoot := map[string]bool{}
	seenAsync := map[string]bool{}
	for _, p := range rep.Packages {
		path, _, _ := strings.Cut(p.Path, " ") // "p [p.test]" is p compiled with its tests
		if path != pkg && path != pkg+"_test" {
			continue
		}
		if path == pkg {
			merged.Name = p.Name
		}
		for _, s := range p.Sites {
			if k := s.Pos + " " + s.Kind; !seenSite[k] {
				seenSite[k] = true
				merged.Sites = append(merged.Sites, s)
			}
		}
		for _, r := range p.Roots {
			if k := r.Pos + " " + r.Name; !seenRoot[k] {
				seenRoot[k] = true
				merged.Roots = append(merged.Roots, r)
			}
		}
		for _, a := range p.Async {
			if !seenAsync[a.Func] {
				seenAsync[a.Func] = true
				merged.Async = append(merged.Async, a)
			}
		}
	}
	if merged.Name == "" {
		t.Fatalf("asyncify detect -json %s: no package %s in the output:\n%s", pkg, pkg, res.stdout)
	}
	detectCache.m[pkg] = merged
	return merged
}
