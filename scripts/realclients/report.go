package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// marker separates the hand-written introduction of the document from the
// part the harness writes.
const marker = "<!-- Everything below is written by scripts/realclients; edit the text above only. -->"

const command = "go run ./scripts/realclients -doc docs/realclients.md"

const intro = "# Real clients\n\n"

// report holds one run's rows.
type report struct {
	Rows   []*row
	Commit string
	Date   string
	Took   time.Duration
	Trims  []string
}

func (r *report) unexpected() int {
	n := 0
	for _, x := range r.Rows {
		if x.unexpected() {
			n++
		}
	}
	return n
}

func (r *report) trim(s string) string {
	for _, t := range r.Trims {
		s = strings.ReplaceAll(s, t, "")
	}
	return s
}

func (r *report) cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(r.trim(s), "|", `\|`), "\n", " ")
}

// text is the terminal's summary: every failure, then the verdict.
func (r *report) text() string {
	var b strings.Builder
	for _, x := range r.Rows {
		for _, f := range x.failures() {
			fmt.Fprintf(&b, "%s: %s\n", x.Client.Name, r.trim(f))
		}
		for _, n := range x.Notes {
			fmt.Fprintf(&b, "%s: note: %s\n", x.Client.Name, r.trim(n))
		}
	}
	fixed := 0
	for _, x := range r.Rows {
		for _, col := range columns {
			if x.Cells[col].State == stFixed {
				fixed++
			}
		}
	}
	fmt.Fprintf(&b, "realclients: %d clients, %d with an unexpected failure, %d expected failures now passing\n", len(r.Rows), r.unexpected(), fixed)
	return b.String()
}

// markdown is the generated part of docs/realclients.md.
func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Last run\n\n")
	p("Regenerate with `%s` (from the repository root, as root for the network namespaces, with `memcached` on `PATH`; %s here).\n\n", command, r.Took.Round(time.Second))
	p("| | |\n| --- | --- |\n| date | %s |\n| commit | %s |\n| Go | %s %s/%s |\n\n", r.Date, r.Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	p("| client | version |")
	for _, col := range columns {
		name := string(col)
		if col == colTests {
			name = "tests conv/orig"
		}
		p(" %s |", name)
	}
	p(" first failure |\n| --- | --- |%s --- |\n", strings.Repeat(" --- |", len(columns)))
	for _, x := range r.Rows {
		v := x.Client.Version
		if x.Client.Module == "" {
			v = "std"
		}
		p("| %s | %s |", r.cell(x.Client.Pkg), v)
		for _, col := range columns {
			c := x.Cells[col]
			s := c.State
			switch c.State {
			case stExpected:
				s = fmt.Sprintf("expected fail (issue %d)", c.Issue)
			case stFixed:
				s = fmt.Sprintf("now passing (issue %d)", c.Issue)
			}
			if c.Text != "" {
				s += " " + c.Text
			}
			p(" %s |", r.cell(s))
		}
		first := ""
		for _, col := range columns {
			if c := x.Cells[col]; c.State == stFail || c.State == stExpected {
				first = string(col) + ": " + c.Detail
				if rs := []rune(first); len(rs) > 160 {
					first = string(rs[:160]) + "…"
				}
				break
			}
		}
		p(" %s |\n", r.cell(first))
	}
	p("\n`tests conv/orig`: of the tests that pass on the original, how many pass converted. `ctx forms`: listed operations with a Context form. `probe`: calls that returned within %s of a %s deadline with `context.DeadlineExceeded`. `–`: not reached (an earlier column failed). `expected fail (issue N)`: a failure the client's list entry expects, owned by that issue. `first failure`: cut at 160 characters; every failure in full below.\n",
		probeLimit, probeDeadline)

	p("\n## Failures and notes\n\n")
	for _, x := range r.Rows {
		f := x.failures()
		if len(f) == 0 && len(x.Notes) == 0 {
			continue
		}
		p("### %s\n\n", x.Client.Name)
		for _, s := range f {
			p("- %s\n", r.cell(s))
		}
		for _, s := range x.Notes {
			p("- note: %s\n", r.cell(s))
		}
		p("\n")
	}
	var flaky []string
	for _, x := range r.Rows {
		for name, why := range x.Client.Flaky {
			flaky = append(flaky, fmt.Sprintf("- %s `%s`: %s", x.Client.Name, name, why))
		}
	}
	if len(flaky) > 0 {
		p("## Upstream tests known to be flaky\n\nRun once more when they fail converted.\n\n%s\n", strings.Join(flaky, "\n"))
	}
	return b.String()
}
