package rewrite

import (
	"fmt"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// contextLines is the number of unchanged lines shown around each change.
const contextLines = 3

// UnifiedDiff returns the unified diff from old to new, named a/path and
// b/path, or "" when they are equal. A nil old is a new file, a nil new a
// removed one (/dev/null).
// The lines are compared with go-diff in line mode; the hunks are ours,
// since go-diff's patch text is not a unified diff.
func UnifiedDiff(path string, old, new []byte) string {
	if old != nil && string(old) == string(new) {
		return ""
	}
	ops := lineOps(string(old), string(new))

	var out strings.Builder
	switch {
	case old == nil:
		fmt.Fprintf(&out, "--- /dev/null\n+++ b/%s\n", path)
	case new == nil:
		fmt.Fprintf(&out, "--- a/%s\n+++ /dev/null\n", path)
	default:
		fmt.Fprintf(&out, "--- a/%s\n+++ b/%s\n", path, path)
	}
	// Group the edit script into hunks: runs of changes closer than
	// 2*contextLines unchanged lines share a hunk.
	type line struct {
		op   byte // ' ', '-', '+'
		text string
	}
	var all []line
	for _, op := range ops {
		all = append(all, line{op.kind, op.text})
	}
	i := 0
	for i < len(all) {
		if all[i].op == ' ' {
			i++
			continue
		}
		start := max(i-contextLines, 0)
		end := i
		for end < len(all) {
			if all[end].op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(all) && all[run].op == ' ' {
				run++
			}
			if run == len(all) || run-end > 2*contextLines {
				end = min(end+contextLines, len(all))
				break
			}
			end = run
		}
		// line numbers of the hunk's first line in a and b
		aLine, bLine := 1, 1
		for _, l := range all[:start] {
			if l.op != '+' {
				aLine++
			}
			if l.op != '-' {
				bLine++
			}
		}
		var aCount, bCount int
		for _, l := range all[start:end] {
			if l.op != '+' {
				aCount++
			}
			if l.op != '-' {
				bCount++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aLine, aCount), hunkRange(bLine, bCount))
		for _, l := range all[start:end] {
			out.WriteByte(l.op)
			out.WriteString(l.text)
			if !strings.HasSuffix(l.text, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return out.String()
}

// hunkRange formats a hunk's start and length the way diff -u does: an
// empty range starts at the line before it.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}

type lineOp struct {
	kind byte
	text string // one line, with its newline if it has one
}

// lineOps is the line-level edit script from old to new.
func lineOps(old, new string) []lineOp {
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(old, new)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var ops []lineOp
	for _, d := range diffs {
		kind := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			kind = '-'
		case diffmatchpatch.DiffInsert:
			kind = '+'
		}
		for _, l := range splitLines(d.Text) {
			ops = append(ops, lineOp{kind, l})
		}
	}
	return ops
}

// splitLines splits s after each newline; the last line may lack one.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}
