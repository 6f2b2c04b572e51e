package templates

import (
	"context"
	"io"
	"net"
	"sync"
)

// poolConfig configures a pool.
type poolConfig struct {
	// Dial opens a connection to addr; it must honour ctx.
	Dial func(ctx context.Context, addr net.Addr) (io.ReadWriteCloser, error)
	// ConnsPerAddr is how many physical connections pipelined exchanges
	// spread over per address (default 1). A new one is dialed only when the
	// existing ones have MaxInFlight exchanges each.
	ConnsPerAddr int
	Pipeline     pipelineConfig
}

// A pool keeps pipelined connections per address (keyed by addr.String()),
// for clients that dial (gomemcache's per-address free lists become a pool). It stays usable after
// close: the next exchange dials again.
type pool struct {
	cfg poolConfig

	mu      sync.Mutex
	conns   map[string][]*pipeline
	dialing map[string]chan struct{} // closed when the dial under way ends
}

func newPool(cfg poolConfig) *pool {
	if cfg.ConnsPerAddr <= 0 {
		cfg.ConnsPerAddr = 1
	}
	return &pool{cfg: cfg, conns: map[string][]*pipeline{}, dialing: map[string]chan struct{}{}}
}

// begin starts a pipelined exchange on a connection to addr, dialing one
// under ctx if needed.
func (p *pool) begin(ctx context.Context, addr net.Addr) (*stream, error) {
	pl, err := p.pick(ctx, callerContext(ctx), addr, false)
	if err != nil {
		return nil, err
	}
	return pl.begin(ctx), nil
}

// beginExclusive starts an exclusive exchange on a connection to addr that
// has nothing in flight, dialing a new one if there is none: a long exclusive
// exchange never holds up pipelined ones.
func (p *pool) beginExclusive(ctx context.Context, addr net.Addr) (*stream, error) {
	pl, err := p.pick(ctx, callerContext(ctx), addr, true)
	if err != nil {
		return nil, err
	}
	s := pl.beginExclusive(ctx)
	return s, nil
}

// pick returns a connection to netAddr for an exchange: the least loaded
// one, or for an exclusive exchange one with nothing in flight, dialing
// under dialCtx when there is none.
func (p *pool) pick(ctx, dialCtx context.Context, netAddr net.Addr, exclusive bool) (*pipeline, error) {
	addr := netAddr.String()
	for {
		p.mu.Lock()
		conns := p.conns[addr]
		live := conns[:0]
		var best *pipeline
		bestLoad := 0
		for _, pl := range conns {
			if pl.failure() != nil {
				continue
			}
			live = append(live, pl)
			pl.mu.Lock()
			held := pl.held
			pl.mu.Unlock()
			load := len(pl.slots)
			if held || (exclusive && load > 0) {
				continue
			}
			if best == nil || load < bestLoad {
				best, bestLoad = pl, load
			}
		}
		if len(live) != len(conns) {
			p.conns[addr] = live // forget the failed ones
		}
		if best != nil && (exclusive || bestLoad < p.cfg.Pipeline.maxInFlight() || len(live) >= p.cfg.ConnsPerAddr) {
			p.mu.Unlock()
			return best, nil
		}
		// One dial at a time per address: a burst of callers waits for it
		// instead of opening a connection each.
		if wait, ok := p.dialing[addr]; ok {
			p.mu.Unlock()
			escapeCaller(ctx)
			caller := callerContext(ctx)
			select {
			case <-wait:
				continue
			case <-caller.Done():
				return nil, cancelled(ctx, caller.Err())
			}
		}
		done := make(chan struct{})
		p.dialing[addr] = done
		p.mu.Unlock()
		escapeCaller(ctx)

		rwc, err := p.cfg.Dial(dialCtx, netAddr)

		p.mu.Lock()
		delete(p.dialing, addr)
		close(done)
		if err != nil {
			p.mu.Unlock()
			if ended(callerContext(ctx)) {
				// The caller's ctx ended the dial (or ended as it failed).
				err = cancelled(ctx, err)
			}
			return nil, err
		}
		pl := newPipeline(rwc, p.cfg.Pipeline)
		pl.addr = netAddr
		p.conns[addr] = append(p.conns[addr], pl)
		p.mu.Unlock()
		return pl, nil
	}
}

// adopt makes rwc, a connection to addr dialed already, one of the pool's
// pipelined connections.
func (p *pool) adopt(addr net.Addr, rwc io.ReadWriteCloser) *pipeline {
	pl := newPipeline(rwc, p.cfg.Pipeline)
	pl.addr = addr
	p.mu.Lock()
	p.conns[addr.String()] = append(p.conns[addr.String()], pl)
	p.mu.Unlock()
	return pl
}

// close closes every connection of the pool and returns the first error;
// exchanges in flight fail with ErrMaybeExecuted.
func (p *pool) close() error {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[string][]*pipeline{}
	p.mu.Unlock()
	var first error
	for _, list := range conns {
		for _, pl := range list {
			if err := pl.close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (c pipelineConfig) maxInFlight() int {
	if c.MaxInFlight <= 0 {
		return 256
	}
	return c.MaxInFlight
}
