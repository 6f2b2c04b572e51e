package templates

import "context"

// Future is the result of an operation that may still be on its way.
//
// Await returning because its ctx ended abandons the wait, never the
// operation: the operation still runs to completion and resolves the future.
type Future[T any] struct {
	done chan struct{}
	val  T
	err  error
	cut  bool    // the runtime cut the operation off because its caller's ctx ended
	co   *opCoro // a split operation's (split.go)
	// lane, lop: an operation queued behind others on its owner (lane.go);
	// co is set once lop has begun.
	lane *lane
	lop  *laneOp
}

func newFuture[T any]() *Future[T] {
	return &Future[T]{done: make(chan struct{})}
}

// Done is closed once the result is available.
func (f *Future[T]) Done() <-chan struct{} {
	if f.lop != nil && !f.lop.isStarted() {
		f.lane.driveAll()
		return f.done
	}
	if f.co != nil && f.co.pl != nil {
		select {
		case <-f.done:
		default:
			f.co.pl.needDriver()
		}
	}
	return f.done
}

// Await returns the operation's result, or ctx.Err() if ctx ends first.
// When ctx has ended, a failure that ending it causes matches ctx.Err()
// (see ctxEnded).
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.val, ctxEnded(ctx, f.err, f.cut)
	default:
	}
	if f.lop != nil {
		if err := f.lane.waitTurn(ctx, f.lop); err != nil {
			var zero T
			return zero, err
		}
	}
	if f.co != nil && f.co.pl != nil {
		f.co.pl.waitFor(f.done, ctx.Done(), ctx.Done() == nil)
	}
	select {
	case <-f.done:
		return f.val, ctxEnded(ctx, f.err, f.cut)
	case <-ctx.Done():
		// A result that is already there is worth more than the ctx error.
		select {
		case <-f.done:
			return f.val, ctxEnded(ctx, f.err, f.cut)
		default:
		}
		var zero T
		return zero, ctx.Err()
	}
}

// resolve stores the result; closing done never blocks, whoever is waiting
// or has left. It must be called once.
func (f *Future[T]) resolve(v T, err error) {
	f.val, f.err = v, err
	close(f.done)
}
