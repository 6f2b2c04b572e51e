package oldapi

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/generics"
)

// score is a named type in the Number set.
type score int64

// TestOldAPIGenerics uses the edge/generics fixture through its old exported
// signatures only (Dial[int], Dial[float64], NewCounter, Add, Get, GetAll,
// Name, Sum, Close): the e2e tests run it against the converted fixture and
// against the original.
func TestOldAPIGenerics(t *testing.T) {
	var (
		mu  sync.Mutex
		ctr = map[string]float64{}
	)
	addr := lineServer(t, func(line string) string {
		mu.Lock()
		defer mu.Unlock()
		f := strings.Fields(line)
		switch {
		case len(f) == 1 && f[0] == "NAME":
			return "old-counters\n"
		case len(f) == 2 && f[0] == "GET":
			return strconv.FormatFloat(ctr[f[1]], 'g', -1, 64) + "\n"
		case len(f) == 3 && f[0] == "ADD":
			d, err := strconv.ParseFloat(f[2], 64)
			if err != nil {
				return "ERR not a number\n"
			}
			ctr[f[1]] += d
			return strconv.FormatFloat(ctr[f[1]], 'g', -1, 64) + "\n"
		}
		return "ERR unknown\n"
	})
	ints, err := generics.Dial[int](addr)
	if err != nil {
		t.Fatalf("Dial[int]: %v", err)
	}
	defer ints.Close()
	if name, err := ints.Name(); err != nil || name != "old-counters" {
		t.Errorf("Name = %q, %v", name, err)
	}
	for i, want := range []int{3, 6, 9} {
		if got, err := ints.Add("n", 3); err != nil || got != want {
			t.Errorf("Add #%d = %d, %v; want %d", i, got, err, want)
		}
	}
	floats, err := generics.Dial[float64](addr)
	if err != nil {
		t.Fatalf("Dial[float64]: %v", err)
	}
	defer floats.Close()
	if got, err := floats.Add("f", 0.25); err != nil || got != 0.25 {
		t.Errorf("float Add = %v, %v", got, err)
	}
	if got, err := floats.Get("n"); err != nil || got != 9 {
		t.Errorf("float Get = %v, %v", got, err)
	}
	if m, err := ints.GetAll([]string{"n", "unset"}); err != nil || len(m) != 2 || m["n"] != 9 || m["unset"] != 0 {
		t.Errorf("GetAll = %v, %v", m, err)
	}

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	scores := generics.NewCounter[score](nc)
	defer scores.Close()
	if got, err := scores.Add("s", -4); err != nil || got != -4 {
		t.Errorf("NewCounter[score]: Add = %v, %v", got, err)
	}
	bad := lineServer(t, func(string) string { return "ERR broken\n" })
	broken, err := generics.Dial[int64](bad)
	if err != nil {
		t.Fatalf("Dial[int64]: %v", err)
	}
	defer broken.Close()
	if _, err := broken.Get("n"); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("Get from a server that errs: err = %v", err)
	}
	if _, err := broken.GetAll([]string{"a", "b"}); err == nil {
		t.Error("GetAll from a server that errs succeeded")
	}
	if got := generics.Sum([]score{1, 2, 3}); got != 6 {
		t.Errorf("Sum = %v", got)
	}
}
