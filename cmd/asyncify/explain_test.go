package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestExplainGolden: asyncify explain on the mctext fixture, for a
// pipelined exported method, an exclusive one, a helper holding the sites, a
// dial (one site rewritten, one left with a note),
// a function literal and a function that is not async, against
// golden/explain/mctext.txt.
func TestExplainGolden(t *testing.T) {
	t.Chdir("../..")
	var all bytes.Buffer
	for _, name := range []string{"(*Client).Get", "FlushAll", "writeReadLine", "(*Client).dial", "(*Client).Increment.func1", "legalKey"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"explain", "./fixtures/mctext", name}, &stdout, &stderr); code != exitOK {
			t.Fatalf("explain %s: exit %d\n%s", name, code, stderr.String())
		}
		all.WriteString("$ asyncify explain ./fixtures/mctext " + name + "\n")
		all.Write(stdout.Bytes())
		all.WriteString("\n")
	}
	checkGolden(t, "explain/mctext.txt", all.Bytes())
}

// TestExplainShareGolden: explain on the protocol-shape fixtures says
// that their connections are not shared and which evidence decided (or,
// for starttls, the connection handed to tls.Client), against
// golden/explain/shapes.txt. For replyconn, whose reader goroutine routes
// replies, the mode says the client multiplexes the connection itself (it
// said "can share a connection with other operations").
func TestExplainShareGolden(t *testing.T) {
	t.Chdir("../..")
	var all bytes.Buffer
	for _, c := range [][2]string{{"logstream", "(*Logger).Info"}, {"pubsub", "(*Conn).Receive"}, {"starttls", "(*Conn).StartTLS"}, {"datagram", "(*Client).Get"}, {"replyconn", "(*Client).Get"}} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"explain", "./fixtures/" + c[0], c[1]}, &stdout, &stderr); code != exitOK {
			t.Fatalf("explain %s %s: exit %d\n%s", c[0], c[1], code, stderr.String())
		}
		out := stdout.String()
		if !strings.Contains(out, "\nConnections: not shared") {
			t.Errorf("explain %s %s does not say the connections are not shared:\n%s", c[0], c[1], out)
		}
		if c[0] == "replyconn" && !strings.Contains(out, "reader goroutine ((*Client).readLoop)") {
			t.Errorf("explain replyconn (*Client).Get does not name its reader goroutine:\n%s", out)
		}
		all.WriteString("$ asyncify explain ./fixtures/" + c[0] + " " + c[1] + "\n")
		all.WriteString(out)
		all.WriteString("\n")
	}
	checkGolden(t, "explain/shapes.txt", all.Bytes())
}

// TestExplainErrors: an unknown or ambiguous name, or a wrong number of
// arguments, is an error (exit 2) that says what to do.
func TestExplainErrors(t *testing.T) {
	t.Chdir("../..")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "./fixtures/mctext", "nosuch"}, "nosuch: no such function in github.com/asyncify-dev/asyncify/fixtures/mctext"},
		{[]string{"explain", "./fixtures/mctext", "func1"}, "func1 names several functions of"},
		{[]string{"explain", "./fixtures/mctext"}, "want a package and a function name"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != exitError || stdout.Len() != 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, stdout.String(), stderr.String(), c.want)
		}
	}
}

// TestExplainExternalTest: a function of the external test package
// (p_test) is found and explained like one of the package's own.
func TestExplainExternalTest(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFiles(t, map[string]string{
		"go.mod": "module example.com/p\n\ngo 1.24\n",
		"p.go": `package p

import (
	"bufio"
	"net"
)

type Client struct {
	nc net.Conn
	r  *bufio.Reader
}

func Dial(addr string) (*Client, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Client{nc: nc, r: bufio.NewReader(nc)}, nil
}

func (c *Client) Get() (string, error) {
	if _, err := c.nc.Write([]byte("get\n")); err != nil {
		return "", err
	}
	return c.r.ReadString('\n')
}
`,
		"p_test.go": `package p_test

import (
	"testing"

	"example.com/p"
)

func fetch(c *p.Client) (string, error) { return c.Get() }

func TestGet(t *testing.T) {
	c, err := p.Dial("127.0.0.1:1")
	if err != nil {
		t.Skip(err)
	}
	fetch(c)
}
`,
	})
	var stdout, stderr bytes.Buffer
	if code := run([]string{"explain", ".", "fetch"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("explain fetch: exit %d\n%s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"p_test.go:9:1: fetch is async.", "Why: fetch -> (*p.Client).Get -> net.Conn.Write at p.go:22:25", "func fetch(ctx context.Context, c *p.Client) (string, error) { return c.GetContext(ctx) }"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain fetch: want %q in\n%s", want, out)
		}
	}
}
