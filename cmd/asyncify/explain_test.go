package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestExplainGolden: asyncify explain on the mctext fixture, for a
// pipelined exported method, an exclusive one, a helper holding the sites, a
// dial (one site rewritten, one left with a note),
// a function literal and a function that is not async, against
// golden/explain/mctext.txt.
func TestExplainGolden(t *testing.T) {
	t.Chdir("../..")
	var all bytes.Buffer
	for _, name := range []string{"(*Client).Get", "FlushAll", "writeReadLine", "(*Client).dial", "(*Client).Increment.func1", "legalKey"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"explain", "./fixtures/mctext", name}, &stdout, &stderr); code != exitOK {
			t.Fatalf("explain %s: exit %d\n%s", name, code, stderr.String())
		}
		all.WriteString("$ asyncify explain ./fixtures/mctext " + name + "\n")
		all.Write(stdout.Bytes())
		all.WriteString("\n")
	}
	checkGolden(t, "explain/mctext.txt", all.Bytes())
}

// TestExplainErrors: an unknown or ambiguous name, or a wrong number of
// arguments, is an error (exit 2) that says what to do.
func TestExplainErrors(t *testing.T) {
	t.Chdir("../..")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "./fixtures/mctext", "nosuch"}, "nosuch: no such function in github.com/asyncify-dev/asyncify/fixtures/mctext"},
		{[]string{"explain", "./fixtures/mctext", "func1"}, "func1 names several functions of"},
		{[]string{"explain", "./fixtures/mctext"}, "want a package and a function name"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != exitError || stdout.Len() != 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, stdout.String(), stderr.String(), c.want)
		}
	}
}
