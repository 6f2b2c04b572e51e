// Command sweep runs asyncify over real code and checks that it never
// crashes: every standard-library package that does network I/O, and every
// package of the modules in the project's own module graph. For each
// package, "asyncify detect" must exit 0, and "asyncify -d" must either
// exit 0 (its output type-checks: the converter verifies it before
// printing) or exit 2 with a refusal in which every message has a
// file:line:col position. A panic, another exit status, a message without
// a position or a time-out is a failure of the sweep.
//
// Run it from the repository root:
//
//	go run ./scripts/sweep -doc docs/robustness.md
//
// It builds asyncify from the committed HEAD (git archive), so the figures
// belong to one commit; -bin uses a given binary instead. With -doc it
// rewrites the part of the file below its marker with the figures. Exit
// status 1 when a package failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/asyncify-dev/asyncify/scripts/internal/gorun"
)

func main() {
	doc := flag.String("doc", "", "rewrite the generated part of `FILE` (docs/robustness.md) with the figures")
	bin := flag.String("bin", "", "asyncify binary to sweep (default: built from git HEAD)")
	timeout := flag.Duration("timeout", 60*time.Second, "time limit of each asyncify run")
	par := flag.Int("p", runtime.NumCPU(), "packages swept in parallel")
	flag.Parse()
	if err := run(*doc, *bin, *timeout, *par); err != nil {
		fmt.Fprintln(os.Stderr, "sweep:", err)
		os.Exit(1)
	}
}

func run(doc, bin string, timeout time.Duration, par int) error {
	ctx := context.Background()
	start := time.Now()
	tmp, err := os.MkdirTemp("", "asyncify-sweep-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// The tree the binary and the main modules' packages come from.
	src, commit := ".", "the working tree (-bin "+bin+")"
	if bin == "" {
		if bin, src, commit, err = gorun.BuildHEAD(ctx, tmp); err != nil {
			return err
		}
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if src, err = filepath.Abs(src); err != nil {
		return err
	}

	targets, skips, err := discover(ctx, bin, src, tmp, timeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sweep: %d packages (%d skipped)\n", len(targets), len(skips))
	results := sweep(ctx, targets, par, func(r result) {
		fmt.Fprintf(os.Stderr, "%-60s detect %-8s convert %-9s %5.1fs\n", r.Pkg, r.Detect.Outcome, r.Convert.Outcome,
			(r.Detect.Elapsed + r.Convert.Elapsed).Seconds())
	})
	rep := newReport(results, skips)
	rep.Commit, rep.Date, rep.Took, rep.Timeout = commit, start.UTC().Format("2006-01-02"), time.Since(start), timeout
	rep.Trims = trims(ctx, src, tmp)
	fmt.Print(rep.summary())
	if doc != "" {
		if err := gorun.WriteDoc(doc, marker, "# Robustness\n\n", rep.markdown()); err != nil {
			return err
		}
	}
	if n := rep.count(func(r result) bool { return r.Detect.Outcome == failed || r.Convert.Outcome == failed }); n > 0 {
		return fmt.Errorf("%d packages failed", n)
	}
	return nil
}

// discover finds the packages to sweep: the standard library's network
// packages (run from an empty module), the dependencies' packages (from a
// module that requires every one at the graph's version) and the main
// modules' own (from src, workspace and all).
func discover(ctx context.Context, bin, src, tmp string, timeout time.Duration) ([]target, []skipped, error) {
	stdDir, graphDir := filepath.Join(tmp, "std"), filepath.Join(tmp, "graph")
	for _, d := range []string{stdDir, graphDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(stdDir, "go.mod"), []byte("module sweep.invalid/std\n\ngo 1.26.0\n"), 0o644); err != nil {
		return nil, nil, err
	}
	stdRun := runner{bin: bin, dir: stdDir, env: gorun.ModuleEnv(), timeout: timeout}
	stdPkgs, err := networkStd(ctx, stdRun)
	if err != nil {
		return nil, nil, err
	}
	targets, skips, err := listPackages(ctx, stdRun, stdPkgs...)
	if err != nil {
		return nil, nil, err
	}

	mods, err := graph(ctx, src)
	if err != nil {
		return nil, nil, err
	}
	if err := writeGraphModule(graphDir, src, mods); err != nil {
		return nil, nil, err
	}
	var deps []string
	for _, m := range mods {
		if !m.Main {
			deps = append(deps, m.Path+"/...")
		}
	}
	graphRun := runner{bin: bin, dir: graphDir, env: gorun.ModuleEnv(), timeout: timeout}
	t, s, err := listPackages(ctx, graphRun, deps...)
	if err != nil {
		return nil, nil, err
	}
	targets, skips = append(targets, t...), append(skips, s...)

	for _, m := range mods {
		if m.Main {
			r := runner{bin: bin, dir: m.Dir, env: os.Environ(), timeout: timeout}
			t, s, err := listPackages(ctx, r, "./...")
			if err != nil {
				return nil, nil, err
			}
			targets, skips = append(targets, t...), append(skips, s...)
		}
	}
	return targets, skips, nil
}

// result is what the sweep found for one package.
type result struct {
	Pkg, Origin     string
	Detect, Convert step
}

// sweep runs detect and convert on every target, par at a time, and
// returns the results in the targets' order; done sees each as it ends.
func sweep(ctx context.Context, targets []target, par int, done func(result)) []result {
	results := make([]result, len(targets))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range max(par, 1) {
		wg.Go(func() {
			for i := range next {
				t := targets[i]
				r := result{Pkg: t.Pkg, Origin: t.Origin, Detect: t.r.detect(ctx, t.Pkg), Convert: t.r.convert(ctx, t.Pkg)}
				results[i] = r
				if done != nil {
					mu.Lock()
					done(r)
					mu.Unlock()
				}
			}
		})
	}
	for i := range targets {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// trims are the directory prefixes that example positions lose, so the
// document does not depend on the machine: GOROOT/src, the module cache,
// the source tree.
func trims(ctx context.Context, src, tmp string) []string {
	out, _ := gorun.Go(ctx, src, os.Environ(), "env", "GOROOT", "GOMODCACHE")
	var t []string
	for i, d := range strings.Fields(string(out)) {
		if i == 0 {
			d = filepath.Join(d, "src")
		}
		t = append(t, d+string(filepath.Separator))
	}
	return append(t, src+string(filepath.Separator), tmp+string(filepath.Separator))
}
