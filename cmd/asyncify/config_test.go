package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/asyncify-dev/asyncify/iodetect"
)

// configModule is a module whose client talks to a server and to a serial
// device, with asyncify.conf rules of every kind in its root.
var configModule = map[string]string{
	"go.mod": "module example.com/m\n\ngo 1.24\n",
	"serial/serial.go": `// Package serial is a serial port.
package serial

import "os"

// Port is a serial port.
type Port struct{ f *os.File }

// Open opens a port.
func Open(name string) (*Port, error) {
	f, err := os.Open(name)
	return &Port{f: f}, err
}

// Read reads from the port.
func (p *Port) Read(b []byte) (int, error) { return p.f.Read(b) }

// Drain waits until the port's output is sent.
func Drain(p *Port) error { return nil }
`,
	"client/client.go": `// Package client talks to a device on a serial port and to a server.
package client

import (
	"bufio"
	"io"
	"net"

	"example.com/m/serial"
)

// Client is a client.
type Client struct {
	nc   net.Conn
	rw   *bufio.ReadWriter
	port *serial.Port
}

// Dial connects.
func Dial(addr string) (*Client, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Client{nc: nc, rw: bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc))}, nil
}

// Get sends a request and reads the reply.
func (c *Client) Get(key string) (string, error) {
	if _, err := c.rw.WriteString("get " + key + "\n"); err != nil {
		return "", err
	}
	if err := c.rw.Flush(); err != nil {
		return "", err
	}
	return c.rw.ReadString('\n')
}

// Stats writes and reads twice.
func (c *Client) Stats() (string, error) {
	a, err := c.Get("a")
	if err != nil {
		return "", err
	}
	b, err := c.Get("b")
	return a + b, err
}

// Ping reads from the device.
func (c *Client) Ping() error {
	var b [1]byte
	_, err := c.port.Read(b[:])
	return err
}

// Flush waits for the device.
func (c *Client) Flush() error { return serial.Drain(c.port) }

// Version asks nothing of the network.
func (c *Client) Version() string { return version() }

func version() string { return "1" }

func readReply(r io.Reader) ([]byte, error) {
	b := make([]byte, 4)
	_, err := io.ReadFull(r, b)
	return b, err
}

// Reply reads a reply from a reader.
func (c *Client) Reply(r io.Reader) ([]byte, error) { return readReply(r) }
`,
	"asyncify.conf": `# rules for example.com/m/client
sync     (*Client).Stats            # line 2
async    version                    # line 3
mode     (*Client).Get exclusive    # line 4
conn     example.com/m/serial.Port  # line 5
conn     readReply.r                # line 6
blocking example.com/m/serial.Drain flush
sync     (*Client).Gone             # line 8: matches nothing
`,
}

// TestConfigRules: each kind of rule flows into detect's facts (and so
// into explain and the converter), and a rule that matched nothing is
// reported at its file:line.
func TestConfigRules(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	writeFiles(t, configModule)

	// without the rules
	var stdout, stderr bytes.Buffer
	if code := run([]string{"detect", "-json", "-config", os.DevNull, "./client"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("detect without rules: exit %d\n%s", code, stderr.String())
	}
	before := asyncSet(t, stdout.Bytes())
	for _, f := range []string{"(*Client).Ping", "(*Client).Flush", "(*Client).Version", "version", "readReply", "(*Client).Reply"} {
		if _, ok := before[f]; ok {
			t.Errorf("without rules, %s is async", f)
		}
	}
	if before["(*Client).Stats"].Mode != iodetect.Exclusive || before["(*Client).Get"].Mode != iodetect.Pipelined {
		t.Errorf("without rules: Stats %s, Get %s; want exclusive, pipelined", before["(*Client).Stats"].Mode, before["(*Client).Get"].Mode)
	}

	// with asyncify.conf in the current directory, found by default
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"detect", "-json", "./client"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("detect with rules: exit %d\n%s", code, stderr.String())
	}
	after := asyncSet(t, stdout.Bytes())
	if _, ok := after["(*Client).Stats"]; ok {
		t.Error("sync (*Client).Stats: still async")
	}
	if a, ok := after["version"]; !ok || strings.Join(a.Chain, " -> ") != "version -> async by the configuration at asyncify.conf:3" {
		t.Errorf("async version: %+v", a)
	}
	if a := after["(*Client).Version"]; len(a.Chain) < 2 || a.Chain[1] != "version" {
		t.Errorf("async version: its caller (*Client).Version is not async through it: %+v", a)
	}
	if g := after["(*Client).Get"]; g.Mode != iodetect.Exclusive || g.ModeReason != "set by the configuration at asyncify.conf:4" {
		t.Errorf("mode (*Client).Get exclusive: got %s (%s)", g.Mode, g.ModeReason)
	}
	if p := after["(*Client).Ping"]; p.Site == nil || p.Site.Call != "(*serial.Port).Read" {
		t.Errorf("conn example.com/m/serial.Port: Ping is not async through Port.Read: %+v", p)
	}
	if r := after["readReply"]; r.Site == nil || r.Site.Call != "io.ReadFull" {
		t.Errorf("conn readReply.r: readReply is not async through io.ReadFull: %+v", r)
	}
	if f := after["(*Client).Flush"]; f.Site == nil || f.Site.Call != "serial.Drain" {
		t.Errorf("blocking example.com/m/serial.Drain flush: Flush is not async through it: %+v", f)
	}
	if got := stderr.String(); got != "asyncify.conf:8: sync (*Client).Gone matched nothing (renamed or removed upstream?)\n" {
		t.Errorf("unmatched rule report: %q", got)
	}

	// the converter sees the same facts: Version and version take ctx, Stats keeps its signature
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"./client"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("asyncify with rules: exit %d\n%s", code, stderr.String())
	}
	diff := stdout.String()
	for _, want := range []string{
		"+func version(ctx context.Context) string {",
		"+func (c *Client) VersionContext(ctx context.Context) string {",
		"+func (c *Client) PingContext(ctx context.Context) ", // its result is named: Ping reads first, so the package does not share
		"+func (c *Client) FlushContext(ctx context.Context)",
		"+func readReply(ctx context.Context, r io.Reader) ([]byte, error) {",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("the diff lacks %q", want)
		}
	}
	if strings.Contains(diff, "StatsContext") {
		t.Error("sync (*Client).Stats: the converter made it async")
	}
	if !strings.Contains(stderr.String(), "asyncify.conf:8: sync (*Client).Gone matched nothing") {
		t.Errorf("asyncify does not report the unmatched rule:\n%s", stderr.String())
	}

	// and so does explain
	for name, want := range map[string]string{
		"(*Client).Get":   "Mode: exclusive, set by the configuration at asyncify.conf:4.\n",
		"(*Client).Stats": "(*Client).Stats is left sync by the configuration at asyncify.conf:2.\n",
		"version":         "Why: version -> async by the configuration at asyncify.conf:3\n",
	} {
		stdout.Reset()
		stderr.Reset()
		if code := run([]string{"explain", "./client", name}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), want) {
			t.Errorf("explain %s with rules: exit %d, want %q in:\n%s\n%s", name, code, want, stdout.String(), stderr.String())
		}
	}

	// errors: bad rules, at their file:line; a -config file that does not exist
	writeFiles(t, map[string]string{"bad.conf": "mode (*Client).Get sometimes\nfrobnicate x\nsync\n"})
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"-config", "bad.conf", "./client"}, &stdout, &stderr); code != exitError || stdout.Len() != 0 {
		t.Errorf("bad config: exit %d, stdout %q", code, stdout.String())
	}
	for _, want := range []string{
		"bad.conf:1: mode sometimes: want pipelined or exclusive\n",
		"bad.conf:2: unknown rule \"frobnicate\": want sync, async, mode, conn, blocking, share or noshare\n",
		"bad.conf:3: sync takes 1 fields, got 0\n",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("bad config: stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	stderr.Reset()
	if code := run([]string{"-config", "missing.conf", "./client"}, &stdout, &stderr); code != exitError || !strings.Contains(stderr.String(), "missing.conf") {
		t.Errorf("missing -config file: exit %d, stderr %q", code, stderr.String())
	}
}

// TestConfigInOutputDir: with -o, asyncify.conf is read from the output
// directory (a user file there, left alone), and the record keeps its hash:
// editing it makes -check report changed options.
func TestConfigInOutputDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	files := map[string]string{}
	for k, v := range configModule {
		if k != "asyncify.conf" {
			files[k] = v
		}
	}
	files["out/asyncify.conf"] = "sync (*Client).Stats\n"
	writeFiles(t, files)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-o", "./out", "./client"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("asyncify -o: exit %d\n%s", code, stderr.String())
	}
	if strings.Contains(readString(t, "out/client.go"), "StatsContext") {
		t.Error("the rule in out/asyncify.conf was not applied")
	}
	if readString(t, "out/asyncify.conf") != "sync (*Client).Stats\n" {
		t.Error("out/asyncify.conf was changed")
	}
	if !strings.Contains(readString(t, "out/asyncify_record.go"), "// asyncify:option config=sha256:") {
		t.Error("the record does not keep the configuration's hash")
	}
	goCmd(t, dir, "vet", "./out")
	writeFiles(t, map[string]string{"out/asyncify.conf": "sync (*Client).Stats\nmode (*Client).Get exclusive\n"})
	stderr.Reset()
	if code := run([]string{"-check", "-o", "./out", "./client"}, &stdout, &stderr); code != exitDiff || !strings.Contains(stderr.String(), "options changed since it was generated: config=sha256:") {
		t.Errorf("-check after editing the configuration: exit %d\n%s", code, stderr.String())
	}
}

type asyncEntry struct {
	Func       string
	Chain      []string
	Mode       iodetect.Mode
	ModeReason string `json:"mode_reason"`
	Site       *struct{ Call string }
}

func asyncSet(t *testing.T, out []byte) map[string]asyncEntry {
	t.Helper()
	var rep struct {
		Packages []struct {
			Async []asyncEntry
		}
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	m := make(map[string]asyncEntry)
	for _, p := range rep.Packages {
		for _, a := range p.Async {
			m[a.Func] = a
		}
	}
	return m
}

// shareModule is a client whose package-level Dial dials a net.Conn.
var shareModule = map[string]string{
	"go.mod": "module example.com/s\n\ngo 1.24\n",
	"kv/kv.go": `// Package kv is a line-protocol client.
package kv

import (
	"bufio"
	"net"
)

// Conn is a connection to the server.
type Conn struct {
	nc net.Conn
	r  *bufio.Reader
}

// Dial connects to addr.
func Dial(addr string) (*Conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Conn{nc: nc, r: bufio.NewReader(nc)}, nil
}

// Get asks for key.
func (c *Conn) Get(key string) (string, error) {
	if _, err := c.nc.Write([]byte("get " + key + "\n")); err != nil {
		return "", err
	}
	return c.r.ReadString('\n')
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }
`,
}

// TestConfigShareRule: a package-level Dial's connections are not shared
// across calls (owner nil); "share Dial" shares them (owner "Dial"); a
// share rule naming a function that does not dial matched nothing.
func TestConfigShareRule(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	writeFiles(t, shareModule)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-config", os.DevNull, "./kv"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("without rules: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "+\tnc, err := shareConn(ctx, nil, \"tcp\", addr,") {
		t.Errorf("without rules, Dial's dial is not shareConn(ctx, nil, ...):\n%s", stdout.String())
	}
	writeFiles(t, map[string]string{"asyncify.conf": "share Dial\nshare (*Conn).Get   # line 2: dials nothing\n"})
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"./kv"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("with share Dial: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "+\tnc, err := shareConn(ctx, \"Dial\", \"tcp\", addr,") {
		t.Errorf("share Dial: Dial's dial is not shareConn(ctx, \"Dial\", ...):\n%s", stdout.String())
	}
	if got := stderr.String(); got != "asyncify.conf:2: share (*Conn).Get matched nothing (renamed or removed upstream?)\n" {
		t.Errorf("unmatched rule report: %q", got)
	}

	// noshare: Dial's dial stays a plain context dial, with a note naming
	// the rule at the dial.
	writeFiles(t, map[string]string{"asyncify.conf": "noshare Dial\n"})
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"./kv"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("with noshare Dial: exit %d\n%s", code, stderr.String())
	}
	if strings.Contains(string(withoutRuntime(stdout.Bytes())), "shareConn(") || !strings.Contains(stdout.String(), "+\tnc, err := (&net.Dialer{}).DialContext(ctx, \"tcp\", addr)") {
		t.Errorf("noshare Dial: Dial's dial is not a plain context dial:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "kv.go:") || !strings.Contains(stderr.String(), "the connections dialed here are not shared (one physical connection per dial, as before): noshare rule at asyncify.conf:1") {
		t.Errorf("noshare Dial: no note at the dial naming the rule:\n%s", stderr.String())
	}
}
