package templates

import (
	"context"
	"errors"
	"os"
)

// ErrMaybeExecuted is matched (errors.Is) by the error of every request that
// was committed to a connection which then broke, got stuck or was closed
// before its reply was read: the server may or may not have executed it.
// Retry only what is safe to run twice.
var ErrMaybeExecuted = errors.New("request may or may not have been executed")

type maybeExecutedError struct{ cause error }

func (e *maybeExecutedError) Error() string {
	return "asyncify: connection failed with the request in flight (it may or may not have been executed): " + e.cause.Error()
}

func (e *maybeExecutedError) Is(target error) bool { return target == ErrMaybeExecuted }

// Unwrap keeps the cause visible: errors.Is(err, io.EOF), or
// errors.Is(err, context.Canceled) when the caller's ctx cut the exchange off.
func (e *maybeExecutedError) Unwrap() error { return e.cause }

func maybeExecuted(cause error) error {
	if errors.Is(cause, ErrMaybeExecuted) {
		return cause
	}
	return &maybeExecutedError{cause}
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

// ctxError is ctx's error, or DeadlineExceeded when a deadline that came
// from ctx fired on the connection slightly before ctx's own timer.
func ctxError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}
