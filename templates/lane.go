package templates

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
)

// A lane orders the operations on one owner, a value not safe for
// concurrent use (a client's connection, whose operations runOpOn runs),
// whose bodies go on without their callers: futures (XxxAsync on the value)
// and bodies whose caller left (XxxContext whose ctx ended). Their bodies
// run one after the other, in the order they were issued: the next one
// starts, on the goroutine where the one before it ended, once that body has
// returned. An operation on the owner that runs on its caller (runOpOn
// inline) first waits for the lane to end, driving its futures where it can.
//
// A lane exists only while a body runs in it: an owner with none costs its
// operations an atomic load (lanesHeld). The lane is the first operation's
// (opRun.ln); its shard's mu guards its fields.
type lane struct {
	owner   any
	sh      *laneShard
	running *laneOp     // whose body runs (or starts)
	queue   []*laneOp   // issued behind it, in order
	kickAll atomic.Bool // a Done channel was asked for: every body gets a driver
}

// laneOp is one operation in a lane (opRun.lop).
type laneOp struct {
	m       laneMember
	started atomic.Bool   // start has returned (its future's fields are set)
	waited  atomic.Bool   // somebody waits for started (wake, under the shard's mu)
	wake    chan struct{} // made by that waiter; closed once started
}

// laneMember is an operation's side of its lane (opRun[T]).
type laneMember interface {
	laneStart()                    // starts the body
	laneAwait(ctx context.Context) // waits for its future, driving where it can
	laneKick()                     // its body goes on with nobody awaiting (Future.Done)
}

// laneShards map owners to their lanes, by the owner's address: the
// goroutine that issues futures on one owner and the one whose body leaves
// another's lane do not meet on one lock.
var laneShards [16]laneShard

type laneShard struct {
	mu sync.Mutex
	m  map[any]*lane
	_  [40]byte // a cache line each
}

func shardOf(owner any) *laneShard {
	if v := reflect.ValueOf(owner); v.Kind() == reflect.Pointer {
		p := v.Pointer()
		return &laneShards[(p>>4^p>>12)%uintptr(len(laneShards))]
	}
	return &laneShards[0]
}

// lanesHeld counts the entries of lanes, so that an operation finds none
// without looking.
var lanesHeld atomic.Int32

// inLane starts r's body at once when owner has no lane (making one, which
// r's body leaves when it returns), or once the operations issued on owner
// before it have ended. A nil owner, or a call inside another operation's
// body (whose lane it may be: waiting for it would never end), starts at
// once, with no lane.
func (r *opRun[T]) inLane(ctx context.Context, owner any) {
	if owner == nil || opFrom(ctx) != nil {
		r.laneStart()
		return
	}
	r.lop.m = r
	sh := shardOf(owner)
	sh.mu.Lock()
	if l := sh.m[owner]; l != nil {
		l.queue = append(l.queue, &r.lop)
		r.lane, r.f.lane, r.f.lop = l, l, &r.lop
		sh.mu.Unlock()
		return
	}
	l := &r.ln
	l.owner, l.sh, l.running = owner, sh, &r.lop
	if sh.m == nil {
		sh.m = make(map[any]*lane)
	}
	sh.m[owner] = l
	lanesHeld.Add(1)
	r.lane = l
	sh.mu.Unlock()
	r.laneStart()
	l.started(&r.lop)
}

// started records that lop's start has returned, and wakes who waits for
// it (waitStarted: whichever of the two looks second sees the other).
func (l *lane) started(lop *laneOp) {
	lop.started.Store(true)
	if lop.waited.Load() {
		l.sh.mu.Lock()
		if lop.wake != nil {
			close(lop.wake)
			lop.wake = nil
		}
		l.sh.mu.Unlock()
	}
	if l.kickAll.Load() {
		lop.m.laneKick()
	}
}

// leave is called when the running operation's body has returned: the next
// operation starts, here, or the lane ends.
func (l *lane) leave() {
	l.sh.mu.Lock()
	if len(l.queue) == 0 {
		l.running = nil
		delete(l.sh.m, l.owner)
		lanesHeld.Add(-1)
		l.sh.mu.Unlock()
		return
	}
	next := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	l.running = next
	l.sh.mu.Unlock()
	next.m.laneStart()
	l.started(next)
}

// isStarted reports whether lop's start has returned.
func (lop *laneOp) isStarted() bool { return lop.started.Load() }

// waitStarted waits until lop, in l, has started, or ctx ends.
func (l *lane) waitStarted(ctx context.Context, lop *laneOp) error {
	if lop.started.Load() {
		return nil
	}
	l.sh.mu.Lock()
	lop.waited.Store(true)
	if lop.started.Load() {
		l.sh.mu.Unlock()
		return nil
	}
	if lop.wake == nil {
		lop.wake = make(chan struct{})
	}
	wake := lop.wake
	l.sh.mu.Unlock()
	select {
	case <-wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitTurn waits until lop, queued in l, has started: it awaits the
// operations before it, which drives their bodies where the ctx allows
// (Future.Await). It returns early with ctx's error.
func (l *lane) waitTurn(ctx context.Context, lop *laneOp) error {
	for {
		l.sh.mu.Lock()
		cur := l.running
		l.sh.mu.Unlock()
		if cur == lop || lop.started.Load() {
			return l.waitStarted(ctx, lop)
		}
		if err := l.waitStarted(ctx, cur); err != nil {
			return err
		}
		cur.m.laneAwait(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// driveAll makes every body in l go on with nobody awaiting it (a queued
// future's Done channel was asked for).
func (l *lane) driveAll() {
	l.kickAll.Store(true)
	l.sh.mu.Lock()
	cur := l.running
	l.sh.mu.Unlock()
	if cur != nil && cur.started.Load() { // else started kicks it
		cur.m.laneKick()
	}
}

// waitLane waits until owner has no lane (its futures and left bodies
// have ended), awaiting them in order. It returns early with ctx's error.
func waitLane(ctx context.Context, owner any) error {
	sh := shardOf(owner)
	for {
		sh.mu.Lock()
		l := sh.m[owner]
		var cur *laneOp
		if l != nil {
			cur = l.running
		}
		sh.mu.Unlock()
		if cur == nil {
			return nil
		}
		if err := l.waitStarted(ctx, cur); err != nil {
			return err
		}
		cur.m.laneAwait(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func (r *opRun[T]) laneStart() {
	if r.split {
		r.splitBody()
	} else {
		go r.run()
	}
}

func (r *opRun[T]) laneAwait(ctx context.Context) { r.f.Await(ctx) }

func (r *opRun[T]) laneKick() { r.f.Done() }
