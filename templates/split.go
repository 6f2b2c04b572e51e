package templates

import (
	"context"
	"iter"
	"runtime"
	"sync"
)

// A split operation (startSplit) is an XxxAsync on a shared connection
// whose request is committed before XxxAsync returns and whose reply is
// parsed when it reaches the head of the reply queue, by the connection's
// driver, not by a goroutine of its own waiting for its turn.
//
// Go cannot set a running body aside and go on with it elsewhere except as
// a coroutine (iter.Pull). So the body runs as one: first on the caller's
// goroutine (in the caller, the coroutine's steps run while the caller
// waits), through its write phase, up to its first read, where it parks:
// XxxAsync then returns. When its exchange's turn comes, it is resumed: it
// reads its reply from the shared reader, ends its exchange, which hands
// the turn to the next one, and resolves its future. Who resumes it:
//
//   - a goroutine awaiting a split future of the connection with a ctx that
//     cannot end (Await), on its own goroutine, every body whose turn comes
//     until its own future resolves: one goroutine issuing 64 futures, then
//     awaiting them, runs everything on its own thread, with one read of
//     the connection per batch of replies and no goroutine scheduled;
//   - otherwise the connection's driver, a goroutine that runs while
//     somebody waits without driving (a turn, a future awaited under a ctx
//     that can end, a future's Done channel asked for) or the connection
//     failed, and exits when none is left.
//
// A future nobody awaits resolves when somebody next waits on its
// connection, or when it closes or fails.
//
// A body that would block anywhere else in the caller (a dial, a
// pass-through read, a plain connection's I/O, a full queue, another
// exchange's write phase, a sleep) escapes instead: it goes on on a
// goroutine of its own, as startOp's body would. Code of the client's own
// that blocks before the first read (a mutex another goroutine holds
// across I/O) blocks the caller of XxxAsync: the rewrite uses startSplit
// only for operations on shared connections, whose I/O goes through the
// handle.

// opCoro is a split operation's run as a coroutine (on a coWorker).
type opCoro struct {
	w  *coWorker
	pl *pipeline // parked on it: its driver's
	// inCaller: the body runs on XxxAsync's caller; state says how it left
	// (set by the body before it yields, read by its resumer after).
	inCaller bool
	state    coState
	s        *stream // parked: the exchange whose turn it waits for
}

type coState uint8

const (
	coRunning coState = iota
	coParked          // committed; waits for its exchange's turn
	coEscaped         // would block: goes on on a goroutine of its own
	coDone            // the body returned: its worker is free
)

// startSplit is startOp for an operation on a shared connection (see
// above): its request is committed, or it has escaped to a goroutine of its
// own, when it returns.
func startSplit[T any](ctx context.Context, name string, mode opMode, body func(ctx context.Context) (T, error)) *Future[T] {
	return startSplitOn(ctx, nil, name, mode, body)
}

// startSplitOn is startSplit for an operation on owner (see runOpOn): its
// body starts once the operations issued on owner before it have ended, on
// the goroutine where the last of them ended; until then the future waits
// in owner's lane (lane.go).
func startSplitOn[T any](ctx context.Context, owner any, name string, mode opMode, body func(ctx context.Context) (T, error)) *Future[T] {
	r := newOpRun(ctx, mode, name, body)
	r.split = true
	r.inLane(ctx, owner)
	return &r.f
}

// splitBody runs r's body as a coroutine on the caller, through its write
// phase (see above).
func (r *opRun[T]) splitBody() {
	co := &opCoro{inCaller: true, w: getWorker()}
	r.o.co = co
	r.f.co = co
	co.w.job = func() {
		r.run()
		co.state = coDone
	}
	splitting.Add(1)
	co.w.next()
	splitting.Add(-1)
	co.inCaller = false
	switch co.state {
	case coParked:
		co.s.pl.parked(co)
	case coEscaped:
		go co.resume()
	case coDone:
		putWorker(co.w, co.pl)
	}
}

// resume runs a parked or escaped body to its end, on the caller's
// goroutine, and frees its worker.
func (co *opCoro) resume() {
	co.w.next()
	if co.state != coDone {
		panic("asyncify: a split operation yielded after leaving its caller")
	}
	putWorker(co.w, co.pl)
}

// A coWorker is a coroutine that runs split operations' bodies one after
// the other. Starting a coroutine and growing its stack to what a body needs
// (growStack) cost a fifth of the CPU of 64 futures issued from one
// goroutine on the RESP fixture; a worker does it once. A worker whose
// operation parked on a connection, once the body returned, is kept idle
// for the next split operations (at most maxIdleWorkers in all) until that
// connection fails or closes (dropWorkers); any other ends with its body.
type coWorker struct {
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
	job   func()    // what next runs when the worker is idle
	pl    *pipeline // idle: the connection it is kept for
}

const maxIdleWorkers = 256

var idleWorkers struct {
	mu sync.Mutex
	ws []*coWorker
}

// getWorker returns an idle worker, or a new one.
func getWorker() *coWorker {
	idleWorkers.mu.Lock()
	if n := len(idleWorkers.ws); n > 0 {
		w := idleWorkers.ws[n-1]
		idleWorkers.ws[n-1] = nil
		idleWorkers.ws = idleWorkers.ws[:n-1]
		idleWorkers.mu.Unlock()
		w.pl = nil
		return w
	}
	idleWorkers.mu.Unlock()
	w := &coWorker{}
	w.next, w.stop = iter.Pull(func(yield func(struct{}) bool) {
		w.yield = yield
		for {
			job := w.job
			w.job = nil
			job()
			if !yield(struct{}{}) {
				return
			}
		}
	})
	return w
}

// putWorker keeps w, whose body returned, for the next split operations
// while pl (where its operation parked) is open, or ends it.
func putWorker(w *coWorker, pl *pipeline) {
	if pl != nil {
		pl.mu.Lock()
		if pl.err == nil {
			idleWorkers.mu.Lock()
			if len(idleWorkers.ws) < maxIdleWorkers {
				w.pl = pl
				idleWorkers.ws = append(idleWorkers.ws, w)
				w = nil
			}
			idleWorkers.mu.Unlock()
		}
		pl.mu.Unlock()
		if w == nil {
			return
		}
	}
	w.stop()
}

// dropWorkers ends the idle workers kept for pl, which failed (putWorker
// keeps none for it after that: it looks at pl.err under pl.mu).
func dropWorkers(pl *pipeline) {
	var drop []*coWorker
	idleWorkers.mu.Lock()
	kept := idleWorkers.ws[:0]
	for _, w := range idleWorkers.ws {
		if w.pl == pl {
			drop = append(drop, w)
		} else {
			kept = append(kept, w)
		}
	}
	clear(idleWorkers.ws[len(kept):])
	idleWorkers.ws = kept
	idleWorkers.mu.Unlock()
	for _, w := range drop {
		w.stop()
	}
}

// leaveCaller parks a split operation's body on s, committed, when it runs
// on its caller. It returns at once otherwise.
func leaveCaller(ctx context.Context, s *stream) {
	o := opFrom(ctx)
	if o == nil || o.co == nil || !o.co.inCaller {
		return
	}
	co := o.co
	co.inCaller, co.state, co.s, co.pl = false, coParked, s, s.pl
	co.w.yield(struct{}{})
}

// drivenBody reports whether ctx's operation is a split operation's body
// that a driver resumed (not one on its caller, nor one that escaped to a
// goroutine of its own): its driver stalls while the body waits.
func drivenBody(ctx context.Context) bool {
	o := opFrom(ctx)
	return o != nil && o.co != nil && !o.co.inCaller && o.co.state == coParked
}

// escape is leaveCaller before a wait that may block (see escapeCaller).
func (co *opCoro) escape() {
	if co.inCaller {
		co.inCaller, co.state = false, coEscaped
		co.w.yield(struct{}{})
	}
}

// parked records that co waits for its exchange's turn; the driver resumes
// it when the turn comes (or the connection fails).
func (pl *pipeline) parked(co *opCoro) {
	pl.mu.Lock()
	co.s.parked = co
	// A body ready and not driven while its caller goes on issuing: with
	// another CPU, a driver reads its reply meanwhile.
	kick := len(pl.runq) > 0 && pl.drivers == pl.stalled && multiCPU()
	if pl.head == co.s || pl.err != nil {
		pl.ready(co.s)
	}
	if pl.err != nil || kick {
		pl.startDriver(false)
	}
	pl.mu.Unlock()
}

func multiCPU() bool { return runtime.GOMAXPROCS(0) > 1 }

// ready hands s's parked body, whose turn came, to whoever drives: a
// driver goroutine is started when somebody waits without driving.
// Called with mu held.
func (pl *pipeline) ready(s *stream) {
	co := s.parked
	if co == nil {
		return
	}
	s.parked = nil
	pl.runq = append(pl.runq, co)
	if pl.blocked > 0 || pl.eager {
		pl.startDriver(false)
	}
}

// startDriver starts a driver goroutine when bodies are ready and nobody
// drives them, or, with force, whoever drives: a body being driven that
// waits on the connection itself needs another. Called with mu held.
func (pl *pipeline) startDriver(force bool) {
	if len(pl.runq) > 0 && (pl.drivers == pl.stalled || force) {
		pl.drivers++
		go pl.drive()
	}
}

// popReady takes the first ready body to resume it, or nil when none is
// ready; a body taken counts its caller as a driver until it has run.
// Called with mu held.
func (pl *pipeline) popReady() *opCoro {
	if len(pl.runq) == 0 {
		return nil
	}
	co := pl.runq[0]
	pl.runq[0] = nil
	pl.runq = pl.runq[1:]
	pl.drivers++
	return co
}

// drive resumes the ready bodies, in order, and exits when none is left.
func (pl *pipeline) drive() {
	pl.mu.Lock()
	pl.drivers-- // counted by startDriver; popReady counts each body
	for {
		co := pl.popReady()
		if co == nil {
			pl.mu.Unlock()
			return
		}
		pl.mu.Unlock()
		co.resume()
		pl.mu.Lock()
		pl.drivers--
	}
}

// waitFor waits until done is closed, for a split future parked on pl:
// with a ctx that cannot end (canDrive), it resumes the bodies whose turn
// comes on its own goroutine; otherwise, or while none is ready, it
// blocks, counted, so that a driver runs. It returns early when ctxDone is
// closed.
func (pl *pipeline) waitFor(done, ctxDone <-chan struct{}, canDrive bool) {
	for {
		select {
		case <-done:
			return
		default:
		}
		pl.mu.Lock()
		if canDrive {
			if co := pl.popReady(); co != nil {
				pl.mu.Unlock()
				co.resume()
				pl.mu.Lock()
				pl.drivers--
				if pl.blocked > 0 || pl.eager || pl.err != nil {
					// somebody came to wait, or the connection failed,
					// while this goroutine drove: it may stop driving
					// once its own future resolves
					pl.startDriver(false)
				}
				pl.mu.Unlock()
				continue
			}
		}
		pl.blocked++
		pl.startDriver(false)
		pl.mu.Unlock()
		select {
		case <-done:
		case <-ctxDone:
		}
		pl.mu.Lock()
		pl.blocked--
		pl.mu.Unlock()
		if !canDrive {
			return
		}
	}
}

// needDriver says that somebody will wait on the futures of pl without
// driving them (a Done channel asked for): from then on a driver runs
// whenever a body is ready.
func (pl *pipeline) needDriver() {
	pl.mu.Lock()
	pl.eager = true
	pl.startDriver(false)
	pl.mu.Unlock()
}

// readyAll hands every parked body to the driver: the connection failed,
// and their turn will not come. Called with mu held.
func (pl *pipeline) readyAll() {
	for s := pl.head; s != nil; s = s.next {
		pl.ready(s)
	}
	pl.startDriver(false)
}
