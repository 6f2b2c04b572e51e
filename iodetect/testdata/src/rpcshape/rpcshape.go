// Package rpcshape is a client beside a server (net/rpc's shape), for the
// Analyzer's test: ServeConn is exported, so its user may hand it any
// connection, and Accept also hands it accepted ones; a connection from a
// listener's Accept makes the code it reaches server side, whatever else
// reaches it.
package rpcshape

import (
	"bufio"
	"io"
	"net"
)

// Client calls a server over its connection.
type Client struct {
	rw *bufio.ReadWriter
}

// Dial connects a Client to addr.
func Dial(addr string) (*Client, error) { // want Dial:`async: Dial -> net.Dial`
	nc, err := net.Dial("tcp", addr) // want `dial: net.Dial`
	if err != nil {
		return nil, err
	}
	return &Client{rw: bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc))}, nil
}

// Call sends a line and reads one back.
func (c *Client) Call(line string) (string, error) { // want Call:`async: \(\*Client\).Call -> \(\*bufio.Writer\).WriteString`
	if _, err := c.rw.WriteString(line + "\n"); err != nil { // want `write: \(\*bufio.Writer\).WriteString on c.rw`
		return "", err
	}
	if err := c.rw.Flush(); err != nil { // want `flush: \(\*bufio.Writer\).Flush on c.rw`
		return "", err
	}
	return c.rw.ReadString('\n') // want `read: \(\*bufio.Reader\).ReadString on c.rw`
}

// Server answers each line with itself.
type Server struct{}

// ServeConn serves one connection until it ends.
func (s *Server) ServeConn(conn io.ReadWriteCloser) {
	defer conn.Close() // want `close: io.Closer.Close on conn \[server\]`
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n') // want `read: \(\*bufio.Reader\).ReadString on r \[server\]`
		if err != nil {
			return
		}
		io.WriteString(conn, line) // want `write: io.WriteString on conn \[server\]`
	}
}

// Accept serves the connections of lis.
func (s *Server) Accept(lis net.Listener) {
	for {
		conn, err := lis.Accept() // want `accept: net.Listener.Accept on lis \[server\]`
		if err != nil {
			return
		}
		go s.ServeConn(conn)
	}
}

// DefaultServer is the server of ServeConn.
var DefaultServer = &Server{}

// ServeConn serves conn with DefaultServer.
func ServeConn(conn io.ReadWriteCloser) { DefaultServer.ServeConn(conn) }
