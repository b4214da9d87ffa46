package store

import (
	"context"
	"time"
)

// A list or a poll is a picture of the cloud taken before it is converted:
// one taken before a delete finished can be converted after the delete
// forgot the mapping. Adopting its natives then would bind the deleted
// resource to a new canopy id (its AdoptedID) that nothing ever deletes,
// and a watcher would see that ghost ADDED instead of the resource
// DELETED. So the cache keeps a tombstone of every bound mapping it
// forgets, for a while, and AdoptListed answers a tombstoned native with
// the mapping it had, storing nothing.
const (
	// TombstoneTTL is how long a forgotten mapping answers AdoptListed:
	// far longer than a list or a poll takes to be converted, short
	// enough that a native the cloud somehow still shows is adopted again.
	TombstoneTTL = 10 * time.Minute
	// maxTombstones bounds the memory of a burst of deletes; the oldest
	// go first.
	maxTombstones = 4096
)

type tombstone struct {
	m    Mapping
	when time.Time
}

// burial is one bury call, in order; it is stale once its native was
// buried again or dug up (the tombstone's time is no longer its own).
type burial struct {
	k    nativeKey
	when time.Time
}

// tombstones is the cache's record of recently forgotten mappings.
// Guarded by Cached.mu.
type tombstones struct {
	byNative map[nativeKey]tombstone
	order    []burial // oldest first
	max      int      // maxTombstones; tests lower it
}

// bury records m as just forgotten. Called with c.mu held.
func (c *Cached) bury(m Mapping) {
	if m.NativeID == "" {
		return
	}
	if c.gone.byNative == nil {
		c.gone.byNative = map[nativeKey]tombstone{}
	}
	k, now := nativeKey{m.Cloud, m.Kind, m.NativeID}, c.now()
	c.gone.byNative[k] = tombstone{m, now}
	c.gone.order = append(c.gone.order, burial{k, now})
	c.pruneTombstones()
}

// pruneTombstones drops the expired tombstones and the oldest beyond
// maxTombstones. Called with c.mu held.
func (c *Cached) pruneTombstones() {
	cutoff := c.now().Add(-TombstoneTTL)
	for len(c.gone.order) > 0 {
		b := c.gone.order[0]
		ts, ok := c.gone.byNative[b.k]
		current := ok && ts.when.Equal(b.when)
		if current && ts.when.After(cutoff) && len(c.gone.byNative) <= c.gone.max {
			break
		}
		if current {
			delete(c.gone.byNative, b.k)
		}
		c.gone.order = c.gone.order[1:]
	}
	if len(c.gone.order) > 2*c.gone.max {
		// Stale burials (re-buried or dug-up natives) behind a live
		// one: keep the order as long as the tombstones, no longer.
		kept := make([]burial, 0, len(c.gone.byNative))
		for _, b := range c.gone.order {
			if ts, ok := c.gone.byNative[b.k]; ok && ts.when.Equal(b.when) {
				kept = append(kept, b)
			}
		}
		c.gone.order = kept
	}
}

// digUp removes the tombstone of a native that has a live mapping again.
// Called with c.mu held.
func (c *Cached) digUp(k nativeKey) { delete(c.gone.byNative, k) }

// AdoptListed is Adopt for the natives of a list or poll, which may have
// been taken before a delete: a native whose mapping this cache forgot
// within TombstoneTTL answers with that mapping, not stored again (its id
// is gone: Get answers ErrNotFound), instead of being adopted under a new
// id. The result is in input order, like Adopt's.
//
// A delete may also land while the store adopts: Delete lays its
// tombstone before the store's delete, so a store adoption that saw the
// mapping gone finds a forget since it began, and the mapping it just
// adopted for the tombstoned native (the ghost) is deleted again. Only a
// delete by another replica (seen through Follow after the fact) can
// still leave one.
func (c *Cached) AdoptListed(ctx context.Context, cloud, kind, project string, nativeIDs []string) ([]Mapping, error) {
	out := make([]Mapping, len(nativeIDs))
	var live []string
	var at []int
	c.mu.RLock()
	if err := c.usable(ctx); err != nil {
		c.mu.RUnlock()
		return nil, err
	}
	gen := c.forgets
	for i, n := range nativeIDs {
		k := nativeKey{cloud, kind, n}
		if id, bound := c.byNative[k]; bound {
			out[i] = c.byID[id]
			continue
		}
		if ts, ok := c.tombstone(k); ok {
			out[i] = ts.m
			continue
		}
		live, at = append(live, n), append(at, i)
	}
	c.mu.RUnlock()
	if len(live) == 0 {
		return out, nil
	}
	ms, err := c.Store.Adopt(ctx, cloud, kind, project, live)
	if err != nil {
		return nil, err
	}
	var ghosts []string
	c.mu.Lock()
	if c.forgets == gen {
		c.rememberLocked(ms...)
	} else {
		for j, m := range ms {
			ts, ok := c.tombstone(nativeKey{cloud, kind, m.NativeID})
			if ok && ts.m.ID != m.ID {
				if m.ID == AdoptedID(cloud, kind, m.NativeID) {
					ghosts = append(ghosts, m.ID)
				}
				ms[j] = ts.m
			}
		}
	}
	c.mu.Unlock()
	for _, g := range ghosts {
		// Not found: already gone, as wanted. A caller gone meanwhile (a
		// watch closed) must not leave the ghost.
		_ = c.Store.Delete(context.WithoutCancel(ctx), g)
	}
	for j, m := range ms {
		out[at[j]] = m
	}
	return out, nil
}

// tombstone is k's tombstone if it has a live one. Called with c.mu held.
func (c *Cached) tombstone(k nativeKey) (tombstone, bool) {
	ts, ok := c.gone.byNative[k]
	if !ok || !ts.when.After(c.now().Add(-TombstoneTTL)) {
		return tombstone{}, false
	}
	return ts, true
}
