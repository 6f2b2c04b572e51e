// Package udpclient is a UDP client on an unconnected socket, with a
// logger on its connection, for the Analyzer's test: net.ListenPacket's
// socket is the client's (it sends first); log.New keeps the connection
// for the Logger to write later, and writes nothing itself.
package udpclient

import (
	"log"
	"net"
)

type Client struct {
	pc   net.PacketConn
	addr net.Addr
	log  *log.Logger
}

func New(server net.Addr, trace net.Conn) (*Client, error) {
	pc, err := net.ListenPacket("udp", ":0")
	if err != nil {
		return nil, err
	}
	return &Client{pc: pc, addr: server, log: log.New(trace, "udp: ", 0)}, nil
}

func (c *Client) Ask(q []byte) ([]byte, error) { // want Ask:`async: \(\*Client\).Ask -> net.PacketConn.WriteTo`
	if _, err := c.pc.WriteTo(q, c.addr); err != nil { // want `write: net.PacketConn.WriteTo on c.pc`
		return nil, err
	}
	buf := make([]byte, 512)
	n, _, err := c.pc.ReadFrom(buf) // want `read: net.PacketConn.ReadFrom on c.pc`
	return buf[:n], err
}
