package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/asyncify-dev/asyncify/scripts/internal/gorun"
)

// Time limits of the steps.
const (
	goTimeout       = 5 * time.Minute // a go command: get, tidy, build, vet, test -c
	asyncifyTimeout = 3 * time.Minute
	testTimeout     = 75 * time.Second // one run of a test binary (its -test.timeout is 30 s less)
)

// outcome is what one command did.
type outcome struct {
	stdout, stderr string
	exit           int // -1: did not run or timed out
	err            error
}

// failed says why the command failed, or "".
func (o outcome) failed() string {
	if o.err != nil {
		return o.err.Error()
	}
	if o.exit != 0 {
		return fmt.Sprintf("exit %d: %s", o.exit, firstLines(o.stderr+o.stdout, 3))
	}
	return ""
}

// execIn runs name with args in dir, in a process group of its own that a
// time-out ends whole.
func execIn(parent context.Context, timeout time.Duration, dir string, env []string, name string, args ...string) outcome {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	o := outcome{stdout: stdout.String(), stderr: stderr.String(), exit: -1}
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		o.err = fmt.Errorf("%s %s: no result after %s", name, strings.Join(args, " "), timeout)
		if parent.Err() != nil {
			o.err = fmt.Errorf("%s %s: the run's time limit (-timeout) was reached", name, strings.Join(args, " "))
		}
	case errors.As(err, &ee):
		o.exit = ee.ExitCode()
	case err != nil:
		o.err = err
	default:
		o.exit = 0
	}
	return o
}

// goIn runs the go command.
func (h *harness) goIn(ctx context.Context, dir string, env []string, args ...string) outcome {
	return execIn(ctx, goTimeout, dir, env, "go", args...)
}

// clientRun is the state of one client's run.
type clientRun struct {
	*harness
	c      client
	r      *row
	root   string // the client's temporary directory
	app    string // the user's module
	orig   string // a module that requires the original, for its tests and vet
	name   string // the package's name
	srcDir string // the original package's directory
	out    string // ./internal/NAME
	outDir string
}

func (h *harness) runClient(ctx context.Context, c client) *row {
	cr := &clientRun{harness: h, c: c, r: newRow(c), root: filepath.Join(h.tmp, slug(c.Name))}
	cr.app, cr.orig = filepath.Join(cr.root, "app"), filepath.Join(cr.root, "orig")
	if c.TestsOnly {
		cr.r.na(colForms)
		cr.r.na(colProbe)
	}
	if !cr.setup(ctx) || !cr.loads(ctx) || !cr.converts(ctx) || !cr.builds(ctx) {
		return cr.r
	}
	cr.vets(ctx)
	cr.tests(ctx)
	if !c.TestsOnly {
		cr.forms()
		cr.probe(ctx)
	}
	return cr.r
}

// setup makes both modules: the user's (go mod init, go get P@V for the
// package P of module M at version V, as a user who wants P does: go get
// M@V alone leaves out the go.sum lines of P's imports from other modules
// when M's root package does not import them, and the go command then
// refuses to load P) and the one the original's tests run in.
func (cr *clientRun) setup(ctx context.Context) bool {
	fail := func(detail string) bool { return cr.r.set(colLoads, "", "setup: "+detail) }
	for _, d := range []struct{ dir, mod string }{{cr.app, "example.com/app"}, {cr.orig, "example.com/orig"}} {
		if err := os.MkdirAll(d.dir, 0o755); err != nil {
			return fail(err.Error())
		}
		if o := cr.goIn(ctx, d.dir, cr.env(), "mod", "init", d.mod); o.failed() != "" {
			return fail("go mod init: " + o.failed())
		}
		if cr.c.Module != "" {
			if o := cr.goIn(ctx, d.dir, cr.env(), "get", cr.c.Pkg+"@"+cr.c.Version); o.failed() != "" {
				return fail("go get: " + o.failed())
			}
		}
	}
	// The original's name and directory, from the original's module: it
	// may add what the package needs (-mod=mod), the user's may not.
	o := cr.goIn(ctx, cr.orig, cr.env("GOFLAGS=-mod=mod"), "list", "-f", "{{.Name}}\t{{.Dir}}", cr.c.Pkg)
	if o.failed() != "" {
		return fail("go list: " + o.failed())
	}
	name, dir, ok := strings.Cut(strings.TrimSpace(o.stdout), "\t")
	if !ok {
		return fail("go list: " + o.stdout)
	}
	cr.name, cr.srcDir = name, dir
	cr.out = "./internal/" + name
	cr.outDir = filepath.Join(cr.app, "internal", name)
	for _, s := range cr.c.Servers {
		if _, err := exec.LookPath(s); err != nil {
			if cr.inCI {
				return fail(fmt.Sprintf("server %s not found on PATH (the tests need it; CI=true)", s))
			}
			cr.r.note("server %s not found on PATH: the tests that need it fail on both sides", s)
		}
	}
	return true
}

// modFiles are go.mod and go.sum of the user's module, to tell whether a
// step changed them.
func (cr *clientRun) modFiles() string {
	var b strings.Builder
	for _, f := range []string{"go.mod", "go.sum"} {
		data, _ := os.ReadFile(filepath.Join(cr.app, f))
		b.Write(data)
		b.WriteString("\x00")
	}
	return b.String()
}

func (cr *clientRun) asyncify(ctx context.Context, args ...string) outcome {
	return execIn(ctx, asyncifyTimeout, cr.app, cr.env(), cr.bin, args...)
}

func (cr *clientRun) loads(ctx context.Context) bool {
	before := cr.modFiles()
	o := cr.asyncify(ctx, "detect", cr.c.Pkg)
	if d := o.failed(); d != "" {
		return cr.r.set(colLoads, "", "asyncify detect: "+d)
	}
	if cr.modFiles() != before {
		return cr.r.set(colLoads, "", "asyncify detect changed the user's go.mod or go.sum")
	}
	return cr.r.set(colLoads, "", "")
}

func (cr *clientRun) converts(ctx context.Context) bool {
	before := cr.modFiles()
	o := cr.asyncify(ctx, "-o", cr.out, cr.c.Pkg)
	if err := os.WriteFile(filepath.Join(cr.root, "asyncify.stderr"), []byte(o.stderr), 0o644); err != nil {
		return cr.r.set(colConverts, "", err.Error())
	}
	if d := o.failed(); d != "" {
		return cr.r.set(colConverts, "", "asyncify -o "+cr.out+": "+d)
	}
	if cr.modFiles() != before {
		return cr.r.set(colConverts, "", "asyncify -o changed the user's go.mod or go.sum")
	}
	if _, err := os.Stat(filepath.Join(cr.outDir, "asyncify_record.go")); err != nil {
		return cr.r.set(colConverts, "", "asyncify -o wrote no package: "+firstLines(o.stderr, 2))
	}
	notes := 0
	for line := range strings.Lines(o.stderr) {
		if positionedRE.MatchString(line) {
			notes++
		}
	}
	return cr.r.set(colConverts, fmt.Sprintf("%d notes", notes), "")
}

var positionedRE = regexp.MustCompile(`^\S[^:]*:\d+:\d+: `)

// builds runs go mod tidy, as the guide tells the user to, then go build.
func (cr *clientRun) builds(ctx context.Context) bool {
	if o := cr.goIn(ctx, cr.app, cr.env(), "mod", "tidy"); o.failed() != "" {
		return cr.r.set(colBuilds, "", "go mod tidy: "+o.failed())
	}
	if o := cr.goIn(ctx, cr.app, cr.env(), "build", cr.out+"/..."); o.failed() != "" {
		return cr.r.set(colBuilds, "", "go build: "+o.failed())
	}
	return cr.r.set(colBuilds, "", "")
}

// tagArgs are the -tags flag of the client's tests, if any.
func (cr *clientRun) tagArgs() []string {
	if cr.c.Tags == "" {
		return nil
	}
	return []string{"-tags=" + cr.c.Tags}
}

var vetLineRE = regexp.MustCompile(`^(\S+\.go):\d+:\d+: (.*)$`)

// vetFindings are go vet's findings in output, each as "file.go: message"
// (positions move in the conversion, file names and messages do not).
func vetFindings(output string) (findings []string, other []string) {
	for line := range strings.Lines(output) {
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case vetLineRE.MatchString(line):
			m := vetLineRE.FindStringSubmatch(line)
			findings = append(findings, filepath.Base(m[1])+": "+m[2])
		default:
			other = append(other, line)
		}
	}
	return findings, other
}

// vets: go vet of the output finds nothing that go vet of the original
// does not (the original's findings, which upstream lives with, are
// allowed on both sides).
func (cr *clientRun) vets(ctx context.Context) {
	conv := cr.goIn(ctx, cr.app, cr.env(), append(append([]string{"vet"}, cr.tagArgs()...), cr.out)...)
	orig := cr.goIn(ctx, cr.orig, cr.env("GOFLAGS=-mod=mod"), append(append([]string{"vet"}, cr.tagArgs()...), cr.c.Pkg)...)
	if conv.err != nil {
		cr.r.set(colVets, "", conv.err.Error())
		return
	}
	convF, convOther := vetFindings(conv.stderr)
	origF, _ := vetFindings(orig.stderr)
	if conv.exit != 0 && len(convF) == 0 {
		cr.r.set(colVets, "", "go vet: "+firstLines(strings.Join(convOther, "\n"), 3))
		return
	}
	var extra []string
	for _, f := range convF {
		if i := slices.Index(origF, f); i >= 0 {
			origF = slices.Delete(origF, i, i+1)
		} else {
			extra = append(extra, f)
		}
	}
	if len(extra) > 0 {
		cr.r.set(colVets, "", fmt.Sprintf("%d findings the original lacks: %s", len(extra), strings.Join(extra, "; ")))
		return
	}
	text := ""
	if len(convF) > 0 {
		text = fmt.Sprintf("%d as upstream", len(convF))
	}
	cr.r.set(colVets, text, "")
}

// slug is a directory name for a client's name.
func slug(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(name))
}

// firstLines is the first n non-empty lines of s, joined by " / ".
func firstLines(s string, n int) string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
			if len(out) == n {
				break
			}
		}
	}
	if len(out) == 0 {
		return gorun.FirstLine(s)
	}
	return strings.Join(out, " / ")
}
