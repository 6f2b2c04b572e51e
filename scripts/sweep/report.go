package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
)

// marker separates the hand-written introduction of the document from the
// part the sweep writes.
const marker = "<!-- Everything below is written by scripts/sweep; edit the text above only. -->"

const command = "go run ./scripts/sweep -doc docs/robustness.md"

// report holds the figures of one sweep.
type report struct {
	Results []result
	Skipped []skipped
	Commit  string
	Date    string
	Took    time.Duration
	Timeout time.Duration
	Trims   []string // prefixes removed from example positions
}

func newReport(results []result, skips []skipped) *report {
	return &report{Results: results, Skipped: skips}
}

func (r *report) count(f func(result) bool) int {
	n := 0
	for _, x := range r.Results {
		if f(x) {
			n++
		}
	}
	return n
}

// origins are the packages' origins in order of first appearance.
func (r *report) origins() []string {
	var o []string
	for _, x := range r.Results {
		if !slices.Contains(o, x.Origin) {
			o = append(o, x.Origin)
		}
	}
	return o
}

// reason is one refusal reason with its figures.
type reason struct {
	Text          string
	Messages      int
	Packages      int
	Example       string // position
	ExamplePkg    string
	seenInPackage string
}

// reasons are the refusal reasons, most packages first.
func (r *report) reasons() []*reason {
	byText := map[string]*reason{}
	var all []*reason
	for _, x := range r.Results {
		if x.Convert.Outcome != refused {
			continue
		}
		for _, f := range x.Convert.Reasons {
			rs := byText[f.Reason]
			if rs == nil {
				rs = &reason{Text: f.Reason, Example: r.trim(f.Pos), ExamplePkg: x.Pkg}
				byText[f.Reason] = rs
				all = append(all, rs)
			}
			rs.Messages++
			if rs.seenInPackage != x.Pkg {
				rs.seenInPackage = x.Pkg
				rs.Packages++
			}
		}
	}
	slices.SortStableFunc(all, func(a, b *reason) int {
		if a.Packages != b.Packages {
			return b.Packages - a.Packages
		}
		return b.Messages - a.Messages
	})
	return all
}

func (r *report) trim(s string) string {
	for _, t := range r.Trims {
		s = strings.ReplaceAll(s, t, "")
	}
	return s
}

// summary is a few lines for the terminal.
func (r *report) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "packages tried: %d (skipped: %d)\n", len(r.Results), len(r.Skipped))
	for _, o := range []string{ok, failed, timedOut} {
		fmt.Fprintf(&b, "detect %s: %d\n", o, r.count(func(x result) bool { return x.Detect.Outcome == o }))
	}
	for _, o := range []string{converted, unchanged, refused, failed, timedOut} {
		fmt.Fprintf(&b, "convert %s: %d\n", o, r.count(func(x result) bool { return x.Convert.Outcome == o }))
	}
	for _, x := range r.Results {
		for _, s := range []struct {
			name string
			step step
		}{{"detect", x.Detect}, {"convert", x.Convert}} {
			if s.step.Outcome == failed || s.step.Outcome == timedOut {
				fmt.Fprintf(&b, "%s %s %s: %s\n", strings.ToUpper(s.step.Outcome), s.name, x.Pkg, r.trim(s.step.Detail))
			}
		}
	}
	return b.String()
}

// markdown is the generated part of docs/robustness.md.
func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cell := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(r.trim(s), "|", `\|`), "\n", " ")
	}
	p("## Last run\n\n")
	p("Regenerate with `%s` (from the repository root; about %s).\n\n", command, r.Took.Round(time.Minute))
	p("| | |\n| --- | --- |\n")
	p("| date | %s |\n| commit | %s |\n| Go | %s %s/%s |\n| time limit per run | %s |\n\n",
		r.Date, r.Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, r.Timeout)

	p("## Packages\n\n")
	p("| origin | tried | detect ok | detect failed | converted | unchanged | refused | failed | time-outs |\n")
	p("| --- | --: | --: | --: | --: | --: | --: | --: | --: |\n")
	row := func(name string, in func(result) bool) {
		c := func(f func(result) bool) int { return r.count(func(x result) bool { return in(x) && f(x) }) }
		p("| %s | %d | %d | %d | %d | %d | %d | %d | %d |\n", name,
			c(func(result) bool { return true }),
			c(func(x result) bool { return x.Detect.Outcome == ok }),
			c(func(x result) bool { return x.Detect.Outcome == failed }),
			c(func(x result) bool { return x.Convert.Outcome == converted }),
			c(func(x result) bool { return x.Convert.Outcome == unchanged }),
			c(func(x result) bool { return x.Convert.Outcome == refused }),
			c(func(x result) bool { return x.Convert.Outcome == failed }),
			c(func(x result) bool { return x.Detect.Outcome == timedOut || x.Convert.Outcome == timedOut }))
	}
	row("**all**", func(result) bool { return true })
	for _, o := range r.origins() {
		row(o, func(x result) bool { return x.Origin == o })
	}
	p("\n`unchanged`: the converter found nothing to convert (exit 0, no diff). `failed`: a crash, an exit status other than 0 and 2, a message without a position, or (detect) exit 2. Time-outs are counted apart from failures.\n")
	if len(r.Skipped) > 0 {
		p("\n%d packages of the module graph were not tried because they do not build here:\n\n", len(r.Skipped))
		for _, s := range r.Skipped {
			p("- `%s`: %s\n", s.Pkg, cell(s.Why))
		}
	}

	p("\n## Refusals by reason\n\n")
	p("The message after the position, with names, types, numbers and quoted text replaced by placeholders (`X`, `N`, `\"…\"`).\n\n")
	p("| packages | messages | reason | example |\n| --: | --: | --- | --- |\n")
	for _, rs := range r.reasons() {
		p("| %d | %d | %s | `%s` (%s) |\n", rs.Packages, rs.Messages, cell(rs.Text), rs.Example, rs.ExamplePkg)
	}

	p("\n## Failures\n\n")
	failures := r.listing(failed)
	if failures == "" {
		p("None.\n")
	} else {
		p("By kind (the detail normalised like a refusal reason):\n\n| packages | step | what | example |\n| --: | --- | --- | --- |\n")
		for _, k := range r.failureKinds() {
			p("| %d | %s | %s | `%s` |\n", k.n, k.step, cell(k.what), k.example)
		}
		p("\nEvery one:\n\n| package | step | what |\n| --- | --- | --- |\n%s", failures)
	}
	p("\n## Time-outs\n\n")
	if t := r.listing(timedOut); t == "" {
		p("None.\n")
	} else {
		p("| package | step | what |\n| --- | --- | --- |\n%s", t)
	}
	return b.String()
}

// listing is a table body of the steps with the given outcome.
func (r *report) listing(outcome string) string {
	var b strings.Builder
	for _, x := range r.Results {
		for _, s := range []struct {
			name string
			step step
		}{{"detect", x.Detect}, {"convert", x.Convert}} {
			if s.step.Outcome == outcome {
				d := strings.ReplaceAll(strings.ReplaceAll(r.trim(s.step.Detail), "|", `\|`), "\n", " ")
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", x.Pkg, s.name, d)
			}
		}
	}
	return b.String()
}

type failureKind struct {
	step, what, example string
	n                   int
}

// failureKinds groups the failed steps by step and normalised detail, most
// packages first.
func (r *report) failureKinds() []*failureKind {
	var kinds []*failureKind
	for _, x := range r.Results {
		for _, s := range []struct {
			name string
			step step
		}{{"detect", x.Detect}, {"convert", x.Convert}} {
			if s.step.Outcome != failed {
				continue
			}
			what := normalise(s.step.Detail)
			i := slices.IndexFunc(kinds, func(k *failureKind) bool { return k.step == s.name && k.what == what })
			if i < 0 {
				kinds = append(kinds, &failureKind{step: s.name, what: what, example: x.Pkg})
				i = len(kinds) - 1
			}
			kinds[i].n++
		}
	}
	slices.SortStableFunc(kinds, func(a, b *failureKind) int { return b.n - a.n })
	return kinds
}
