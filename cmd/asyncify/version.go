package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// runVersion prints asyncify's version (its module version when installed
// with go install, "devel" in a checkout) and the Go toolchain it was built
// with. It takes no arguments: -h prints its usage, anything else is an
// error.
func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			fmt.Fprintln(stdout, "usage: asyncify version\n\nPrints asyncify's version, the Go toolchain it was built with, and GOOS/GOARCH.")
			return exitOK
		}
		fmt.Fprintf(stderr, "asyncify version: unexpected argument %q\nusage: asyncify version\n", args[0])
		return exitError
	}
	version := "devel"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		version = info.Main.Version
	}
	fmt.Fprintf(stdout, "asyncify %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
