package templates

import (
	"context"
	"errors"
	"net/textproto"
	"testing"
	"time"
)

// An operation that fails between StartRequest and EndResponse completes
// what its id was left without, so that the next operation on the
// connection does not stall; a successful one leaves its ids alone.
func TestSequencedCompletes(t *testing.T) {
	var p textproto.Pipeline
	errFailed := errors.New("failed")
	fail := func(ctx context.Context, upTo int) (err error) {
		ctx, end := sequenced(ctx)
		defer end(&err)
		id := seqNext(ctx, &p)
		if upTo >= 1 {
			seqStartRequest(ctx, &p, id)
		}
		if upTo >= 2 {
			seqEndRequest(ctx, &p, id)
		}
		if upTo >= 3 {
			seqStartResponse(ctx, &p, id)
		}
		return errFailed
	}
	for upTo := 0; upTo <= 3; upTo++ {
		if err := fail(context.Background(), upTo); err != errFailed {
			t.Fatal(err)
		}
	}
	// a panic completes too
	func() {
		defer func() { recover() }()
		ctx, end := sequenced(context.Background())
		defer end(nil)
		seqStartRequest(ctx, &p, seqNext(ctx, &p))
		panic("client bug")
	}()

	done := make(chan struct{})
	go func() {
		ctx, end := sequenced(context.Background())
		var err error
		defer end(&err)
		id := seqNext(ctx, &p)
		seqStartRequest(ctx, &p, id)
		seqEndRequest(ctx, &p, id)
		seqStartResponse(ctx, &p, id)
		seqEndResponse(ctx, &p, id)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the operation after the failed ones stalled")
	}

	// without sequenced, the calls are textproto's own
	id := seqNext(context.Background(), &p)
	seqStartRequest(context.Background(), &p, id)
	seqEndRequest(context.Background(), &p, id)
	seqStartResponse(context.Background(), &p, id)
	seqEndResponse(context.Background(), &p, id)
}

// detach returns the body's result, or ctx.Err() as soon as ctx ends while
// the body completes on its own; it starts nothing when ctx has ended, and
// a panic in the body reaches a caller still waiting.
func TestDetach(t *testing.T) {
	v, err := detach(context.Background(), func(ctx context.Context) (int, error) { return 1, nil })
	if v != 1 || err != nil {
		t.Errorf("detach = %v, %v", v, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	release, finished := make(chan struct{}), make(chan error, 1)
	go func() {
		time.Sleep(5 * time.Millisecond)
		cancel()
	}()
	_, err = detach(ctx, func(ctx context.Context) (int, error) {
		<-release
		finished <- ctx.Err()
		return 2, nil
	})
	if err != context.Canceled {
		t.Errorf("ctx ended: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-finished; err != nil {
		t.Errorf("the body's ctx ended with the caller's: %v", err)
	}

	started := false
	if _, err := detach(ctx, func(ctx context.Context) (int, error) { started = true; return 0, nil }); err != context.Canceled || started {
		t.Errorf("ctx ended before: %v, started %v", err, started)
	}

	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("recovered %v, want the body's panic", p)
		}
	}()
	detach(context.Background(), func(ctx context.Context) (int, error) { panic("boom") })
}
