package templates

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The ties between a client's own I/O and ctx, used by converted code that
// runs outside the pipelined connection as well as inside it: a watch that
// interrupts an exchange on a connection when ctx ends (watchConn), the
// mapping of the error an operation then returns (ctxEnded, deferred as
// ctxErr), a deadline bounded by ctx's (ctxDeadline), and a sleep that ends
// with ctx (sleep).

// connWithDeadline is what watchConn (and bindConn) need of a plain
// connection.
type connWithDeadline interface {
	SetDeadline(t time.Time) error
	Close() error
}

// watchConn makes the exchange that follows on c end when ctx does:
//
//	defer watchConn(ctx, cn.nc)()
//
// When ctx ends, c's deadline moves to now, which interrupts a blocked read
// or write. Calling the returned function ends the watch; if ctx ended
// during the exchange, c is out of sync and is closed, never reused, and the
// exchange is recorded as cut by ctx (see ctxErr).
func watchConn(ctx context.Context, c connWithDeadline) (end func()) {
	escapeCaller(ctx)
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
		if ended(ctx) {
			markCut(ctx)
		}
	}
}

// cuts holds, by ctx.Done(), the contexts that ended while an exchange
// under them was watched: whatever error the operation then returns, ending
// ctx caused it. An entry lasts a minute.
var cuts sync.Map

// cutKey is the key under which ctx holds what records a cut for the
// operation it runs (op, in op.go): the operation's caller gets ctx's error
// then (ctxEnded), whatever error its body made of the cut.
type cutKey struct{}

// markCut records that ending ctx cut an exchange under it off: for the
// operation ctx runs, if any, and for ctxErr.
func markCut(ctx context.Context) {
	if o, ok := ctx.Value(cutKey{}).(interface{ setCut() }); ok {
		o.setCut()
	}
	done := ctx.Done()
	if _, loaded := cuts.LoadOrStore(done, struct{}{}); !loaded {
		time.AfterFunc(time.Minute, func() { cuts.Delete(done) })
	}
}

// ctxErr is ctxEnded for a function's error result, deferred where the
// function begins:
//
//	defer ctxErr(ctx, &err)
//
// The exchange counts as cut when a watch under ctx was (watchConn): a
// client with retries of its own may turn the timeout into an error of its
// own that wraps nothing.
func ctxErr(ctx context.Context, err *error) {
	if *err == nil {
		return
	}
	_, cut := cuts.Load(ctx.Done())
	*err = ctxEnded(ctx, *err, cut)
}

// ctxDeadline is the earlier of the client's deadline t (zero: none) and
// ctx's; a time in the past when ctx has ended:
//
//	nc.SetDeadline(ctxDeadline(ctx, time.Now().Add(c.timeout)))
func ctxDeadline(ctx context.Context, t time.Time) time.Time {
	if ctx.Err() != nil {
		return time.Unix(1, 0)
	}
	if d, ok := ctx.Deadline(); ok && (t.IsZero() || d.Before(t)) {
		return d
	}
	return t
}

// escapeKey is the key under which an operation's ctx holds what lets a
// split operation's body leave its caller (*opCoro, split.go).
type escapeKey struct{}

// splitting counts the split operations whose body runs on its caller
// (split.go), so that escapeCaller costs every other operation's I/O an
// atomic load, not a context lookup.
var splitting atomic.Int32

// escapeCaller is called before a wait that may block: a split
// operation's body that runs on its caller goes on on a goroutine of its
// own instead (split.go). It does nothing anywhere else.
func escapeCaller(ctx context.Context) {
	if splitting.Load() == 0 {
		return
	}
	if e, ok := ctx.Value(escapeKey{}).(interface{ escape() }); ok {
		e.escape()
	}
}

// sleep is time.Sleep that returns ctx.Err() early when ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	escapeCaller(ctx)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ended reports whether ctx has ended or its deadline has passed (a
// deadline that came from ctx may fire on a connection slightly before
// ctx's own timer).
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// ctxError is ctx's error, or DeadlineExceeded when a deadline that came
// from ctx fired on the connection slightly before ctx's own timer.
func ctxError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// ctxEnded is the error an operation's caller gets (XxxContext, Await):
// err itself, except when err is non-nil, ctx has ended (or its deadline
// has passed), err does not match ctx's error, and ending ctx plausibly
// caused err: the runtime cut the operation off because ctx ended (cut:
// a wait, a dial, a read or a write ended by ctx, whatever the client
// then made of that error), or err is what ending ctx causes on a
// connection (endedByCtx). Then:
//   - an error of the standard library itself (a *net.OpError,
//     *os.SyscallError, *os.PathError, os.ErrDeadlineExceeded or
//     net.ErrClosed) becomes ctx's error, as the caller would have got had
//     it stopped waiting a moment earlier;
//   - any other (a client's own type built from the timeout, such as
//     gomemcache's *ConnectTimeoutError, or ErrMaybeExecuted) keeps its
//     message and stays visible to errors.Is and errors.As, and the error
//     also matches ctx's error (see ctxEndedError).
//
// An error the server produced (a cache miss whose reply arrived as ctx
// ended) is neither: it comes back as it is, err == ErrCacheMiss.
func ctxEnded(ctx context.Context, err error, cut bool) error {
	if err == nil || !ended(ctx) {
		return err
	}
	cerr := ctxError(ctx)
	if errors.Is(err, cerr) || !(cut || endedByCtx(err)) {
		return err
	}
	switch err.(type) {
	case *net.OpError, *os.SyscallError, *os.PathError:
		return cerr
	}
	if err == os.ErrDeadlineExceeded || err == net.ErrClosed {
		return cerr
	}
	return &ctxEndedError{err: err, ctx: cerr}
}

// endedByCtx reports whether err is what ending an operation's ctx causes
// on its connection: a timeout (the deadline ctx's end moved to now, or a
// dial ctx's deadline ended: os.ErrDeadlineExceeded, or any error in the
// chain whose Timeout method says true) or a connection closed under the
// operation (net.ErrClosed). io.EOF and io.ErrUnexpectedEOF are not: a
// connection closed on this side reads net.ErrClosed, and an end of stream
// comes from the peer, whatever ctx did.
func endedByCtx(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// ctxEndedError is an error the client made out of one that ending the
// caller's ctx caused (gomemcache's *ConnectTimeoutError when ctx's deadline
// ended a dial): it says what err says, errors.Is and errors.As find err's
// chain, and errors.Is(e, ctx.Err()) holds.
type ctxEndedError struct{ err, ctx error }

func (e *ctxEndedError) Error() string   { return e.err.Error() }
func (e *ctxEndedError) Unwrap() []error { return []error{e.err, e.ctx} }
