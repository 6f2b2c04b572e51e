package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"go/build/constraint"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/asyncify-dev/asyncify/templates"
)

// Output is the content of a converted package written to a directory of
// its own (asyncify -o): every file of the package, tests included, each
// with the generated-code header, plus the helpers and the runtime, keyed
// by file name. Imports of the upstream package (in its external tests)
// name the copy's import path instead.
func Output(res *Result, upstreamPath, copyPath string) (map[string][]byte, error) {
	out := make(map[string][]byte)
	moves := [][2]string{{upstreamPath, copyPath}}
	for _, ip := range res.Internal {
		moves = append(moves, [2]string{ip.ImportPath, copyPath + "/" + ip.Rel})
	}
	put := func(name string, f File) error {
		src := f.New
		if !bytes.HasPrefix(src, []byte(templates.Header)) {
			src = append([]byte(templates.Header+"\n"+copiedFrom+f.Rel+".\n\n"), src...)
		}
		if res.FileVersion != "" && strings.HasSuffix(name, ".go") && upstreamFile(src) {
			var err error
			if src, err = withFileVersion(src, res.FileVersion); err != nil {
				return fmt.Errorf("%s: %v", f.Path, err)
			}
		}
		for _, m := range moves {
			var err error
			if src, err = replaceImport(f.Path, src, m[0], m[1]); err != nil {
				return err
			}
		}
		out[name] = src
		return nil
	}
	for _, f := range append(res.All[:len(res.All):len(res.All)], res.Ignored...) {
		if err := put(filepath.Base(f.Path), f); err != nil {
			return nil, err
		}
	}
	// The internal packages it imports, which a copy elsewhere could not:
	// under the copy's own internal directory (internal.go).
	for _, ip := range res.Internal {
		for _, f := range ip.Files {
			if err := put(ip.Rel+"/"+filepath.Base(f.Path), f); err != nil {
				return nil, err
			}
		}
	}
	if len(res.All) > 0 {
		for name, src := range licenses(filepath.Dir(res.All[0].Path), res.ModuleDir) {
			if out[name] == nil {
				out[name] = src
			}
		}
	}
	// the folders its tests read (testdata/...)
	for name, src := range res.Data {
		if out[name] != nil {
			return nil, &Error{Errs: []Diag{fileDiag(name, "upstream's data file would be copied where asyncify writes a file of the package (an internal package it imports): not supported")}}
		}
		out[name] = src
	}
	return out, nil
}

// dataFiles returns the files of the subdirectories of the package
// directory dir that hold no Go package, by slash path under dir: the
// files its tests read, which go test expects beside the package
// (testdata/, or a fixtures/ of JSON files, say). A directory the go
// command ignores (testdata, or a name starting with _) is copied whole;
// any other is left out when a Go file or a go.mod is anywhere below it
// (a subpackage, or a nested module, which -o does not convert). Hidden
// directories (.git) and what is not a regular file are left out.
func dataFiles(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte)
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		sub := filepath.Join(dir, name)
		ignored := name == "testdata" || strings.HasPrefix(name, "_")
		files := make(map[string][]byte)
		holdsGo := false
		err := filepath.WalkDir(sub, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != sub && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || strings.ContainsAny(d.Name(), "\n\r") {
				return nil // not a name the record can hold
			}
			if !ignored && (strings.HasSuffix(d.Name(), ".go") || d.Name() == "go.mod") {
				holdsGo = true
				return filepath.SkipAll
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			files[filepath.ToSlash(rel)] = src
			return nil
		})
		if err != nil {
			return nil, err
		}
		if !holdsGo {
			maps.Copy(out, files)
		}
	}
	return out, nil
}

// licenses returns upstream's LICENSE, NOTICE and COPYING files: those of
// the package's directory, or else of the nearest directory above it up
// to the module's root. The output is a modified copy of someone's code.
func licenses(dir, moduleDir string) map[string][]byte {
	for d := dir; ; d = filepath.Dir(d) {
		found := make(map[string][]byte)
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			upper := strings.ToUpper(e.Name())
			if !e.Type().IsRegular() || strings.HasSuffix(upper, ".GO") {
				continue
			}
			for _, prefix := range []string{"LICENSE", "LICENCE", "NOTICE", "COPYING"} {
				if strings.HasPrefix(upper, prefix) {
					if src, err := os.ReadFile(filepath.Join(d, e.Name())); err == nil {
						found[e.Name()] = src
					}
				}
			}
		}
		if len(found) > 0 || d == moduleDir || filepath.Dir(d) == d || !strings.HasPrefix(d, moduleDir) {
			return found
		}
	}
}

func replaceImport(name string, src []byte, from, to string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	var edits []int
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == from {
			edits = append(edits, fset.Position(imp.Path.Pos()).Offset)
		}
	}
	if len(edits) == 0 {
		return src, nil
	}
	var b bytes.Buffer
	last := 0
	for _, off := range edits {
		b.Write(src[last:off])
		b.WriteString(strconv.Quote(to))
		last = off + len(strconv.Quote(from))
	}
	b.Write(src[last:])
	return format.Source(b.Bytes())
}

// ReadGenerated returns the files of dir that asyncify generated (they
// start with the header), by name; others are the user's.
func ReadGenerated(dir string) (generated map[string][]byte, user map[string]bool, err error) {
	generated, user = make(map[string][]byte), make(map[string]bool)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return generated, user, nil
	}
	if err != nil {
		return nil, nil, err
	}
	// The files that carry no header but that the record says asyncify
	// wrote, unedited since: upstream's license, the test data it copied
	// (dataFiles); and the subdirectories it wrote into.
	recorded := make(map[string]string)
	subdirs := map[string]bool{"internal": true} // where -o copies the internal packages the client imports
	if src, err := os.ReadFile(filepath.Join(dir, RecordFile)); err == nil {
		if rec, err := ParseRecord(src); err == nil {
			recorded = rec.Outputs
			for name := range rec.Outputs {
				if first, _, ok := strings.Cut(name, "/"); ok {
					subdirs[first] = true
				}
			}
		}
	}
	for _, e := range entries {
		if e.IsDir() && subdirs[e.Name()] {
			if err := readGeneratedTree(filepath.Join(dir, e.Name()), e.Name()+"/", recorded, generated, user); err != nil {
				return nil, nil, err
			}
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, err
		}
		if bytes.HasPrefix(src, []byte(templates.Header)) || recorded[e.Name()] == Hash(src) {
			generated[e.Name()] = src
		} else {
			user[e.Name()] = true
		}
	}
	return generated, user, nil
}

// readGeneratedTree adds the files under dir to generated or user, named
// prefix + their slash-separated path under dir.
func readGeneratedTree(dir, prefix string, recorded map[string]string, generated map[string][]byte, user map[string]bool) error {
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		name := prefix + filepath.ToSlash(rel)
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(src, []byte(templates.Header)) || recorded[name] == Hash(src) {
			generated[name] = src
		} else {
			user[name] = true
		}
		return nil
	})
}

// Previous returns what dir holds of what asyncify writes there: its
// generated files, and the user's files that are identical to one of
// files (upstream's license, copied by an earlier run).
func Previous(dir string, files map[string][]byte) (map[string][]byte, error) {
	old, user, err := ReadGenerated(dir)
	if err != nil {
		return nil, err
	}
	for name := range user {
		if src, ok := files[name]; ok {
			if cur, err := os.ReadFile(filepath.Join(dir, name)); err == nil && bytes.Equal(cur, src) {
				old[name] = cur
			}
		}
	}
	return old, nil
}

// WriteHook is for tests: when set, it is called before every step of
// WriteDir and WriteInPlace that changes the file system, with the step
// ("mkdir", "create", "write", "link", "rename") and the path it acts on;
// an error it returns fails that step, as a full disk would. (File
// permissions cannot inject such failures: they do not stop root.)
var WriteHook func(op, path string) error

func writeStep(op, path string) error {
	if WriteHook != nil {
		return WriteHook(op, path)
	}
	return nil
}

// WriteDir makes dir's generated files exactly files: new and changed
// ones are written, stale ones removed, the user's files left alone (a
// name clash with one is an error). All or nothing: the new files are
// staged next to dir first, the replaced ones kept aside until every
// move has succeeded, and put back if one fails; directories it had to
// create are removed again.
func WriteDir(dir string, files map[string][]byte) (err error) {
	old, user, err := ReadGenerated(dir)
	if err != nil {
		return err
	}
	var clash []Diag
	for name, src := range files {
		if _, gen := old[name]; !gen && !user[name] && strings.Contains(name, "/") {
			// in a subdirectory ReadGenerated does not read
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				user[name] = true
			}
		}
		if user[name] {
			if cur, err := os.ReadFile(filepath.Join(dir, name)); err == nil && bytes.Equal(cur, src) {
				delete(files, name) // a license copied before: the same
				continue
			}
			clash = append(clash, fileDiag(filepath.Join(dir, name), "exists and was not generated by asyncify; not overwritten"))
		}
	}
	if len(clash) > 0 {
		sortDiags(clash)
		return &Error{Errs: clash}
	}
	// the directories that do not exist yet, deepest first
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	defer func() {
		if err != nil {
			for _, d := range created {
				os.Remove(d) // only if empty: nothing of the user's is lost
			}
		}
	}()
	for i := len(created) - 1; i >= 0; i-- {
		if err := writeStep("mkdir", created[i]); err != nil {
			return err
		}
		if err := os.Mkdir(created[i], 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	if err := writeStep("mkdir", filepath.Dir(dir)); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".asyncify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	backup := filepath.Join(stage, ".old")
	if err := os.Mkdir(backup, 0o755); err != nil {
		return err
	}
	for name, src := range files {
		if bytes.Equal(old[name], src) {
			continue
		}
		if err := writeStep("write", filepath.Join(stage, name)); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(stage, name)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(stage, name), src, 0o644); err != nil {
			return err
		}
	}
	// the subdirectories of dir (internal/...) that do not exist yet, in
	// creation order; removed again if a step fails
	var subdirs []string
	defer func() {
		if err != nil {
			for i := len(subdirs) - 1; i >= 0; i-- {
				os.Remove(subdirs[i])
			}
		}
	}()
	mkdirs := func(d string) error {
		var missing []string
		for ; d != dir && strings.HasPrefix(d, dir); d = filepath.Dir(d) {
			if _, err := os.Lstat(d); err == nil {
				break
			}
			missing = append(missing, d)
		}
		for i := len(missing) - 1; i >= 0; i-- {
			if err := writeStep("mkdir", missing[i]); err != nil {
				return err
			}
			if err := os.Mkdir(missing[i], 0o755); err != nil {
				return err
			}
			subdirs = append(subdirs, missing[i])
		}
		return nil
	}
	type move struct{ from, to string }
	var done []move
	undo := func() {
		for i := len(done) - 1; i >= 0; i-- {
			os.Rename(done[i].to, done[i].from)
		}
	}
	mv := func(from, to string) error {
		err := writeStep("rename", to)
		if err == nil {
			err = os.Rename(from, to)
		}
		if err != nil {
			undo()
			return err
		}
		done = append(done, move{from, to})
		return nil
	}
	var names []string
	for name := range old {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if src, keep := files[name]; keep && bytes.Equal(src, old[name]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(backup, name)), 0o755); err != nil {
			undo()
			return err
		}
		if err := mv(filepath.Join(dir, name), filepath.Join(backup, name)); err != nil {
			return err
		}
	}
	names = names[:0]
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if bytes.Equal(old[name], files[name]) {
			continue
		}
		if err := mkdirs(filepath.Dir(filepath.Join(dir, name))); err != nil {
			undo()
			return err
		}
		if err := mv(filepath.Join(stage, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	// subdirectories that stale files left empty
	for name := range old {
		if _, keep := files[name]; !keep && strings.Contains(name, "/") {
			for d := filepath.Dir(filepath.Join(dir, name)); d != dir && strings.HasPrefix(d, dir); d = filepath.Dir(d) {
				if os.Remove(d) != nil {
					break
				}
			}
		}
	}
	return nil
}

// DirDiff is the diff from dir's previous generated files to files, with
// paths prefix/name.
func DirDiff(prefix string, old, files map[string][]byte) string {
	names := make(map[string]bool)
	for n := range old {
		names[n] = true
	}
	for n := range files {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var b strings.Builder
	for _, n := range sorted {
		o, ok := old[n]
		if ok && o == nil {
			o = []byte{}
		}
		if (isBinary(o) || isBinary(files[n])) && !bytes.Equal(o, files[n]) {
			// upstream's test data (dataFiles): no line diff
			from, to := "a/"+prefix+n, "b/"+prefix+n
			if o == nil {
				from = "/dev/null"
			}
			if files[n] == nil {
				to = "/dev/null"
			}
			fmt.Fprintf(&b, "Binary files %s and %s differ\n", from, to)
			continue
		}
		b.WriteString(UnifiedDiff(prefix+n, o, files[n]))
	}
	return b.String()
}

// isBinary reports whether src is not text: a NUL byte, or not UTF-8.
func isBinary(src []byte) bool {
	return bytes.IndexByte(src, 0) >= 0 || !utf8.Valid(src)
}

// ImportPathOf returns the import path a package in dir would have: the
// path of the module holding dir (its go.mod's module line) joined with
// dir's place in it.
func ImportPathOf(dir string) (string, error) {
	path, _, err := moduleOf(dir)
	return path, err
}

// GoVersionOf returns the Go version ("go1.24") of the module holding dir,
// which the converted code written there must be valid for.
func GoVersionOf(dir string) (string, error) {
	_, v, err := moduleOf(dir)
	if err == nil && v == "" {
		v = "go1.16" // the go command's default for a go.mod without a go line
	}
	return v, err
}

func moduleOf(dir string) (importPath, goVersion string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				switch {
				case len(f) == 2 && f[0] == "module":
					mod, _ := strconv.Unquote(f[1])
					if mod == "" {
						mod = f[1]
					}
					importPath = mod
					if rel, _ := filepath.Rel(d, abs); rel != "." {
						importPath += "/" + filepath.ToSlash(rel)
					}
				case len(f) == 2 && f[0] == "go":
					goVersion = "go" + f[1]
				}
			}
			if importPath == "" {
				return "", "", fmt.Errorf("%s: no module line", filepath.Join(d, "go.mod"))
			}
			return importPath, goVersion, nil
		}
		if filepath.Dir(d) == d {
			return "", "", fmt.Errorf("%s is not inside a module (no go.mod above it)", dir)
		}
	}
}

// WriteInPlace writes the changed and added files of res over the package
// itself (asyncify -w, for a fork the user owns). All or nothing: the new
// contents are written next to their files first, then renamed over them;
// if a rename fails, the files already replaced are restored.
func WriteInPlace(res *Result) error {
	type pending struct{ tmp, path, backup string }
	var todo []pending
	cleanup := func() {
		for _, p := range todo {
			os.Remove(p.tmp)
			if p.backup != "" {
				os.Remove(p.backup)
			}
		}
	}
	for _, f := range res.Files {
		if err := writeStep("create", f.Path); err != nil {
			cleanup()
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".asyncify-")
		if err != nil {
			cleanup()
			return err
		}
		err = writeStep("write", tmp.Name())
		if err == nil {
			_, err = tmp.Write(f.New)
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		p := pending{tmp: tmp.Name(), path: f.Path}
		if err == nil && f.Old != nil {
			// keep the old content aside, for a rollback
			p.backup = tmp.Name() + ".old"
			if err = writeStep("link", p.backup); err == nil {
				err = os.Link(f.Path, p.backup)
			}
		}
		todo = append(todo, p)
		if err != nil {
			cleanup()
			return err
		}
	}
	for i, p := range todo {
		err := writeStep("rename", p.path)
		if err == nil {
			err = os.Rename(p.tmp, p.path)
		}
		if err != nil {
			for _, q := range todo[:i] {
				if q.backup != "" {
					os.Rename(q.backup, q.path)
				} else {
					os.Remove(q.path)
				}
			}
			cleanup()
			return err
		}
	}
	for _, p := range todo {
		if p.backup != "" {
			os.Remove(p.backup)
		}
	}
	return nil
}

// upstreamFile reports whether a file of the output is one of upstream's,
// converted or copied (a vendored package's test comes from the module
// cache copy, not from disk: its Old is nil), rather than asyncify's own.
func upstreamFile(src []byte) bool {
	rest, ok := bytes.CutPrefix(src, []byte(templates.Header+"\n"))
	return ok && (bytes.HasPrefix(rest, []byte(modifiedFrom)) || bytes.HasPrefix(rest, []byte(copiedFrom)))
}

// withFileVersion gives a Go file the language version v with its build
// constraint: "//go:build go1.21", or its own constraint and v
// ("//go:build (linux || darwin) && go1.21"); its // +build lines, which the
// //go:build line then replaces, go. A file's //go:build line may set a
// version older than its module's (go1.21 and later).
func withFileVersion(src []byte, v string) ([]byte, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(string(src[:f.Package-1]), "\n")
	rest := string(src[f.Package-1:])
	var goBuild constraint.Expr
	var plus []constraint.Expr
	at := -1 // where the new line goes
	var kept []string
	for _, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case constraint.IsGoBuild(t):
			if goBuild, err = constraint.Parse(t); err != nil {
				return nil, err
			}
			at = len(kept)
		case constraint.IsPlusBuild(t):
			x, err := constraint.Parse(t)
			if err != nil {
				return nil, err
			}
			plus = append(plus, x)
			if at < 0 {
				at = len(kept)
			}
		default:
			kept = append(kept, line)
		}
	}
	x := goBuild
	if x == nil {
		for _, p := range plus {
			if x == nil {
				x = p
			} else {
				x = &constraint.AndExpr{X: x, Y: p}
			}
		}
	}
	var tag constraint.Expr = &constraint.TagExpr{Tag: v}
	if x != nil {
		tag = &constraint.AndExpr{X: x, Y: tag}
	}
	line := "//go:build " + tag.String() + "\n"
	if at < 0 {
		// after asyncify's header, the file's first paragraph of comments
		at = 0
		for at < len(kept) && strings.TrimSpace(kept[at]) != "" {
			at++
		}
		line = "\n" + line
	}
	out := strings.Join(kept[:at], "") + line + strings.Join(kept[at:], "") + rest
	return format.Source([]byte(out))
}
