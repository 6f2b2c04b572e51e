package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/asyncify-dev/asyncify/rewrite"
)

const convertSynopsis = "asyncify [-d] [-tests=true] PACKAGE"

// runConvert converts one package and prints the change as a unified diff.
func runConvert(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("asyncify", convertSynopsis, stdout, stderr)
	fs.Bool("d", true, "print the change as a unified diff (the default)")
	tests := fs.Bool("tests", true, "convert the package's _test.go files too, so its tests run the ctx paths")
	if status, done := parseFlags(fs, args, stdout); done {
		return status
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "asyncify: want exactly one package")
		fs.Usage()
		return exitError
	}
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "asyncify:", err)
		return exitError
	}
	res, err := rewrite.Convert(rewrite.Config{Dir: dir, Tests: *tests}, fs.Arg(0))
	if err != nil {
		var re *rewrite.Error
		if errors.As(err, &re) {
			for _, e := range re.Errs {
				fmt.Fprintln(stderr, relativeError(dir, e))
			}
		} else {
			fmt.Fprintln(stderr, "asyncify:", err)
		}
		return exitError
	}
	var out strings.Builder
	for _, f := range res.Files {
		out.WriteString(rewrite.UnifiedDiff(diffPath(dir, res.ModuleDir, f.Path), f.Old, f.New))
	}
	if _, err := io.WriteString(stdout, out.String()); err != nil {
		fmt.Fprintln(stderr, "asyncify:", err)
		return exitError
	}
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, relativeError(dir, n))
	}
	return exitOK
}

// diffPath names a file in the diff: relative to the current directory,
// or for a package outside it, to its module's root.
func diffPath(dir, moduleDir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	if rel, err := filepath.Rel(moduleDir, path); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(path)
}
