package e2e

import (
	"fmt"
	"math"
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
	compareWithVet(b, "detect", "detect", "./memcache")
}

// BenchmarkConvertVsVet times `asyncify -d ./memcache` (the whole conversion: load, detect,
// plan, rewrite, type-check the result, print the diff) against `go vet ./memcache`, set up as
// BenchmarkDetectVsVet. The target is convert/vet ≤ 2 (issue 3); docs/performance.md has the
// figures.
func BenchmarkConvertVsVet(b *testing.B) {
	compareWithVet(b, "convert", "-d", "./memcache")
}

// compareWithVet times `asyncify ARGS` and `go vet ./memcache` on a copy of gomemcache's package
// in a temporary module, one after the other in each iteration, and reports NAME-ns/op,
// vet-ns/op and NAME/vet.
func compareWithVet(b *testing.B, name string, args ...string) {
	src := filepath.Join(moduleDir(b, gomemcacheModule), "memcache")
	dir := writeModule(b, "bench", map[string]string{
		"go.mod": "module example.com/detectbench\n\ngo 1.26\n",
	})
	pkgDir := filepath.Join(dir, "memcache")
	copyGoFiles(b, src, pkgDir)
	compareWithVetIn(b, dir, "./memcache", nil, name, args...)
}

// BenchmarkConvertOutVendoredVsVet times `asyncify -o ./out` on gomemcache vendored into a
// module (go mod vendor; its tests come from the module cache copy, since go mod vendor drops
// them) against `go vet` on the same vendored package, set up as BenchmarkDetectVsVet: an edit
// of the vendored source before each command. The target is ≤ 2 (issue 15).
func BenchmarkConvertOutVendoredVsVet(b *testing.B) {
	dir := vendoredGomemcache(b, "benchvendored")
	pkg := "./vendor/" + gomemcachePkg
	compareWithVetIn(b, dir, pkg, []string{"GOFLAGS=-mod=vendor"}, "convert-o", "-o", "./out", pkg)
}

// compareWithVetIn is compareWithVet on the package pkg (a ./ path) of the module in dir, with
// env added to the commands' environment.
func compareWithVetIn(b *testing.B, dir, pkg string, env []string, name string, args ...string) {
	edited := filepath.Join(dir, filepath.FromSlash(pkg), "memcache.go")

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
		cmd.Env = append(moduleEnv(), env...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		elapsed := time.Since(start)
		if err != nil {
			b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return elapsed
	}
	tool := func() time.Duration { edit(); return run(asyncifyBin, args...) }
	vet := func() time.Duration { edit(); return run("go", "vet", pkg) }

	// Once untimed, so that the dependencies' export data is in the build cache for both.
	tool()
	vet()

	var toolTime, vetTime time.Duration
	b.ResetTimer()
	for range b.N {
		toolTime += tool()
		vetTime += vet()
	}
	b.StopTimer()
	b.ReportMetric(float64(toolTime.Nanoseconds())/float64(b.N), name+"-ns/op")
	b.ReportMetric(float64(vetTime.Nanoseconds())/float64(b.N), "vet-ns/op")
	b.ReportMetric(float64(toolTime)/float64(vetTime), name+"/vet")
}

// BenchmarkDeadlineLatency reports how long the converted gomemcache's GetContext with a 50 ms
// deadline takes to return against a server that accepts connections and never answers (the
// target: under 60 ms). It converts gomemcache as TestConvertGomemcache does and runs
// testdata/convert/mcdeadline's BenchmarkDeadlineLatency there, max(b.N, 20) calls.
func BenchmarkDeadlineLatency(b *testing.B) {
	dir, res := convertInto(b, "memcache", gomemcachePkg)
	if res.exit != 0 {
		b.Fatalf("asyncify -o ./internal/memcache: exit %d\n%s", res.exit, res.stderr)
	}
	converted := convertedModulePath + "/internal/memcache"
	installProgram(b, dir, "mcdeadline", "mcdeadline", converted, converted, nil)
	n := max(b.N, 20)
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkDeadlineLatency$", fmt.Sprintf("-benchtime=%dx", n), "-count=1", "./mcdeadline")
	cmd.Dir = dir
	cmd.Env = moduleEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("go test -bench in the converted module: %v\n%s", err, out)
	}
	metrics := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[0], "BenchmarkDeadlineLatency") {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			var v float64
			if _, err := fmt.Sscan(f[i], &v); err == nil {
				metrics[f[i+1]] = v
			}
		}
	}
	if _, ok := metrics["ms/deadline"]; !ok {
		b.Fatalf("no ms/deadline metric in:\n%s", out)
	}
	b.ReportMetric(metrics["ms/deadline"], "ms/deadline")
	b.ReportMetric(metrics["worst-ms"], "worst-ms")
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

// BenchmarkBeanstalkPutDelete compares go-beanstalk's put then delete, 32 goroutines sharing one
// Conn, upstream against converted (issue 5: the converted client at least as fast), through the
// old signatures (ctx = context.Background(): inline) and through PutContext/DeleteContext with a
// ctx that can end (each call detached on a goroutine of its own). It runs
// testdata/convert/bsbench in the converted module, max(b.N, 10000) operations each, three
// interleaved rounds, and reports the best ns per put+delete of each and the speed of each
// converted form relative to upstream (above 1: faster).
func BenchmarkBeanstalkPutDelete(b *testing.B) {
	needServer(b, "BEANSTALKD_ADDR", "127.0.0.1:21300")
	dir, res := convertInto(b, "beanstalk", beanstalkPkg)
	if res.exit != 0 {
		b.Fatalf("asyncify -o ./internal/beanstalk: exit %d\n%s", res.exit, res.stderr)
	}
	converted := convertedModulePath + "/internal/beanstalk"
	installProgram(b, dir, "bsbench", "bsbench", beanstalkPkg, converted, nil)
	installProgram(b, dir, "bsbench", "bsbenchupstream", beanstalkPkg, beanstalkPkg, nil)
	if err := os.Remove(filepath.Join(dir, "bsbenchupstream", "ctx_test.go")); err != nil {
		b.Fatal(err)
	}
	n := max(b.N, 10000)
	nsPerOp := func(pkg, bench string) float64 {
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^"+bench+"$", fmt.Sprintf("-benchtime=%dx", n), "-count=1", "./"+pkg)
		cmd.Dir = dir
		cmd.Env = moduleEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("go test -bench %s ./%s: %v\n%s", bench, pkg, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) >= 4 && strings.HasPrefix(f[0], bench+"-") && f[3] == "ns/op" {
				var v float64
				if _, err := fmt.Sscan(f[2], &v); err == nil {
					return v
				}
			}
		}
		b.Fatalf("no ns/op for %s in:\n%s", bench, out)
		return 0
	}
	// Interleaved rounds, the best of each: the machine's other load hits all three alike.
	up, conv, convCtx := math.Inf(1), math.Inf(1), math.Inf(1)
	for range 3 {
		up = min(up, nsPerOp("bsbenchupstream", "BenchmarkPutDelete32"))
		conv = min(conv, nsPerOp("bsbench", "BenchmarkPutDelete32"))
		convCtx = min(convCtx, nsPerOp("bsbench", "BenchmarkPutDelete32Ctx"))
	}
	b.ReportMetric(up, "upstream-ns/op")
	b.ReportMetric(conv, "converted-ns/op")
	b.ReportMetric(convCtx, "converted-ctx-ns/op")
	b.ReportMetric(up/conv, "converted-speed")
	b.ReportMetric(up/convCtx, "converted-ctx-speed")
}
