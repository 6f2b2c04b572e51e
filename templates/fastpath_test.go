package templates

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunOpOnLane: when the caller of an operation on an owner leaves and
// its body goes on, the next operation on that owner waits for the body to
// end; another owner's does not; once the body ended no lane is left, so
// operations skip the lanes without looking.
func TestRunOpOnLane(t *testing.T) {
	defer goleak.VerifyNone(t)
	owner, other := new(int), new(int)
	started, release := make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := runOpOn(ctx, owner, "slow", opDetachable, func(ctx context.Context) (int, error) {
		close(started)
		<-release
		return 1, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller who left: %v, want context.Canceled", err)
	}
	if lanesHeld.Load() != 1 {
		t.Errorf("lanesHeld = %d with a body left running, want 1", lanesHeld.Load())
	}
	if v, err := runOpOn(context.Background(), other, "other", opDetachable, func(ctx context.Context) (int, error) { return 3, nil }); v != 3 || err != nil {
		t.Errorf("another owner's operation: %v, %v", v, err)
	}
	next := make(chan error, 1)
	go func() {
		_, err := runOpOn(context.Background(), owner, "next", opDetachable, func(ctx context.Context) (int, error) { return 2, nil })
		next <- err
	}()
	select {
	case err := <-next:
		t.Fatalf("the next operation on the owner ran beside the body left running (%v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-next; err != nil {
		t.Fatal(err)
	}
	if lanesHeld.Load() != 0 {
		t.Errorf("lanesHeld = %d once the body ended, want 0", lanesHeld.Load())
	}
}
