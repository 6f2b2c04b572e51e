package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"path/filepath"
	"strings"

	"github.com/asyncify-dev/asyncify/iodetect"
	"github.com/asyncify-dev/asyncify/rewrite"
)

const explainSynopsis = "asyncify explain [-tests=true] [-config FILE] PACKAGE NAME\n       asyncify explain -json [-tests=true] [-config FILE] PACKAGE"

// runExplain says why one function is async (its chain down to a socket
// site), whether its operation is pipelined or exclusive and why, which
// sites its body holds, and how the rewrite changes it: the converter runs,
// and the function's part of the diff is shown.
func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", explainSynopsis, stdout, stderr)
	tests := fs.Bool("tests", true, "analyse and convert the package with its _test.go files, as asyncify does by default")
	configFile := fs.String("config", "", configFlagHelp)
	asJSON := fs.Bool("json", false, "print the conversion's whole plan as JSON (docs/reference.md, \"The plan\") instead of explaining one function")
	if status, done := parseFlags(fs, args, stdout); done {
		return status
	}
	if *asJSON && fs.NArg() != 1 {
		fmt.Fprintln(stderr, "asyncify explain -json: want a package")
		fs.Usage()
		return exitError
	}
	if !*asJSON && fs.NArg() != 2 {
		fmt.Fprintln(stderr, "asyncify explain: want a package and a function name, as detect names it: F, (*T).M, T.M")
		fs.Usage()
		return exitError
	}
	dir, ok := getwd(stderr, "asyncify explain")
	if !ok {
		return exitError
	}
	ov, _, ok := loadConfig(*configFile, dir, dir, stderr)
	if !ok {
		return exitError
	}
	cfg := rewrite.Config{Dir: dir, Tests: *tests, Overrides: ov}
	// explained as asyncify -o would convert it into the current module
	if v, err := rewrite.GoVersionOf(dir); err == nil {
		cfg.GoVersion = v
	}
	res, ok := convertReporting(cfg, fs.Arg(0), "asyncify explain", dir, stderr)
	if !ok {
		return exitError
	}
	reportUnmatched(ov, stderr)
	if *asJSON {
		return printPlan(res.Plan, stdout, stderr)
	}
	facts := res.Facts
	fn, msg := findFunc(facts, fs.Arg(1))
	if fn == nil && res.XFacts != nil {
		if xfn, _ := findFunc(res.XFacts, fs.Arg(1)); xfn != nil {
			facts, fn = res.XFacts, xfn
		}
	}
	if fn == nil {
		fmt.Fprintf(stderr, "asyncify explain: %s\n", msg)
		return exitError
	}
	rel := iodetect.Relative(dir)
	var b strings.Builder
	explain(&b, res, facts, fn, rel)
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		fmt.Fprintln(stderr, "asyncify explain:", err)
		return exitError
	}
	return exitOK
}

// findFunc finds the function detect names name, or one whose name ends
// with ".name" when only one does.
func findFunc(p *iodetect.Package, name string) (*iodetect.Func, string) {
	var suffix []*iodetect.Func
	for _, fn := range p.Funcs {
		if fn.Name == name {
			return fn, ""
		}
		if strings.HasSuffix(fn.Name, "."+name) {
			suffix = append(suffix, fn)
		}
	}
	if len(suffix) == 1 {
		return suffix[0], ""
	}
	if len(suffix) > 1 {
		var names []string
		for _, fn := range suffix {
			names = append(names, fn.Name)
		}
		return nil, fmt.Sprintf("%s names several functions of %s: %s", name, p.Path, strings.Join(names, ", "))
	}
	return nil, fmt.Sprintf("%s: no such function in %s (name it as detect does: F, (*T).M, T.M)", name, p.Path)
}

func explain(b *strings.Builder, res *rewrite.Result, facts *iodetect.Package, fn *iodetect.Func, rel func(token.Position) string) {
	if !fn.Async {
		if fn.Rule != nil && fn.Rule.Verb == iodetect.RuleSync {
			fmt.Fprintf(b, "%s: %s is left sync by the configuration at %s.\n", rel(fn.Pos), fn.Name, fn.Rule.Pos)
		} else {
			fmt.Fprintf(b, "%s: %s is not async: neither it nor anything it calls reads or writes a client connection.\n", rel(fn.Pos), fn.Name)
		}
		return
	}
	fmt.Fprintf(b, "%s: %s is async.\n\n", rel(fn.Pos), fn.Name)
	fmt.Fprintf(b, "Why: %s\n", strings.Join(fn.Chain(rel), " -> "))
	if len(fn.Implements) > 0 {
		fmt.Fprintf(b, "Its signature cannot change: it implements %s.\n", strings.Join(fn.Implements, ", "))
	}
	b.WriteString("\nMode: ")
	switch {
	case fn.ModeRule != nil:
		fmt.Fprintf(b, "%s, set by the configuration at %s.\n", fn.Mode, fn.ModeRule.Pos)
	case fn.Mode == iodetect.Exclusive:
		fmt.Fprintf(b, "exclusive: %s at %s writes after %s at %s read; each round depends on the reply to the one before, so no other exchange may come between them and the operation holds its connection alone.\n",
			fn.ModeWrite.Callee, rel(fn.ModeWrite.Pos), fn.ModeRead.Callee, rel(fn.ModeRead.Pos))
	case len(facts.Readers) > 0:
		fmt.Fprintf(b, "the client's own: its replies come from the package's reader goroutine (%s), which already multiplexes the connection; asyncify bounds the wait for the reply with ctx and shares nothing.\n", facts.Readers[0].Func.Name)
	case res.Share != nil && !res.Share.Shared:
		b.WriteString("pipelined: its exchange is one round of writes, then reads (it could share a connection with other operations, but the package's connections are not shared: see below).\n")
	case res.Share == nil:
		b.WriteString("pipelined: its exchange is one round of writes, then reads; this conversion shares no connection.\n")
	default:
		b.WriteString("pipelined: its exchange is one round of writes, then reads, so it can share a connection with other operations.\n")
	}
	explainShare(b, res.Share, rel)
	explainPlan(b, res.Plan, fn)

	decl := enclosingDecl(facts, fn)
	var rw *rewritten
	if decl != nil {
		rw = rewriteOf(res, facts.Fset, decl)
	}
	b.WriteString("\nSites in its body:\n")
	n := 0
	for _, s := range facts.Sites {
		if !inside(facts.Fset, decl, fn, s) {
			continue
		}
		fmt.Fprintf(b, "\t%s: %s: %s", rel(s.Pos), s.Kind, s.Callee)
		if s.On != "" {
			fmt.Fprintf(b, " on %s", s.On)
		}
		if s.Func != fn {
			fmt.Fprintf(b, " in %s", s.Func.Name)
		}
		if !s.Seeds() {
			b.WriteString(" (reported; not socket I/O)")
		}
		b.WriteByte('\n')
		if rw != nil {
			if repl, changed := rw.lineFate(s.Pos.Line); !changed {
				b.WriteString("\t\tits line is unchanged\n")
			} else if len(repl) == 0 {
				b.WriteString("\t\tits line is removed\n")
			} else {
				for i, l := range repl {
					prefix := "\t\tbecomes: "
					if i > 0 {
						prefix = "\t\t         "
					}
					b.WriteString(prefix + strings.TrimSpace(l) + "\n")
				}
			}
		}
		n++
	}
	if n == 0 {
		b.WriteString("\tnone: it is async through what it calls\n")
	}
	if rw != nil {
		rw.write(b, rel)
		explainNotes(b, res, facts.Fset, decl, rel)
	}
}

// explainShare says whether the package shares the connections it dials,
// and which evidence (or rule) decided.
func explainShare(b *strings.Builder, d *rewrite.ShareDecision, rel func(token.Position) string) {
	if d == nil {
		return
	}
	b.WriteString("\nConnections: ")
	switch {
	case d.Rule != nil && d.Shared:
		fmt.Fprintf(b, "shared: the configuration at %s says share %s, over the evidence against it:\n", d.Rule.Pos, d.Rule.Name)
	case d.Rule != nil:
		fmt.Fprintf(b, "not shared: the configuration at %s says noshare %s.\n", d.Rule.Pos, d.Rule.Name)
	case d.Shared:
		fmt.Fprintf(b, "shared: %s. A method's dials share among its receiver's calls; a function's dials get a connection of their own at each call, unless a share rule names the function.\n", d.Why)
	case d.Pos.IsValid():
		fmt.Fprintf(b, "not shared (one physical connection per dial, as upstream): %s: %s.\n", rel(d.Pos), d.Why)
	default:
		fmt.Fprintf(b, "not shared: %s.\n", d.Why)
	}
	if len(d.Evidence) == 0 || !d.Shared && d.Rule == nil && !evidenceDecided(d) {
		return
	}
	if !d.Shared {
		b.WriteString("The evidence against sharing:\n")
	}
	for _, e := range d.Evidence {
		fmt.Fprintf(b, "\t%s: %s: %s\n", rel(e.Pos), e.Kind, e.Why)
	}
}

// evidenceDecided reports whether the detector's evidence (rather than a
// connection handed to another package) kept the connections unshared.
func evidenceDecided(d *rewrite.ShareDecision) bool {
	return len(d.Evidence) > 0 && d.Pos == d.Evidence[0].Pos && d.Why == d.Evidence[0].Why
}

// explainNotes lists the converter's notes (calls left not cancellable,
// say) about lines of decl.
func explainNotes(b *strings.Builder, res *rewrite.Result, fset *token.FileSet, decl *ast.FuncDecl, rel func(token.Position) string) {
	from, to := fset.Position(decl.Pos()), fset.Position(decl.End())
	var notes []string
	for _, n := range res.Notes {
		if n.Pos.Filename != from.Filename {
			continue
		}
		if from.Line <= n.Pos.Line && n.Pos.Line <= to.Line {
			notes = append(notes, rel(n.Pos)+": "+n.Msg)
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nNotes from the rewrite:\n")
		for _, n := range notes {
			b.WriteString("\t" + n + "\n")
		}
	}
}

// enclosingDecl is fn's declaration, or the one holding the literal fn.
func enclosingDecl(p *iodetect.Package, fn *iodetect.Func) *ast.FuncDecl {
	if fn.Decl != nil {
		return fn.Decl
	}
	for _, g := range p.Funcs {
		if g.Decl != nil && fn.Lit != nil && g.Decl.Pos() <= fn.Lit.Pos() && fn.Lit.End() <= g.Decl.End() {
			return g.Decl
		}
	}
	return nil
}

// inside reports whether the site is in fn's body (with its literals).
func inside(fset *token.FileSet, decl *ast.FuncDecl, fn *iodetect.Func, s *iodetect.Site) bool {
	switch {
	case fn.Lit != nil:
		return fn.Lit.Pos() <= s.Node.Pos() && s.Node.End() <= fn.Lit.End()
	case decl != nil:
		return decl.Pos() <= s.Node.Pos() && s.Node.End() <= decl.End()
	}
	return s.Func == fn
}

// rewritten is a declaration as the converter leaves it: its lines in the
// input against the declarations of that name (and its Context and Async
// forms) in the output.
type rewritten struct {
	pos       token.Position // the declaration's, in the input
	firstLine int            // the input line the old text starts at
	name      string
	old, new  string
	forms     []string
	diff      string // from old to new; "" when unchanged
}

func rewriteOf(res *rewrite.Result, fset *token.FileSet, decl *ast.FuncDecl) *rewritten {
	pos := fset.Position(decl.Pos())
	var file *rewrite.File
	for i := range res.All {
		if res.All[i].Path == pos.Filename {
			file = &res.All[i]
		}
	}
	if file == nil || file.Old == nil {
		return nil
	}
	start := decl.Pos()
	if decl.Doc != nil {
		start = decl.Doc.Pos()
	}
	rw := &rewritten{pos: pos, firstLine: fset.Position(start).Line, name: decl.Name.Name}
	rw.old = string(file.Old[fset.Position(start).Offset:fset.Position(decl.End()).Offset])
	recv := recvName(decl)
	nfset := token.NewFileSet()
	nf, err := parser.ParseFile(nfset, pos.Filename, file.New, parser.ParseComments)
	if err != nil {
		return nil
	}
	var parts []string
	for _, d := range nf.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || recvName(fd) != recv {
			continue
		}
		switch fd.Name.Name {
		// F, its Context and Async forms, and the body an operation runs
		// (fContext), when the rewrite moved it there
		case rw.name, rw.name + "Context", rw.name + "Async", strings.ToLower(rw.name[:1]) + rw.name[1:] + "Context":
			s := fd.Pos()
			if fd.Doc != nil {
				s = fd.Doc.Pos()
			}
			parts = append(parts, string(file.New[nfset.Position(s).Offset:nfset.Position(fd.End()).Offset]))
			rw.forms = append(rw.forms, fd.Name.Name)
		}
	}
	rw.new = strings.Join(parts, "\n\n")
	if rw.old != rw.new {
		rw.diff = rewrite.UnifiedDiff(filepath.Base(pos.Filename), []byte(rw.old+"\n"), []byte(rw.new+"\n"))
	}
	return rw
}

// lineFate says what became of an input line of the declaration: changed,
// and the lines that replace it.
func (rw *rewritten) lineFate(line int) (repl []string, changed bool) {
	want := line - rw.firstLine + 1 // in the old text
	oldLine := 0
	lines := strings.Split(rw.diff, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "@@"):
			fmt.Sscanf(l, "@@ -%d", &oldLine)
		case strings.HasPrefix(l, "---") || strings.HasPrefix(l, "+++") || l == "":
		case l[0] == ' ':
			oldLine++
		case l[0] == '-':
			if oldLine == want {
				j := i + 1
				for j < len(lines) && strings.HasPrefix(lines[j], "-") {
					j++
				}
				for ; j < len(lines) && strings.HasPrefix(lines[j], "+"); j++ {
					repl = append(repl, lines[j][1:])
				}
				return repl, true
			}
			oldLine++
		}
	}
	return nil, false
}

func (rw *rewritten) write(b *strings.Builder, rel func(token.Position) string) {
	fmt.Fprintf(b, "\nRewritten (%s):\n", rel(rw.pos))
	if rw.diff == "" {
		b.WriteString("\tunchanged: it keeps its signature (a callback it is handed captures ctx where it is created)\n")
		return
	}
	if len(rw.forms) > 1 {
		fmt.Fprintf(b, "\t%s keeps its signature and calls %sContext with context.Background(); %s\n", rw.name, rw.name, apiForms(rw.name, rw.forms))
	}
	for i, line := range strings.SplitAfter(rw.diff, "\n") {
		switch {
		case i < 2 || line == "":
			continue // the --- and +++ lines
		case strings.HasPrefix(line, "@@"):
			if i > 2 {
				b.WriteString("\t...\n")
			}
			continue
		}
		b.WriteString("\t" + line)
	}
}

// apiForms says which forms the exported function gained.
func apiForms(name string, forms []string) string {
	has := make(map[string]bool)
	for _, f := range forms {
		has[f] = true
	}
	var parts []string
	if has[name+"Context"] {
		parts = append(parts, name+"Context takes ctx first")
	}
	if has[name+"Async"] {
		parts = append(parts, name+"Async starts the call and returns a *Future")
	}
	return strings.Join(parts, "; ") + "."
}

// recvName is the name of a method's receiver type, "" for a function.
// Its loop is shaped like rewrite's unwrapFun, which strips a call's
// function instead (no pointers there, and in another package).
func recvName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.ParenExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// printPlan prints the plan as indented JSON; a package with nothing to
// convert has an empty one.
func printPlan(p *rewrite.Plan, stdout, stderr io.Writer) int {
	if p == nil {
		p = &rewrite.Plan{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	err := enc.Encode(p)
	if err == nil {
		_, err = stdout.Write(b.Bytes())
	}
	if err != nil {
		fmt.Fprintln(stderr, "asyncify explain:", err)
		return exitError
	}
	return exitOK
}

// explainPlan says what the plan (explain -json) decided for fn: its
// signature, where its ctx comes from, the forms it gains.
func explainPlan(b *strings.Builder, p *rewrite.Plan, fn *iodetect.Func) {
	if p == nil {
		return
	}
	for _, f := range p.Funcs {
		if f.Name != fn.Name {
			continue
		}
		fmt.Fprintf(b, "\nPlan: signature %s; its ctx: %s", f.Signature, f.Ctx)
		if f.Why != "" {
			fmt.Fprintf(b, " (%s)", f.Why)
		}
		if f.Context != "" {
			fmt.Fprintf(b, "; Context form %s", f.Context)
		}
		switch {
		case f.Async != "":
			fmt.Fprintf(b, "; future form %s", f.Async)
		case f.NoAsync != "":
			fmt.Fprintf(b, "; no future form: %s", f.NoAsync)
		}
		b.WriteString(".\n")
		return
	}
}
