package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDetectVendored runs detect on gomemcache vendored into a module (go mod
// vendor), by import path and by ./vendor/... directory: patterns resolve as
// the go command resolves them in that module, and the facts are those of the
// module-cache copy, less the tests that go mod vendor drops.
func TestDetectVendored(t *testing.T) {
	dir := writeModule(t, "vendored", map[string]string{
		"go.mod":  "module example.com/vendored\n\ngo 1.26\n\nrequire " + gomemcacheModule + " " + gomemcacheVersion + "\n",
		"main.go": "package main\n\nimport \"" + gomemcachePkg + "\"\n\nfunc main() { _ = memcache.New(\"127.0.0.1:11211\") }\n",
	})
	goIn(t, dir, "mod", "tidy")
	goIn(t, dir, "mod", "vendor")

	for _, pattern := range []string{gomemcachePkg, "./vendor/" + gomemcachePkg} {
		t.Run(pattern, func(t *testing.T) {
			// moduleEnv forces -mod=mod; a vendored module must be read from vendor/
			res := asyncifyEnv(t, dir, []string{"GOFLAGS=-mod=vendor"}, "detect", "-json", pattern)
			if res.exit != 0 {
				t.Fatalf("exit %d\n%s", res.exit, res.stderr)
			}
			var rep report
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Packages) != 1 || rep.Packages[0].Name != "memcache" {
				t.Fatalf("want exactly the memcache package, got %d packages", len(rep.Packages))
			}
			p := rep.Packages[0]
			async := map[string]bool{}
			for _, a := range p.Async {
				async[a.Func] = true
			}
			for _, m := range gomemcacheAPI {
				if !async["(*Client)."+m] {
					t.Errorf("(*Client).%s not async in the vendored copy", m)
				}
			}
			for _, s := range p.Sites {
				if !strings.HasPrefix(s.Pos, "vendor/") {
					t.Errorf("site %s %s: want a position under vendor/ (relative to the module)", s.Pos, s.Call)
				}
				if strings.Contains(s.Pos, "_test.go") {
					t.Errorf("site %s in a test file, but go mod vendor drops tests", s.Pos)
				}
			}
			if len(p.Sites) < len(gomemcacheSites) {
				t.Errorf("%d sites in the vendored copy, want at least the %d of memcache.go", len(p.Sites), len(gomemcacheSites))
			}
		})
	}
}
