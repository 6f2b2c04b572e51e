package oldapi

import (
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/recursion"
)

// TestOldAPIRecursion uses the edge/recursion fixture through its old exported
// signatures only (Dial, Do, Discard, Close, and Reply's Depth and String):
// the e2e tests run it against the converted fixture and against the
// original.
func TestOldAPIRecursion(t *testing.T) {
	addr := lineServer(t, func(line string) string {
		switch line {
		case "NESTED":
			return "*2\n*2\n+x\n*1\n:7\n:-3\n"
		case "EMPTY":
			return "*0\n"
		case "BAD":
			return "!what\n"
		}
		return "+" + line + "\n"
	})
	c, err := recursion.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	r, err := c.Do("NESTED")
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if got := r.String(); got != "[[+x [:7]] :-3]" || r.Depth() != 3 {
		t.Errorf("Do(NESTED) = %s of depth %d", got, r.Depth())
	}
	if r.Elems[1].Kind != recursion.Number || r.Elems[1].Num != -3 {
		t.Errorf("second element = %+v", r.Elems[1])
	}
	if err := c.Discard("NESTED"); err != nil {
		t.Fatalf("Discard: %v", err)
	}
	if r, err := c.Do("EMPTY"); err != nil || r.Kind != recursion.List || len(r.Elems) != 0 {
		t.Errorf("Do(EMPTY) after Discard = %v, %v", r, err)
	}
	if r, err := c.Do("hi"); err != nil || r.Kind != recursion.Text || r.Text != "hi" {
		t.Errorf("Do(hi) = %v, %v", r, err)
	}
	if _, err := c.Do("BAD"); err == nil {
		t.Error("Do accepted a reply of unknown kind")
	}
}
