package main

import (
	"path/filepath"
	"strings"
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
	if rel, err := filepath.Rel(dir, msg[:i]); err == nil && !strings.HasPrefix(rel, "..") {
		return rel + msg[i:]
	}
	return msg
}
