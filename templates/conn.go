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

// A shareGroup is the handles of one shareKey and their physical
// connections, open while any handle is. A handle alone in its group uses
// its connection directly (pass-through, see pipeConn); the group's pool of
// pipelined connections comes into use when a second handle joins.
type shareGroup struct {
	key     shareKey
	pool    *pool
	handles int           // under sharedMu
	solo    *pipeConn     // under sharedMu: the handle in pass-through, while alone
	dialed  chan struct{} // closed when the group's first dial has ended
}

var (
	sharedMu sync.Mutex
	shared   = map[shareKey]*shareGroup{}
)

type shareAddr shareKey

func (a *shareAddr) Network() string { return a.network }
func (a *shareAddr) String() string  { return a.addr }

func (g *shareGroup) addr() net.Addr { return (*shareAddr)(&g.key) }

// shareConn is what a dial of the client becomes: a handle (a net.Conn) on
// a physical connection to network/addr that the handles of owner's group
// share (see shareKey). The group's first handle dials with dial (under
// ctx), so that a failed dial fails here as it would have, and uses that
// connection alone, directly; when a second handle joins, the connection
// becomes the group's shared pipelined one. Later physical connections (for
// an exclusive exchange, or after one broke) are dialed by dial under the
// caller's context of the operation that needs them. owner must be
// comparable (a pointer, a string) or nil (no sharing, see shareKey). Once
// ctx has ended it fails with ctx.Err(), as a context dial would, even
// while a connection of the group to addr is open.
func shareConn(ctx context.Context, owner any, network, addr string, dial func(ctx context.Context) (net.Conn, error)) (net.Conn, error) {
	// A handle on a group's connection is made without blocking: a split
	// operation leaves its caller (escapeCaller) only before a wait, the
	// group's first dial or pool.pick's.
	if !AsyncifyPipelining {
		escapeCaller(ctx)
		return dial(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := shareKey{owner, network, addr}
	var g *shareGroup
	first := false
	sharedMu.Lock()
	if owner != nil {
		g = shared[key]
	}
	if g == nil {
		first = true
		g = &shareGroup{key: key, dialed: make(chan struct{})}
		g.pool = newPool(poolConfig{Dial: func(ctx context.Context, _ net.Addr) (io.ReadWriteCloser, error) {
			nc, err := dial(ctx)
			if err == nil {
				shareDials.Add(1)
			}
			return nc, err
		}})
		if owner != nil {
			// A nil owner's group is never in shared: nobody joins it, and
			// drop leaves shared alone.
			shared[key] = g
		}
	}
	g.handles++
	dialed := false
	if !first {
		select {
		case <-g.dialed:
			dialed = true
			g.share()
		default:
		}
	}
	sharedMu.Unlock()

	if first {
		escapeCaller(ctx)
		nc, err := dial(ctx)
		sharedMu.Lock()
		close(g.dialed)
		if err != nil {
			sharedMu.Unlock()
			g.drop(nil)
			if ended(callerContext(ctx)) {
				// The caller's ctx ended the dial (or ended as it failed).
				err = cancelled(ctx, err)
			}
			return nil, err
		}
		shareDials.Add(1)
		h := &pipeConn{g: g, ctx: context.Background(), raw: nc, pc: nc}
		h.self = h
		g.solo = h
		if g.handles > 1 {
			g.share() // joined while dialing
		}
		sharedMu.Unlock()
		return h, nil
	}
	if !dialed {
		// The group's first dial is under way: wait for it, then join.
		escapeCaller(ctx)
		caller := callerContext(ctx)
		select {
		case <-g.dialed:
		case <-caller.Done():
			g.drop(nil)
			return nil, cancelled(ctx, caller.Err())
		}
		sharedMu.Lock()
		g.share()
		sharedMu.Unlock()
	}
	pl, err := g.pool.pick(ctx, ctx, g.addr(), false)
	if err != nil {
		g.drop(nil)
		return nil, err
	}
	h := &pipeConn{g: g, ctx: context.Background()}
	h.self = h
	h.pc, _ = pl.rwc.(net.Conn)
	return h, nil
}

// share ends the group's pass-through: the connection of the handle alone
// in it becomes the first pipelined connection of the group's pool. An idle
// handle switches at once; one in the middle of an exchange goes on using
// the connection directly while the pipeline's write side and the head of
// its reply queue are held for it (hold), and switches when that exchange
// ends (finishSwitch). A connection that may be out of sync (an I/O error,
// an exchange cut off) is closed instead: the pool dials another. Called
// with sharedMu held.
func (g *shareGroup) share() {
	h := g.solo
	if h == nil {
		return
	}
	g.solo = nil
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.raw == nil || h.closed || h.hold != nil {
		return
	}
	busy := h.sx || h.io > 0
	if h.suspect && !busy {
		raw := h.raw
		h.raw = nil
		raw.Close()
		return
	}
	pl := g.pool.adopt(g.addr(), h.raw)
	if !h.suspect && h.io == 0 && h.sx && !h.sxRead && h.depth == 0 {
		// A request written outside any bind, its reply not read yet:
		// on a shared connection it would be committed already. It
		// becomes so, first in the reply queue.
		h.s, h.o, h.clean = pl.committed(), h.sxOp, false
		busy = false
	}
	if busy {
		h.hold = pl.hold()
		return
	}
	if h.dlSet {
		h.raw.SetDeadline(time.Time{})
	}
	h.raw = nil
	h.sx, h.sxWrote, h.sxRead, h.sxOp = false, false, false, nil
}

// drop forgets a closed handle (h nil: one that was never returned); the
// last one closes the physical connections.
func (g *shareGroup) drop(h *pipeConn) {
	sharedMu.Lock()
	if h != nil && g.solo == h {
		g.solo = nil
	}
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

// A pipeConn is a handle: a net.Conn that the client uses as its own.
//
// Alone in its share group, a handle passes everything through to its
// physical connection (raw): Read, Write, deadlines and Close are the
// connection's own, with no buffering, no turn and no goroutine of the
// runtime, so the handle behaves as the connection in every detail. It still
// keeps track of its exchange (below), so that it can hand the connection
// over when a second handle joins the group (share).
//
// On a shared connection, an exchange (one request and its reply, see
// stream) begins at the first Write, commits at the first Read, which waits
// for the exchange's turn, and ends when the operation that began it says
// so (bindConn), when the operation ends, when the handle writes again
// after reading (a new request), or at Close. A Write outside any function
// that bound the handle is sent at once.
//
// On a shared connection a handle is used by one goroutine at a time, like
// the connection it stands for; mu orders it with the end of the operation
// that last used it.
type pipeConn struct {
	g    *shareGroup
	self *pipeConn // the handle itself (see binding.end)

	mu sync.Mutex
	pc net.Conn // the physical connection last used, for LocalAddr and RemoteAddr

	// Pass-through: raw is the physical connection, nil once shared.
	raw     net.Conn
	hold    *stream // the shared connection's place, held until the exchange below ends
	sx      bool    // an exchange is under way on raw
	sxWrote bool
	sxRead  bool
	sxOp    *op  // the operation whose exchange it is
	io      int  // Reads and Writes under way on raw
	suspect bool // raw may be out of sync: an I/O error, an exchange that failed
	dlSet   bool // the client set a deadline on raw

	ctx     context.Context // of the operation bound last
	s       *stream         // the exchange under way, or nil
	o       *op             // the operation whose exchange s is
	depth   int             // binds under way
	clean   bool            // the outermost bind ended with a nil error
	closed  bool
	busy    int             // Reads and Writes using s outside mu (see Close)
	wbuf    []byte          // written, not yet handed to the exchange
	readers []*bufio.Reader // the client's readers over the handle
	rdl     time.Time       // the client's deadlines, for each exchange
	wdl     time.Time
}

// closedErr is what a method of a closed handle returns, as a closed
// net.Conn does.
func (h *pipeConn) closedErr(op string) error {
	return &net.OpError{Op: op, Net: h.g.key.network, Addr: h.g.addr(), Err: net.ErrClosed}
}

// ---- pass-through ----

// soloBegin is the start of a Read (write false) or Write on raw: it
// keeps track of the exchange, as a shared connection would delimit it.
// It returns the context whose end must interrupt the I/O (that of a
// function that bound the handle, when it can end), or nil. Called with mu
// held.
func (h *pipeConn) soloBegin(write bool) context.Context {
	if !h.sx {
		h.sx, h.sxWrote, h.sxRead = true, false, false
		if o := opFrom(h.ctx); o != nil {
			h.sxOp = o
			o.mu.Lock()
			o.handles = append(o.handles, h)
			o.mu.Unlock()
		}
	}
	if write {
		h.sxWrote = true
	} else {
		h.sxRead = true
	}
	h.io++
	if h.depth > 0 && h.ctx.Done() != nil {
		return h.ctx
	}
	return nil
}

// soloDone ends a Read or Write on raw. cut: ctx ended it, the connection
// is out of sync and is closed, as a plain connection's watch does, and
// the I/O returns ctx's error, as on a shared connection.
func (h *pipeConn) soloDone(raw net.Conn, err error, cut bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.io--
	if cut {
		raw.Close()
	}
	if err != nil || cut {
		h.suspect = true
	}
	if h.hold != nil && !h.sx && h.io == 0 {
		h.finishSwitch()
	}
}

// soloEnd ends the exchange under way on raw. Called with mu held.
func (h *pipeConn) soloEnd(broken bool) {
	h.sx, h.sxWrote, h.sxRead, h.sxOp = false, false, false, nil
	if broken {
		h.suspect = true
	}
	if h.hold != nil && h.io == 0 {
		h.finishSwitch()
	}
}

// finishSwitch hands raw over to the shared pipeline once the exchange that
// was under way when a second handle joined has ended. Called with mu held.
func (h *pipeConn) finishSwitch() {
	s, raw := h.hold, h.raw
	h.hold, h.raw = nil, nil
	if h.suspect || h.closed {
		s.pl.fail(errOutOfSync)
	} else if h.dlSet {
		raw.SetDeadline(time.Time{})
	}
	s.end()
}

func (h *pipeConn) soloRead(p []byte) (int, error) { return h.soloIO(p, false) }

func (h *pipeConn) soloWrite(p []byte) (int, error) { return h.soloIO(p, true) }

// soloIO reads or writes p on the raw connection; an attached operation's
// ctx cuts it through that side's deadline.
func (h *pipeConn) soloIO(p []byte, write bool) (int, error) {
	ctx := h.soloBegin(write)
	raw, bound := h.raw, h.ctx
	h.mu.Unlock()
	if !write {
		escapeCaller(bound)
	}
	var stop func() bool
	if ctx != nil {
		stop = context.AfterFunc(ctx, func() {
			if write {
				raw.SetWriteDeadline(time.Unix(1, 0))
			} else {
				raw.SetReadDeadline(time.Unix(1, 0))
			}
		})
	}
	var n int
	var err error
	if write {
		n, err = raw.Write(p)
	} else {
		n, err = raw.Read(p)
	}
	cut := stop != nil && !stop()
	h.soloDone(raw, err, cut)
	if cut {
		err = cancelled(ctx, ctxError(ctx))
	}
	return n, err
}

// ---- shared ----

// readChunk bounds what a handle's Read hands a client's bufio.Reader at a
// time, and so what that reader may read ahead of its reply.
const readChunk = 1024

// exchange returns the exchange under way, beginning one when there is
// none, and the bytes written since it last committed. Called with mu held.
func (h *pipeConn) exchange(op string) (*stream, []byte, error) {
	if h.closed {
		return nil, nil, h.closedErr(op)
	}
	if h.s == nil {
		o := opFrom(h.ctx)
		exclusive := o != nil && o.exclusive
		pl, err := h.g.pool.pick(h.ctx, callerContext(h.ctx), h.g.addr(), exclusive)
		if err != nil {
			h.wbuf = h.wbuf[:0]
			return nil, nil, err
		}
		s := pl.newStream()
		s.exclusive = exclusive
		s.rdl, s.wdl = h.rdl, h.wdl
		s.setLimit(h.rdl)
		h.s, h.o, h.clean = s, o, false
		if nc, ok := pl.rwc.(net.Conn); ok {
			h.pc = nc
		}
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

// Write, on a shared connection, buffers p: a request reaches the exchange
// at the next Read, whole, so that a caller who leaves before then drops it
// unsent, and never makes the client's bufio.Writer fail for good. A write
// after the pipelined exchange under way has read ends that exchange: a new
// request begins. A Write outside any function that bound the handle (see
// bindConn: a log line written through an interface that takes no ctx) is
// sent at once, as an exchange of its own that a Read may go on with:
// nothing else would say when its request ends.
func (h *pipeConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	if h.raw != nil {
		if h.sx && (h.sxRead || h.depth == 0) && (h.sxOp == nil || !h.sxOp.exclusive) {
			// A new request: after a reply, or outside any bind (as on a
			// shared connection, see below).
			h.soloEnd(false)
		}
		if h.raw != nil {
			return h.soloWrite(p)
		}
	}
	if h.closed {
		h.mu.Unlock()
		return 0, h.closedErr("write")
	}
	if h.s != nil && !h.s.exclusive && (h.s.reading || h.depth == 0 && h.s.queued) {
		h.end(false)
	}
	h.wbuf = append(h.wbuf, p...)
	if h.depth > 0 {
		h.mu.Unlock()
		return len(p), nil
	}
	s, w, ctx, err := h.startIO("write")
	if err != nil {
		return 0, err
	}
	defer h.ioDone()
	_, err = s.write(ctx, w)
	if err == nil {
		err = s.flush(ctx)
	}
	h.keepBuf(w)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Read, on a shared connection, commits what was written, waits for the
// exchange's turn, and reads the shared connection.
func (h *pipeConn) Read(p []byte) (int, error) {
	h.mu.Lock()
	if h.raw != nil {
		return h.soloRead(p)
	}
	s, w, ctx, err := h.startIO("read")
	if err != nil {
		return 0, err
	}
	defer h.ioDone()
	if len(w) > 0 {
		_, err = s.write(ctx, w)
		h.keepBuf(w)
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

// startIO starts a Read or Write (op) on a shared connection: the
// exchange under way, or a new one, the bytes written since it last
// committed, and the ctx the handle is bound to; the handle is busy until
// ioDone. Called with mu held, which it releases.
func (h *pipeConn) startIO(op string) (s *stream, w []byte, ctx context.Context, err error) {
	s, w, err = h.exchange(op)
	ctx = h.ctx
	if err == nil {
		h.busy++
	}
	h.mu.Unlock()
	return s, w, ctx, err
}

// keepBuf gives the handle w's buffer back for its next writes.
func (h *pipeConn) keepBuf(w []byte) {
	h.mu.Lock()
	if h.wbuf == nil {
		h.wbuf = w[:0]
	}
	h.mu.Unlock()
}

// ioDone ends a Read or Write on a shared connection. When the handle was
// closed during it (the client closed while an operation's body, detached
// from its caller, still read), Close left the exchange to this call: it
// ends it now, the physical connection already failed. The client's
// readers are left alone: their Read is the one returning.
func (h *pipeConn) ioDone() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.busy--
	if h.closed && h.busy == 0 && h.s != nil {
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
	s, w, err := h.exchange("write")
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
	if h.raw != nil {
		if h.sx && h.sxOp == o {
			h.soloEnd(err != nil && h.sxWrote && !h.sxRead)
		}
	} else if h.s != nil && h.o == o {
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

// Close closes the handle. In pass-through it closes the connection, as
// the connection's own Close. On a shared connection it drops the handle;
// closing it in the middle of an exchange that has committed its request,
// other than after the operation said it ended cleanly, closes the
// physical connection: the client gave up on a connection it believes out
// of sync, and the requests in flight on it fail with ErrMaybeExecuted. A
// second Close fails as a net.Conn's does.
func (h *pipeConn) Close() error {
	h.mu.Lock()
	if raw := h.raw; raw != nil {
		if h.closed {
			h.mu.Unlock()
			return raw.Close()
		}
		h.closed = true
		var err error
		if s := h.hold; s != nil {
			h.hold = nil
			err = s.pl.fail(errClosed)
			s.end()
		} else {
			err = raw.Close()
		}
		h.mu.Unlock()
		h.g.drop(h)
		return err
	}
	if h.closed {
		h.mu.Unlock()
		return h.closedErr("close")
	}
	busy := h.s != nil && h.busy > 0
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
		// let it end the exchange (ioDone).
		pl := h.s.pl
		h.mu.Unlock()
		pl.fail(errOutOfSync)
		h.g.drop(h)
		return nil
	}
	if h.s != nil {
		h.end(!h.clean && h.s.queued)
	}
	h.mu.Unlock()
	h.g.drop(h)
	return nil
}

// LocalAddr and RemoteAddr are those of the physical connection the handle
// used last, asked only when the client asks.
func (h *pipeConn) LocalAddr() net.Addr {
	h.mu.Lock()
	pc := h.pc
	h.mu.Unlock()
	if pc == nil {
		return nil
	}
	return pc.LocalAddr()
}

func (h *pipeConn) RemoteAddr() net.Addr {
	h.mu.Lock()
	pc := h.pc
	h.mu.Unlock()
	if pc == nil {
		return nil
	}
	return pc.RemoteAddr()
}

// SetDeadline and its kin are, in pass-through, the connection's own. On a
// shared connection they are the client's deadlines for its exchanges: on
// an exclusive exchange, the connection's deadlines (the earlier of the
// client's and ctx's); on a pipelined one, its stuck-connection limit; they
// never set a deadline on the shared connection.
func (h *pipeConn) SetDeadline(t time.Time) error { return h.setDeadline(t, true, true) }

func (h *pipeConn) SetReadDeadline(t time.Time) error { return h.setDeadline(t, true, false) }

func (h *pipeConn) SetWriteDeadline(t time.Time) error { return h.setDeadline(t, false, true) }

// setDeadline is the three setters: the read side's deadline, the write
// side's, or both.
func (h *pipeConn) setDeadline(t time.Time, read, write bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if read {
		h.rdl = t
	}
	if write {
		h.wdl = t
	}
	if h.raw != nil {
		h.dlSet = true
		switch {
		case read && write:
			return h.raw.SetDeadline(t)
		case read:
			return h.raw.SetReadDeadline(t)
		}
		return h.raw.SetWriteDeadline(t)
	}
	if h.closed {
		return h.closedErr("set")
	}
	if h.s == nil {
		return nil
	}
	switch {
	case read && write:
		return h.s.setDeadline(t)
	case read:
		return h.s.setReadDeadline(t)
	}
	return h.s.setWriteDeadline(t)
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
	// Small enough to be inlined where it is deferred, so that the function
	// it returns is built on the caller's stack: a body binds its handle
	// several times per operation (each function of the client that uses
	// the connection), and a closure each on the heap cost as many
	// allocations.
	b := bindStart(ctx, c, errp)
	return b.end
}

// binding is what a bindConn ends: a handle's bind, or a plain
// connection's watch.
type binding struct {
	h     *pipeConn
	errp  *error
	watch func()
}

func bindStart(ctx context.Context, c connWithDeadline, errp *error) binding {
	if h, ok := c.(*pipeConn); ok {
		h.bind(ctx)
		return binding{h: h, errp: errp}
	}
	return binding{watch: watchConn(ctx, c)}
}

func (b binding) end() {
	if b.h != nil {
		// Through h.self, a load, so that b (and errp with it, the
		// address of the client's err) does not escape with the handle.
		b.h.self.unbind(b.errp)
		return
	}
	b.watch()
}

// bind is the start of a bindConn on a handle.
func (h *pipeConn) bind(ctx context.Context) {
	h.mu.Lock()
	h.depth++
	if h.depth == 1 {
		h.ctx, h.clean = ctx, false
	}
	h.mu.Unlock()
}

// unbind is the end of a bindConn on a handle: see bindConn.
func (h *pipeConn) unbind(errp *error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.depth--; h.depth > 0 {
		return
	}
	if h.raw != nil {
		// Pass-through: the exchange ends where it would on a shared
		// connection.
		switch {
		case errp != nil && *errp == nil:
			h.clean = true
			if h.sx {
				h.soloEnd(false)
			}
		case errp == nil && h.sx && h.sxOp == nil && h.sxRead:
			h.soloEnd(false)
		}
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
