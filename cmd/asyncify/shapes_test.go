package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShapeFixturesNotShared: the fixtures whose protocols are not
// request/response exchanges (a write-only log stream, a subscription, a
// STARTTLS upgrade, a datagram socket) are converted with default settings
// into clients that keep a connection per dial: no dial becomes shareConn,
// and a note at the position that decided says why. Each fixture's package
// comment says why too. (TestConvertGolden runs their converted tests.)
func TestShapeFixturesNotShared(t *testing.T) {
	t.Chdir("../..")
	for _, c := range []struct {
		dir  string
		at   string // file:line of the note
		want string // what the note says
	}{
		{"logstream", "logstream.go:87", "(*Logger).Log writes (fmt.Fprintf at logstream.go:87) and reads no reply"},
		{"pubsub", "pubsub.go:75", "(*Conn).Receive reads ((*bufio.Reader).ReadString at pubsub.go:75) before it writes a request"},
		{"starttls", "starttls.go:118", "the connection switches to TLS (crypto/tls.Client takes it over; on a live connection, STARTTLS)"},
		{"datagram", "datagram.go:48", "Dial dials a datagram socket (udp)"},
	} {
		t.Run(c.dir, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"./fixtures/" + c.dir}, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			if diff := withoutRuntime(stdout.Bytes()); bytes.Contains(diff, []byte("shareConn(")) || bytes.Contains(diff, []byte("runOp(")) {
				t.Errorf("the conversion shares connections:\n%s", diff)
			}
			prefix := filepath.Join("fixtures", c.dir, c.at) + ":"
			found := false
			for _, line := range strings.Split(stderr.String(), "\n") {
				if strings.HasPrefix(line, prefix) && strings.Contains(line, "connections are not shared") && strings.Contains(line, c.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no note at %s saying %q; stderr:\n%s", prefix, c.want, stderr.String())
			}
			src, err := os.ReadFile(filepath.Join("fixtures", c.dir, c.dir+".go"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(src, []byte("// Why it does not share its connections, converted:")) {
				t.Errorf("%s.go's package comment does not say why it does not share", c.dir)
			}
		})
	}
}
