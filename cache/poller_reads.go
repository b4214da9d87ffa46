package cache

import (
	"context"
	"slices"
	"time"
)

// The cached list reads a poller answers on replicas (Compute's listsFrom).

// reader is one cached list read waiting for a list begun after after.
type reader[T any] struct {
	after   int64
	ch      chan Snapshot[T]
	lastErr error // of a failed list begun after after (guarded by the poller's mutex)
}

// Latest answers a cached list read of a replica on a shared store
// (Share) from the poller's lists instead of a list of its own, so reads
// on any number of replicas cost the cloud nothing beyond the owner's
// polls. The list returned began after revision after (Relay.Revision's
// order: a cloud's write version, Coherence.Current, is one), so it shows
// every write announced before it: the poller's latest list when it is
// younger than maxAge, else the next one, which the read waits for (at
// most the owner's poll interval; on the owner itself one min interval
// after its last list) as a waiter would. A failed list is transient to
// it, as to a waiter: it waits for the next, and returns the list's error
// only if the lists still fail when ctx ends. The items are the caller's
// own copy.
func (p *Poller[T]) Latest(ctx context.Context, after int64, maxAge time.Duration) ([]T, error) {
	p.mu.Lock()
	if s := p.latest; s != nil && s.Err == nil && s.rev > after && time.Since(s.At) < maxAge {
		p.mu.Unlock()
		return slices.Clone(s.Items), nil
	}
	r := &reader[T]{after: after, ch: make(chan Snapshot[T], 1)}
	p.readers[r] = struct{}{}
	p.startLocked()
	p.kickLocked() // as the owner: list now, or an interval after the last
	p.mu.Unlock()
	select {
	case s := <-r.ch:
		return slices.Clone(s.Items), nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.readers, r)
		lastErr := r.lastErr
		p.mu.Unlock()
		select { // it may have been answered meanwhile
		case s := <-r.ch:
			return slices.Clone(s.Items), nil
		default:
		}
		if lastErr != nil {
			return nil, lastErr // the lists kept failing until the read gave up
		}
		return nil, ctx.Err()
	}
}
