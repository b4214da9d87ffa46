package etcd

import (
	"context"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store"
)

var _ store.Watcher = (*Store)(nil)

// Watch implements store.Watcher with an etcd watch on the section's
// prefix. The watch starts at the revision the cluster had when Watch was
// called, so a write committed after the call is never missed, and is
// resumed from the last revision seen when its stream breaks (a member
// died, the client moved to another endpoint). When the store compacted
// past that revision the gap cannot be replayed: an empty-ID Change tells
// the receiver to drop everything it holds of the section.
func (s *Store) Watch(ctx context.Context, section store.Section) <-chan store.Change {
	out := make(chan store.Change, 64)
	prefix := ""
	switch section {
	case store.SectionSigningKeys:
		prefix = s.k.signingKeys()
	case store.SectionMappings:
		prefix = s.k.root + "map/"
	case store.SectionOperations:
		prefix = s.k.ops()
	default:
		close(out)
		return out
	}
	// The first revision to report: one past the cluster's current one.
	var next int64
	for attempt := 0; next == 0 && ctx.Err() == nil; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.attemptTimeout)
		resp, err := s.cli.Get(actx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		cancel()
		if err == nil {
			next = resp.Header.Revision + 1
			break
		}
		if backoff(ctx, attempt) != nil {
			break
		}
	}
	go s.follow(ctx, prefix, next, out)
	return out
}

// follow feeds out from etcd watches on prefix starting at rev, opening a
// new watch whenever one ends before ctx does.
func (s *Store) follow(ctx context.Context, prefix string, rev int64, out chan<- store.Change) {
	defer close(out)
	send := func(c store.Change) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ctx.Err() == nil && rev > 0 {
		// RequireLeader: a member cut off from the quorum ends the watch
		// instead of going silent, and the client moves to another one.
		wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
		for resp := range wch {
			if resp.CompactRevision > 0 {
				if !send(store.Change{Revision: resp.CompactRevision}) {
					return
				}
				rev = resp.CompactRevision
				break
			}
			if resp.Err() != nil {
				break
			}
			for _, ev := range resp.Events {
				c := store.Change{ID: strings.TrimPrefix(string(ev.Kv.Key), prefix),
					Deleted: ev.Type == mvccpb.DELETE, Revision: ev.Kv.ModRevision}
				if !send(c) {
					return
				}
				rev = ev.Kv.ModRevision + 1
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
