package main

import (
	"fmt"
	"io"
	"os"

	"github.com/asyncify-dev/asyncify/iodetect"
)

func runDetect(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("detect", "asyncify detect [-json] [-tests=true] [-config FILE] PATTERN...", stdout, stderr)
	jsonOut := fs.Bool("json", false, "print the report as JSON (schema: docs/detect-json.md)")
	tests := fs.Bool("tests", true, "include the packages' _test.go files (their fake servers are reported as server side)")
	configFile := fs.String("config", "", configFlagHelp)
	if status, done := parseFlags(fs, args, stdout); done {
		return status
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "asyncify detect: no package patterns given")
		fs.Usage()
		return exitError
	}
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "asyncify detect:", err)
		return exitError
	}
	ov, _, ok := loadConfig(*configFile, dir, dir, stderr)
	if !ok {
		return exitError
	}
	prog := startProgress(stderr, progressEnabled(stderr))
	lcfg := iodetect.LoadConfig{Dir: dir, Tests: *tests, Overrides: ov}
	if prog != nil {
		lcfg.Progress = prog.set
	}
	loaded, err := iodetect.Load(lcfg, fs.Args()...)
	prog.end()
	if err != nil {
		reportError(stderr, dir, "asyncify detect", err)
		return exitError
	}
	pkgs := make([]*iodetect.Package, len(loaded))
	for i, l := range loaded {
		pkgs[i] = l.Package
	}
	report := iodetect.NewReport(pkgs, iodetect.Relative(dir))
	if *jsonOut {
		err = report.WriteJSON(stdout)
	} else {
		err = report.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "asyncify detect:", err)
		return exitError
	}
	reportUnmatched(ov, stderr)
	return exitOK
}
