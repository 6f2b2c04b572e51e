package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExplainJSONGolden: `asyncify explain -json` prints the conversion's
// plan for the real clients, the same as golden/explain/NAME.json
// (UPDATE_GOLDEN=1 rewrites them); the plan names the operations' Context
// and future forms, and says whether the package shares its connections.
func TestExplainJSONGolden(t *testing.T) {
	dir := clientsModule(t)
	for _, c := range []struct{ name, pkg, op, async string }{
		{"gomemcache", gomemcachePkg, "(*Client).Get", "GetAsync"},
		{"beanstalk", beanstalkPkg, "(*Conn).Delete", "DeleteAsync"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := asyncify(t, dir, "explain", "-json", c.pkg)
			if res.exit != 0 {
				t.Fatalf("asyncify explain -json %s: exit %d\n%s", c.pkg, res.exit, res.stderr)
			}
			var plan struct {
				Package string `json:"package"`
				Funcs   []struct {
					Name, Context, Async, Ctx string
				} `json:"funcs"`
				Share *struct{ Shared bool } `json:"share"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &plan); err != nil {
				t.Fatalf("explain -json does not print JSON: %v\n%s", err, res.stdout)
			}
			if plan.Package != c.pkg || plan.Share == nil {
				t.Errorf("plan of %s: package %q, share %v", c.pkg, plan.Package, plan.Share)
			}
			found := false
			for _, f := range plan.Funcs {
				if f.Name == c.op {
					found = true
					if f.Async != c.async || !strings.HasPrefix(f.Ctx, "parameter ") {
						t.Errorf("plan of %s: %+v, want its future form %s and a ctx parameter", c.op, f, c.async)
					}
				}
			}
			if !found {
				t.Errorf("plan of %s has no %s", c.pkg, c.op)
			}
			golden := filepath.Join("..", "golden", "explain", c.name+".json")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(golden, []byte(res.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (UPDATE_GOLDEN=1 writes it)", err)
			}
			if string(want) != res.stdout {
				t.Errorf("asyncify explain -json %s differs from %s:\n%s", c.pkg, golden, res.stdout)
			}
		})
	}
}
