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
var Analyzer = &analysis.Analyzer{
	Name:      "iodetect",
	Doc:       "report where a network client blocks on a connection, and its other blocking calls\n\nSites on connections accepted from a listener are marked [server].",
	URL:       "https://github.com/asyncify-dev/asyncify/tree/main/iodetect",
	Run:       runAnalyzer,
	FactTypes: []analysis.Fact{new(asyncFact)},
}

// asyncFact marks an async function, with its chain.
type asyncFact struct {
	Chain []string
}

func (*asyncFact) AFact() {}

func (f *asyncFact) String() string { return "async: " + strings.Join(f.Chain, " -> ") }

func runAnalyzer(pass *analysis.Pass) (any, error) {
	res := Analyze(pass.Fset, pass.Files, pass.Pkg, pass.TypesInfo, &Config{
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
		pass.Reportf(s.Call.Lparen, "%s", msg)
	}
	return nil, nil
}
