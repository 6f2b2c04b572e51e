package main

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[mK]")

// TestColor: -color=always colours the diff as git does (and nothing else
// changes); -color=auto leaves it plain when stdout is not a terminal (a
// buffer, a pipe); a bad value is an error.
func TestColor(t *testing.T) {
	t.Chdir("../..")
	convert := func(stdout io.Writer, args ...string) (int, string) {
		var stderr bytes.Buffer
		code := run(append(args, "./fixtures/tproto"), stdout, &stderr)
		return code, stderr.String()
	}
	var plain, colored bytes.Buffer
	if code, errOut := convert(&plain, "-color=never"); code != exitOK || plain.Len() == 0 {
		t.Fatalf("-color=never: exit %d\n%s", code, errOut)
	}
	if code, errOut := convert(&colored, "-color=always"); code != exitOK {
		t.Fatalf("-color=always: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"\x1b[1m--- a/fixtures/tproto/", "\x1b[1m+++ b/fixtures/tproto/", "\x1b[36m@@ -", "\x1b[31m-", "\x1b[32m+"} {
		if !strings.Contains(colored.String(), want) {
			t.Errorf("-color=always: no %q in the diff", want)
		}
	}
	if got := ansi.ReplaceAllString(colored.String(), ""); got != plain.String() {
		t.Error("-color=always changes more than the colours")
	}
	var auto bytes.Buffer
	if convert(&auto, "-color=auto"); auto.String() != plain.String() {
		t.Error("-color=auto coloured a diff written to a buffer")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	piped := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); piped <- b }()
	convert(w)
	w.Close()
	if got := <-piped; !bytes.Equal(got, plain.Bytes()) {
		t.Errorf("the default (auto) coloured a diff written to a pipe:\n%.300q", got)
	}
	if code, errOut := convert(io.Discard, "-color=sometimes"); code != exitError || !strings.Contains(errOut, "-color=sometimes: want auto, always or never") {
		t.Errorf("-color=sometimes: exit %d, stderr %q", code, errOut)
	}
}

// TestProgress: with ASYNCIFY_PROGRESS=always (as on a terminal), stderr
// carries a progress line redrawn in place ("\r", erase) naming the steps,
// erased before the command's own output; by default, on a buffer, none.
func TestProgress(t *testing.T) {
	t.Chdir("../..")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"./fixtures/tproto"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), "\r") || strings.Contains(stderr.String(), "\x1b") {
		t.Errorf("progress written to a stderr that is not a terminal: %q", stderr.String())
	}
	plainErr := stderr.String()
	t.Setenv("ASYNCIFY_PROGRESS", "always")
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"./fixtures/tproto"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	got := stderr.String()
	for _, want := range []string{"\r\x1b[Kasyncify: loading ./fixtures/tproto (go list) (", "\r\x1b[Kasyncify: type-checking ", "\r\x1b[Kasyncify: rewriting ", "\r\x1b[Kasyncify: verifying: "} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q:\n%q", want, got)
		}
	}
	// the line is erased, and what follows is the plain stderr
	if i := strings.LastIndex(got, "\r\x1b[K"); got[i+len("\r\x1b[K"):] != plainErr {
		t.Errorf("after the progress line, stderr is %q, want %q", got[i+len("\r\x1b[K"):], plainErr)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"detect", "./fixtures/tproto"}, &stdout, &stderr); code != exitOK || !strings.Contains(stderr.String(), "asyncify: analysing ") {
		t.Errorf("detect: exit %d, no progress line: %q", code, stderr.String())
	}
}
