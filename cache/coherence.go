package cache

import (
	"context"

	"github.com/canopy-cloud/canopy/providers"
)

// Coherence keeps the read caches of several canopyd replicas coherent:
// each cloud has a write version that every replica's write raises before
// it answers, and every cached read is checked against the version read
// when the read begins. A client that wrote through replica A and then
// reads through replica B never gets B's entry from before the write,
// without B waiting for a TTL. ownership.Versions implements it on etcd.
// Without one (one process) the local invalidation is enough.
type Coherence interface {
	// Written raises cloud's write version; it returns once every later
	// Current (on any replica) sees the raise.
	Written(ctx context.Context, cloud string) error
	// Current returns cloud's write version, including every Written that
	// returned before Current was called.
	Current(ctx context.Context, cloud string) (int64, error)
}

// Coherent makes c's cache coherent with other replicas' through v.
func (c *Compute) Coherent(v Coherence) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.coh = v
}

// Coherent makes s's cache coherent with other replicas' through v.
func (s *Storage) Coherent(v Coherence) { s.c.Coherent(v) }

// Coherent makes n's cache coherent with other replicas' through v.
func (n *Net) Coherent(v Coherence) { n.c.Coherent(v) }

// listsFrom makes the cached list reads of kind wait for p's lists
// (Poller.Latest) instead of listing the cloud: on replicas sharing one
// poll per interval (Poller.Share) with coherent caches (Coherent), the
// owner's polls answer every replica's reads, and a read after a write
// gets a list begun after the write was announced. T must be the kind's
// item type (the list p makes is the kind's list).
func listsFrom[T any](c *Compute, kind string, p *Poller[T]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.polled == nil {
		c.polled = map[string]any{}
	}
	c.polled[kind] = p
}

// ServersFrom answers c's cached server lists from p (see listsFrom).
func (c *Compute) ServersFrom(p *Poller[providers.Server]) { listsFrom(c, Servers, p) }

// ImagesFrom answers c's cached image lists from p (see listsFrom).
func (c *Compute) ImagesFrom(p *Poller[providers.Image]) { listsFrom(c, Images, p) }

// VolumesFrom answers s's cached volume lists from p (see listsFrom).
func (s *Storage) VolumesFrom(p *Poller[providers.Volume]) { listsFrom(s.c, Volumes, p) }
