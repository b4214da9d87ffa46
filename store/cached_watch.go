package store

import "context"

// Watch implements Watcher when the store under the cache does; with a
// store that has none (bbolt) the channel is closed at once.
func (c *Cached) Watch(ctx context.Context, section Section) <-chan Change {
	if w, ok := c.Store.(Watcher); ok {
		return w.Watch(ctx, section)
	}
	ch := make(chan Change)
	close(ch)
	return ch
}

// Shared reports whether other processes write the store under the cache
// (it is a Watcher): then Follow must run for the cache to stay coherent.
func (c *Cached) Shared() bool {
	_, ok := c.Store.(Watcher)
	return ok
}

// Follow keeps the cache coherent with other replicas' writes until ctx
// ends: every mapping another replica deletes (or drops by binding its
// native id to a reserved one) is forgotten here, so the next read of it
// goes to the store; a deleted one this cache held leaves a tombstone, so
// a poll of this replica older than the delete does not adopt it anew. A watch that lost its place empties the cache. It
// returns at once on a store no other process writes.
//
// The cache holds only bound mappings, which change in no other way, so a
// reader here sees a delete made through another replica no later than
// the watch's delay after that replica answered.
func (c *Cached) Follow(ctx context.Context) {
	w, ok := c.Store.(Watcher)
	if !ok {
		return
	}
	for ch := range w.Watch(ctx, SectionMappings) {
		if ch.ID == "" {
			c.mu.Lock()
			c.byID = map[string]Mapping{}
			c.byNative = map[nativeKey]string{}
			c.forgets++
			c.mu.Unlock()
			continue
		}
		if ch.Deleted {
			c.forget(ch.ID, Mapping{})
		}
	}
}
