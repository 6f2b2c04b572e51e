package templates

import (
	"errors"
	"net"
	"os"
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
