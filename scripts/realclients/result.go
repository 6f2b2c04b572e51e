package main

import (
	"fmt"
	"strings"
	"time"
)

// column is one check of a row, in the order the harness does them.
type column string

const (
	colLoads    column = "loads"
	colConverts column = "converts"
	colBuilds   column = "builds"
	colVets     column = "vets"
	colTests    column = "tests"
	colForms    column = "ctx forms"
	colProbe    column = "probe"
)

var columns = []column{colLoads, colConverts, colBuilds, colVets, colTests, colForms, colProbe}

// States of a cell.
const (
	stOK       = "ok"
	stFail     = "FAIL"
	stExpected = "expected" // fails, as an issue expects
	stFixed    = "fixed"    // passes, though an issue expects it to fail
	stNA       = "n/a"
	stNotRun   = "–" // an earlier column failed
)

// cell is one column of one row.
type cell struct {
	State  string
	Text   string // shown in the table beside the state ("45/45")
	Detail string // why it failed: short and exact
	Issue  int    // the owner of an expected failure
}

// row is one client's result.
type row struct {
	Client client
	Cells  map[column]*cell
	Notes  []string // flaky reruns, tests failing on both sides, skipped servers
	Took   time.Duration
}

func newRow(c client) *row {
	r := &row{Client: c, Cells: map[column]*cell{}}
	for _, col := range columns {
		r.Cells[col] = &cell{State: stNotRun}
	}
	return r
}

// set records a column's outcome; detail == "" is a pass. It applies the
// client's expectation for the column.
func (r *row) set(col column, text, detail string) bool {
	c := r.Cells[col]
	c.Text, c.Detail = text, detail
	exp, expected := r.Client.Expect[col]
	switch {
	case detail == "" && expected:
		c.State, c.Issue = stFixed, exp.Issue
	case detail == "":
		c.State = stOK
	case expected:
		c.State, c.Issue = stExpected, exp.Issue
	default:
		c.State = stFail
	}
	return detail == ""
}

func (r *row) na(col column) { r.Cells[col].State = stNA }

func (r *row) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// unexpected says whether a column failed that no issue expects to fail.
func (r *row) unexpected() bool {
	for _, col := range columns {
		if r.Cells[col].State == stFail {
			return true
		}
	}
	return false
}

// verdict is one line for the terminal.
func (r *row) verdict() string {
	var parts []string
	for _, col := range columns {
		c := r.Cells[col]
		s := string(col) + " " + c.State
		if c.Text != "" {
			s += " " + c.Text
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// failure is the first failure of the row with its column, or "".
func (r *row) failures() []string {
	var out []string
	for _, col := range columns {
		c := r.Cells[col]
		switch c.State {
		case stFail:
			out = append(out, fmt.Sprintf("%s: %s", col, c.Detail))
		case stExpected:
			out = append(out, fmt.Sprintf("%s (issue %d, expected: %s): %s", col, c.Issue, r.Client.Expect[col].Why, c.Detail))
		case stFixed:
			out = append(out, fmt.Sprintf("%s: now passing, remove the expectation (issue %d: %s)", col, c.Issue, r.Client.Expect[col].Why))
		}
	}
	return out
}
