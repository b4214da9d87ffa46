package cache

import "context"

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
