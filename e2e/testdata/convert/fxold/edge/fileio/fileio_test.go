package oldapi

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/asyncify-dev/asyncify/fixtures/edge/fileio"
)

// TestOldAPIFileio uses the edge/fileio fixture through its old exported
// signatures only (LoadServers, DialFromFile, Dial, Get, Set, Dump,
// Restore, Snapshot, Close), with files in t.TempDir(): the e2e tests run
// it against the converted fixture and against the original.
func TestOldAPIFileio(t *testing.T) {
	var (
		mu   sync.Mutex
		data = map[string]string{}
	)
	addr := lineServer(t, func(line string) string {
		mu.Lock()
		defer mu.Unlock()
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "SET" && f[2] != "forbidden":
			data[f[1]] = f[2]
			return "OK\n"
		case len(f) == 2 && f[0] == "GET":
			return data[f[1]] + "\n"
		}
		return "DENIED\n"
	})
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	list := write("servers", "# the servers\n\n  "+addr+"  \n127.0.0.1:1\n")
	if addrs, err := fileio.LoadServers(list); err != nil || !reflect.DeepEqual(addrs, []string{addr, "127.0.0.1:1"}) {
		t.Errorf("LoadServers = %q, %v", addrs, err)
	}
	if _, err := fileio.LoadServers(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("LoadServers of a missing file: err = %v", err)
	}
	if _, err := fileio.DialFromFile(write("empty", "# nothing\n")); err == nil {
		t.Error("DialFromFile of a list with no server succeeded")
	}
	c, err := fileio.DialFromFile(list)
	if err != nil {
		t.Fatalf("DialFromFile: %v", err)
	}
	defer c.Close()

	if err := c.Set("x", "10"); err != nil {
		t.Errorf("Set: %v", err)
	}
	if err := c.Set("x", "forbidden"); err == nil || !strings.Contains(err.Error(), "DENIED") {
		t.Errorf("Set refused: err = %v", err)
	}
	if got, err := c.Get("x"); err != nil || got != "10" {
		t.Errorf("Get = %q, %v", got, err)
	}
	if err := c.Restore(write("backup", "z 26\ny 25\njunk\n")); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if err := c.Restore(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("Restore of a missing file: err = %v", err)
	}
	dump := filepath.Join(dir, "dump")
	if err := c.Dump("y", dump); err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if got, err := os.ReadFile(dump); err != nil || string(got) != "25" {
		t.Errorf("Dump wrote %q, %v", got, err)
	}
	snap := filepath.Join(dir, "snap")
	if err := c.Snapshot([]string{"z", "x", "y"}, snap); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if got, err := os.ReadFile(snap); err != nil || string(got) != "x 10\ny 25\nz 26\n" {
		t.Errorf("Snapshot wrote %q, %v", got, err)
	}
	if err := c.Dump("y", filepath.Join(dir, "no-such-dir", "dump")); err == nil {
		t.Error("Dump into a missing directory succeeded")
	}

	d, err := fileio.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer d.Close()
	if got, err := d.Get("z"); err != nil || got != "26" {
		t.Errorf("Get on a second client = %q, %v", got, err)
	}
}
