package rewrite

import (
	"path/filepath"

	"github.com/asyncify-dev/asyncify/templates"
	"github.com/dave/dst"
)

// addHeader starts a modified file with the generated-code header and the
// upstream file it was modified from (relative to its module's root), once.
func (r *pkgRewriter) addHeader(df *dst.File, name string) {
	if len(df.Decs.Start) > 0 && df.Decs.Start[0] == templates.Header {
		return
	}
	rel, err := filepath.Rel(r.c.moduleDir, name)
	if err != nil {
		rel = filepath.Base(name)
	}
	df.Decs.Start.Prepend(templates.Header, modifiedFrom+filepath.ToSlash(rel)+".", "\n")
}

// The second line of the header of upstream's files in the output: a
// converted file, and one -o copies as it is (output.go). upstreamFile
// tells them from asyncify's own files by it.
const (
	modifiedFrom = "// Modified by asyncify from "
	copiedFrom   = "// Copied by asyncify from "
)
