package templates

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"
)

// pipelineConfig tunes a pipeline. Zero values take the defaults.
type pipelineConfig struct {
	// MaxInFlight bounds the exchanges holding a place on the connection:
	// those in their write phase plus those committed whose reply is not read
	// yet. A caller beyond it waits, and can cancel. Default 256.
	MaxInFlight int
	// StuckAfter is the stuck-connection limit of an exchange that sets no
	// deadline of its own: a connection whose oldest exchange has waited
	// this long for its reply is closed. 0: no limit.
	StuckAfter time.Duration
	// ReadBufferSize is the size of the shared read buffer. Default 16 KiB.
	ReadBufferSize int
}

// errCutOff is what the other exchanges of a connection see (wrapped in
// ErrMaybeExecuted) when a caller's ctx ended in the middle of an exchange
// that could not be abandoned, and the connection had to be closed.
var errCutOff = errors.New("asyncify: an exchange was cut off mid-reply by its caller's context")

type deadliner interface {
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// A pipeline is one physical connection shared by many exchanges.
//
// An exchange's write phase holds the write side from its first write to its
// commit (its flush), its bytes going to a private buffer; the commit gives
// it its place in the reply queue and hands its bytes to the writer. Replies
// are read in queue order: each exchange waits for its turn, parses its reply
// on the shared reader with the client's own code, and passes the turn on
// when it ends.
type pipeline struct {
	rwc  io.ReadWriteCloser
	dl   deadliner // nil when rwc has no deadlines
	addr net.Addr  // what was dialed, for errors; nil when unknown
	cfg  pipelineConfig
	br   *bufio.Reader

	slots chan struct{} // one per exchange holding a place (MaxInFlight)
	wside chan struct{} // the write side: one holder at a time

	// Touched only by the exchange whose turn it is.
	rs     *stream
	rctx   context.Context
	readDL time.Time // read deadline last set on dl
	// What connection handles read (see pipeConn.Read): bytes of hbuf
	// between hr and hw are unread. A handle's exchange hands back what its
	// client's bufio.Reader read ahead by moving hr back.
	hbuf   []byte
	hr, hw int

	mu             sync.Mutex
	head, tail     *stream // reply queue: committed exchanges not ended yet
	headSince      time.Time
	pending, spare []byte // committed bytes not yet written; a spare buffer
	writing        bool   // a write is under way (direct or writer goroutine)
	writeDL        time.Time
	held           bool // an exclusive exchange holds the connection
	err            error
	failed         chan struct{} // closed with err set
	watch          *time.Timer
	watching       bool
	writer         sync.WaitGroup
	// runq: the split operations whose turn came; drivers: goroutines
	// resuming them; blocked: goroutines waiting without driving; eager: a
	// driver runs whenever one is ready (split.go).
	runq    []*opCoro
	drivers int
	stalled int // drivers whose body waits for its turn (stream.beginRead)
	blocked int
	eager   bool
}

// newPipeline shares rwc among exchanges. rwc may lack deadlines (any
// io.ReadWriteCloser); with them (a net.Conn), exclusive exchanges use them
// for ctx's deadline and cancellation.
func newPipeline(rwc io.ReadWriteCloser, cfg pipelineConfig) *pipeline {
	cfg.MaxInFlight = cfg.maxInFlight()
	if cfg.ReadBufferSize <= 0 {
		cfg.ReadBufferSize = 16 << 10
	}
	pl := &pipeline{
		rwc:    rwc,
		cfg:    cfg,
		slots:  make(chan struct{}, cfg.MaxInFlight),
		wside:  make(chan struct{}, 1),
		failed: make(chan struct{}),
	}
	pl.dl, _ = rwc.(deadliner)
	pl.br = bufio.NewReaderSize(connReader{pl}, cfg.ReadBufferSize)
	return pl
}

var streamPool = sync.Pool{New: func() any { return &stream{turn: make(chan struct{}, 1)} }}

// begin starts an exchange that may be pipelined with others.
func (pl *pipeline) begin(ctx context.Context) *stream {
	s := pl.newStream()
	if o := opFrom(ctx); o != nil {
		s.op, s.opIndex = o, len(o.streams)
		o.streams = append(o.streams, s)
	}
	return s
}

// newStream is a stream on pl that no operation ends for its body.
func (pl *pipeline) newStream() *stream {
	s := streamPool.Get().(*stream)
	s.pl = pl
	s.base = pl.cfg.StuckAfter
	return s
}

// beginExclusive starts an exchange that holds the connection from its first
// write until it ends: no other exchange's bytes go between its own, so it may
// write after reading and keep connection state across its requests. Its
// ctx's deadline and cancellation interrupt its I/O through the connection's
// deadlines (or by closing it, when it has none).
func (pl *pipeline) beginExclusive(ctx context.Context) *stream {
	s := pl.begin(ctx)
	s.exclusive = true
	return s
}

// hold returns an exchange that holds the write side and the head of the
// reply queue of pl, a new connection, as if its turn had come: no other
// exchange's bytes reach the connection until it ends. A handle that used
// the connection alone holds it so while it finishes its exchange (see
// shareGroup.share).
func (pl *pipeline) hold() *stream {
	s := pl.newStream()
	s.base = 0
	pl.slots <- struct{}{}
	pl.wside <- struct{}{}
	s.slot, s.wside = true, true
	pl.mu.Lock()
	pl.enqueue(s)
	pl.mu.Unlock()
	<-s.turn
	s.reading = true
	return s
}

// committed returns an exchange on pl, a new connection, whose request is
// on the wire already: committed, first in the reply queue.
func (pl *pipeline) committed() *stream {
	s := pl.newStream()
	pl.slots <- struct{}{}
	s.slot = true
	pl.mu.Lock()
	pl.enqueue(s)
	pl.mu.Unlock()
	return s
}

// close closes the connection; every exchange in flight fails with
// ErrMaybeExecuted, later ones with an error. It returns once no goroutine of
// the pipeline is left.
func (pl *pipeline) close() error {
	err := pl.fail(errClosed)
	pl.writer.Wait()
	return err
}

// failure returns the error the pipeline failed with, or nil.
func (pl *pipeline) failure() error {
	select {
	case <-pl.failed:
		return pl.err
	default:
		return nil
	}
}

// fail closes the connection (once) and wakes every waiter.
func (pl *pipeline) fail(cause error) error {
	pl.mu.Lock()
	if pl.err != nil {
		pl.mu.Unlock()
		return nil
	}
	pl.err = cause
	close(pl.failed)
	pl.readyAll()
	if pl.watch != nil {
		pl.watch.Stop()
	}
	pl.mu.Unlock()
	dropWorkers(pl)
	return pl.rwc.Close()
}

// enqueue gives s its place in the reply queue. Called with mu held.
func (pl *pipeline) enqueue(s *stream) {
	s.queued = true
	if pl.tail == nil {
		pl.head, pl.tail = s, s
		pl.headSince = time.Now()
		s.turn <- struct{}{}
		pl.armWatch()
		return
	}
	pl.tail.next = s
	pl.tail = s
}

// popHead removes the head of the reply queue, and the exchanges after it that
// ended without reading (they expected no reply), and passes the turn on.
// Called with mu held; returns the removed exchanges, chained by next, to be
// recycled once mu is released.
func (pl *pipeline) popHead() (removed *stream) {
	removed = pl.head
	last := removed
	<-pl.slots
	for last.next != nil && last.next.ended {
		last = last.next
		<-pl.slots
	}
	pl.head, last.next = last.next, nil
	if pl.head == nil {
		pl.tail = nil
		return removed
	}
	pl.headSince = time.Now()
	pl.head.turn <- struct{}{}
	pl.ready(pl.head)
	pl.armWatch()
	return removed
}

// armWatch makes sure the stuck-connection check runs while the head
// exchange has a limit. Called with mu held.
func (pl *pipeline) armWatch() {
	lim := pl.head.limit()
	if lim <= 0 || pl.watching || pl.err != nil {
		return
	}
	pl.watching = true
	if pl.watch == nil {
		pl.watch = time.AfterFunc(lim, pl.checkStuck)
	} else {
		pl.watch.Reset(lim)
	}
}

// checkStuck closes the connection when its head exchange has waited past
// its limit; one timer per connection, armed only while there is a head.
func (pl *pipeline) checkStuck() {
	pl.mu.Lock()
	pl.watching = false
	if pl.err != nil || pl.head == nil {
		pl.mu.Unlock()
		return
	}
	lim := pl.head.limit()
	if lim <= 0 {
		pl.mu.Unlock()
		return
	}
	if len(pl.runq) > 0 {
		// The head's reply may be there: it waits for somebody to read it,
		// not for the server.
		pl.startDriver(false)
		pl.headSince = time.Now()
	}
	if waited := time.Since(pl.headSince); waited < lim {
		pl.watching = true
		pl.watch.Reset(lim - waited)
		pl.mu.Unlock()
		return
	}
	pl.mu.Unlock()
	pl.fail(errStuck)
}

// commit gives s its place in the reply queue (if it has none yet) and
// appends its private bytes to the connection's pending bytes. When nothing
// else is in flight and no write is under way, it writes them on the caller's
// goroutine (the fast path: no hop); otherwise the writer goroutine does.
func (pl *pipeline) commit(ctx context.Context, s *stream) error {
	pl.mu.Lock()
	if err := pl.err; err != nil {
		pl.mu.Unlock()
		if s.queued {
			s.broken = true
			return pl.lost(err)
		}
		s.dropWrite()
		return pl.netError("write", err)
	}
	if !s.queued {
		pl.enqueue(s)
	}
	pl.pending = append(pl.pending, s.wbuf...)
	s.wbuf = s.wbuf[:0]
	var batch []byte
	if !pl.writing {
		pl.writing = true
		if pl.head == s {
			// Nothing else in flight: write on this goroutine.
			batch, pl.pending, pl.spare = pl.pending, pl.spare, nil
		} else {
			pl.writer.Add(1)
			go pl.writeLoop()
		}
	}
	pl.mu.Unlock()
	if !s.exclusive {
		s.wside = false
		<-pl.wside
	}
	if batch == nil {
		return nil
	}
	err := pl.writeGuarded(ctx, s, batch)
	pl.mu.Lock()
	pl.spare = batch[:0]
	if err == nil && pl.err == nil && len(pl.pending) > 0 {
		pl.writer.Add(1)
		go pl.writeLoop()
	} else {
		pl.writing = false
	}
	pl.mu.Unlock()
	if err != nil {
		s.broken = true
		if ctx.Err() != nil {
			pl.fail(errCutOff)
			return cancelled(ctx, ctx.Err())
		}
		if cause := pl.failure(); cause != nil {
			return pl.lost(cause)
		}
		pl.fail(err)
		return err
	}
	return nil
}

// writeLoop writes everything committed so far in one write, again and
// again: flushing when its queue is empty, so batches grow with the load. It
// exits when a yield brings nothing new: an idle connection has no goroutine.
func (pl *pipeline) writeLoop() {
	defer pl.writer.Done()
	yielded, seen := false, -1
	for {
		pl.mu.Lock()
		if pl.err != nil || (len(pl.pending) == 0 && yielded) {
			pl.writing = false
			pl.mu.Unlock()
			return
		}
		if !yielded || len(pl.pending) != seen && len(pl.pending) < maxBatch {
			// Let the exchanges that are about to commit do so before
			// writing: yield, again while commits keep coming (one
			// goroutine issuing split operations commits one after the
			// other), no timer.
			seen = len(pl.pending)
			pl.mu.Unlock()
			yielded = true
			runtime.Gosched()
			continue
		}
		yielded, seen = false, -1
		batch := pl.pending
		pl.pending, pl.spare = pl.spare, nil
		pl.mu.Unlock()
		err := writeAll(pl.rwc, batch)
		pl.mu.Lock()
		pl.spare = batch[:0]
		pl.mu.Unlock()
		if err != nil {
			pl.fail(err)
		}
	}
}

// maxBatch is what the writer waits for at most before writing.
const maxBatch = 64 << 10

func writeAll(w io.Writer, b []byte) error {
	for len(b) > 0 {
		n, err := w.Write(b)
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

// writeGuarded writes on the caller's goroutine. On an exclusive exchange
// the connection's write deadline is the earlier of the client's and ctx's;
// a ctx that ends interrupts the write.
func (pl *pipeline) writeGuarded(ctx context.Context, s *stream, b []byte) error {
	stop, ctxDL, hasCtxDL := pl.guardIO(ctx, s, true)
	err := writeAll(pl.rwc, b)
	if stop != nil && !stop() {
		return ctxError(ctx)
	}
	if err != nil && hasCtxDL && isTimeout(err) && !time.Now().Before(ctxDL) {
		return context.DeadlineExceeded
	}
	return err
}

// guardIO prepares a write (or a read) of s on the connection under ctx:
// on an exclusive exchange that side's deadline becomes the earlier of the
// client's and ctx's; when ctx can end, its end interrupts the I/O (stop
// reports, as context.AfterFunc's does, whether it had not yet).
func (pl *pipeline) guardIO(ctx context.Context, s *stream, write bool) (stop func() bool, ctxDL time.Time, hasCtxDL bool) {
	ctxDL, hasCtxDL = ctx.Deadline()
	if pl.dl != nil {
		client, last := s.rdl, &pl.readDL
		if write {
			client, last = s.wdl, &pl.writeDL
		}
		want := time.Time{}
		if s.exclusive {
			want = earliest(client, ctxDL, hasCtxDL)
		}
		if !want.Equal(*last) {
			if write {
				pl.dl.SetWriteDeadline(want)
			} else {
				pl.dl.SetReadDeadline(want)
			}
			*last = want
		}
	}
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { pl.interrupt(s, write) })
	}
	return stop, ctxDL, hasCtxDL
}

// interrupt stops the blocking I/O of s, whose ctx ended: by a deadline in
// the past on an exclusive exchange, else by closing the connection.
func (pl *pipeline) interrupt(s *stream, write bool) {
	if pl.dl != nil && s.exclusive {
		past := time.Unix(1, 0)
		if write {
			pl.dl.SetWriteDeadline(past)
		} else {
			pl.dl.SetReadDeadline(past)
		}
		return
	}
	pl.fail(errCutOff)
}

// connReader is what the shared bufio.Reader reads from: the connection,
// read by the exchange whose turn it is, under its deadlines and ctx.
type connReader struct{ pl *pipeline }

func (r connReader) Read(p []byte) (int, error) {
	pl := r.pl
	s, ctx := pl.rs, pl.rctx
	stop, ctxDL, hasCtxDL := pl.guardIO(ctx, s, false)
	n, err := pl.rwc.Read(p)
	if stop != nil && !stop() {
		pl.fail(errCutOff)
		return n, cancelled(ctx, ctxError(ctx))
	}
	if err != nil && hasCtxDL && isTimeout(err) && !time.Now().Before(ctxDL) {
		pl.fail(errCutOff)
		return n, cancelled(ctx, context.DeadlineExceeded)
	}
	return n, err
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func earliest(client, ctxDL time.Time, hasCtxDL bool) time.Time {
	if hasCtxDL && (client.IsZero() || ctxDL.Before(client)) {
		return ctxDL
	}
	return client
}
