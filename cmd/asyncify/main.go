// Command asyncify turns a synchronous network client package into a
// context-aware, future-returning, pipelined one.
//
// Usage:
//
//	asyncify [-d | -w | -o DIR [-check]] [-tests=true] PACKAGE
//	asyncify detect [-json] [-tests=true] [-config FILE] PATTERN...
//	asyncify explain [-tests=true] [-config FILE] PACKAGE NAME
//	asyncify explain -json [-tests=true] [-config FILE] PACKAGE
//	asyncify version
//	go vet -vettool=$(which asyncify) PACKAGES
//
// Run "asyncify -h" or "asyncify detect -h" for details.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit statuses.
const (
	exitOK    = 0
	exitDiff  = 1 // -check found a difference
	exitError = 2
)

func main() {
	if vetInvocation(os.Args[1:]) {
		vet()
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, for tests: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "detect":
			return runDetect(args[1:], stdout, stderr)
		case "explain":
			return runExplain(args[1:], stdout, stderr)
		case "version":
			return runVersion(args[1:], stdout, stderr)
		case "help", "-h", "-help", "--help":
			usage(stdout)
			return exitOK
		default:
			return runConvert(args, stdout, stderr)
		}
	}
	usage(stderr)
	return exitError
}

func usage(w io.Writer) {
	fmt.Fprint(w, `asyncify turns a synchronous network client package into a context-aware one.

Usage:

	asyncify [-d | -w | -o DIR [-check]] [-tests=true] [-config FILE] [-color=auto] PACKAGE
	asyncify detect [-json] [-tests=true] [-config FILE] PATTERN...
	asyncify explain [-tests=true] [-config FILE] PACKAGE NAME
	asyncify explain -json [-tests=true] [-config FILE] PACKAGE
	asyncify version

Without a command, asyncify converts PACKAGE into a context-aware one and
prints the change as a unified diff that git apply accepts.

Commands:

	detect    list the sites where the packages block on a connection (and
	          their other blocking calls), and the functions that must become
	          context-aware, each with the chain of calls that explains why
	explain   say why one function is async, whether its operation is
	          pipelined or exclusive and why, and how the rewrite changes it
	version   print asyncify's version and the Go toolchain it was built with

As a vet tool, "go vet -vettool=$(which asyncify) PACKAGES" reports the
packages' blocking sites like any other vet check.

Patterns are resolved like the go command's (import paths, ./dir, ./...),
from the current directory's module. Run "asyncify detect -h" for its flags.

With -o, asyncify also writes DIR/asyncify_record.go: the input
(module@version), the options and a hash of every file, read by -check to
say whether DIR is stale (the input changed), edited by hand, or was made
with other options.

Rules in asyncify.conf (in DIR with -o, else in the current directory; or
-config FILE) leave functions sync, force them async, set their mode, add
connections and blocking calls. docs/reference.md describes every flag,
rule and exit status.

Exit status: 0 on success, 1 when -check found a difference, 2 on error (a
package that does not load or type-check is refused with its own
file:line:col errors).
`)
}

// newFlagSet makes a flag set whose -h prints usage to stdout and exits 0,
// and whose errors go to stderr.
func newFlagSet(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; done is true when the command must stop with
// status. -h prints the usage once, on stdout; a bad flag prints its error
// and the usage on stderr.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (status int, done bool) {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return exitOK, true
	case err != nil:
		fs.Usage()
		return exitError, true
	}
	return exitOK, false
}
