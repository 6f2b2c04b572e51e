package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// A package's imports from its own module are analysed from source even when
// the patterns do not name them, and are not reported.
func TestDetectFollowsModulePackages(t *testing.T) {
	t.Chdir("../..")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"detect", "-json", "./fixtures/multipkg"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var report iodetect.Report
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	async := map[string][]string{}
	for _, p := range report.Packages {
		if strings.Contains(p.Path, "internal/") {
			t.Errorf("package %s reported, but the pattern did not match it", p.Path)
		}
		for _, a := range p.Async {
			async[a.Func] = a.Chain
		}
	}
	for _, fn := range []string{"(*Client).Get", "(*Client).Set", "(*Client).call"} {
		chain, ok := async[fn]
		if !ok {
			t.Errorf("%s not async", fn)
			continue
		}
		if !strings.Contains(strings.Join(chain, " -> "), "proto.WriteCommand -> fmt.Fprintf at fixtures/multipkg/internal/proto/proto.go:") {
			t.Errorf("%s: chain %q does not go into the internal package", fn, chain)
		}
	}
}

func TestDetectUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string // in stdout for -h, in stderr otherwise
	}{
		{[]string{"detect", "-h"}, exitOK, "-json"},
		{[]string{"detect"}, exitError, "no package patterns"},
		{[]string{"detect", "-nosuchflag", "./x"}, exitError, "flag provided but not defined"},
		{[]string{"-h"}, exitOK, "asyncify detect"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		out := stderr.String()
		if tc.code == exitOK {
			out = stdout.String()
		}
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("asyncify %s: exit %d, output %q; want exit %d and %q", strings.Join(tc.args, " "), code, out, tc.code, tc.out)
		}
	}
}
