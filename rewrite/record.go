package rewrite

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/templates"
)

// RecordFile is the file asyncify -o writes its record into, beside the
// converted package: what was converted (package, module@version, a hash
// of every input file), with which options, and a hash of every file
// written. It is the only generated file that names the input, so that a
// regeneration diff shows upstream's changes and nothing else, and
// asyncify -check reads it to tell stale output, hand edits and changed
// options apart.
//
// It is a Go file with a build tag that no build sets, blank-importing the
// upstream package: go mod tidy, which considers every build tag, then
// keeps the upstream module required after the user's code stops
// importing it, and the next regeneration still has its input.
const RecordFile = "asyncify_record.go"

// recordTag is the build tag that keeps RecordFile out of every build.
const recordTag = "asyncify_upstream"

// Record is the content of RecordFile.
type Record struct {
	Package string // the upstream package's import path
	Name    string // its package name
	// Module is where the input came from: "path version" for a module
	// from the module graph (vendored or in the module cache), "path
	// version => replacement" for a replaced one, "path (main module)"
	// for the user's own module, or "directory D" outside any module.
	Module string
	// Options are what else decides the output, one "name=value" each,
	// sorted: tests, the Go version of the module holding the output,
	// the output's import path, the configuration file's hash.
	Options []string
	Inputs  map[string]string // input file (its name in the package's directory, or a license's) -> hash
	Outputs map[string]string // output file name -> hash; RecordFile itself is not in it
}

// Hash is the hash a record keeps of a file's content.
func Hash(src []byte) string {
	sum := sha256.Sum256(src)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NewRecord is the record of a conversion written as files (RecordFile
// excluded). options are "name=value" strings.
func NewRecord(res *Result, options []string, files map[string][]byte) *Record {
	rec := &Record{
		Package: res.Input.PkgPath,
		Name:    res.Input.Name,
		Module:  res.Input.Module,
		Options: append([]string(nil), options...),
		Inputs:  make(map[string]string),
		Outputs: make(map[string]string),
	}
	sort.Strings(rec.Options)
	for _, f := range append(res.All[:len(res.All):len(res.All)], res.Ignored...) {
		if f.Old != nil && !isGeneratedSource(f.Old) {
			// by name in the package's directory: the same for the module
			// cache's copy and a vendored one
			rec.Inputs[filepath.Base(f.Path)] = Hash(f.Old)
		}
	}
	for path, src := range res.Overlay {
		rec.Inputs[filepath.Base(path)] = Hash(src)
	}
	for name, src := range res.Data {
		rec.Inputs[name] = Hash(src) // testdata/..., by its path
	}
	for _, ip := range res.Internal {
		// copied along under internal/, converted or not (internal.go);
		// not the helpers a conversion adds
		for _, f := range ip.Files {
			if f.Old != nil && !isGeneratedSource(f.Old) {
				rec.Inputs[ip.Rel+"/"+filepath.Base(f.Path)] = Hash(f.Old)
			}
		}
	}
	if len(res.All) > 0 {
		for name, src := range licenses(filepath.Dir(res.All[0].Path), res.ModuleDir) {
			rec.Inputs[name] = Hash(src)
		}
	}
	for name, src := range files {
		if name != RecordFile {
			rec.Outputs[name] = Hash(src)
		}
	}
	return rec
}

func isGeneratedSource(src []byte) bool { return bytes.HasPrefix(src, []byte(templates.Header)) }

// Source is RecordFile's content: deterministic, gofmt'd.
func (r *Record) Source(copyPath string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n//go:build %s\n\n", templates.Header, recordTag)
	b.WriteString("// asyncify's record of how this package was generated, which\n")
	b.WriteString("// \"asyncify -check\" compares with what it would generate now.\n")
	imp := importable(r.Package, r.Name, copyPath)
	if imp {
		b.WriteString("// The import keeps the upstream package required by go.mod (go mod tidy\n")
		b.WriteString("// sees every build tag), so that the next regeneration has its input;\n")
		b.WriteString("// the build tag keeps this file out of every build.\n")
	}
	b.WriteString("//\n")
	line := func(key, value string) { fmt.Fprintf(&b, "// asyncify:%s %s\n", key, value) }
	line("package", r.Package)
	line("module", r.Module)
	for _, o := range r.Options {
		line("option", o)
	}
	for _, name := range sortedKeys(r.Inputs) {
		line("input", name+" "+r.Inputs[name])
	}
	for _, name := range sortedKeys(r.Outputs) {
		line("output", name+" "+r.Outputs[name])
	}
	fmt.Fprintf(&b, "\npackage %s\n", r.Name)
	if imp {
		fmt.Fprintf(&b, "\nimport _ %q\n", r.Package)
	}
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		panic(fmt.Sprintf("asyncify: formatting the record: %v\n%s", err, b.String()))
	}
	return src
}

// importable reports whether the output package at copyPath may import
// the upstream package pkg: not itself, not a command, and not an
// internal package it cannot see.
func importable(pkg, name, copyPath string) bool {
	if pkg == "" || pkg == copyPath || name == "main" {
		return false
	}
	elems := strings.Split(pkg, "/")
	for i, e := range elems {
		if e == "internal" {
			parent := strings.Join(elems[:i], "/")
			if copyPath != parent && !strings.HasPrefix(copyPath, parent+"/") {
				return false
			}
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseRecord reads a RecordFile's content.
func ParseRecord(src []byte) (*Record, error) {
	if !isGeneratedSource(src) {
		return nil, fmt.Errorf("not generated by asyncify")
	}
	r := &Record{Inputs: make(map[string]string), Outputs: make(map[string]string)}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		rest, ok := strings.CutPrefix(sc.Text(), "// asyncify:")
		if !ok {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "package" {
				r.Name = f[1]
			}
			continue
		}
		key, value, _ := strings.Cut(rest, " ")
		switch key {
		case "package":
			r.Package = value
		case "module":
			r.Module = value
		case "option":
			r.Options = append(r.Options, value)
		case "input", "output":
			// the hash has no space; a name may (testdata/a b.txt)
			i := strings.LastIndex(value, " ")
			name, hash, ok := value[:max(i, 0)], value[i+1:], i > 0
			if !ok {
				return nil, fmt.Errorf("line %d: %s: want NAME HASH", n, key)
			}
			if key == "input" {
				r.Inputs[name] = hash
			} else {
				r.Outputs[name] = hash
			}
		default:
			return nil, fmt.Errorf("line %d: unknown key asyncify:%s", n, key)
		}
	}
	if r.Package == "" {
		return nil, fmt.Errorf("no asyncify:package line")
	}
	return r, nil
}

// Finding is one reason a -check failed.
type Finding struct {
	Kind string // "stale", "edited", "options", "record", "converter"
	// Msg says what was found, and what to do.
	Msg string
}

// CheckDir says why dir, which the conversion recorded as want would
// write, differs from it: the input changed since dir was generated
// (stale), one of its files was edited by hand (edited, one finding per
// file), the options changed, dir has no usable record, or else the
// converter itself writes something else now. display names dir in
// messages.
func CheckDir(dir, display string, want *Record) []Finding {
	var out []Finding
	src, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if err != nil {
		return []Finding{{"record", fmt.Sprintf("%s: no record (%s): not written by asyncify -o, or the record was removed; regenerate", display, RecordFile)}}
	}
	old, err := ParseRecord(src)
	if err != nil {
		return []Finding{{"record", fmt.Sprintf("%s: %s: %v; regenerate", display, RecordFile, err)}}
	}
	// hand edits: the record itself, then the files that differ from what
	// the record says was written
	into := ""
	for _, o := range old.Options {
		if v, ok := strings.CutPrefix(o, "into="); ok {
			into = v
		}
	}
	if !bytes.Equal(old.Source(into), src) {
		out = append(out, Finding{"edited", fmt.Sprintf("%s: edited by hand since asyncify wrote it", filepath.Join(display, RecordFile))})
	}
	for _, name := range sortedKeys(old.Outputs) {
		cur, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case err != nil:
			out = append(out, Finding{"edited", fmt.Sprintf("%s: removed by hand since asyncify wrote it", filepath.Join(display, name))})
		case Hash(cur) != old.Outputs[name]:
			out = append(out, Finding{"edited", fmt.Sprintf("%s: edited by hand since asyncify wrote it; regenerating discards the edit (change upstream, or the configuration, instead)", filepath.Join(display, name))})
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if _, ok := old.Outputs[name]; ok || name == RecordFile || !e.Type().IsRegular() {
			continue
		}
		if cur, err := os.ReadFile(filepath.Join(dir, name)); err == nil && isGeneratedSource(cur) {
			out = append(out, Finding{"edited", fmt.Sprintf("%s: carries asyncify's header but is not in the record: added by hand?", filepath.Join(display, name))})
		}
	}
	// the input
	var changed []string
	for _, name := range sortedKeys(want.Inputs) {
		if h, ok := old.Inputs[name]; !ok {
			changed = append(changed, name+" (new)")
		} else if h != want.Inputs[name] {
			changed = append(changed, name)
		}
	}
	for _, name := range sortedKeys(old.Inputs) {
		if _, ok := want.Inputs[name]; !ok {
			changed = append(changed, name+" (removed)")
		}
	}
	if old.Package != want.Package || old.Module != want.Module || len(changed) > 0 {
		var what []string
		if old.Package != want.Package {
			what = append(what, fmt.Sprintf("package %s, was %s", want.Package, old.Package))
		}
		if old.Module != want.Module {
			what = append(what, fmt.Sprintf("module %s, was %s", want.Module, old.Module))
		}
		if len(changed) > 0 {
			what = append(what, "files changed: "+strings.Join(changed, ", "))
		}
		out = append(out, Finding{"stale", fmt.Sprintf("%s: stale: the input changed since it was generated (%s); regenerate", display, strings.Join(what, "; "))})
	}
	// the options
	if o, w := strings.Join(old.Options, " "), strings.Join(want.Options, " "); o != w {
		out = append(out, Finding{"options", fmt.Sprintf("%s: options changed since it was generated: %s, was %s; regenerate", display, diffOptions(want.Options, old.Options), diffOptions(old.Options, want.Options))})
	}
	if len(out) == 0 {
		out = append(out, Finding{"converter", fmt.Sprintf("%s: same input and options, but asyncify now writes something else (another version of asyncify?); regenerate", display)})
	}
	return out
}

// diffOptions lists the options of a not in b, or "none".
func diffOptions(a, b []string) string {
	in := make(map[string]bool)
	for _, o := range b {
		in[o] = true
	}
	var out []string
	for _, o := range a {
		if !in[o] {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " ")
}

// inputOf names the package a conversion reads, for the record: its
// module from the module graph (or vendor/modules.txt, which the go
// command reads for a vendored one), or its directory's name outside any
// module.
func inputOf(l *iodetect.Loaded) Input {
	in := Input{PkgPath: l.Pkg.PkgPath, Name: l.Pkg.Name}
	m := l.Pkg.Module
	switch {
	case m == nil:
		in.Module = "directory " + filepath.Base(filepath.Dir(l.Pkg.GoFiles[0]))
	case m.Main:
		in.Module = m.Path + " (main module)"
	default:
		in.Module = m.Path + " " + m.Version
		if r := m.Replace; r != nil {
			in.Module += " => " + strings.TrimSpace(r.Path+" "+r.Version)
		}
	}
	return in
}

// vendoredModuleRoot is the directory of module modPath under the vendor
// directory holding pkgDir (vendor/github.com/x/y for a package in
// vendor/github.com/x/y/sub), or "" when pkgDir is not vendored: the go
// command gives a vendored package's module no directory, and file names
// relative to the module's root must not depend on vendoring.
func vendoredModuleRoot(pkgDir, modPath string) string {
	for d := pkgDir; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if filepath.Base(d) == "vendor" {
			root := filepath.Join(d, filepath.FromSlash(modPath))
			if root == pkgDir || strings.HasPrefix(pkgDir, root+string(filepath.Separator)) {
				return root
			}
			return ""
		}
	}
	return ""
}
