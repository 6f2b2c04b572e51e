package templates

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// opMode says whether an operation's body may outlive its caller's wait.
type opMode uint8

const (
	// opDetachable: the body owns everything it writes, so when the
	// caller's ctx ends after the request was committed, the caller returns
	// ctx.Err() and the body goes on to consume its reply on a runtime
	// goroutine.
	opDetachable opMode = iota
	// opAttached: the body writes into memory its caller passed (a buffer, a
	// callback) or holds its connection exclusively. It always runs on the
	// caller's goroutine; when ctx ends mid-exchange its connection is closed.
	opAttached
	// opExclusive: opAttached, and the exchanges it begins on connection
	// handles (see shareConn) hold their connection exclusively: its I/O is
	// several rounds, or relies on connection state between them.
	opExclusive
)

// op is the context an operation's body runs under. It carries the caller's
// context, whose end drops a request that is not committed yet, and the
// streams the body began, which are ended when the body returns.
//
// A detached op reports no deadline and no Done channel: the I/O of a
// committed request is bounded by the stuck-connection limit, not by the
// caller.
type op struct {
	caller    context.Context
	detached  bool
	exclusive bool       // opExclusive
	streams   []*stream  // nil once ended
	inline    [2]*stream // backs streams: most operations begin one or two

	mu            sync.Mutex   // guards handles: a body may run goroutines
	handles       []*pipeConn  // whose exchange the op began; ended with it
	handlesInline [1]*pipeConn // backs handles: most operations use one

	// co: the body runs as a split operation's coroutine (split.go).
	co *opCoro

	// cut: the runtime handed the body an error because the caller's ctx
	// ended (a wait, a read or a write cut off). Whatever the body then
	// returns is taken as caused by ctx (ctxEnded).
	cut atomic.Bool
}

// cancelled records on ctx's operation that the runtime handed its body
// err because the caller's ctx ended, and returns err.
func cancelled(ctx context.Context, err error) error {
	if o := opFrom(ctx); o != nil {
		o.cut.Store(true)
	}
	return err
}

type opKey struct{}

// setCut records that a watch under the operation's ctx was cut by its end
// (watchConn on a plain connection, see markCut).
func (o *op) setCut() { o.cut.Store(true) }

func (o *op) Deadline() (time.Time, bool) {
	if o.detached {
		return time.Time{}, false
	}
	return o.caller.Deadline()
}

func (o *op) Done() <-chan struct{} {
	if o.detached {
		return nil
	}
	return o.caller.Done()
}

func (o *op) Err() error {
	if o.detached {
		return nil
	}
	return o.caller.Err()
}

func (o *op) Value(key any) any {
	if key == (opKey{}) || key == (cutKey{}) {
		return o
	}
	if key == (escapeKey{}) {
		if o.co == nil {
			return nil
		}
		return o.co
	}
	return o.caller.Value(key)
}

func opFrom(ctx context.Context) *op {
	o, _ := ctx.Value(opKey{}).(*op)
	return o
}

// callerContext is the context whose end drops a request that has not been
// committed yet: the caller's, also inside a detached body.
func callerContext(ctx context.Context) context.Context {
	if o := opFrom(ctx); o != nil {
		return o.caller
	}
	return ctx
}

// finish ends the streams the body left open: an uncommitted request is
// dropped, a committed one whose reply was not read is taken as one that
// expects no reply unless the body failed, and anything else closes its
// connection, which may be out of sync.
func (o *op) finish(err error) {
	for _, s := range o.streams {
		if s == nil {
			continue
		}
		if err != nil || s.reading {
			s.broken = true
		}
		s.release()
	}
	o.streams = nil
	o.mu.Lock()
	handles := o.handles
	o.handles = nil
	o.mu.Unlock()
	for _, h := range handles {
		h.opEnded(o, err)
	}
}

// errPanicked ends the streams of a body that panicked: their connections
// may be out of sync.
var errPanicked = errors.New("asyncify: operation panicked")

// run calls body under o and ends the streams it left open, even when it
// panics (a caller that recovers must not find the connection stalled).
func run[T any](o *op, body func(ctx context.Context) (T, error)) (v T, err error) {
	returned := false
	defer func() {
		if !returned {
			o.finish(errPanicked)
		}
	}()
	v, err = body(o)
	returned = true
	o.finish(err)
	return v, err
}

// runOp runs body, the operation called name, and returns its result, or
// ctx.Err() when ctx ends first (the body then goes on without the caller,
// see opDetachable). When ctx has ended, a failure that ending it causes
// matches ctx.Err() (ctxEnded). The body runs inline, with no goroutine hop, when ctx
// cannot be cancelled or mode is not opDetachable. Inside another
// operation (an XxxAsync calling XxxContext), the body runs inline and
// keeps the outer operation's caller and detachment.
func runOp[T any](ctx context.Context, name string, mode opMode, body func(ctx context.Context) (T, error)) (T, error) {
	return runOpIn(ctx, opFrom(ctx), name, mode, body)
}

// runOpIn is runOp with outer, the operation ctx belongs to (opFrom(ctx)).
func runOpIn[T any](ctx context.Context, outer *op, name string, mode opMode, body func(ctx context.Context) (T, error)) (T, error) {
	if ctx.Done() == nil || mode != opDetachable || outer != nil {
		o := &op{caller: ctx, exclusive: mode == opExclusive}
		if outer != nil {
			o.caller, o.detached, o.co = outer.caller, outer.detached, outer.co
			o.exclusive = o.exclusive || outer.exclusive
		}
		o.streams = o.inline[:0]
		o.handles = o.handlesInline[:0]
		var start time.Time
		if slowThreshold > 0 {
			start = time.Now()
		}
		v, err := run(o, body)
		if slowThreshold > 0 {
			logIfSlow(name, start)
		}
		if o.cut.Load() && outer != nil {
			outer.cut.Store(true)
		}
		return v, ctxEnded(ctx, err, o.cut.Load())
	}
	return startOp(ctx, name, mode, body).Await(ctx)
}

// runOpOn is runOp for an operation on owner, a value not safe for
// concurrent use (it holds a connection): the operations on owner whose
// bodies go on without their callers (futures, and bodies whose caller
// left) run one after the other in owner's lane (lane.go), and the next
// operation on owner waits for them (or for its own ctx) instead of
// running beside them.
func runOpOn[T any](ctx context.Context, owner any, name string, mode opMode, body func(ctx context.Context) (T, error)) (T, error) {
	outer := opFrom(ctx)
	if outer == nil && lanesHeld.Load() > 0 {
		if err := waitLane(ctx, owner); err != nil {
			var zero T
			return zero, err
		}
	}
	if ctx.Done() == nil || mode != opDetachable || outer != nil {
		return runOpIn(ctx, outer, name, mode, body)
	}
	return startOpOn(ctx, owner, name, mode, body).Await(ctx)
}

// startOp runs body, the operation called name, on a runtime goroutine and
// returns its future. A request the body has not committed when ctx ends is
// dropped unsent, and the future then resolves with ctx.Err(); once
// committed, the body runs to completion whatever ctx does. The mode is the
// operation's (runOp's); XxxAsync passes its operation's body, run under the
// future's own operation, not XxxContext (a second, nested operation).
func startOp[T any](ctx context.Context, name string, mode opMode, body func(ctx context.Context) (T, error)) *Future[T] {
	return startOpOn(ctx, nil, name, mode, body)
}

// startOpOn is startOp for an operation on owner (see runOpOn): its body
// starts once the operations issued on owner before it have ended.
func startOpOn[T any](ctx context.Context, owner any, name string, mode opMode, body func(ctx context.Context) (T, error)) *Future[T] {
	r := newOpRun(ctx, mode, name, body)
	r.inLane(ctx, owner)
	return &r.f
}

// opRun holds an operation's context and future in one allocation.
type opRun[T any] struct {
	o     op
	f     Future[T]
	name  string
	body  func(ctx context.Context) (T, error)
	split bool   // startSplit's: runs as a coroutine (split.go)
	lane  *lane  // owner's, while the body runs in it (lane.go)
	lop   laneOp // its place in the lane
	ln    lane   // the lane, when this operation made it
}

// newOpRun is the detached operation, in mode, of a future (startOp,
// startSplit) whose caller's context is ctx's: body, the operation called
// name.
func newOpRun[T any](ctx context.Context, mode opMode, name string, body func(ctx context.Context) (T, error)) *opRun[T] {
	r := &opRun[T]{
		o:    op{caller: callerContext(ctx), detached: true, exclusive: mode == opExclusive},
		f:    Future[T]{done: make(chan struct{})},
		name: name,
		body: body,
	}
	r.o.streams = r.o.inline[:0]
	r.o.handles = r.o.handlesInline[:0]
	return r
}

func (r *opRun[T]) run() {
	growStack(0)
	var start time.Time
	if slowThreshold > 0 {
		start = time.Now()
	}
	v, err := run(&r.o, r.body)
	if slowThreshold > 0 {
		logIfSlow(r.name, start)
	}
	if r.lane != nil {
		// The body is done with owner's connection: the next operation
		// in the lane may start (before the future resolves, so that
		// whoever awaits it finds the lane moved on).
		r.lane.leave()
	}
	r.f.cut = r.o.cut.Load()
	r.f.resolve(v, err)
}

// growStack gives the goroutine it runs on a stack of 8 KiB at once. An
// operation's body is deep (the client's code, nested operations, bufio,
// the handle, the stream) and would outgrow a new goroutine's first stack
// at its deepest point, where each growth copies every frame above it: 11%
// of the CPU of 64 futures from one goroutine on the RESP fixture. Growing
// here, with one frame to copy, costs a fraction of that; a stack already
// that large (the runtime sizes new stacks by the average it has seen) is
// left as it is.
//
//go:noinline
func growStack(i int) byte {
	var frame [4 << 10]byte
	return frame[i]
}
