package iodetect

import (
	"fmt"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// Analyzer reports a package's sites: where it reads from, writes to, dials,
// sets deadlines on or closes a connection, and its other blocking calls.
// Each package's async functions are exported as facts, so calls into a
// dependency's async functions make callers async too.
//
// Analyzer reads no configuration; NewAnalyzer makes one that does.
var Analyzer = NewAnalyzer(nil)

// ConfigLoader reads the configuration file at path (asyncify.conf's
// format); a missing file is no configuration unless required.
type ConfigLoader func(path string, required bool) (*Overrides, error)

// NewAnalyzer is Analyzer reading the user's configuration with load: the
// file its -config flag names (-iodetect.config under go vet), else
// asyncify.conf in the package's directory when there is one.
func NewAnalyzer(load ConfigLoader) *analysis.Analyzer {
	a := &analysis.Analyzer{
		Name:      "iodetect",
		Doc:       "report where a network client blocks on a connection, and its other blocking calls\n\nSites on connections accepted from a listener are marked [server].",
		URL:       "https://github.com/asyncify-dev/asyncify/tree/main/iodetect",
		FactTypes: []analysis.Fact{new(asyncFact)},
	}
	var config string
	if load != nil {
		a.Flags.StringVar(&config, "config", "", "read rules from `FILE` (default: asyncify.conf in the package's directory)")
	}
	a.Run = func(pass *analysis.Pass) (any, error) {
		var ov *Overrides
		if load != nil {
			path, required := config, config != ""
			if path == "" && len(pass.Files) > 0 {
				path = filepath.Join(filepath.Dir(pass.Fset.File(pass.Files[0].Pos()).Name()), ConfigFile)
			}
			if path != "" {
				var err error
				if ov, err = load(path, required); err != nil {
					return nil, err
				}
			}
		}
		return runAnalyzer(pass, ov)
	}
	return a
}

// ConfigFile is the configuration's default file name.
const ConfigFile = "asyncify.conf"

// asyncFact marks an async function, with its chain.
type asyncFact struct {
	Chain []string
}

func (*asyncFact) AFact() {}

func (f *asyncFact) String() string { return "async: " + strings.Join(f.Chain, " -> ") }

func runAnalyzer(pass *analysis.Pass, ov *Overrides) (any, error) {
	res := Analyze(pass.Fset, pass.Files, pass.Pkg, pass.TypesInfo, &Config{
		Overrides: ov,
		ExternalAsync: func(f *types.Func) *ExternalAsync {
			var fact asyncFact
			if !pass.ImportObjectFact(f, &fact) {
				return nil
			}
			return &ExternalAsync{Name: f.FullName(), Chain: fact.Chain}
		},
	})
	base := func(p token.Position) string {
		return fmt.Sprintf("%s:%d:%d", filepath.Base(p.Filename), p.Line, p.Column)
	}
	for _, fn := range res.Async {
		if fn.Obj != nil {
			pass.ExportObjectFact(fn.Obj, &asyncFact{Chain: fn.Chain(base)})
		}
	}
	for _, s := range res.Sites {
		msg := string(s.Kind) + ": " + s.Callee
		if s.On != "" {
			msg += " on " + s.On
		}
		if s.Side == Server {
			msg += " [server]"
		}
		pos := s.Node.Pos()
		if s.Call != nil {
			pos = s.Call.Lparen
		}
		pass.Reportf(pos, "%s", msg)
	}
	return nil, nil
}
