package iodetect

import (
	"bufio"
	"bytes"
	"go/build/constraint"
	"maps"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Build tags.
//
// A package's files behind a build tag of its own (gosnmp's test files are
// all behind "//go:build all || marshal" and the like; an integration test
// behind "integration") are not in the default build, so go list puts them
// in IgnoredFiles. Copied unchanged, they still call the functions that
// gained a ctx, and the converted package's tests no longer compile with the
// tags upstream runs them with. So Load turns on the tags that bring such
// files into the build, when doing so leaves out none of the files the
// default build has: the files are then converted with the rest.
//
// Only tags of the package's own are turned on: never a GOOS or GOARCH
// name, "unix", "cgo", a Go version, "ignore" (the convention for a file
// never built: a generator, an example), or the tags the go command
// itself sets or that select another implementation in the standard
// library or a dependency (race, msan, asan, purego, netgo, osusergo,
// boringcrypto, goexperiment.*, gc, gccgo).

// knownOS and knownArch are the GOOS and GOARCH values the go command
// knows (go/build's lists; the names a file's build line uses for a
// platform, never a tag of the package's own).
var knownOS = strings.Fields(`aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris wasip1 wasip2 windows zos`)

var knownArch = strings.Fields(`386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm`)

var reservedTags = strings.Fields(`unix cgo gc gccgo ignore race msan asan purego netgo osusergo boringcrypto`)

// ownTag reports whether tag may be turned on for the package's files.
func ownTag(tag string) bool {
	return !slices.Contains(knownOS, tag) && !slices.Contains(knownArch, tag) &&
		!slices.Contains(reservedTags, tag) && !strings.HasPrefix(tag, "go1.") &&
		!strings.HasPrefix(tag, "goexperiment.")
}

// fileConstraint reads the build constraint of a Go file: its //go:build
// line, or else its // +build lines (anded, as the go command reads them).
// It returns nil for a file with none.
func fileConstraint(name string, src []byte) (constraint.Expr, error) {
	if src == nil {
		var err error
		if src, err = os.ReadFile(name); err != nil {
			return nil, err
		}
	}
	var goBuild constraint.Expr
	var plus []constraint.Expr
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, 1<<20)
	inComment := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case inComment:
			if strings.Contains(line, "*/") {
				inComment = false
			}
			continue
		case line == "":
			continue
		case strings.HasPrefix(line, "/*"):
			inComment = !strings.Contains(line[2:], "*/")
			continue
		case !strings.HasPrefix(line, "//"):
			// the package clause (or anything else) ends the header
			return andAll(goBuild, plus), nil
		}
		if constraint.IsGoBuild(line) {
			x, err := constraint.Parse(line)
			if err != nil {
				return nil, err
			}
			goBuild = x
		} else if constraint.IsPlusBuild(line) {
			x, err := constraint.Parse(line)
			if err != nil {
				return nil, err
			}
			plus = append(plus, x)
		}
	}
	return andAll(goBuild, plus), sc.Err()
}

func andAll(goBuild constraint.Expr, plus []constraint.Expr) constraint.Expr {
	if goBuild != nil {
		return goBuild
	}
	var x constraint.Expr
	for _, p := range plus {
		if x == nil {
			x = p
		} else {
			x = &constraint.AndExpr{X: x, Y: p}
		}
	}
	return x
}

// tagsOn evaluates x for the platform of env with the extra tags on.
func tagsOn(x constraint.Expr, goos, goarch string, extra map[string]bool) bool {
	return x.Eval(func(tag string) bool {
		switch {
		case tag == goos, tag == goarch, extra[tag]:
			return true
		case tag == "unix":
			return slices.Contains(strings.Fields("aix android darwin dragonfly freebsd hurd illumos ios linux netbsd openbsd solaris"), goos)
		case tag == "gc":
			return true
		case strings.HasPrefix(tag, "go1."):
			return true // the files' Go versions are the module's business, not ours
		case tag == "cgo":
			return os.Getenv("CGO_ENABLED") != "0"
		}
		return false
	})
}

// ownBuildTags returns the tags of the package's own (ownTag) that bring
// its ignored files into the build, sorted, taken file by file (by name)
// as long as every file the build already has stays in it: a file behind
// "!integration" beside one behind "integration" keeps the default. Test
// files count only with tests. files are the files they bring in.
func ownBuildTags(pkgs []*packages.Package, tests bool, env []string, overlay map[string][]byte) (tags, files []string) {
	goos, goarch := Platform(env)
	on := make(map[string]bool)
	type file struct {
		name string
		x    constraint.Expr
	}
	var ignored, included []file
	inBuild := make(map[string]bool)
	for _, p := range pkgs {
		for _, name := range p.GoFiles {
			inBuild[name] = true
		}
	}
	seen := make(map[string]bool)
	for _, p := range pkgs {
		for _, name := range p.IgnoredFiles {
			if seen[name] || inBuild[name] || !strings.HasSuffix(name, ".go") || (!tests && strings.HasSuffix(name, "_test.go")) {
				continue
			}
			seen[name] = true
			if x, err := fileConstraint(name, overlay[name]); err == nil && x != nil {
				ignored = append(ignored, file{name, x})
			}
		}
	}
	if len(ignored) == 0 {
		return nil, nil // the common case: the build's files are not read
	}
	for _, name := range slices.Sorted(maps.Keys(inBuild)) {
		if x, err := fileConstraint(name, overlay[name]); err == nil && x != nil {
			included = append(included, file{name, x})
		}
	}
	sort.Slice(ignored, func(i, j int) bool { return ignored[i].name < ignored[j].name })
	for _, f := range ignored {
		if tagsOn(f.x, goos, goarch, on) {
			continue // an earlier file's tags already bring it in
		}
		var mine []string
		walkTags(f.x, func(tag string) {
			if ownTag(tag) && !on[tag] && !slices.Contains(mine, tag) {
				mine = append(mine, tag)
			}
		})
		if len(mine) == 0 {
			continue // another platform's file, or "ignore"
		}
		try := make(map[string]bool, len(on)+len(mine))
		for t := range on {
			try[t] = true
		}
		for _, t := range mine {
			try[t] = true
		}
		if !tagsOn(f.x, goos, goarch, try) {
			continue // its own tags are not enough (another platform too)
		}
		keeps := true
		for _, g := range included {
			keeps = keeps && tagsOn(g.x, goos, goarch, try)
		}
		if keeps {
			on = try
		}
	}
	for t := range on {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	for _, f := range ignored {
		if len(on) > 0 && tagsOn(f.x, goos, goarch, on) {
			files = append(files, f.name)
		}
	}
	return tags, files
}

func walkTags(x constraint.Expr, f func(string)) {
	switch x := x.(type) {
	case *constraint.TagExpr:
		f(x.Tag)
	case *constraint.NotExpr:
		walkTags(x.X, f)
	case *constraint.AndExpr:
		walkTags(x.X, f)
		walkTags(x.Y, f)
	case *constraint.OrExpr:
		walkTags(x.X, f)
		walkTags(x.Y, f)
	}
}

// Platform is the GOOS and GOARCH of env (the process's environment, then
// env's own settings): the platform the go command selects files for.
func Platform(env []string) (goos, goarch string) {
	goos, goarch = runtime.GOOS, runtime.GOARCH
	for _, kv := range append(os.Environ(), env...) {
		if v, ok := strings.CutPrefix(kv, "GOOS="); ok && v != "" {
			goos = v
		}
		if v, ok := strings.CutPrefix(kv, "GOARCH="); ok && v != "" {
			goarch = v
		}
	}
	return goos, goarch
}

// WithTags returns env with tags added to GOFLAGS' -tags (the user's own
// -tags kept), so that every go command run with it builds the same files.
func WithTags(env []string, tags []string) []string {
	if len(tags) == 0 {
		return env
	}
	if env == nil {
		env = os.Environ()
	}
	var flags []string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			flags = strings.Fields(v)
		}
	}
	have := false
	for i, f := range flags {
		name, val, ok := strings.Cut(strings.TrimPrefix(f, "-"), "=")
		if ok && (name == "tags" || name == "-tags") {
			flags[i] = "-tags=" + strings.Join(append(strings.Split(val, ","), tags...), ",")
			have = true
		}
	}
	if !have {
		flags = append(flags, "-tags="+strings.Join(tags, ","))
	}
	return append(env[:len(env):len(env)], "GOFLAGS="+strings.Join(flags, " "))
}
