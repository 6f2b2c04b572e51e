package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// go vet -vettool=asyncify reports the blocking sites of the packages, with
// the go command's own file:line:col format and exit status.
func TestVetTool(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "asyncify")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	vet := exec.Command("go", "vet", "-vettool="+bin, "./edge/pure", "./mctext")
	vet.Dir = "../../fixtures"
	var stderr bytes.Buffer
	vet.Stderr = &stderr
	err := vet.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("go vet: %v, want exit status 1 (diagnostics reported)\n%s", err, stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{
		`edge/pure/pure.go:46:21: dial: net.Dial`,
		`edge/pure/pure.go:194:13: write: fmt.Fprintf on c.rw`,
		`mctext/mctext.go:120:26: deadline: net.Conn.SetDeadline on cn.nc`,
		`mctext/fakeserver_test.go:\d+:\d+: accept: net.Listener.Accept on ln \[server\]`,
	} {
		if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(out) {
			t.Errorf("go vet output has no line %q:\n%s", want, out)
		}
	}
	// pure helpers have no sites: pure.go's fmt.Fprintf(&buf, ...) into a bytes.Buffer is not one
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "on &buf") {
			t.Errorf("a pure helper reported: %s", line)
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !regexp.MustCompile(`^asyncify \S+ go1\.\d+\S* \w+/\w+\n$`).MatchString(stdout.String()) {
		t.Errorf("version output %q", stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"version", "-h"}, &stdout, &stderr); code != exitOK || !strings.HasPrefix(stdout.String(), "usage: asyncify version") {
		t.Errorf("version -h: exit %d, stdout %q", code, stdout.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"version", "extra"}, &stdout, &stderr); code != exitError || stdout.Len() != 0 || !strings.Contains(stderr.String(), `unexpected argument "extra"`) {
		t.Errorf("version extra: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestVetInvocation(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"-V=full"}, true},
		{[]string{"-flags"}, true},
		{[]string{"-json", "/tmp/x/vet.cfg"}, true},
		{[]string{"detect", "./..."}, false},
		{[]string{"./pkg"}, false},
		{nil, false},
	} {
		if got := vetInvocation(tc.args); got != tc.want {
			t.Errorf("vetInvocation(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
