package server

import (
	"context"
	"sync"

	"github.com/canopy-cloud/canopy/store"
)

// follow starts what keeps this replica's memory in step with the others'
// writes to a shared store (etcd) until ctx ends: the id-map cache drops
// mappings another replica deleted, and the issuer reloads the signing
// keys another replica created or retired. On a store only this process
// writes (bbolt) both return at once. The WaitGroup is done when both
// have stopped.
func (s *Server) follow(ctx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	if c, ok := s.store.(*store.Cached); ok {
		wg.Add(1)
		go func() { defer wg.Done(); c.Follow(ctx) }()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.issuer.Follow(ctx, func(err error) { s.log.Warn("reload signing keys", "err", err) })
	}()
	return &wg
}
