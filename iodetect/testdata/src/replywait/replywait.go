// Package replywait is a client whose reader goroutine delivers replies to
// the callers waiting for them, for the Analyzer's test: receives on the
// channels it fills, a Cond it signals and a WaitGroup it is done with are
// reply waits; starting the reader makes no function async.
package replywait

import (
	"bufio"
	"net"
	"sync"
)

type Client struct {
	nc      net.Conn
	mu      sync.Mutex
	cond    *sync.Cond
	last    string
	wg      sync.WaitGroup
	pending map[int]chan string
	ids     chan int
}

func Dial(addr string) (*Client, error) { // want Dial:`async: Dial -> net.Dial at replywait.go:24:21`
	nc, err := net.Dial("tcp", addr) // want `dial: net.Dial`
	if err != nil {
		return nil, err
	}
	return NewClient(nc), nil
}

// NewClient starts the reader: a go statement does not make it async.
func NewClient(nc net.Conn) *Client {
	c := &Client{nc: nc, pending: make(map[int]chan string), ids: make(chan int)}
	c.cond = sync.NewCond(&c.mu)
	c.wg.Add(1)
	go c.readLoop()
	return c
}

func (c *Client) readLoop() { // want readLoop:`async: \(\*Client\).readLoop -> \(\*bufio.Reader\).ReadString at replywait.go:43:28`
	r := bufio.NewReader(c.nc)
	for {
		line, err := r.ReadString('\n') // want `read: \(\*bufio.Reader\).ReadString on r`
		if err != nil {
			c.wg.Done()
			return
		}
		c.mu.Lock()
		c.last = line
		ch := c.pending[0]
		c.cond.Broadcast()
		c.mu.Unlock()
		ch <- line
	}
}

// Get waits on a buffered channel the reader fills.
func (c *Client) Get() (string, error) { // want Get:`async: \(\*Client\).Get -> <-ch \(reply from \(\*Client\).readLoop\) at replywait.go:63:9`
	ch := make(chan string, 1)
	c.mu.Lock()
	c.pending[0] = ch
	c.mu.Unlock()
	return <-ch, nil // want `reply-wait: <-ch \(reply from \(\*Client\).readLoop\)`
}

// Next waits in a select.
func (c *Client) Next(stop chan struct{}) (string, error) { // want Next:`async: \(\*Client\).Next -> <-c.pending\[0\] \(reply from \(\*Client\).readLoop\) at replywait.go:69:12`
	select {
	case s := <-c.pending[0]: // want `reply-wait: <-c.pending\[0\] \(reply from \(\*Client\).readLoop\)`
		return s, nil
	case <-stop:
		return "", nil
	}
}

// Last waits on the Cond the reader signals.
func (c *Client) Last() (string, error) { // want Last:`async: \(\*Client\).Last -> \(\*sync.Cond\).Wait \(signalled by \(\*Client\).readLoop\) at replywait.go:81:14`
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.last == "" {
		c.cond.Wait() // want `reply-wait: \(\*sync.Cond\).Wait \(signalled by \(\*Client\).readLoop\) on c.cond`
	}
	return c.last, nil
}

// Wait waits for the reader to end: reported, not a seed.
func (c *Client) Wait() {
	c.wg.Wait() // want `reply-wait: \(\*sync.WaitGroup\).Wait \(done by \(\*Client\).readLoop\) on c.wg`
}

// Local waits on a channel the reader never fills: not a reply wait.
func (c *Client) Local() int {
	ch := make(chan int, 1)
	ch <- 1
	return <-ch
}
