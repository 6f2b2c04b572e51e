package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// testRun is what one side's test binary reported: the final action of
// each top-level test ("pass", "fail", "skip").
type testRun struct {
	Tests  map[string]string
	Output map[string]string // a failed test's output, shortened
	Failed string            // the binary could not be built or run
	Rounds int               // runs after the first, for the tests a crash left out
}

// tests builds the package's tests on both sides, runs them side by side
// and compares: every test that passes on the original must pass
// converted.
func (cr *clientRun) tests(ctx context.Context) {
	convBin, origBin := filepath.Join(cr.root, "conv.test"), filepath.Join(cr.root, "orig.test")
	var wg sync.WaitGroup
	var convBuild, origBuild outcome
	wg.Go(func() {
		convBuild = cr.goIn(ctx, cr.app, cr.env(), append(append([]string{"test", "-c", "-o", convBin}, cr.tagArgs()...), cr.out)...)
	})
	wg.Go(func() {
		origBuild = cr.goIn(ctx, cr.orig, cr.env("GOFLAGS=-mod=mod"), append(append([]string{"test", "-c", "-o", origBin}, cr.tagArgs()...), cr.c.Pkg)...)
	})
	wg.Wait()
	if d := origBuild.failed(); d != "" {
		cr.r.set(colTests, "", "the original's tests do not build: "+d)
		return
	}
	if d := convBuild.failed(); d != "" {
		cr.r.set(colTests, "", "go test -c: "+d)
		return
	}
	if cr.c.Netns && !cr.canNetns {
		cr.r.set(colTests, "", "the tests need a private network namespace: "+cr.netnsWhy)
		return
	}
	var conv, orig testRun
	wg.Go(func() { conv = cr.runTests(ctx, convBin, cr.outDir, "") })
	wg.Go(func() { orig = cr.runTests(ctx, origBin, cr.srcDir, "") })
	wg.Wait()
	if orig.Failed != "" {
		cr.r.set(colTests, "", "the original's tests: "+orig.Failed)
		return
	}
	if conv.Failed != "" {
		cr.r.set(colTests, "", conv.Failed)
		return
	}

	var passing, bothFail []string
	skipped := 0
	for name, action := range orig.Tests {
		switch action {
		case "pass":
			passing = append(passing, name)
		case "fail":
			if conv.Tests[name] == "fail" {
				bothFail = append(bothFail, name)
			}
		case "skip":
			skipped++
		}
	}
	slices.Sort(passing)
	var lost []string
	for _, name := range passing {
		got := conv.Tests[name]
		if got == "fail" {
			if why, ok := cr.c.Flaky[name]; ok {
				again := cr.runTests(ctx, convBin, cr.outDir, "^"+name+"$")
				if again.Failed == "" && again.Tests[name] == "pass" {
					cr.r.note("%s failed converted and passed when run again (flaky upstream: %s); its first output: %s", name, why, conv.Output[name])
					continue
				}
			}
		}
		switch got {
		case "pass":
		case "":
			lost = append(lost, name+" (no result: the test binary ended before it reported)")
		default:
			detail := name + " (" + got + ")"
			if out := conv.Output[name]; out != "" && got == "fail" {
				detail = name + ": " + out
			}
			lost = append(lost, detail)
		}
	}
	if conv.Rounds > 0 || orig.Rounds > 0 {
		cr.r.note("a crash or time-out ended a test binary before all its tests ran; the rest ran in %d more runs converted, %d original", conv.Rounds, orig.Rounds)
	}
	if len(bothFail) > 0 {
		slices.Sort(bothFail)
		cr.r.note("%d tests fail on both sides (left out of the comparison): %s", len(bothFail), strings.Join(bothFail, ", "))
	}
	if n := len(orig.Tests) - len(passing) - len(bothFail) - skipped; n > 0 {
		var only []string
		for name, action := range orig.Tests {
			if action == "fail" && conv.Tests[name] != "fail" {
				only = append(only, name)
			}
		}
		slices.Sort(only)
		cr.r.note("%d tests fail on the original only: %s", len(only), strings.Join(only, ", "))
	}
	text := fmt.Sprintf("%d/%d", len(passing)-len(lost), len(passing))
	if len(lost) > 0 {
		cr.r.set(colTests, text, fmt.Sprintf("%d of the tests that pass on the original do not pass converted: %s", len(lost), strings.Join(lost, "; ")))
		return
	}
	if len(passing) == 0 {
		cr.r.set(colTests, text, "no test passes on the original")
		return
	}
	cr.r.set(colTests, text, "")
}

// runTests runs the tests of a test binary that match run (all when run
// is ""). A test that panics or times out ends the binary before the tests
// after it have run: those are run again, without the ones that reported,
// until each has reported or a round adds nothing.
func (cr *clientRun) runTests(ctx context.Context, bin, dir, run string) testRun {
	res := cr.runOnce(ctx, bin, dir, run)
	if res.Failed != "" || run != "" {
		return res
	}
	o := execIn(ctx, time.Minute, dir, cr.env(), bin, "-test.list", ".")
	if o.failed() != "" {
		return res
	}
	var all []string
	for line := range strings.Lines(o.stdout) {
		name := strings.TrimSpace(line)
		if strings.HasPrefix(name, "Test") || strings.HasPrefix(name, "Example") || strings.HasPrefix(name, "Fuzz") {
			all = append(all, name)
		}
	}
	for round := 0; round < 5; round++ {
		var missing []string
		for _, name := range all {
			if _, ok := res.Tests[name]; !ok {
				missing = append(missing, regexp.QuoteMeta(name))
			}
		}
		if len(missing) == 0 {
			break
		}
		again := cr.runOnce(ctx, bin, dir, "^("+strings.Join(missing, "|")+")$")
		added := 0
		for name, action := range again.Tests {
			if _, ok := res.Tests[name]; !ok {
				res.Tests[name] = action
				res.Output[name] = again.Output[name]
				added++
			}
		}
		if added == 0 {
			break
		}
		res.Rounds++
	}
	return res
}

// runOnce runs a test binary in dir (the package's directory, as go test
// does), through test2json, in a private network namespace with the
// client's servers when the client asks for one.
func (cr *clientRun) runOnce(ctx context.Context, bin, dir, run string) testRun {
	args := []string{"-t", bin, "-test.v=test2json", "-test.count=1", "-test.timeout=" + strconv.Itoa(int(testTimeout.Seconds())-30) + "s"}
	if run != "" {
		args = append(args, "-test.run="+run)
	}
	name, argv := cr.test2j, args
	if cr.c.Netns {
		name, argv = "unshare", append([]string{"-n", "bash", "-c", netnsScript(cr.c.Start), "netns", cr.test2j}, args...)
	}
	o := execIn(ctx, testTimeout, dir, cr.env(), name, argv...)
	res := testRun{Tests: map[string]string{}, Output: map[string]string{}}
	if o.err != nil {
		res.Failed = o.err.Error()
		return res
	}
	outputs := map[string]*strings.Builder{}
	sc := bufio.NewScanner(strings.NewReader(o.stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	events := 0
	for sc.Scan() {
		var ev struct{ Action, Test, Output string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		events++
		if ev.Test == "" {
			continue
		}
		top, _, _ := strings.Cut(ev.Test, "/")
		switch ev.Action {
		case "pass", "fail", "skip":
			if ev.Test == top {
				res.Tests[top] = ev.Action
			}
		case "output":
			b := outputs[top]
			if b == nil {
				b = &strings.Builder{}
				outputs[top] = b
			}
			if b.Len() < 4000 {
				b.WriteString(ev.Output)
			}
		}
	}
	for name, action := range res.Tests {
		if action == "fail" {
			res.Output[name] = failureLines(outputs[name].String())
		}
	}
	if len(res.Tests) == 0 {
		res.Failed = fmt.Sprintf("no test ran (%d events, exit %d): %s", events, o.exit, firstLines(o.stderr+o.stdout, 3))
	}
	return res
}

// failureLines are the lines of a failed test's output that say why: a
// panic's first line, else the last two lines of t.Error, t.Fatal and
// t.Log ("    file_test.go:NN: ..."; a t.Fatal ends the test, so the last
// ones name what failed rather than what was logged on the way).
func failureLines(out string) string {
	var keep []string
	for line := range strings.Lines(out) {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "panic:"):
			return t
		case strings.Contains(t, "_test.go:"):
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		return firstLines(out, 2)
	}
	return strings.Join(keep[max(len(keep)-2, 0):], " / ")
}

// netnsScript runs its arguments in the namespace unshare -n made, after
// bringing loopback up and starting the servers on their ports. It ends
// the servers when the command ends.
func netnsScript(servers []server) string {
	var b strings.Builder
	b.WriteString("set -u\nip link set lo up || { echo 'netns: ip link set lo up failed' >&2; exit 97; }\npids=''\n")
	b.WriteString("trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "%s >/dev/null 2>&1 &\npids=\"$pids $!\"\n", shellQuote(s.Cmd))
		fmt.Fprintf(&b, "i=0; until (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null; do i=$((i+1)); [ $i -gt 100 ] && { echo 'netns: %s did not listen on 127.0.0.1:%d' >&2; exit 98; }; sleep 0.1; done\n", s.Port, s.Cmd[0], s.Port)
	}
	b.WriteString("\"$@\"\n")
	return b.String()
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
