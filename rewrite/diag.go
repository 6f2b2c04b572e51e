package rewrite

import (
	"cmp"
	"fmt"
	"go/token"
	"slices"
	"strconv"
	"strings"
)

// A Diag is one diagnostic of a conversion: a note about what could not
// be made cancellable (Result.Notes), or an error that refuses the input
// (Error.Errs). Pos is where it is, as far as known: a file, a line, a
// column; zero when it concerns no file (a pattern, the runtime).
type Diag struct {
	Pos token.Position
	Msg string
}

// String is "file:line:col: message", "file: message", or the message
// alone.
func (d Diag) String() string {
	if d.Pos.Filename == "" && !d.Pos.IsValid() {
		return d.Msg
	}
	return d.Pos.String() + ": " + d.Msg
}

// diagLines is the diagnostics as text, one per line.
func diagLines(ds []Diag) string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// diagf is a Diag at pos.
func diagf(pos token.Position, format string, args ...any) Diag {
	return Diag{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// fileDiag is a Diag about a whole file (or a directory, a pattern).
func fileDiag(name string, format string, args ...any) Diag {
	return Diag{Pos: token.Position{Filename: name}, Msg: fmt.Sprintf(format, args...)}
}

// parseDiag reads a diagnostic that comes as text ("file:line:col:
// message", from the go command or the type checker's error strings): its
// position, when it starts with one.
func parseDiag(s string) Diag {
	file, line, col, ok := diagPos(s)
	if !ok {
		return Diag{Msg: s}
	}
	_, msg, _ := strings.Cut(s, ": ")
	return Diag{Pos: token.Position{Filename: file, Line: line, Column: col}, Msg: msg}
}

// parseDiags is parseDiag for each.
func parseDiags(ss []string) []Diag {
	out := make([]Diag, len(ss))
	for i, s := range ss {
		out[i] = parseDiag(s)
	}
	return out
}

// sortDiags sorts diagnostics by file, then line, then column, as numbers
// (p.go:36 before p.go:134), then message. Those without a file come
// last, in message order.
func sortDiags(diags []Diag) {
	slices.SortStableFunc(diags, func(a, b Diag) int {
		switch {
		case a.Pos.Filename != "" && b.Pos.Filename == "":
			return -1
		case a.Pos.Filename == "" && b.Pos.Filename != "":
			return 1
		}
		return cmp.Or(cmp.Compare(a.Pos.Filename, b.Pos.Filename), cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column), cmp.Compare(a.Msg, b.Msg))
	})
}

// diagPos parses the "file:line:col:" or "file:line:" that starts d.
func diagPos(d string) (file string, line, col int, ok bool) {
	head, _, found := strings.Cut(d, ": ")
	if !found {
		return "", 0, 0, false
	}
	parts := strings.Split(head, ":")
	// the file name may itself hold a colon (a Windows drive): numbers are
	// taken from the end
	nums := []int{}
	for len(parts) > 1 && len(nums) < 2 {
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil {
			break
		}
		nums = append([]int{n}, nums...)
		parts = parts[:len(parts)-1]
	}
	if len(nums) == 0 {
		return "", 0, 0, false
	}
	file = strings.Join(parts, ":")
	line = nums[0]
	if len(nums) == 2 {
		col = nums[1]
	}
	return file, line, col, true
}
