package iodetect

import (
	"encoding/json"
	"fmt"
	"go/token"
	"io"
	"path/filepath"
	"strings"
)

// Report is the output of `asyncify detect`, in the schema of
// docs/detect-json.md.
type Report struct {
	Packages []PackageReport `json:"packages"`
}

// PackageReport holds one package's facts.
type PackageReport struct {
	Path  string        `json:"path"`
	Name  string        `json:"name"`
	Sites []SiteReport  `json:"sites"`
	Roots []RootReport  `json:"roots"`
	Async []AsyncReport `json:"async"`
}

// SiteReport is a Site.
type SiteReport struct {
	Pos  string `json:"pos"`
	Kind Kind   `json:"kind"`
	Call string `json:"call"`
	On   string `json:"on,omitempty"`
	Func string `json:"func"`
	Side string `json:"side,omitempty"`
}

// RootReport is a Root.
type RootReport struct {
	Pos      string `json:"pos"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Func     string `json:"func,omitempty"`
	Exported bool   `json:"exported,omitempty"`
}

// AsyncReport is a member of the async set.
type AsyncReport struct {
	Func       string    `json:"func"`
	Pos        string    `json:"pos"`
	Exported   bool      `json:"exported"`
	Chain      []string  `json:"chain"`
	Site       *SiteLink `json:"site,omitempty"`
	Implements []string  `json:"implements,omitempty"`
	Mode       Mode      `json:"mode"`
	ModeReason string    `json:"mode_reason,omitempty"`
}

// SiteLink names the site at the end of a chain.
type SiteLink struct {
	Pos  string `json:"pos"`
	Call string `json:"call"`
}

// Relative returns a function printing positions relative to dir when they
// are inside it, absolute otherwise.
func Relative(dir string) func(token.Position) string {
	return func(p token.Position) string {
		name := p.Filename
		if rel, err := filepath.Rel(dir, name); err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
		return fmt.Sprintf("%s:%d:%d", name, p.Line, p.Column)
	}
}

// NewReport builds the report of analysed packages.
func NewReport(pkgs []*Package, rel func(token.Position) string) *Report {
	r := &Report{Packages: []PackageReport{}}
	for _, p := range pkgs {
		pr := PackageReport{Path: p.Path, Name: p.Name, Sites: []SiteReport{}, Roots: []RootReport{}, Async: []AsyncReport{}}
		for _, s := range p.Sites {
			pr.Sites = append(pr.Sites, SiteReport{Pos: rel(s.Pos), Kind: s.Kind, Call: s.Callee, On: s.On, Func: s.Func.Name, Side: s.Side.String()})
		}
		for _, r := range p.Roots {
			rr := RootReport{Pos: rel(r.Pos), Kind: r.Kind, Name: r.Var.Name(), Type: typeString(r.Var.Type(), r.Var.Pkg()), Exported: r.Exported}
			if r.Func != nil {
				rr.Func = r.Func.Name
			}
			pr.Roots = append(pr.Roots, rr)
		}
		for _, fn := range p.Async {
			ar := AsyncReport{Func: fn.Name, Pos: rel(fn.Pos), Exported: fn.Exported(), Chain: fn.Chain(rel), Implements: fn.Implements,
				Mode: fn.Mode, ModeReason: modeReason(fn, rel)}
			end := fn
			for end.Next != nil {
				end = end.Next
			}
			if end.Site != nil {
				ar.Site = &SiteLink{Pos: rel(end.Site.Pos), Call: end.Site.Callee}
			}
			pr.Async = append(pr.Async, ar)
		}
		r.Packages = append(r.Packages, pr)
	}
	return r
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes one line per site, then one line per async function:
//
//	memcache.go:386:13: write: fmt.Fprintf on rw in (*Client).getFromAddr
//	memcache.go:335:1: async: (*Client).Get -> (*Client).withKeyAddr -> ... -> fmt.Fprintf at memcache.go:386:13
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, p := range r.Packages {
		for _, s := range p.Sites {
			fmt.Fprintf(&b, "%s: %s: %s", s.Pos, s.Kind, s.Call)
			if s.On != "" {
				fmt.Fprintf(&b, " on %s", s.On)
			}
			fmt.Fprintf(&b, " in %s", s.Func)
			if s.Side == "server" {
				b.WriteString(" [server]")
			}
			b.WriteByte('\n')
		}
		for _, rt := range p.Roots {
			fmt.Fprintf(&b, "%s: root: %s %s %s", rt.Pos, rt.Kind, rt.Name, rt.Type)
			if rt.Func != "" {
				fmt.Fprintf(&b, " of %s", rt.Func)
			}
			if rt.Exported {
				b.WriteString(" [exported]")
			}
			b.WriteByte('\n')
		}
		for _, a := range p.Async {
			// the operations of the package's API; -json has every function's mode
			if a.Mode == Exclusive && a.Exported && !strings.Contains(a.Pos, "_test.go:") {
				fmt.Fprintf(&b, "%s: exclusive: %s: %s\n", a.Pos, a.Func, a.ModeReason)
			}
		}
		for _, a := range p.Async {
			fmt.Fprintf(&b, "%s: async: %s", a.Pos, strings.Join(a.Chain, " -> "))
			if len(a.Implements) > 0 {
				fmt.Fprintf(&b, " [implements %s]", strings.Join(a.Implements, ", "))
			}
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
