package oldapi

import (
	"reflect"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/ctxscope"
)

// TestOldAPICtxscope uses the edge/ctxscope fixture through its old exported
// signatures only (Dial, Get, Exec, Batch, Tag, Close), with a variable of
// its own named ctx that is not a context: the e2e tests run it against the
// converted fixture and against the original.
func TestOldAPICtxscope(t *testing.T) {
	addr := lineServer(t, func(line string) string {
		verb, arg, _ := strings.Cut(line, " ")
		switch verb {
		case "GET":
			return "<" + arg + ">\n"
		case "JOIN":
			return strings.ReplaceAll(arg, " ", "+") + "\n"
		case "TAG":
			if strings.HasPrefix(arg, "bad") {
				return "ERR bad tag\n"
			}
			return "OK\n"
		}
		return "ERR unknown\n"
	})
	c, err := ctxscope.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if got, err := c.Get("k1"); err != nil || got != "<cs:k1>" {
		t.Errorf("Get = %q, %v", got, err)
	}
	if _, err := c.Get(strings.Repeat("x", 65)); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("Get of a long key: err = %v", err)
	}
	ctx := &ctxscope.Request{Verb: "JOIN", Args: []string{"a", "b", "c"}}
	if got, err := c.Exec(ctx); err != nil || got != "a+b+c" {
		t.Errorf("Exec = %q, %v", got, err)
	}
	if got, err := c.Batch([]string{"p", "q"}); err != nil || !reflect.DeepEqual(got, []string{"<p>", "<q>"}) {
		t.Errorf("Batch = %q, %v", got, err)
	}
	if err := c.Tag("good"); err != nil {
		t.Errorf("Tag: %v", err)
	}
	if err := c.Tag("bad-one"); err == nil || !strings.Contains(err.Error(), "bad tag") {
		t.Errorf("Tag refused: err = %v", err)
	}
}
