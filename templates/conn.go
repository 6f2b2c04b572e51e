package templates

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// AsyncifyPipelining makes the connections the client dials share a few
// pipelined physical connections (true, the default): each dial returns a
// cheap handle, and the exchanges of concurrent operations go over the
// same connection, their replies read in request order. Set it to false,
// before the client dials, for one physical connection per dial as the
// original client does: needed when the client relies on server-side
// state of a connection between operations (a transaction or a
// subscription spanning calls, a selected database), which the converter
// cannot see.
var AsyncifyPipelining = true

// shareDials counts the physical connections dialed for handles.
var shareDials atomic.Int64

// shareKey says which handles may share physical connections: those dialed
// by the same client value (owner: the receiver of the method that dials)
// to the same address. A nil owner (a function that dials, such as a
// package-level Dial) shares with nobody: each call is a connection of its
// own, as the user of separate Dials expects (server-side state such as a
// selected database, AUTH or MULTI stays with it). A string owner (the
// function's name, from a share rule of the configuration) shares across
// every call of that function.
type shareKey struct {
	owner         any
	network, addr string
}

// A shareGroup is the physical connections of one shareKey, open while any
// handle to them is.
type shareGroup struct {
	key     shareKey
	pool    *pool
	handles int // under sharedMu
}

var (
	sharedMu sync.Mutex
	shared   = map[shareKey]*shareGroup{}
)

type shareAddr shareKey

func (a *shareAddr) Network() string { return a.network }
func (a *shareAddr) String() string  { return a.addr }

// shareConn is what a dial of the client becomes: a handle on a shared
// pipelined connection to network/addr, dialing one with dial (under ctx)
// when there is none, so that a failed dial fails here as it would have.
// Later physical connections (for an exclusive exchange, or after one broke)
// are dialed by dial under the caller's context of the operation that needs
// them. owner must be comparable (a pointer, a string) or nil (no sharing,
// see shareKey). Once ctx has ended it fails with ctx.Err(), as a context
// dial would, even while a connection of the group to addr is open.
func shareConn(ctx context.Context, owner any, network, addr string, dial func(ctx context.Context) (net.Conn, error)) (net.Conn, error) {
	if !AsyncifyPipelining {
		return dial(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := shareKey{owner, network, addr}
	newGroup := func() *shareGroup {
		g := &shareGroup{key: key}
		g.pool = newPool(poolConfig{Dial: func(ctx context.Context, _ net.Addr) (io.ReadWriteCloser, error) {
			nc, err := dial(ctx)
			if err == nil {
				shareDials.Add(1)
			}
			return nc, err
		}})
		return g
	}
	var g *shareGroup
	sharedMu.Lock()
	if owner == nil {
		// A group of its own, never in shared (drop leaves shared alone).
		g = newGroup()
	} else if g = shared[key]; g == nil {
		g = newGroup()
		shared[key] = g
	}
	g.handles++
	sharedMu.Unlock()
	pl, err := g.pool.pick(ctx, ctx, (*shareAddr)(&g.key), false)
	if err != nil {
		g.drop()
		return nil, err
	}
	h := &pipeConn{g: g, ctx: context.Background()}
	if nc, ok := pl.rwc.(net.Conn); ok {
		h.local, h.remote = nc.LocalAddr(), nc.RemoteAddr()
	}
	return h, nil
}

// drop forgets a closed handle; the last one closes the physical
// connections.
func (g *shareGroup) drop() {
	sharedMu.Lock()
	g.handles--
	last := g.handles == 0
	if last && shared[g.key] == g {
		delete(shared, g.key)
	}
	sharedMu.Unlock()
	if last {
		g.pool.close()
	}
}

// A pipeConn is a handle on a shared physical connection: a net.Conn that
// the client uses as its own. Its exchange (one request and its reply, see
// stream) begins at the first Write, commits at the first Read, which waits
// for the exchange's turn, and ends when the operation that began it says
// so (bindConn), when the operation ends, when the handle writes again
// after reading (a new request), or at Close.
//
// A handle is used by one goroutine at a time, like the connection it
// stands for; mu orders it with the end of the operation that last used it.
type pipeConn struct {
	g             *shareGroup
	local, remote net.Addr

	mu      sync.Mutex
	ctx     context.Context // of the operation bound last
	s       *stream         // the exchange under way, or nil
	o       *op             // the operation whose exchange s is
	depth   int             // binds under way
	clean   bool            // the outermost bind ended with a nil error
	closed  bool
	reads   int             // Reads using s outside mu (see Close)
	wbuf    []byte          // written, not yet handed to the exchange
	readers []*bufio.Reader // the client's readers over the handle
	rdl     time.Time       // the client's deadlines, for each exchange
	wdl     time.Time
}

// readChunk bounds what a handle's Read hands a client's bufio.Reader at a
// time, and so what that reader may read ahead of its reply.
const readChunk = 1024

// exchange returns the exchange under way, beginning one when there is
// none, and the bytes written since it last committed. Called with mu held.
func (h *pipeConn) exchange() (*stream, []byte, error) {
	if h.closed {
		return nil, nil, net.ErrClosed
	}
	if h.s == nil {
		o := opFrom(h.ctx)
		exclusive := o != nil && o.exclusive
		pl, err := h.g.pool.pick(h.ctx, callerContext(h.ctx), (*shareAddr)(&h.g.key), exclusive)
		if err != nil {
			h.wbuf = h.wbuf[:0]
			return nil, nil, err
		}
		s := pl.newStream()
		s.exclusive = exclusive
		s.rdl, s.wdl = h.rdl, h.wdl
		s.setLimit(h.rdl)
		h.s, h.o, h.clean = s, o, false
		if o != nil {
			o.mu.Lock()
			o.handles = append(o.handles, h)
			o.mu.Unlock()
		}
	}
	w := h.wbuf
	h.wbuf = nil
	return h.s, w, nil
}

// Write buffers p: a request reaches the exchange at the next Read, whole,
// so that a caller who leaves before then drops it unsent, and never makes
// the client's bufio.Writer fail for good. A write after the pipelined
// exchange under way has read ends that exchange: a new request begins.
func (h *pipeConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, net.ErrClosed
	}
	if h.s != nil && h.s.reading && !h.s.exclusive {
		h.end(false)
	}
	h.wbuf = append(h.wbuf, p...)
	return len(p), nil
}

// Read commits what was written, waits for the exchange's turn, and reads
// the shared connection.
func (h *pipeConn) Read(p []byte) (int, error) {
	h.mu.Lock()
	s, w, err := h.exchange()
	ctx := h.ctx
	if err == nil {
		h.reads++
	}
	h.mu.Unlock()
	if err != nil {
		return 0, err
	}
	defer h.readDone()
	if len(w) > 0 {
		_, err = s.write(ctx, w)
		h.mu.Lock()
		if h.wbuf == nil {
			h.wbuf = w[:0]
		}
		h.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	if err := s.beginRead(ctx); err != nil {
		return 0, err
	}
	pl := s.pl
	if pl.hr == pl.hw {
		if pl.hbuf == nil {
			pl.hbuf = make([]byte, pl.cfg.ReadBufferSize)
		}
		n, err := s.read(ctx, pl.hbuf)
		pl.hr, pl.hw = 0, n
		if n == 0 {
			return 0, err
		}
	}
	if len(p) > readChunk && len(p) <= 4096 {
		p = p[:readChunk]
	}
	n := copy(p, pl.hbuf[pl.hr:pl.hw])
	pl.hr += n
	return n, nil
}

// readDone ends a Read. When the handle was closed during it (the client
// closed while an operation's body, detached from its caller, still read),
// Close left the exchange to this Read: it ends it now, the physical
// connection already failed. The client's readers are left alone: their
// Read is the one returning.
func (h *pipeConn) readDone() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads--
	if h.closed && h.reads == 0 && h.s != nil {
		s := h.s
		h.s, h.o = nil, nil
		s.close()
	}
}

// end ends the exchange: in turn, what the client's readers read ahead goes
// back to the shared connection for the next exchange. With closeConn, or
// when the exchange broke, the physical connection is closed. Called with
// mu held.
func (h *pipeConn) end(closeConn bool) {
	s := h.s
	h.s, h.o = nil, nil
	if s.reading && !closeConn && !s.broken {
		h.unread(s.pl)
	}
	for _, br := range h.readers {
		br.Reset(h)
	}
	if closeConn {
		s.close()
		return
	}
	s.release()
}

// sendUnread sends, at the end of a clean exchange, a request written and
// never read: one that expects no reply. Called with mu held.
func (h *pipeConn) sendUnread() {
	if len(h.wbuf) == 0 || h.closed {
		return
	}
	s, w, err := h.exchange()
	if err != nil {
		return
	}
	if _, err := s.write(h.ctx, w); err == nil {
		err = s.flush(h.ctx)
	}
	h.end(err != nil)
}

// unread hands back the bytes the client's readers hold beyond the
// exchange's reply. They are the last bytes Read returned: usually still in
// hbuf just before hr.
func (h *pipeConn) unread(pl *pipeline) {
	for _, br := range h.readers {
		n := br.Buffered()
		if n == 0 {
			continue
		}
		b, _ := br.Peek(n)
		if n <= pl.hr && bytes.Equal(b, pl.hbuf[pl.hr-n:pl.hr]) {
			pl.hr -= n
			continue
		}
		rest := pl.hbuf[pl.hr:pl.hw]
		nb := make([]byte, 0, max(n+len(rest), len(pl.hbuf)))
		nb = append(append(nb, b...), rest...)
		pl.hbuf, pl.hr, pl.hw = nb[:cap(nb)], 0, len(nb)
	}
}

// opEnded ends the exchange that o began and the client left open (see
// bindConn): the client did not close the handle, so it holds the
// connection in sync. A request committed and never read by a body that
// failed closes the physical connection: its reply would go to the next
// exchange.
func (h *pipeConn) opEnded(o *op, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.s != nil && h.o == o {
		h.end(err != nil && h.s.queued && !h.s.reading)
	}
	if opFrom(h.ctx) != o {
		return // the handle has gone on to another operation
	}
	if err != nil {
		h.wbuf = h.wbuf[:0] // never send a part of a request
	} else {
		h.sendUnread()
	}
	h.ctx = context.Background()
}

// Close drops the handle. Closing it in the middle of an exchange that has
// committed its request, other than after the operation said it ended
// cleanly, closes the physical connection: the client gave up on a
// connection it believes out of sync, and the requests in flight on it fail
// with ErrMaybeExecuted.
func (h *pipeConn) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return net.ErrClosed
	}
	busy := h.s != nil && h.reads > 0
	if !busy && (h.s == nil || h.clean) {
		// Bytes written and not read: a request that expects no reply
		// (a QUIT), sent as a plain connection would have.
		if h.s != nil {
			h.end(false)
		}
		h.sendUnread()
	}
	h.closed = true
	h.wbuf = nil
	if busy {
		// A Read is using the exchange (another goroutine: an operation's
		// body left by its caller). Its stream is not this goroutine's to
		// touch: fail the physical connection, which ends that Read, and
		// let it end the exchange (readDone).
		pl := h.s.pl
		h.mu.Unlock()
		pl.fail(errOutOfSync)
		h.g.drop()
		return nil
	}
	if h.s != nil {
		h.end(!h.clean && h.s.queued)
	}
	h.mu.Unlock()
	h.g.drop()
	return nil
}

func (h *pipeConn) LocalAddr() net.Addr  { return h.local }
func (h *pipeConn) RemoteAddr() net.Addr { return h.remote }

// SetDeadline and its kin are the client's deadlines for its exchanges: on
// an exclusive exchange, the connection's deadlines (the earlier of the
// client's and ctx's); on a pipelined one, its stuck-connection limit. They
// never set a deadline on the shared connection.
func (h *pipeConn) SetDeadline(t time.Time) error {
	h.mu.Lock()
	h.rdl, h.wdl = t, t
	s := h.s
	h.mu.Unlock()
	if s != nil {
		return s.setDeadline(t)
	}
	return nil
}

func (h *pipeConn) SetReadDeadline(t time.Time) error {
	h.mu.Lock()
	h.rdl = t
	s := h.s
	h.mu.Unlock()
	if s != nil {
		return s.setReadDeadline(t)
	}
	return nil
}

func (h *pipeConn) SetWriteDeadline(t time.Time) error {
	h.mu.Lock()
	h.wdl = t
	s := h.s
	h.mu.Unlock()
	if s != nil {
		return s.setWriteDeadline(t)
	}
	return nil
}

// shareReader is what bufio.NewReader(r) and bufio.NewReaderSize(r, size)
// become around a connection (size 0: bufio's default): the same reader,
// which, when r is a handle, gives back what it read ahead of each reply
// when the exchange ends.
func shareReader(r io.Reader, size int) *bufio.Reader {
	if size <= 0 {
		size = 4096
	}
	br := bufio.NewReaderSize(r, size)
	if h, ok := r.(*pipeConn); ok {
		h.mu.Lock()
		h.readers = append(h.readers, br)
		h.mu.Unlock()
	}
	return br
}

// connWithDeadline is what bindConn needs of a plain connection.
type connWithDeadline interface {
	SetDeadline(t time.Time) error
	Close() error
}

// bindConn is called, deferred, where a function of the client begins using
// a connection c under ctx:
//
//	defer bindConn(ctx, cn.nc, &err)()
//
// On a handle, the exchange that follows belongs to the operation of ctx
// (pipelined, or exclusive as the operation's mode says). When the
// outermost bind ends with a nil *errp, the exchange ends there, handing
// the turn on; otherwise (an error, or errp nil: a function that does not
// know if the reply was read whole) it goes on until the handle is closed,
// writes a new request, or the operation ends. Outside any operation (an
// unexported method called directly), the outermost bind ends an exchange
// that has read.
//
// On a plain connection, ctx's end moves c's deadline to now, interrupting
// a blocked read or write; the connection, out of sync, is then closed when
// the function returns.
func bindConn(ctx context.Context, c connWithDeadline, errp *error) (end func()) {
	h, ok := c.(*pipeConn)
	if !ok {
		return watchConn(ctx, c)
	}
	h.mu.Lock()
	h.depth++
	if h.depth == 1 {
		h.ctx, h.clean = ctx, false
	}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.depth--; h.depth > 0 {
			return
		}
		if errp == nil && h.s != nil && h.o == nil && h.s.reading && len(h.wbuf) == 0 {
			// No operation will end this exchange: the outermost function
			// that used the connection has read its reply.
			h.end(false)
			return
		}
		if errp == nil || *errp != nil {
			return
		}
		h.clean = true
		if h.s != nil && h.s.reading && len(h.wbuf) == 0 {
			h.end(false)
		} else if h.s == nil {
			h.sendUnread()
		}
	}
}

func watchConn(ctx context.Context, c connWithDeadline) (end func()) {
	if c == nil || ctx.Done() == nil {
		return func() {}
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
			c.Close()
		}
	}
}
