package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wantSite is a site we expect, found by reading the client's source: its file and line, its
// kind, the name of the function or method called (the last identifier of the call) and the
// function that holds it.
type wantSite struct {
	file string
	line int
	kind string
	call string
	fn   string
}

func (w wantSite) String() string {
	return fmt.Sprintf("%s:%d: %s: %s in %s", w.file, w.line, w.kind, w.call, w.fn)
}

// socketKinds are the site kinds that the exhaustive lists below cover.
var socketKinds = []string{"read", "write", "flush", "dial"}

// gomemcacheSites is every socket read, write, flush and dial of memcache.go, and its one deadline
// call, at the pinned version, and two client sites of its tests.
var gomemcacheSites = []wantSite{
	{"memcache.go", 200, "deadline", "SetDeadline", "(*conn).extendDeadline"},
	{"memcache.go", 281, "dial", "dialerContext", "(*Client).dial"},
	{"memcache.go", 385, "write", "Fprintf", "(*Client).getFromAddr"},
	{"memcache.go", 388, "flush", "Flush", "(*Client).getFromAddr"},
	{"memcache.go", 402, "write", "Fprintf", "(*Client).flushAllFromAddr"},
	{"memcache.go", 405, "flush", "Flush", "(*Client).flushAllFromAddr"},
	{"memcache.go", 408, "read", "ReadSlice", "(*Client).flushAllFromAddr"},
	{"memcache.go", 426, "write", "Fprintf", "(*Client).ping"},
	{"memcache.go", 429, "flush", "Flush", "(*Client).ping"},
	{"memcache.go", 432, "read", "ReadSlice", "(*Client).ping"},
	{"memcache.go", 451, "write", "Fprintf", "(*Client).touchFromAddr"},
	{"memcache.go", 454, "flush", "Flush", "(*Client).touchFromAddr"},
	{"memcache.go", 457, "read", "ReadSlice", "(*Client).touchFromAddr"},
	{"memcache.go", 523, "read", "ReadSlice", "parseGetResponse"},
	{"memcache.go", 536, "read", "ReadFull", "parseGetResponse"},
	{"memcache.go", 671, "write", "Fprintf", "(*Client).populateOne"},
	{"memcache.go", 674, "write", "Fprintf", "(*Client).populateOne"},
	{"memcache.go", 680, "write", "Write", "(*Client).populateOne"},
	{"memcache.go", 683, "write", "Write", "(*Client).populateOne"},
	{"memcache.go", 686, "flush", "Flush", "(*Client).populateOne"},
	{"memcache.go", 689, "read", "ReadSlice", "(*Client).populateOne"},
	{"memcache.go", 707, "write", "Fprintf", "writeReadLine"},
	{"memcache.go", 711, "flush", "Flush", "writeReadLine"},
	{"memcache.go", 714, "read", "ReadSlice", "writeReadLine"},
	{"memcache.go", 768, "write", "Fprintf", "(*Client).getAndTouchFromAddr"},
	{"memcache.go", 771, "flush", "Flush", "(*Client).getAndTouchFromAddr"},
	// TestLocalhost's own connection, a client; the file's other sites are not listed here.
	{"memcache_test.go", 45, "dial", "Dial", "TestLocalhost"},
	{"memcache_test.go", 49, "write", "WriteString", "TestLocalhost"},
}

// gomemcacheServerSites are I/O sites on connections that came from Accept: the fake server of
// fakeserver_test.go and the sink server of BenchmarkOnItem.
var gomemcacheServerSites = []wantSite{
	{"fakeserver_test.go", 70, "read", "ReadSlice", "(*testConn).serve"},
	{"fakeserver_test.go", 84, "write", "Fprintf", "(*testConn).reply"},
	{"fakeserver_test.go", 85, "flush", "Flush", "(*testConn).reply"},
	{"fakeserver_test.go", 121, "write", "Fprintf", "(*testConn).handleRequestLine"},
	{"fakeserver_test.go", 122, "write", "Write", "(*testConn).handleRequestLine"},
	{"fakeserver_test.go", 123, "write", "Write", "(*testConn).handleRequestLine"},
	{"fakeserver_test.go", 177, "read", "ReadFull", "(*testConn).handleRequestLine"},
	{"fakeserver_test.go", 270, "write", "Fprintf", "(*testConn).handleRequestLine"},
	{"fakeserver_test.go", 271, "flush", "Flush", "(*testConn).handleRequestLine"},
	{"memcache_test.go", 407, "", "Copy", "BenchmarkOnItem"},
}

// gomemcacheAPI are the exported methods of *Client that talk to the server.
var gomemcacheAPI = []string{
	"Get", "GetMulti", "Set", "Add", "Replace", "Append", "Prepend", "CompareAndSwap",
	"Delete", "DeleteAll", "Touch", "Increment", "Decrement", "FlushAll", "Ping", "GetAndTouch",
}

// gomemcacheNotAsync are functions that do no socket I/O and call nothing that does. SetServers
// resolves addresses (a DNS site), which must not make it async by itself.
var gomemcacheNotAsync = []string{
	"legalKey", "resumableError", "scanGetResponseLine", "cut", "New", "NewFromSelector",
	"(*Client).netTimeout", "(*Client).maxIdleConns", "(*Client).getFreeConn",
	"(*ConnectTimeoutError).Error", "(*ServerList).SetServers", "(*ServerList).PickServer",
	"newStaticAddr", "(*staticAddr).Network", "(*staticAddr).String",
	// the fake server
	"(*testServer).Serve", "(*testConn).serve", "(*testConn).reply", "(*testConn).handleRequestLine",
	"computeExpTime",
}

// beanstalkSites is every socket read, write, flush and dial of go-beanstalk v0.2.0.
var beanstalkSites = []wantSite{
	{"conn.go", 63, "dial", "Dial", "DialTimeout"},
	{"conn.go", 95, "write", "Write", "(*Conn).cmd"},
	{"conn.go", 96, "write", "Write", "(*Conn).cmd"},
	{"conn.go", 98, "flush", "Flush", "(*Conn).cmd"},
	{"conn.go", 137, "write", "WriteString", "(*Conn).printLine"},
	{"conn.go", 139, "write", "Write", "(*Conn).printLine"},
	{"conn.go", 140, "write", "Fprint", "(*Conn).printLine"},
	{"conn.go", 142, "write", "Write", "(*Conn).printLine"},
	{"conn.go", 148, "read", "ReadLine", "(*Conn).readResp"},
	{"conn.go", 150, "read", "ReadLine", "(*Conn).readResp"},
	{"conn.go", 163, "read", "ReadFull", "(*Conn).readResp"},
}

// beanstalkAPI are the functions and methods of go-beanstalk that talk to the server, and the
// unexported methods they go through.
var beanstalkAPI = []string{
	"Dial", "DialTimeout",
	"(*Conn).Delete", "(*Conn).Release", "(*Conn).Bury", "(*Conn).KickJob", "(*Conn).Touch",
	"(*Conn).Peek", "(*Conn).ReserveJob", "(*Conn).Stats", "(*Conn).StatsJob", "(*Conn).ListTubes",
	"(*Tube).Put", "(*Tube).PeekReady", "(*Tube).PeekDelayed", "(*Tube).PeekBuried", "(*Tube).Kick",
	"(*Tube).Stats", "(*Tube).Pause", "(*TubeSet).Reserve",
	"(*Conn).cmd", "(*Conn).adjustTubes", "(*Conn).printLine", "(*Conn).readResp",
}

var beanstalkNotAsync = []string{
	"NewConn", "NewTube", "NewTubeSet", "parseDict", "parseList", "parseSize", "checkName",
	"containsOnly", "findRespError", "scan", "(NameError).Error", "(ConnError).Error", "(dur).String",
}

var posRx = regexp.MustCompile(`^(.+):(\d+):(\d+)$`)

// splitPos returns the base name of the file and the line of a "file:line:col" position.
func splitPos(t *testing.T, pos string) (string, int) {
	t.Helper()
	m := posRx.FindStringSubmatch(pos)
	if m == nil {
		t.Fatalf("position %q is not file:line:col", pos)
	}
	line, _ := strconv.Atoi(m[2])
	return filepath.Base(m[1]), line
}

// lastIdent is the name a call calls: "Fprintf" for "fmt.Fprintf" or "(*bufio.Writer).Fprintf".
func lastIdent(call string) string {
	call = strings.TrimSuffix(call, "()")
	return call[strings.LastIndexAny(call, ".)")+1:]
}

// inFunc reports whether a function name reported by detect is fn or a closure inside fn.
func inFunc(got, fn string) bool {
	return got == fn || strings.HasPrefix(got, fn+".") || strings.HasPrefix(got, fn+"$")
}

// isClosure reports whether a name in a chain names a function literal.
func isClosure(name string) bool {
	return strings.Contains(name, "$") || strings.Contains(name, ".func") || strings.HasPrefix(name, "func")
}

func matches(t *testing.T, s site, w wantSite) bool {
	file, line := splitPos(t, s.Pos)
	return file == w.file && line == w.line && (w.kind == "" || s.Kind == w.kind) &&
		lastIdent(s.Call) == w.call && inFunc(s.Func, w.fn)
}

// checkSites checks that every wanted site is reported with the wanted side, and that no other
// socket site is reported in the files whose sites want lists exhaustively.
func checkSites(t *testing.T, rep *pkgReport, want []wantSite, server bool, exhaustive ...string) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, s := range rep.Sites {
			if !matches(t, s, w) {
				continue
			}
			found = true
			if gotServer := s.Side == "server"; gotServer != server {
				t.Errorf("%s: side %q, want server=%v", w, s.Side, server)
			}
		}
		if !found {
			t.Errorf("missing site %s", w)
		}
	}
	for _, s := range rep.Sites {
		file, _ := splitPos(t, s.Pos)
		if !slices.Contains(exhaustive, file) || !slices.Contains(socketKinds, s.Kind) {
			continue
		}
		if !slices.ContainsFunc(want, func(w wantSite) bool { return matches(t, s, w) }) {
			t.Errorf("unexpected %s site: %s %s on %s in %s", s.Kind, s.Pos, s.Call, s.On, s.Func)
		}
	}
}

func asyncByName(rep *pkgReport) map[string]asyncFunc {
	m := make(map[string]asyncFunc)
	for _, a := range rep.Async {
		m[a.Func] = a
	}
	return m
}

// checkAsync checks that each of want is async with a chain from itself down to a client-side
// socket site reported in rep, going only through async functions, and that none of notWant
// (nor a function literal inside one) is.
func checkAsync(t *testing.T, rep *pkgReport, want, notWant []string) {
	t.Helper()
	async := asyncByName(rep)
	sites := make(map[string]site)
	for _, s := range rep.Sites {
		sites[s.Pos] = s
	}
	for _, fn := range want {
		a, ok := async[fn]
		if !ok {
			t.Errorf("%s is not async", fn)
			continue
		}
		if len(a.Chain) < 2 || a.Chain[0] != fn {
			t.Errorf("%s: chain %q does not start at %s", fn, a.Chain, fn)
			continue
		}
		// The chain's functions, then "CALL at POS": the site.
		funcs := a.Chain[:len(a.Chain)-1]
		if call, pos, _ := strings.Cut(a.Chain[len(a.Chain)-1], " at "); call != a.Site.Call || pos != a.Site.Pos {
			t.Errorf("%s: chain %q does not end at its site %s at %s", fn, a.Chain, a.Site.Call, a.Site.Pos)
		}
		for _, link := range funcs {
			if _, ok := async[link]; !ok && !isClosure(link) {
				t.Errorf("%s: chain %q goes through %s, which is not async", fn, a.Chain, link)
			}
		}
		s, ok := sites[a.Site.Pos]
		if !ok {
			t.Errorf("%s: chain ends at %s %s, which is not a reported site", fn, a.Site.Pos, a.Site.Call)
			continue
		}
		last := funcs[len(funcs)-1]
		if s.Func != last {
			t.Errorf("%s: chain %q ends in %s but its site %s is in %s", fn, a.Chain, last, s.Pos, s.Func)
		}
		if s.Side == "server" || !slices.Contains([]string{"read", "write", "flush", "dial", "deadline", "close", "pipeline"}, s.Kind) {
			t.Errorf("%s: chain ends at %s, a %s %s site, not client socket I/O", fn, s.Pos, s.Side, s.Kind)
		}
	}
	for _, fn := range notWant {
		for name := range async {
			if inFunc(name, fn) {
				t.Errorf("%s is async (chain %q), but does no socket I/O", name, async[name].Chain)
			}
		}
	}
}

func TestDetectGomemcache(t *testing.T) {
	rep := detectPackage(t, gomemcachePkg)
	if rep.Name != "memcache" {
		t.Errorf("package name %q, want memcache", rep.Name)
	}
	t.Run("client sites", func(t *testing.T) { checkSites(t, rep, gomemcacheSites, false, "memcache.go") })
	t.Run("server sites", func(t *testing.T) {
		checkSites(t, rep, gomemcacheServerSites, true, "fakeserver_test.go")
		for _, s := range rep.Sites {
			if file, _ := splitPos(t, s.Pos); file == "fakeserver_test.go" && s.Side != "server" {
				t.Errorf("fake server site %s %s %s in %s has side %q, want server", s.Pos, s.Kind, s.Call, s.Func, s.Side)
			}
		}
	})
	t.Run("async", func(t *testing.T) {
		var want []string
		for _, m := range gomemcacheAPI {
			want = append(want, "(*Client)."+m)
		}
		checkAsync(t, rep, want, gomemcacheNotAsync)
		async := asyncByName(rep)
		for _, fn := range want {
			if a, ok := async[fn]; ok && !a.Exported {
				t.Errorf("%s: exported=false", fn)
			}
		}
	})
}

func TestDetectBeanstalk(t *testing.T) {
	rep := detectPackage(t, beanstalkPkg)
	if rep.Name != "beanstalk" {
		t.Errorf("package name %q, want beanstalk", rep.Name)
	}
	t.Run("sites", func(t *testing.T) { checkSites(t, rep, beanstalkSites, false, "conn.go", "tube.go", "tubeset.go") })
	t.Run("async", func(t *testing.T) { checkAsync(t, rep, beanstalkAPI, beanstalkNotAsync) })
	t.Run("NewConn root", func(t *testing.T) {
		for _, r := range rep.Roots {
			if r.Func == "NewConn" && r.Name == "conn" && r.Kind == "param" && r.Type == "io.ReadWriteCloser" {
				return
			}
		}
		t.Errorf("NewConn's parameter conn io.ReadWriteCloser is not a root; roots: %+v", rep.Roots)
	})
}

var textLineRx = regexp.MustCompile(`^(\S+:\d+:\d+): ([a-z]+): (.+)$`)

// TestDetectText checks the text form: one line per site, then one per async function, each
// starting with a position; every exported API method has its chain line.
func TestDetectText(t *testing.T) {
	res := asyncify(t, clientsModule(t), "detect", gomemcachePkg)
	if res.exit != 0 {
		t.Fatalf("asyncify detect %s: exit %d\nstderr:\n%s", gomemcachePkg, res.exit, res.stderr)
	}
	chains := map[string]string{}
	sawAsync := false
	for _, line := range strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n") {
		m := textLineRx.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("line is not file:line:col: KIND: ...: %q", line)
			continue
		}
		if m[2] != "async" {
			if sawAsync {
				t.Errorf("site line after the async lines: %q", line)
			}
			continue
		}
		sawAsync = true
		fn, _, _ := strings.Cut(m[3], " -> ")
		chains[fn] = m[3]
	}
	for _, name := range gomemcacheAPI {
		fn := "(*Client)." + name
		chain, ok := chains[fn]
		if !ok {
			t.Errorf("no async line for %s", fn)
			continue
		}
		if !regexp.MustCompile(` at \S+\.go:\d+:\d+$`).MatchString(chain) {
			t.Errorf("async line for %s does not end at a site position: %q", fn, chain)
		}
	}
	for _, fn := range []string{"legalKey", "(*testConn).serve"} {
		if _, ok := chains[fn]; ok {
			t.Errorf("%s has an async line: %q", fn, chains[fn])
		}
	}
}

func TestDetectErrors(t *testing.T) {
	dir := writeModule(t, "broken", map[string]string{
		"go.mod":           "module example.com/broken\n\ngo 1.26\n",
		"broken/broken.go": "package broken\n\nfunc f() int { return \"not an int\" }\n",
		"empty/README":     "no Go files here\n",
	})
	t.Run("does not type-check", func(t *testing.T) {
		res := asyncify(t, dir, "detect", "./broken")
		if res.exit != 2 {
			t.Errorf("exit %d, want 2; stderr:\n%s", res.exit, res.stderr)
		}
		if !regexp.MustCompile(`(?m)broken\.go:3:\d+: `).MatchString(res.stderr) {
			t.Errorf("stderr has no broken.go:3:COL: error:\n%s", res.stderr)
		}
	})
	t.Run("matches nothing", func(t *testing.T) {
		res := asyncify(t, dir, "detect", "./empty/...")
		if res.exit != 2 {
			t.Errorf("exit %d, want 2; stdout:\n%s\nstderr:\n%s", res.exit, res.stdout, res.stderr)
		}
	})
}
