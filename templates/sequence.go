package templates

import (
	"context"
	"sync"
)

// Clients that sequence their exchanges on one connection with
// textproto.Pipeline (go-beanstalk): each call of Next, StartRequest,
// EndRequest, StartResponse and EndResponse goes through seqNext,
// seqStartRequest..., which record how far each id got, so that an
// operation that fails half-way completes what its ids were left without
// (sequenced) and never stalls the connection; an operation whose ctx can
// end runs detached (detach).

// sequencer is what a textproto.Pipeline, or a textproto.Conn, offers.
type sequencer interface {
	Next() uint
	StartRequest(id uint)
	EndRequest(id uint)
	StartResponse(id uint)
	EndResponse(id uint)
}

type seqKey struct{}

// seqOp records the ids an operation obtained and how far each got.
type seqOp struct {
	mu  sync.Mutex
	ids []seqID
}

type seqID struct {
	p     sequencer
	id    uint
	phase int // the last call made: 1 StartRequest, 2 EndRequest, 3 StartResponse, 4 EndResponse
}

// sequenced starts recording the ids the operation under ctx obtains.
// The operation defers end with its error result (nil when it has none):
// when the operation failed (or panics, or has no error result), end
// completes, in order, the calls each id was left without, so that an
// operation that failed half-way never stalls the connection. An operation
// that succeeds may hand an id on (to be answered by a later call), and its
// ids are left as they are.
func sequenced(ctx context.Context) (_ context.Context, end func(err *error)) {
	so := &seqOp{}
	return context.WithValue(ctx, seqKey{}, so), func(err *error) {
		if p := recover(); p != nil {
			so.complete()
			panic(p)
		}
		if err == nil || *err != nil {
			so.complete()
		}
	}
}

func (so *seqOp) complete() {
	so.mu.Lock()
	ids := so.ids
	so.ids = nil
	so.mu.Unlock()
	for _, s := range ids {
		switch {
		case s.phase >= 4:
			continue
		case s.phase == 3:
			s.p.EndResponse(s.id)
			continue
		case s.phase < 1:
			s.p.StartRequest(s.id)
			fallthrough
		case s.phase < 2:
			s.p.EndRequest(s.id)
		}
		// No reply was read for this id: nothing was sent for it, or its
		// connection failed. Its turn to read waits for the replies before
		// it, so it is taken on a goroutine and the operation returns now.
		go func(s seqID) {
			s.p.StartResponse(s.id)
			s.p.EndResponse(s.id)
		}(s)
	}
}

func seqMark(ctx context.Context, p sequencer, id uint, phase int) {
	so, _ := ctx.Value(seqKey{}).(*seqOp)
	if so == nil {
		return
	}
	so.mu.Lock()
	for i := range so.ids {
		if so.ids[i].p == p && so.ids[i].id == id && so.ids[i].phase < phase {
			so.ids[i].phase = phase
		}
	}
	so.mu.Unlock()
}

// seqNext is p.Next(), recorded in the operation under ctx.
func seqNext(ctx context.Context, p sequencer) uint {
	id := p.Next()
	if so, _ := ctx.Value(seqKey{}).(*seqOp); so != nil {
		so.mu.Lock()
		so.ids = append(so.ids, seqID{p: p, id: id})
		so.mu.Unlock()
	}
	return id
}

// seqStartRequest, seqEndRequest, seqStartResponse and seqEndResponse have
// one shape on purpose: each stands for the textproto.Pipeline method of its
// name at the call it replaces (c.StartRequest(id) -> seqStartRequest(ctx,
// c, id)), so that the converted code reads as upstream's did.

// seqStartRequest is p.StartRequest(id), recorded.
func seqStartRequest(ctx context.Context, p sequencer, id uint) {
	p.StartRequest(id)
	seqMark(ctx, p, id, 1)
}

// seqEndRequest is p.EndRequest(id), recorded.
func seqEndRequest(ctx context.Context, p sequencer, id uint) {
	p.EndRequest(id)
	seqMark(ctx, p, id, 2)
}

// seqStartResponse is p.StartResponse(id), recorded.
func seqStartResponse(ctx context.Context, p sequencer, id uint) {
	p.StartResponse(id)
	seqMark(ctx, p, id, 3)
}

// seqEndResponse is p.EndResponse(id), recorded.
func seqEndResponse(ctx context.Context, p sequencer, id uint) {
	p.EndResponse(id)
	seqMark(ctx, p, id, 4)
}

// detach runs body on its own goroutine, with ctx's values but not its
// cancellation, and returns its result, or ctx.Err() as soon as ctx ends: the
// body then completes without the caller, so that the exchange it began on a
// shared connection is read to its end and the next one finds the connection
// in order. Nothing is started when ctx has already ended. A panic in body
// is raised again in the caller if it is still waiting.
func detach[T any](ctx context.Context, body func(context.Context) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v     T
		err   error
		panic any
		ok    bool
	}
	done := make(chan result, 1)
	var mu sync.Mutex
	left := false
	go func() {
		var r result
		defer func() {
			if !r.ok {
				r.panic = recover()
				mu.Lock()
				gone := left
				mu.Unlock()
				if gone {
					panic(r.panic) // nobody is waiting to receive it
				}
			}
			done <- r
		}()
		r.v, r.err = body(context.WithoutCancel(ctx))
		r.ok = true
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		mu.Lock()
		left = true
		mu.Unlock()
		select {
		case r = <-done:
		default:
			return zero, ctx.Err()
		}
	}
	if !r.ok {
		panic(r.panic)
	}
	return r.v, r.err
}
