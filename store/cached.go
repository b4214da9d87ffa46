package store

import (
	"context"
	"sync"
	"time"
)

// Cached fronts an IDMap with an in-memory copy of the mappings it has
// seen. A mapping never changes once bound (only Delete removes it), so
// reads by id and adoption of known natives need no store round trip: a
// list of a thousand servers costs map lookups, not three transactions.
// Writes go to the store first and then update the copy.
//
// With several replicas on one store (etcd), Follow (cached_watch.go)
// drops what another replica deleted, as the store's watch reports it.
//
// Every bound mapping it forgets leaves a tombstone for a while
// (tombstones.go): AdoptListed, the adoption of lists and polls, answers
// a just-deleted native with its old mapping rather than a new id.
type Cached struct {
	Store
	mu       sync.RWMutex
	byID     map[string]Mapping
	byNative map[nativeKey]string
	closed   bool
	// forgets counts forget calls: a read from the store that another
	// replica's delete overtook (the watch reported it while the read was
	// under way) must not put back what was just forgotten.
	forgets uint64
	// gone holds the tombstones of forgotten mappings (tombstones.go).
	gone tombstones
	now  func() time.Time // the tombstones' clock; tests move it
}

type nativeKey struct{ cloud, kind, native string }

// NewCached wraps st.
func NewCached(st Store) *Cached {
	return &Cached{Store: st, byID: map[string]Mapping{}, byNative: map[nativeKey]string{}, gone: tombstones{max: maxTombstones}, now: time.Now}
}

// usable keeps the contract's promises for answers from memory: a done
// context and a closed store fail as they would in the store.
func (c *Cached) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.closed {
		return ErrClosed
	}
	return nil
}

// Close implements Store.
func (c *Cached) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.Store.Close()
}

func (c *Cached) remember(ms ...Mapping) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rememberLocked(ms...)
}

// rememberLocked is remember with c.mu held.
func (c *Cached) rememberLocked(ms ...Mapping) {
	for _, m := range ms {
		if m.Pending() {
			continue // pending mappings change on Bind: not cached
		}
		k := nativeKey{m.Cloud, m.Kind, m.NativeID}
		c.byID[m.ID] = m
		c.byNative[k] = m.ID
		c.digUp(k) // bound again: the live mapping answers
	}
}

// rememberRead caches what a store read returned, unless a forget came
// in since the read began (gen was c.forgets then): the read may predate
// the delete the forget stands for.
func (c *Cached) rememberRead(gen uint64, ms ...Mapping) {
	c.mu.RLock()
	stale := c.forgets != gen
	c.mu.RUnlock()
	if !stale {
		c.remember(ms...)
	}
}

// forget drops id from the cache and leaves a tombstone of its mapping
// (the cached one, else was, when it is id's bound mapping).
func (c *Cached) forget(id string, was Mapping) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets++
	if m, ok := c.byID[id]; ok {
		delete(c.byNative, nativeKey{m.Cloud, m.Kind, m.NativeID})
		delete(c.byID, id)
		was = m
	}
	if was.ID == id && !was.Pending() {
		c.bury(was)
	}
}

// Get implements IDMap.
func (c *Cached) Get(ctx context.Context, id string) (Mapping, error) {
	c.mu.RLock()
	m, ok := c.byID[id]
	err := c.usable(ctx)
	gen := c.forgets
	c.mu.RUnlock()
	if ok || err != nil {
		return m, err
	}
	m, err = c.Store.Get(ctx, id)
	if err == nil {
		c.rememberRead(gen, m)
	}
	return m, err
}

// Lookup implements IDMap.
func (c *Cached) Lookup(ctx context.Context, cloud, kind, nativeID string) (Mapping, error) {
	c.mu.RLock()
	id, ok := c.byNative[nativeKey{cloud, kind, nativeID}]
	m := c.byID[id]
	err := c.usable(ctx)
	gen := c.forgets
	c.mu.RUnlock()
	if ok || err != nil {
		return m, err
	}
	m, err = c.Store.Lookup(ctx, cloud, kind, nativeID)
	if err == nil {
		c.rememberRead(gen, m)
	}
	return m, err
}

// Adopt implements IDMap: answered from memory when every native is known.
func (c *Cached) Adopt(ctx context.Context, cloud, kind, project string, nativeIDs []string) ([]Mapping, error) {
	out := make([]Mapping, len(nativeIDs))
	c.mu.RLock()
	if err := c.usable(ctx); err != nil {
		c.mu.RUnlock()
		return nil, err
	}
	all := true
	for i, n := range nativeIDs {
		id, ok := c.byNative[nativeKey{cloud, kind, n}]
		if !ok {
			all = false
			break
		}
		out[i] = c.byID[id]
	}
	gen := c.forgets
	c.mu.RUnlock()
	if all {
		return out, nil
	}
	ms, err := c.Store.Adopt(ctx, cloud, kind, project, nativeIDs)
	if err == nil {
		c.rememberRead(gen, ms...)
	}
	return ms, err
}

// Reserve implements IDMap.
func (c *Cached) Reserve(ctx context.Context, m Mapping) (Mapping, bool, error) {
	got, created, err := c.Store.Reserve(ctx, m)
	if err == nil {
		c.remember(got)
	}
	return got, created, err
}

// Bind implements IDMap. A bind may take over an adopted mapping, so the
// native's old entry is dropped first.
func (c *Cached) Bind(ctx context.Context, id, nativeID string) (Mapping, error) {
	m, err := c.Store.Bind(ctx, id, nativeID)
	if err == nil {
		c.mu.Lock()
		if old, ok := c.byNative[nativeKey{m.Cloud, m.Kind, nativeID}]; ok && old != id {
			delete(c.byID, old)
		}
		c.mu.Unlock()
		c.remember(m)
	}
	return m, err
}

// Delete implements IDMap. A bound mapping not in the cache is read
// first, for its tombstone. The tombstone is laid before the store's
// delete, so an AdoptListed whose store adoption saw the mapping gone
// also sees the tombstone (tombstones.go); the cache is forgotten again
// after it, in case a read put the mapping back meanwhile.
func (c *Cached) Delete(ctx context.Context, id string) error {
	c.mu.RLock()
	_, known := c.byID[id]
	c.mu.RUnlock()
	var was Mapping
	if !known {
		was, _ = c.Store.Get(ctx, id) // not found: Delete says so
	}
	c.forget(id, was)
	err := c.Store.Delete(ctx, id)
	c.forget(id, was)
	return err
}
