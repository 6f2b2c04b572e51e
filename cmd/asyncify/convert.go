package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/asyncify-dev/asyncify/rewrite"
	"github.com/asyncify-dev/asyncify/templates"
)

const convertSynopsis = "asyncify [-d | -w | -o DIR [-check]] [-tests=true] [-config FILE] [-color=auto] PACKAGE"

// runConvert converts one package and prints the change as a unified diff.
func runConvert(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("asyncify", convertSynopsis, stdout, stderr)
	diff := fs.Bool("d", true, "print the change as a unified diff (the default; -d=false only with -o or -w, which write the change instead)")
	tests := fs.Bool("tests", true, "convert the package's _test.go files too, so its tests run the ctx paths")
	outDir := fs.String("o", "", "write the converted package (tests, helpers and runtime included) into `DIR`, and print the diff")
	check := fs.Bool("check", false, "with -o: write nothing; exit 1 with the diff if DIR differs from what would be written")
	inPlace := fs.Bool("w", false, "rewrite the package in place (for a fork you own), and print the diff")
	configFile := fs.String("config", "", configFlagHelp)
	colorMode := fs.String("color", "auto", "colour the diff: `auto` (when stdout is a terminal), always or never")
	if status, done := parseFlags(fs, args, stdout); done {
		return status
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "asyncify: want exactly one package")
		fs.Usage()
		return exitError
	}
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "asyncify:", err)
		return exitError
	}
	if !*diff && *outDir == "" && !*inPlace {
		fmt.Fprintln(stderr, "asyncify: -d=false needs -o DIR or -w: without them the diff is the only output")
		return exitError
	}
	if *check && *outDir == "" {
		fmt.Fprintln(stderr, "asyncify: -check needs -o DIR")
		return exitError
	}
	if *inPlace && *outDir != "" {
		fmt.Fprintln(stderr, "asyncify: -w and -o exclude each other")
		return exitError
	}
	var places readOnlyPlaces
	if *outDir != "" || *inPlace {
		if places, err = goPlaces(dir); err != nil {
			fmt.Fprintln(stderr, "asyncify:", err)
			return exitError
		}
	}
	if *outDir != "" {
		if err := checkOutDir(*outDir, places); err != nil {
			fmt.Fprintln(stderr, "asyncify:", err)
			return exitError
		}
	}
	if *inPlace {
		// before converting: a package in the module cache is refused for
		// where it is, not for what converting it would meet (its Go version)
		if pkgDir := packageDir(dir, fs.Arg(0)); pkgDir != "" {
			if err := places.refuse("-w", pkgDir); err != nil {
				fmt.Fprintln(stderr, "asyncify:", err)
				return exitError
			}
		}
	}
	color, err := useColor(*colorMode, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "asyncify:", err)
		return exitError
	}
	cfg := rewrite.Config{Dir: dir, Tests: *tests, InPlace: *outDir == ""}
	configDir := dir
	if *outDir != "" {
		configDir = *outDir
	}
	ov, configOption, ok := loadConfig(*configFile, configDir, dir, stderr)
	if !ok {
		return exitError
	}
	cfg.Overrides = ov
	if *outDir != "" {
		// the output must be valid for the module that will hold it
		if cfg.GoVersion, err = rewrite.GoVersionOf(*outDir); err != nil {
			fmt.Fprintln(stderr, "asyncify:", err)
			return exitError
		}
	}
	res, ok := convertReporting(cfg, fs.Arg(0), "asyncify", dir, stderr)
	if !ok {
		return exitError
	}
	if len(res.All) > 0 {
		pkgDir := filepath.Dir(res.All[0].Path)
		if *outDir != "" {
			if err := checkNotInput(*outDir, pkgDir); err != nil {
				fmt.Fprintln(stderr, "asyncify:", err)
				return exitError
			}
		}
		if *inPlace {
			if err := places.refuse("-w", pkgDir); err != nil {
				fmt.Fprintln(stderr, "asyncify:", err)
				return exitError
			}
		}
	}
	if res.Nothing != "" {
		fmt.Fprintf(stderr, "asyncify: %s: %s; nothing written\n", fs.Arg(0), res.Nothing)
		printDiags(stderr, dir, res.Notes)
		return exitOK
	}
	for _, f := range res.Ignored {
		what := "left as it is"
		if *outDir != "" {
			what = "copied unchanged"
		}
		fmt.Fprintf(stderr, "asyncify: %s: not converted (the build for %s excludes it); %s: its calls are not cancellable where it builds\n", diffPath(dir, res.ModuleDir, f.Path), rewrite.Platform(nil), what)
	}
	if !*tests {
		fmt.Fprintln(stderr, "asyncify: warning: -tests=false: the package's _test.go files are not converted; tests calling functions whose signatures changed will not compile")
	}
	var out strings.Builder
	for _, f := range res.Files {
		// with -o, upstream's files first, then the files asyncify adds
		if *outDir == "" || f.Old != nil {
			out.WriteString(rewrite.UnifiedDiff(diffPath(dir, res.ModuleDir, f.Path), f.Old, f.New))
		}
	}
	var runtime []string // with -o, the runtime's files are written, not shown
	for _, f := range res.Files {
		if *outDir != "" && f.Old == nil {
			if isRuntimeFile(f.Path) {
				runtime = append(runtime, filepath.Base(f.Path))
				continue
			}
			out.WriteString(rewrite.UnifiedDiff(diffPath(dir, res.ModuleDir, f.Path), f.Old, f.New))
		}
	}
	status := exitOK
	if *outDir != "" {
		opts := []string{fmt.Sprintf("tests=%t", *tests), "go=" + cfg.GoVersion}
		if configOption != "" {
			opts = append(opts, configOption)
		}
		diff, differs, findings, err := writeOutput(res, *outDir, dir, opts, *check)
		if err != nil {
			reportError(stderr, dir, "asyncify", err)
			return exitError
		}
		if diff != "" {
			out.Reset()
			out.WriteString(diff)
		} else if differs && len(runtime) > 0 {
			// the first run: the review diff is upstream's package against
			// the converted one; the runtime is templates/ code, the same
			// in every package that uses it
			fmt.Fprintf(stderr, "asyncify: the runtime (%s) is written but not shown in the diff: it is the part of asyncify's templates/ that the package uses, unedited (docs/runtime.md)\n", strings.Join(runtime, ", "))
		}
		if !differs {
			out.Reset()
		}
		if *check && differs {
			status = exitDiff
		}
		for _, f := range findings {
			if *check {
				fmt.Fprintf(stderr, "asyncify: -check: %s\n", f.Msg)
			} else if f.Kind == "edited" {
				fmt.Fprintf(stderr, "asyncify: warning: %s\n", f.Msg)
			}
		}
	}
	if *inPlace {
		if err := rewrite.WriteInPlace(res); err != nil {
			fmt.Fprintln(stderr, "asyncify:", err)
			return exitError
		}
	}
	if !*diff && !*check { // -d=false: the change is written, not printed
		out.Reset()
	}
	text := out.String()
	if color {
		text = colorDiff(text)
	}
	if _, err := io.WriteString(stdout, text); err != nil {
		fmt.Fprintln(stderr, "asyncify:", err)
		return exitError
	}
	reportUnmatched(ov, stderr)
	if !*check { // -check compares; the notes were shown when the output was written
		printDiags(stderr, dir, res.Notes)
	}
	return status
}

// writeOutput writes the converted package into outDir (or with check,
// only compares), with the record of options. diff is the change from
// outDir's previous generated files, or "" on the first run, when the
// upstream-to-converted diff is the one to review; differs says whether
// outDir changes, and findings why (from the record outDir holds).
func writeOutput(res *rewrite.Result, outDir, cwd string, options []string, check bool) (diff string, differs bool, findings []rewrite.Finding, err error) {
	if len(res.All) == 0 {
		return "", false, nil, nil
	}
	if outDir, err = filepath.Abs(outDir); err != nil {
		return "", false, nil, err
	}
	// the import path go list reports: a module from before go.mod has
	// no go.mod file to read it from, a vendored package's directory is
	// not its import path
	upstream := res.Input.PkgPath
	if upstream == "" || upstream == "command-line-arguments" {
		if upstream, err = rewrite.ImportPathOf(filepath.Dir(res.All[0].Path)); err != nil {
			return "", false, nil, err
		}
	}
	copyPath, err := rewrite.ImportPathOf(outDir)
	if err != nil {
		return "", false, nil, err
	}
	files, err := rewrite.Output(res, upstream, copyPath)
	if err != nil {
		return "", false, nil, err
	}
	options = append(options, "into="+copyPath)
	rec := rewrite.NewRecord(res, options, files)
	files[rewrite.RecordFile] = rec.Source(copyPath)
	old, err := rewrite.Previous(outDir, files)
	if err != nil {
		return "", false, nil, err
	}
	display := diffPath(cwd, cwd, outDir)
	prefix := display + "/"
	if display == "." {
		prefix = "" // go generate runs in the output directory
	}
	full := rewrite.DirDiff(prefix, old, files)
	differs = full != ""
	if len(old) > 0 {
		diff = full
		if differs {
			findings = rewrite.CheckDir(outDir, display, rec)
		}
	}
	if check && differs && len(old) == 0 {
		findings = rewrite.CheckDir(outDir, display, rec) // says there is no record
	}
	if check || !differs {
		return diff, differs, findings, nil
	}
	return diff, differs, findings, rewrite.WriteDir(outDir, files)
}

// diffPath names a file in the diff: relative to the current directory,
// or for a package outside it, to its module's root.
func diffPath(dir, moduleDir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	if rel, err := filepath.Rel(moduleDir, path); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(path)
}

// isRuntimeFile reports whether path is one of the runtime's files
// (asyncify_stream.go, ...), which asyncify emits from templates/.
func isRuntimeFile(path string) bool {
	for _, name := range templates.RuntimeFiles {
		if filepath.Base(path) == "asyncify_"+name {
			return true
		}
	}
	return false
}

// convertReporting converts pattern with a progress line on a terminal;
// on failure it prints the errors (file:line:col relative to dir, or the
// error prefixed with cmdName) on stderr and reports false.
func convertReporting(cfg rewrite.Config, pattern, cmdName, dir string, stderr io.Writer) (*rewrite.Result, bool) {
	prog := startProgress(stderr, progressEnabled(stderr))
	if prog != nil {
		cfg.Progress = prog.set
	}
	res, err := rewrite.Convert(cfg, pattern)
	prog.end()
	if err != nil {
		reportError(stderr, dir, cmdName, err)
		return nil, false
	}
	return res, true
}
