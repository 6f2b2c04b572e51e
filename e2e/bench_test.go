package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkDetectVsVet times `asyncify detect ./memcache` and `go vet ./memcache` on a copy of
// gomemcache's package in a temporary module, one after the other in each iteration. Before each
// command the package's source changes (a comment with a counter is appended), so neither answers
// from a cache; dependencies stay cached, as in a user's edit-and-check loop. The target is
// detect/vet ≤ 1.5 (issue 2); docs/performance.md has the figures.
func BenchmarkDetectVsVet(b *testing.B) {
	src := filepath.Join(moduleDir(b, gomemcacheModule), "memcache")
	dir := writeModule(b, "bench", map[string]string{
		"go.mod": "module example.com/detectbench\n\ngo 1.26\n",
	})
	pkgDir := filepath.Join(dir, "memcache")
	copyGoFiles(b, src, pkgDir)
	edited := filepath.Join(pkgDir, "memcache.go")

	edits := 0
	edit := func() {
		edits++
		f, err := os.OpenFile(edited, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(f, "\n// benchmark edit %d\n", edits)
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	run := func(name string, args ...string) time.Duration {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = moduleEnv()
		start := time.Now()
		out, err := cmd.CombinedOutput()
		elapsed := time.Since(start)
		if err != nil {
			b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return elapsed
	}
	detect := func() time.Duration { edit(); return run(asyncifyBin, "detect", "./memcache") }
	vet := func() time.Duration { edit(); return run("go", "vet", "./memcache") }

	// Once untimed, so that the dependencies' export data is in the build cache for both.
	detect()
	vet()

	var detectTime, vetTime time.Duration
	b.ResetTimer()
	for range b.N {
		detectTime += detect()
		vetTime += vet()
	}
	b.StopTimer()
	b.ReportMetric(float64(detectTime.Nanoseconds())/float64(b.N), "detect-ns/op")
	b.ReportMetric(float64(vetTime.Nanoseconds())/float64(b.N), "vet-ns/op")
	b.ReportMetric(float64(detectTime)/float64(vetTime), "detect/vet")
}

// moduleDir returns the directory of a module required by the clients module: its copy in the
// module cache.
func moduleDir(tb testing.TB, module string) string {
	tb.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = clientsModule(tb)
	cmd.Env = moduleEnv()
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go list -m %s: %v", module, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		tb.Fatalf("go list -m %s: module not downloaded", module)
	}
	return dir
}

// copyGoFiles copies the .go files of src into dst, writable (the module cache is read-only).
func copyGoFiles(tb testing.TB, src, dst string) {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no Go files in %s (%v)", src, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
