package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asyncify-dev/asyncify/scripts/internal/gorun"
)

// Outcomes of one step (detect or convert) on one package.
const (
	ok        = "ok"        // detect: exit 0
	converted = "converted" // convert: exit 0 with a diff
	unchanged = "unchanged" // convert: exit 0, nothing to change
	refused   = "refused"   // exit 2, every message positioned
	failed    = "failed"    // panic, other exit status, unpositioned message, detect exit 2
	timedOut  = "timeout"
)

// step is what one run of asyncify on one package gave.
type step struct {
	Outcome string
	Reasons []refusal // refused: one per message
	Detail  string    // failed, timeout: why
	Elapsed time.Duration
}

// refusal is one positioned message of a refusal.
type refusal struct {
	Pos    string // file:line:col as printed
	Reason string // the message, normalised
}

// runner runs one asyncify binary in one directory with one environment.
type runner struct {
	bin     string
	dir     string
	env     []string
	timeout time.Duration
}

// detect runs "asyncify detect PKG".
func (r runner) detect(ctx context.Context, pkg string) step {
	return r.run(ctx, false, "detect", pkg)
}

// convert runs "asyncify -d PKG".
func (r runner) convert(ctx context.Context, pkg string) step {
	return r.run(ctx, true, "-d", pkg)
}

func (r runner) run(ctx context.Context, isConvert bool, args ...string) step {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	// asyncify starts go list; its own process group lets a time-out end them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if ctx.Err() == context.DeadlineExceeded {
		return step{Outcome: timedOut, Detail: "no result after " + r.timeout.String(), Elapsed: elapsed}
	}
	status := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		status = ee.ExitCode()
	case err != nil:
		return step{Outcome: failed, Detail: err.Error(), Elapsed: elapsed}
	}
	s := classify(isConvert, status, stdout.String(), stderr.String())
	s.Elapsed = elapsed
	return s
}

var (
	// A Go panic or runtime fatal error (both exit with status 2, like a refusal).
	crashRE = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[)`)
	// "file:line:col: message"; the file may hold a colon on Windows only.
	positionedRE = regexp.MustCompile(`(?s)^(\S[^:]*:\d+:\d+): (.+)$`)
)

// classify judges one run from its exit status and output.
func classify(isConvert bool, status int, stdout, stderr string) step {
	if crashRE.MatchString(stderr) {
		return step{Outcome: failed, Detail: "crash: " + crashSummary(stderr)}
	}
	switch status {
	case 0:
		if !isConvert {
			return step{Outcome: ok}
		}
		if strings.TrimSpace(stdout) == "" {
			return step{Outcome: unchanged}
		}
		return step{Outcome: converted}
	case 2:
		msgs := messages(stderr)
		if len(msgs) == 0 {
			return step{Outcome: failed, Detail: "exit 2 with no message"}
		}
		var reasons []refusal
		for _, m := range msgs {
			sub := positionedRE.FindStringSubmatch(m)
			if sub == nil {
				return step{Outcome: failed, Detail: "message without a position: " + gorun.FirstLine(m)}
			}
			reasons = append(reasons, refusal{Pos: sub[1], Reason: normalise(sub[2])})
		}
		if !isConvert {
			// detect must not refuse: a package that loads has a report.
			return step{Outcome: failed, Reasons: reasons, Detail: "detect exit 2: " + gorun.FirstLine(msgs[0])}
		}
		return step{Outcome: refused, Reasons: reasons}
	default:
		return step{Outcome: failed, Detail: "exit status " + strconv.Itoa(status) + ": " + gorun.FirstLine(stderr)}
	}
}

// messages splits stderr into messages: a line that starts with white
// space continues the one before it (go/types' "have/want" details).
func messages(stderr string) []string {
	var msgs []string
	for line := range strings.Lines(stderr) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
		case (line[0] == ' ' || line[0] == '\t') && len(msgs) > 0:
			msgs[len(msgs)-1] += "\n" + line
		default:
			msgs = append(msgs, line)
		}
	}
	return msgs
}

// crashSummary is the panic message and the first frame of the crashing
// goroutine: enough to find it again.
func crashSummary(stderr string) string {
	lines := strings.Split(stderr, "\n")
	var out []string
	for i, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			out = append(out, strings.TrimSpace(l))
		}
		if strings.HasPrefix(l, "goroutine ") && strings.Contains(l, "[running]") {
			// Skip the runtime's own frames to the first one that is not.
			for j := i + 1; j+1 < len(lines); j += 2 {
				fn := strings.TrimSpace(lines[j])
				if strings.HasPrefix(fn, "panic(") || strings.HasPrefix(fn, "runtime.") {
					continue
				}
				out = append(out, fn+" at "+strings.TrimSpace(lines[j+1]))
				break
			}
			break
		}
	}
	if len(out) == 0 {
		return gorun.FirstLine(stderr)
	}
	return strings.Join(out, "; ")
}

var (
	posInTextRE = regexp.MustCompile(`\S+\.go:\d+(:\d+)?`)
	quotedRE    = regexp.MustCompile(`"[^"]*"`)
	numberRE    = regexp.MustCompile(`\b\d+\b`)
	wordRE      = regexp.MustCompile(`[^\s,;:]+`)
)

// normalise turns a message into its reason: names, types, quoted
// strings, positions and numbers become placeholders, so that the same
// construct in different packages gives the same reason.
func normalise(msg string) string {
	msg = gorun.FirstLine(msg)
	msg = posInTextRE.ReplaceAllString(msg, "POS")
	msg = quotedRE.ReplaceAllString(msg, `"…"`)
	msg = wordRE.ReplaceAllStringFunc(msg, func(w string) string {
		// Parentheses around a word belong to the sentence.
		core := strings.TrimLeft(w, "(")
		open := w[:len(w)-len(core)]
		trimmed := strings.TrimRight(core, ")")
		n := strings.Count(trimmed, "(") - strings.Count(trimmed, ")")
		core = trimmed + strings.Repeat(")", min(max(n, 0), len(core)-len(trimmed)))
		if isCode(core) {
			return open + "X" + w[len(open)+len(core):]
		}
		return w
	})
	msg = numberRE.ReplaceAllString(msg, "N")
	// Runs of placeholders ("X X", "X.X") are one.
	for _, r := range []string{"X X", "X.X", "XX"} {
		for strings.Contains(msg, r) {
			msg = strings.ReplaceAll(msg, r, "X")
		}
	}
	for _, r := range collapse {
		msg = r.re.ReplaceAllString(msg, r.to)
	}
	return msg
}

// collapse rewrites normalised type-checker messages to their construct,
// so that one construct is one reason whatever the names, types and
// expressions in it (which the word rules above leave in when they look
// like English: "cannot use req", "argument to get").
var collapse = []struct {
	re *regexp.Regexp
	to string
}{
	// the declaration the error is reported at: the position says it
	{regexp.MustCompile(`^in [^:]+: `), ""},
	{regexp.MustCompile(`; likely cause: .*$`), "; likely cause: a package the input imports imports the package itself"},
	{regexp.MustCompile(` \(asyncify produced code that does not type-check, at line N of the rewritten X: a construct it does not handle yet\)`), " (in the rewritten code)"},
	{regexp.MustCompile(`^cannot use .*? value in (argument|assignment|struct literal|array or slice literal|map literal|map index|return statement|send|variable declaration)( to [^:( ]+)?`), "cannot use X as X value in $1"},
	{regexp.MustCompile(`: \S+ does not implement \S+ \((wrong type for|missing) method [^)]*\)`), ": X does not implement X ($1 method X)"},
	{regexp.MustCompile(`^invalid operation: .*\(mismatched types \S+ and \S+\)`), "invalid operation: X (mismatched types X and X)"},
}

// isCode says whether a word of a message is Go code (a name, a type, an
// expression) rather than English: it holds punctuation that English
// words do not, or an upper-case letter after its first.
func isCode(w string) bool {
	core := w
	if core == "" || core == "POS" || core == `"…"` {
		return false
	}
	if strings.ContainsAny(core, ".*[]{}()_&<>=") {
		return true
	}
	for i, c := range core {
		if i > 0 && c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}
