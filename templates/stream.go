package templates

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// errStreamEnded is returned by a stream used after release or close.
var errStreamEnded = errors.New("asyncify: stream used after its exchange ended")

// A stream is one exchange's view of a connection: the context-aware form of
// the bufio.Reader, bufio.Writer, bufio.ReadWriter and net.Conn a client
// wraps around it. Writes go to a private buffer; flush commits them; the
// first read waits for the exchange's turn in the reply queue. release ends
// an exchange that left the connection in sync; close ends one that did not.
//
// A stream belongs to one operation at a time: it is not safe for
// concurrent use, like the bufio values it replaces.
type stream struct {
	pl        *pipeline
	exclusive bool
	slot      bool // holds a place on the connection (until it leaves the queue)
	wside     bool // holds the write side
	queued    bool // committed: in the reply queue
	reading   bool // its turn came
	ended     bool
	broken    bool // failed in a way that leaves the connection out of sync

	wbuf []byte
	turn chan struct{} // receives the turn
	next *stream       // in the reply queue
	// parked: the split operation that waits for this exchange's turn
	// (split.go)
	parked *opCoro

	base, wait time.Duration // stuck limit: base (0: none) plus server-side wait
	rdl, wdl   time.Time     // the client's deadlines

	op      *op // whose finish ends this stream if the body did not
	opIndex int
	vctx    context.Context // ctx of the io.Reader and io.Writer views
}

func (s *stream) limit() time.Duration {
	if s.base <= 0 {
		return 0
	}
	return s.base + s.wait
}

// ---- write phase ----

func (s *stream) beginWrite(ctx context.Context) error {
	switch {
	case s.ended:
		return errStreamEnded
	case s.queued && !s.exclusive:
		s.broken = true
		return errNotPipelinable
	case s.wside:
		return nil
	}
	return s.acquire(ctx)
}

// acquire takes a place on the connection and its write side. These waits
// are the only ones before the commit: when the caller's ctx ends during
// them, the request is dropped unsent.
func (s *stream) acquire(ctx context.Context) error {
	pl := s.pl
	caller := ctx
	if s.op != nil {
		caller = s.op.caller
	} else if o := opFrom(ctx); o != nil {
		caller = o.caller
	}
	if !s.slot {
		select {
		case pl.slots <- struct{}{}:
		default:
			escapeCaller(ctx)
			select {
			case pl.slots <- struct{}{}:
			case <-caller.Done():
				return cancelled(ctx, caller.Err())
			case <-pl.failed:
				return pl.netError("write", pl.err)
			}
		}
		s.slot = true
	}
	select {
	case pl.wside <- struct{}{}:
	default:
		escapeCaller(ctx)
		select {
		case pl.wside <- struct{}{}:
		case <-caller.Done():
			s.dropWrite()
			return cancelled(ctx, caller.Err())
		case <-pl.failed:
			s.dropWrite()
			return pl.netError("write", pl.err)
		}
	}
	s.wside = true
	if err := pl.failure(); err != nil {
		s.dropWrite()
		return pl.netError("write", err)
	}
	if s.exclusive && !s.queued {
		pl.mu.Lock()
		pl.held = true
		pl.mu.Unlock()
	}
	return nil
}

// dropWrite gives back what an uncommitted exchange holds; its bytes never
// reach the wire.
func (s *stream) dropWrite() {
	s.wbuf = s.wbuf[:0]
	if s.wside {
		s.wside = false
		if s.exclusive {
			s.pl.mu.Lock()
			s.pl.held = false
			s.pl.mu.Unlock()
		}
		<-s.pl.wside
	}
	if s.slot && !s.queued {
		s.slot = false
		<-s.pl.slots
	}
}

// startWrite takes the write side now, before anything is written (what
// textproto.Pipeline's StartRequest becomes): client state read and changed
// before the first write (a current tube, say) is then in wire order too.
func (s *stream) startWrite(ctx context.Context) error { return s.beginWrite(ctx) }

func (s *stream) write(ctx context.Context, p []byte) (int, error) {
	if err := s.beginWrite(ctx); err != nil {
		return 0, err
	}
	s.wbuf = append(s.wbuf, p...)
	return len(p), nil
}

func (s *stream) writeString(ctx context.Context, str string) (int, error) {
	if err := s.beginWrite(ctx); err != nil {
		return 0, err
	}
	s.wbuf = append(s.wbuf, str...)
	return len(str), nil
}

func (s *stream) writeByte(ctx context.Context, c byte) error {
	if err := s.beginWrite(ctx); err != nil {
		return err
	}
	s.wbuf = append(s.wbuf, c)
	return nil
}

// printfLine is textproto.Writer.PrintfLine: the line, \r\n, and a flush.
func (s *stream) printfLine(ctx context.Context, format string, args ...any) error {
	if err := s.beginWrite(ctx); err != nil {
		return err
	}
	s.wbuf = fmt.Appendf(s.wbuf, format, args...)
	s.wbuf = append(s.wbuf, '\r', '\n')
	return s.flush(ctx)
}

// flush commits what was written: the exchange takes its place in the reply
// queue and its bytes go to the wire. In a pipelined exchange it releases the
// write side; nothing may be written after it.
func (s *stream) flush(ctx context.Context) error {
	if s.ended {
		return errStreamEnded
	}
	if !s.wside || (s.queued && len(s.wbuf) == 0) {
		return nil
	}
	return s.pl.commit(ctx, s)
}

// bufferedWrite is the number of bytes written and not yet committed.
func (s *stream) bufferedWrite() int { return len(s.wbuf) }

// ---- reply ----

// beginRead commits what is still unflushed, then waits for the exchange's
// turn. Once committed, only an attached operation's ctx is watched: ending
// it cuts the exchange off and closes the connection.
func (s *stream) beginRead(ctx context.Context) error {
	if s.reading && len(s.wbuf) == 0 {
		s.pl.rs, s.pl.rctx = s, ctx
		return nil
	}
	if s.ended {
		return errStreamEnded
	}
	if !s.queued || len(s.wbuf) > 0 {
		if !s.wside {
			if err := s.acquire(ctx); err != nil {
				return err
			}
		}
		if err := s.pl.commit(ctx, s); err != nil {
			return err
		}
	}
	if !s.reading {
		pl := s.pl
		// A split operation's body parks here, committed, when it runs on
		// its caller (split.go).
		leaveCaller(ctx, s)
		select {
		case <-s.turn:
		default:
			// Split operations ahead may wait for somebody to drive them;
			// this body may be one being driven.
			stalls := drivenBody(ctx)
			pl.mu.Lock()
			pl.blocked++
			if stalls {
				pl.stalled++
			}
			pl.startDriver(true)
			pl.mu.Unlock()
			var err error
			select {
			case <-s.turn:
			case <-pl.failed:
				s.broken = true
				err = pl.lost(pl.err)
			case <-ctx.Done():
				s.broken = true
				pl.fail(errCutOff)
				err = cancelled(ctx, ctx.Err())
			}
			pl.mu.Lock()
			pl.blocked--
			if stalls {
				pl.stalled--
			}
			pl.mu.Unlock()
			if err != nil {
				return err
			}
		}
		s.reading = true
	}
	s.pl.rs, s.pl.rctx = s, ctx
	return nil
}

// readError marks the connection failed after a read error: what is left of
// the reply is unknown. An error of the connection itself is returned as the
// client's code would have seen it without the runtime.
func (s *stream) readError(err error) error {
	if err == bufio.ErrBufferFull || err == bufio.ErrNegativeCount {
		return err
	}
	s.broken = true
	if err == context.Canceled || err == context.DeadlineExceeded {
		return err // this exchange's own ctx cut it off
	}
	if cause := s.pl.failure(); cause != nil {
		// The runtime closed the connection (stuck, closed, cut off): say
		// why rather than "use of closed network connection".
		return s.pl.lost(cause)
	}
	s.pl.fail(err)
	return err
}

// startRead commits what was written and waits for the exchange's turn
// (what textproto.Pipeline's StartResponse becomes). Reads do it themselves.
func (s *stream) startRead(ctx context.Context) error { return s.beginRead(ctx) }

// read, readByte, readSlice, readLine, readBytes, readString, peek and
// discard have one shape on purpose: each is the bufio.Reader method of
// its name on the shared reader, after beginRead and with readError, so
// that converted code calls the one it called before.

func (s *stream) read(ctx context.Context, p []byte) (int, error) {
	if err := s.beginRead(ctx); err != nil {
		return 0, err
	}
	n, err := s.pl.br.Read(p)
	if err != nil {
		err = s.readError(err)
	}
	return n, err
}

func (s *stream) readByte(ctx context.Context) (byte, error) {
	if err := s.beginRead(ctx); err != nil {
		return 0, err
	}
	c, err := s.pl.br.ReadByte()
	if err != nil {
		err = s.readError(err)
	}
	return c, err
}

func (s *stream) readSlice(ctx context.Context, delim byte) ([]byte, error) {
	if err := s.beginRead(ctx); err != nil {
		return nil, err
	}
	b, err := s.pl.br.ReadSlice(delim)
	if err != nil {
		err = s.readError(err)
	}
	return b, err
}

func (s *stream) readLine(ctx context.Context) (line []byte, isPrefix bool, err error) {
	if err := s.beginRead(ctx); err != nil {
		return nil, false, err
	}
	line, isPrefix, err = s.pl.br.ReadLine()
	if err != nil {
		err = s.readError(err)
	}
	return line, isPrefix, err
}

func (s *stream) readBytes(ctx context.Context, delim byte) ([]byte, error) {
	if err := s.beginRead(ctx); err != nil {
		return nil, err
	}
	b, err := s.pl.br.ReadBytes(delim)
	if err != nil {
		err = s.readError(err)
	}
	return b, err
}

func (s *stream) readString(ctx context.Context, delim byte) (string, error) {
	if err := s.beginRead(ctx); err != nil {
		return "", err
	}
	str, err := s.pl.br.ReadString(delim)
	if err != nil {
		err = s.readError(err)
	}
	return str, err
}

func (s *stream) peek(ctx context.Context, n int) ([]byte, error) {
	if err := s.beginRead(ctx); err != nil {
		return nil, err
	}
	b, err := s.pl.br.Peek(n)
	if err != nil {
		err = s.readError(err)
	}
	return b, err
}

func (s *stream) discard(ctx context.Context, n int) (int, error) {
	if err := s.beginRead(ctx); err != nil {
		return 0, err
	}
	d, err := s.pl.br.Discard(n)
	if err != nil {
		err = s.readError(err)
	}
	return d, err
}

// readTextLine is textproto.Reader.ReadLine: one line, however long, without
// its \n or \r\n.
func (s *stream) readTextLine(ctx context.Context) (string, error) {
	var long []byte
	for {
		line, isPrefix, err := s.readLine(ctx)
		if err != nil {
			return "", err
		}
		if !isPrefix && long == nil {
			return string(line), nil
		}
		long = append(long, line...)
		if !isPrefix {
			return string(long), nil
		}
	}
}

// buffered is the number of reply bytes that can be read without blocking,
// once the exchange's turn has come (0 before).
func (s *stream) buffered() int {
	if !s.reading {
		return 0
	}
	return s.pl.br.Buffered()
}

// ---- io views ----

// reader is the stream as an io.Reader reading under ctx, for functions that
// take one (io.ReadFull, binary.Read, fmt.Fscan). It stays valid until the
// next call of reader or writer.
func (s *stream) reader(ctx context.Context) io.Reader {
	s.vctx = ctx
	return (*streamReader)(s)
}

// writer is the stream as an io.Writer writing under ctx, for functions that
// take one (fmt.Fprintf, binary.Write, io.Copy).
func (s *stream) writer(ctx context.Context) io.Writer {
	s.vctx = ctx
	return (*streamWriter)(s)
}

type streamReader stream

func (r *streamReader) Read(p []byte) (int, error) {
	s := (*stream)(r)
	return s.read(s.vctx, p)
}

type streamWriter stream

func (w *streamWriter) Write(p []byte) (int, error) {
	s := (*stream)(w)
	return s.write(s.vctx, p)
}

func (w *streamWriter) WriteString(str string) (int, error) {
	s := (*stream)(w)
	return s.writeString(s.vctx, str)
}

// ---- deadlines and limits ----

// setDeadline is what the client's SetDeadline becomes. On an exclusive
// exchange the connection's deadline is the earlier of t and ctx's. On a
// pipelined one no deadline is set on the shared connection: t - now becomes
// the exchange's stuck limit, counted from when its turn comes.
func (s *stream) setDeadline(t time.Time) error {
	s.rdl, s.wdl = t, t
	s.setLimit(t)
	return nil
}

func (s *stream) setReadDeadline(t time.Time) error {
	s.rdl = t
	s.setLimit(t)
	return nil
}

func (s *stream) setWriteDeadline(t time.Time) error {
	s.wdl = t
	return nil
}

func (s *stream) setLimit(t time.Time) {
	if t.IsZero() || (s.exclusive && s.pl.dl != nil) {
		return // the deadline itself bounds the exchange
	}
	if d := time.Until(t); d > 0 {
		s.pl.mu.Lock()
		s.base = d
		s.pl.mu.Unlock()
	}
}

// expectServerWait declares that the server may hold the reply for up to d
// on purpose (a blocking reserve, say): the stuck limit grows by d.
func (s *stream) expectServerWait(d time.Duration) {
	s.pl.mu.Lock()
	s.wait = d
	s.pl.mu.Unlock()
}

// ---- end ----

// release ends an exchange that left the connection in sync: its reply was
// read whole, or it expected none, or it never committed (its bytes are
// dropped). An exchange that failed in a way that leaves the connection out of
// sync is closed instead, as if close had been called.
func (s *stream) release() {
	if s.ended {
		return
	}
	if s.broken {
		s.close()
		return
	}
	s.end()
}

// close ends an exchange whose connection cannot be trusted any more: a
// committed request's connection is closed, failing the exchanges in flight
// on it with ErrMaybeExecuted. An exchange that never committed just drops
// its bytes.
func (s *stream) close() error {
	if s.ended {
		return nil
	}
	var err error
	if s.queued {
		err = s.pl.fail(errOutOfSync)
	}
	s.end()
	return err
}

func (s *stream) end() {
	pl := s.pl
	if s.op != nil {
		s.op.streams[s.opIndex] = nil
		s.op = nil
	}
	if !s.queued {
		s.ended = true
		s.dropWrite()
		s.recycle()
		return
	}
	if s.reading && pl.dl != nil && s.exclusive && !pl.readDL.IsZero() {
		pl.dl.SetReadDeadline(time.Time{})
		pl.readDL = time.Time{}
	}
	if s.exclusive && pl.dl != nil && !pl.writeDL.IsZero() {
		pl.dl.SetWriteDeadline(time.Time{})
		pl.writeDL = time.Time{}
	}
	if s.wside {
		s.wside = false
		<-pl.wside
	}
	var removed *stream
	pl.mu.Lock()
	// Once ended under mu, s belongs to whoever pops it from the queue.
	s.ended = true
	if s.exclusive {
		pl.held = false
	}
	if pl.err == nil && pl.head == s {
		removed = pl.popHead()
	}
	pl.mu.Unlock()
	for removed != nil {
		next := removed.next
		removed.next = nil
		removed.recycle()
		removed = next
	}
}

// recycle returns an ended stream to the pool once nothing refers to it.
func (s *stream) recycle() {
	if !s.ended || s.next != nil {
		return
	}
	select {
	case <-s.turn:
	default:
	}
	wbuf := s.wbuf[:0]
	if cap(wbuf) > 64<<10 {
		wbuf = nil
	}
	*s = stream{turn: s.turn, wbuf: wbuf}
	streamPool.Put(s)
}
