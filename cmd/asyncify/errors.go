package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/rewrite"
)

// relativeError shortens the file name that starts a "file:line:col: msg"
// error to one relative to dir, when the file is inside dir.
func relativeError(dir, msg string) string {
	if !filepath.IsAbs(msg) {
		return msg
	}
	i := strings.Index(msg, ":")
	if i < 0 {
		return msg
	}
	if rel, ok := relativeTo(dir, msg[:i]); ok {
		return rel + msg[i:]
	}
	return msg
}

// relativeTo is name relative to dir, when name is an absolute path inside
// dir.
func relativeTo(dir, name string) (string, bool) {
	if !filepath.IsAbs(name) {
		return name, false
	}
	rel, err := filepath.Rel(dir, name)
	if err != nil || strings.HasPrefix(rel, "..") {
		return name, false
	}
	return rel, true
}

// printDiags prints diagnostics one per line, their file names relative to
// dir when inside it.
func printDiags(w io.Writer, dir string, ds []rewrite.Diag) {
	for _, d := range ds {
		d.Pos.Filename, _ = relativeTo(dir, d.Pos.Filename)
		fmt.Fprintln(w, d)
	}
}

// reportError prints why a command failed: a conversion's refusal
// (rewrite.Error) or the go command's loading errors (iodetect.LoadError),
// one per line with file names relative to dir; anything else as
// "name: err".
func reportError(w io.Writer, dir, name string, err error) {
	var re *rewrite.Error
	var le *iodetect.LoadError
	switch {
	case errors.As(err, &re):
		printDiags(w, dir, re.Errs)
	case errors.As(err, &le):
		for _, e := range le.Errs {
			fmt.Fprintln(w, relativeError(dir, e))
		}
	default:
		fmt.Fprintln(w, name+":", err)
	}
}
