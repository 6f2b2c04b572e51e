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

// go vet -vettool=asyncify reads the configuration: asyncify.conf in the
// package's directory, or the file -iodetect.config names; a bad rule fails
// the run with its position. go vet caches a clean result without knowing
// the configuration, so a changed one needs -a (docs/reference.md).
func TestVetToolConfig(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "asyncify")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	writeFiles(t, map[string]string{
		"go.mod": "module example.com/serial\n\ngo 1.24\n",
		"port/port.go": `// Package port is a serial line: nothing says it is a connection but the configuration.
package port

type Port struct{ buf []byte }

func (p *Port) Write(b []byte) (int, error) { p.buf = append(p.buf, b...); return len(b), nil }
`,
		"serial.go": `package serial

import "example.com/serial/port"

func Send(p *port.Port, s string) error {
	_, err := p.Write([]byte(s))
	return err
}
`,
	})
	vet := func(args ...string) (string, int) {
		cmd := exec.Command("go", append(append([]string{"vet", "-vettool=" + bin}, args...), ".")...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("go vet: %v", err)
		}
		return stderr.String(), cmd.ProcessState.ExitCode()
	}
	site := regexp.MustCompile(`(?m)^serial\.go:6:19: write: \(\*port\.Port\)\.Write on p$`)
	if out, code := vet(); code != 0 || site.MatchString(out) {
		t.Fatalf("without a configuration: exit %d, want 0 and no site\n%s", code, out)
	}
	writeFiles(t, map[string]string{"asyncify.conf": "conn example.com/serial/port.Port\n"})
	// go vet keeps the clean result above in its cache, and the
	// configuration is not one of the inputs it knows: -a runs the tool again
	if out, code := vet("-a"); code != 1 || !site.MatchString(out) {
		t.Errorf("with asyncify.conf saying conn port.Port: exit %d, want 1 and the write site\n%s", code, out)
	}
	writeFiles(t, map[string]string{"other.conf": "frobnicate example.com/serial/port.Port\n"})
	if out, code := vet("-iodetect.config=" + filepath.Join(dir, "other.conf")); code == 0 || !strings.Contains(out, `other.conf:1: unknown rule "frobnicate"`) {
		t.Errorf("-iodetect.config naming a bad file: exit %d, want the rule's position\n%s", code, out)
	}
	if out, code := vet("-iodetect.config=" + filepath.Join(dir, "missing.conf")); code == 0 || !strings.Contains(out, "missing.conf") {
		t.Errorf("-iodetect.config naming a missing file: exit %d, want it named\n%s", code, out)
	}
}
