// Package client is a tiny line-protocol client and server, for the
// Analyzer's test.
package client

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

type Client struct {
	nc net.Conn
	rw *bufio.ReadWriter
}

func Dial(addr string) (*Client, error) { // want Dial:`async: Dial -> net.Dial at client.go:20:21`
	nc, err := net.Dial("tcp", addr) // want `dial: net.Dial`
	if err != nil {
		return nil, err
	}
	return &Client{nc: nc, rw: bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc))}, nil
}

func (c *Client) Get(key string) (string, error) { // want Get:`async: \(\*Client\).Get -> net.Conn.SetDeadline at client.go:28:18`
	c.nc.SetDeadline(time.Now().Add(time.Second)) // want `deadline: net.Conn.SetDeadline on c.nc`
	fmt.Fprintf(c.rw, "get %s\r\n", key)          // want `write: fmt.Fprintf on c.rw`
	if err := c.rw.Flush(); err != nil {          // want `flush: \(\*bufio.Writer\).Flush on c.rw`
		return "", err
	}
	return readLine(c.rw.Reader)
}

func readLine(r *bufio.Reader) (string, error) { // want readLine:`async: readLine -> \(\*bufio.Reader\).ReadString`
	line, err := r.ReadString('\n') // want `read: \(\*bufio.Reader\).ReadString on r`
	return strings.TrimSpace(line), err
}

func (c *Client) Close() error {
	return c.nc.Close() // want `close: net.Conn.Close on c.nc`
}

// pure helpers: no sites
func parse(s string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q", s)
	io.WriteString(&b, s)
	return b.String()
}

func Serve(ln net.Listener) {
	for {
		c, err := ln.Accept() // want `accept: net.Listener.Accept on ln \[server\]`
		if err != nil {
			return
		}
		go handle(c)
	}
}

func handle(c net.Conn) {
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n') // want `read: \(\*bufio.Reader\).ReadString on br \[server\]`
	io.WriteString(c, parse(line)) // want `write: io.WriteString on c \[server\]`
	time.Sleep(time.Millisecond)   // want `sleep: time.Sleep`
}
