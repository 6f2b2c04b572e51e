package templates

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer speaks a small line protocol whose replies carry the request's
// own token, so a reply given to the wrong caller is always detected:
//
//	get TOKEN N\n   ->  val TOKEN N\n + N bytes + \n
//	nop TOKEN\n     ->  (no reply)
type fakeServer struct {
	t  testing.TB
	ln net.Listener

	// Faults, read when a request arrives.
	stall       atomic.Bool  // stop reading and replying
	mute        atomic.Bool  // go on reading, never reply
	trickle     atomic.Bool  // write replies one byte at a time
	closeAfter  atomic.Int64 // >0: write half of reply number closeAfter, then close
	replyDelay  atomic.Int64 // nanoseconds before each reply
	unblock     chan struct{}
	requests    atomic.Int64
	connections atomic.Int64

	mu     sync.Mutex
	seen   map[string]bool
	conns  []net.Conn
	closed bool // by close: a connection accepted after it is closed at once
	wg     sync.WaitGroup
}

func newFakeServer(t testing.TB) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, seen: map[string]bool{}, unblock: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) close() {
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	select {
	case <-s.unblock:
	default:
		close(s.unblock)
	}
	s.wg.Wait()
}

func (s *fakeServer) saw(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[token]
}

func (s *fakeServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.connections.Add(1)
		s.mu.Lock()
		if s.closed {
			// accepted before close but seen after it: close has gone
			// through the connections already
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *fakeServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		n := s.requests.Add(1)
		f := strings.Fields(line)
		if len(f) < 2 {
			fmt.Fprintf(w, "error bad request %q\n", line)
			continue
		}
		s.mu.Lock()
		s.seen[f[1]] = true
		s.mu.Unlock()
		if s.stall.Load() {
			<-s.unblock
			return
		}
		if d := s.replyDelay.Load(); d > 0 {
			w.Flush()
			time.Sleep(time.Duration(d))
		}
		if f[0] == "nop" || s.mute.Load() {
			continue
		}
		size := 0
		if len(f) > 2 {
			size, _ = strconv.Atoi(f[2])
		}
		reply := fmt.Sprintf("val %s %d\n%s\n", f[1], size, strings.Repeat("x", size))
		if k := s.closeAfter.Load(); k > 0 && n >= k {
			w.WriteString(reply[:len(reply)/2])
			w.Flush()
			return
		}
		if s.trickle.Load() {
			w.Flush()
			for i := 0; i < len(reply); i++ {
				if _, err := c.Write([]byte{reply[i]}); err != nil {
					return
				}
			}
			continue
		}
		w.WriteString(reply)
	}
}

// dialRWC dials the server; plain hides the connection's deadlines, like a
// test mock that is only an io.ReadWriteCloser.
func dialRWC(t testing.TB, addr string, plain bool) io.ReadWriteCloser {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if plain {
		return struct {
			io.Reader
			io.Writer
			io.Closer
		}{c, c, c}
	}
	return c
}

// get is the tiny client's operation, written the way a converted client's
// would be: its body is the client's own code with ctx added.
func get(ctx context.Context, pl *pipeline, token string, size int) (string, error) {
	return runOp(ctx, "get", opDetachable, func(ctx context.Context) (string, error) {
		return getBody(ctx, pl.begin(ctx), token, size)
	})
}

func getBody(ctx context.Context, s *stream, token string, size int) (v string, err error) {
	defer func() {
		if err != nil {
			s.close()
		} else {
			s.release()
		}
	}()
	if _, err := fmt.Fprintf(s.writer(ctx), "get %s %d\n", token, size); err != nil {
		return "", err
	}
	if err := s.flush(ctx); err != nil {
		return "", err
	}
	return readVal(ctx, s, token)
}

var errMismatch = errors.New("reply for another request")

func readVal(ctx context.Context, s *stream, token string) (string, error) {
	line, err := s.readString(ctx, '\n')
	if err != nil {
		return "", err
	}
	var tok string
	var size int
	if _, err := fmt.Sscanf(line, "val %s %d\n", &tok, &size); err != nil {
		return "", fmt.Errorf("bad reply %q: %v", line, err)
	}
	if tok != token {
		return "", fmt.Errorf("%w: got %s, want %s", errMismatch, tok, token)
	}
	buf := make([]byte, size+1)
	if _, err := io.ReadFull(s.reader(ctx), buf); err != nil {
		return "", err
	}
	return tok, nil
}

// within fails the test when f does not return within d ("promptly").
func within(t testing.TB, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not finish within %v", what, d)
	}
}
