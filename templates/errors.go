package templates

import (
	"context"
	"errors"
	"net"
	"os"
	"time"
)

// ErrMaybeExecuted is matched (errors.Is) by the error of every request that
// was committed to a connection which then broke, got stuck or was closed
// before its reply was read: the server may or may not have executed it.
// Retry only what is safe to run twice.
var ErrMaybeExecuted = errors.New("request may or may not have been executed")

// maybeExecutedError is the error of a request lost with its connection.
// err is what the client's I/O would have returned had the connection been
// its own: the connection's own error, or, when the runtime failed the
// connection (stuck, cut off, closed), a *net.OpError built for the reason
// (a stuck connection reads as a read that timed out). why is the runtime's
// reason, nil for a connection's own error.
type maybeExecutedError struct{ err, why error }

func (e *maybeExecutedError) Error() string {
	msg := "asyncify: connection failed with the request in flight (it may or may not have been executed): "
	if e.why != nil && !errors.Is(e.err, e.why) {
		msg += e.why.Error() + ": "
	}
	return msg + e.err.Error()
}

func (e *maybeExecutedError) Is(target error) bool { return target == ErrMaybeExecuted }

// Unwrap keeps the network error and the reason visible: errors.As finds
// the *net.OpError (Timeout() true for a stuck connection), errors.Is finds
// io.EOF, os.ErrDeadlineExceeded or the runtime's reason.
func (e *maybeExecutedError) Unwrap() []error {
	if e.why == nil || errors.Is(e.err, e.why) {
		return []error{e.err}
	}
	return []error{e.err, e.why}
}

// lost is the error of a request committed to pl, which then failed with
// cause: ErrMaybeExecuted, over the network error the client would have
// seen (netError).
func (pl *pipeline) lost(cause error) error {
	if errors.Is(cause, ErrMaybeExecuted) {
		return cause
	}
	err := pl.netError("read", cause)
	if err == cause {
		return &maybeExecutedError{err: err}
	}
	return &maybeExecutedError{err: err, why: cause}
}

// netError is the network error that cause, a reason of the runtime for
// failing pl, gives a client's op ("read", or "write" for a request that
// was never sent): a *net.OpError, as a connection of its own would have
// returned, whose Err is the reason (os.ErrDeadlineExceeded for a stuck
// connection's read: no socket deadline fires on a shared connection). Any
// other cause is the connection's own error and comes back as it is.
func (pl *pipeline) netError(op string, cause error) error {
	switch cause {
	case errStuck, errCutOff, errOutOfSync, errClosed:
	default:
		return cause
	}
	e := &net.OpError{Op: op, Err: cause}
	if cause == errStuck && op == "read" {
		e.Err = os.ErrDeadlineExceeded
	}
	if pl.addr != nil {
		e.Net, e.Addr = pl.addr.Network(), pl.addr
	}
	return e
}

var (
	errClosed       = errors.New("asyncify: connection closed")
	errStuck  error = stuckError{}
	// errOutOfSync closes a connection whose exchange ended in a way that
	// leaves unread or unknown bytes on it.
	errOutOfSync = errors.New("asyncify: an exchange left its connection out of sync")
	// errNotPipelinable is returned, at once, for a write after a pipelined
	// exchange has committed its request: its replies would interleave with
	// others'. Such an operation must run with its connection held exclusively.
	errNotPipelinable = errors.New("asyncify: write after commit in a pipelined exchange (the operation must hold its connection exclusively)")
)

// stuckError is a timeout, as the client's own deadline would have given
// (a net.Error whose Timeout is true, matching os.ErrDeadlineExceeded).
type stuckError struct{}

func (stuckError) Error() string        { return "asyncify: connection stuck: no reply within its limit" }
func (stuckError) Timeout() bool        { return true }
func (stuckError) Temporary() bool      { return true }
func (stuckError) Is(target error) bool { return target == os.ErrDeadlineExceeded }

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
