// Command realclients converts real synchronous network clients the way a
// user would and checks what comes out (issue 12, "A harness over real
// clients"). For each client of its list (clients.go) it makes a fresh
// module in a temporary directory (go mod init, go get M@V), runs
// "asyncify detect" and "asyncify -o ./internal/NAME" with default flags,
// then "go mod tidy", and checks:
//
//   - loads: detect exits 0 and leaves go.mod and go.sum alone;
//   - converts: -o exits 0, writes the package, leaves go.mod and go.sum alone;
//   - builds: go build of the output;
//   - vets: go vet finds nothing in the output that it does not find in the original;
//   - tests: the package's own tests, converted and original, run side by
//     side; every test that passes on the original passes converted;
//   - ctx forms: each listed operation has a Context form (or takes ctx first);
//   - probe: a generated program calls each probe call's Context form
//     against a server that accepts and never answers (UDP: never replies),
//     with a 50 ms deadline; it must return within 250 ms with an error
//     for which errors.Is(err, context.DeadlineExceeded) holds.
//
// Tests that need a default port run in private network namespaces
// (unshare -n), each with servers of its own, so that the two sides and
// the host's servers never meet.
//
// Run it from the repository root:
//
//	go run ./scripts/realclients -doc docs/realclients.md
//
// It builds asyncify from the committed HEAD (git archive); -bin uses a
// given binary. Exit status 1 when a column fails that its client does not
// expect to fail; an expected failure that passes is reported ("now
// passing, remove the expectation") and does not change the status. Under
// CI=true a server binary the tests need that is missing fails its row.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/asyncify-dev/asyncify/scripts/internal/gorun"
)

func main() {
	doc := flag.String("doc", "", "rewrite the generated part of `FILE` (docs/realclients.md) with the table")
	bin := flag.String("bin", "", "asyncify binary to use (default: built from git HEAD)")
	par := flag.Int("p", 2, "clients run in parallel")
	only := flag.String("run", "", "run only the clients whose name matches `REGEXP`")
	keep := flag.Bool("keep", false, "keep the temporary directory (its path is printed)")
	limit := flag.Duration("timeout", 15*time.Minute, "time limit of the whole run: what is still running then fails")
	flag.Parse()
	if err := run(*doc, *bin, *par, *only, *keep, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "realclients:", err)
		os.Exit(1)
	}
}

func run(doc, bin string, par int, only string, keep bool, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	list := clients
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return err
		}
		list = nil
		for _, c := range clients {
			if re.MatchString(c.Name) {
				list = append(list, c)
			}
		}
		if len(list) == 0 {
			return fmt.Errorf("no client matches %q", only)
		}
		if doc != "" {
			return fmt.Errorf("-doc writes every row: leave out -run")
		}
	}
	tmp, err := os.MkdirTemp("", "asyncify-realclients-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "realclients: keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	commit := "the working tree (-bin " + bin + ")"
	if bin == "" {
		if bin, _, commit, err = gorun.BuildHEAD(ctx, tmp); err != nil {
			return err
		}
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	h, err := newHarness(bin, tmp)
	if err != nil {
		return err
	}

	rows := make([]*row, len(list))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(par, 1) {
		wg.Go(func() {
			for i := range next {
				t := time.Now()
				rows[i] = h.runClient(ctx, list[i])
				rows[i].Took = time.Since(t)
				fmt.Fprintf(os.Stderr, "realclients: %-20s %s (%.0fs)\n", list[i].Name, rows[i].verdict(), rows[i].Took.Seconds())
			}
		})
	}
	for i := range list {
		next <- i
	}
	close(next)
	wg.Wait()

	rep := &report{Rows: rows, Commit: commit, Date: start.UTC().Format("2006-01-02"), Took: time.Since(start), Trims: h.trims()}
	fmt.Print(rep.text())
	if doc != "" {
		if err := gorun.WriteDoc(doc, marker, intro, rep.markdown()); err != nil {
			return err
		}
	}
	if n := rep.unexpected(); n > 0 {
		return fmt.Errorf("%d clients failed where no issue expects it", n)
	}
	return nil
}

// harness is what every client's run shares.
type harness struct {
	bin      string
	tmp      string
	wrappers string // directory first on PATH: servers wrapped to run as root
	test2j   string // the go tool test2json
	goroot   string
	modcache string
	inCI     bool
	canNetns bool // unshare -n works here
	netnsWhy string
}

func newHarness(bin, tmp string) (*harness, error) {
	h := &harness{bin: bin, tmp: tmp, wrappers: filepath.Join(tmp, "bin"), inCI: os.Getenv("CI") == "true"}
	out, err := gorun.Go(context.Background(), tmp, os.Environ(), "env", "GOROOT", "GOMODCACHE")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return nil, fmt.Errorf("go env: %q", out)
	}
	h.goroot, h.modcache = f[0], f[1]
	// test2json is built on demand: -n builds it and prints its path.
	if out, err = gorun.Go(context.Background(), tmp, os.Environ(), "tool", "-n", "test2json"); err != nil {
		return nil, err
	}
	h.test2j = strings.TrimSpace(string(out))
	if err := h.writeWrappers(); err != nil {
		return nil, err
	}
	if out, err := exec.Command("unshare", "-n", "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		h.netnsWhy = fmt.Sprintf("unshare -n ip link set lo up: %v: %s", err, gorun.FirstLine(string(out)))
	} else {
		h.canNetns = true
	}
	return h, nil
}

// writeWrappers puts a memcached that adds "-u USER" when run as root
// first on the tests' PATH: memcached refuses root without it, and
// gomemcache's tests start memcached themselves. (.ci/run puts a wrapper
// of its own first on PATH; wrapping it again only repeats -u.)
func (h *harness) writeWrappers() error {
	if err := os.MkdirAll(h.wrappers, 0o755); err != nil {
		return err
	}
	if os.Getuid() != 0 {
		return nil
	}
	real, err := exec.LookPath("memcached")
	if err != nil {
		return nil // the rows that need it say so
	}
	user := "memcache"
	if exec.Command("id", user).Run() != nil {
		user = "nobody"
	}
	script := fmt.Sprintf("#!/bin/sh\nexec %q -u %s \"$@\"\n", real, user)
	return os.WriteFile(filepath.Join(h.wrappers, "memcached"), []byte(script), 0o755)
}

// env is the environment of the user's module: the user's own, outside
// this repository's workspace, with the wrappers first on PATH.
func (h *harness) env(extra ...string) []string {
	env := append(os.Environ(), "GOWORK=off", "PATH="+h.wrappers+string(os.PathListSeparator)+os.Getenv("PATH"))
	return append(env, extra...)
}

// trims are the directory prefixes that details lose, so the document
// does not depend on the machine.
func (h *harness) trims() []string {
	return []string{filepath.Join(h.goroot, "src") + "/", h.modcache + "/", h.tmp + "/"}
}
