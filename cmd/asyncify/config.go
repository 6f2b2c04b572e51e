package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/rewrite"
)

// configFlagHelp is the -config flag's help, shared by the commands.
const configFlagHelp = "read rules from `FILE` (default: " + rewrite.ConfigFile + " in the -o directory, or in the current directory; see docs/reference.md)"

// loadConfig reads the configuration: the file -config names, else
// asyncify.conf in defaultDir when there is one. option is what the record
// keeps of it ("" for none).
func loadConfig(flagValue, defaultDir, cwd string, stderr io.Writer) (ov *iodetect.Overrides, option string, ok bool) {
	path, required := flagValue, flagValue != ""
	if path == "" {
		path = filepath.Join(defaultDir, rewrite.ConfigFile)
	}
	display := path
	if abs, err := filepath.Abs(path); err == nil {
		display = diffPath(cwd, cwd, abs)
	}
	ov, src, err := rewrite.LoadConfig(path, display, required)
	if err != nil {
		reportError(stderr, "", "asyncify", err)
		return nil, "", false
	}
	if src != nil {
		option = "config=" + rewrite.Hash(src)
	}
	return ov, option, true
}

// reportUnmatched prints the rules that applied to nothing.
func reportUnmatched(ov *iodetect.Overrides, stderr io.Writer) {
	for _, m := range rewrite.UnmatchedRules(ov) {
		fmt.Fprintln(stderr, m)
	}
}

func getwd(stderr io.Writer, cmd string) (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return "", false
	}
	return dir, true
}
