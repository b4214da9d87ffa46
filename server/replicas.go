package server

import (
	"context"
	"sync"

	"github.com/canopy-cloud/canopy/cache"

	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/ownership"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/sched"
	"github.com/canopy-cloud/canopy/store"
)

// Replicated makes this server one of several canopyd replicas on a
// shared store: owner decides which replica does each cloud's shared work
// (the network reconciler, today) and, when it implements jobs.Claims
// (ownership.Etcd does), which replica runs each operation, so a dead
// replica's operations are taken over by another. Call it before Serve.
// Without it the server owns every cloud and runs every operation
// (ownership.Local), which is right for one process on bbolt.
//
// An owner that is a sched.Mutex (ownership.Etcd) is also the lock the
// container clouds' schedulers take around place-then-create, so
// tenant_isolation holds across replicas, not only within one.
func (s *Server) Replicated(owner ownership.Owner) {
	s.owner = owner
	m, ok := owner.(sched.Mutex)
	if !ok {
		return
	}
	for _, cl := range s.rt.Clouds() {
		if cl.Containers == nil {
			continue
		}
		if p, ok := cl.Containers.Containers.(*sched.Placer); ok {
			p.SetMutex(m)
		}
	}
}

// ownerOrLocal is the Owner in effect.
func (s *Server) ownerOrLocal() ownership.Owner {
	if s.owner == nil {
		return ownership.Local{}
	}
	return s.owner
}

// claims is the jobs.Claims of a replicated server, nil otherwise.
func (s *Server) claims() jobs.Claims {
	c, _ := s.owner.(jobs.Claims)
	return c
}

// holdClouds campaigns for every cloud until ctx ends.
func (s *Server) holdClouds(ctx context.Context) *ownership.Held {
	names := make([]string, 0, len(s.rt.Clouds()))
	for _, cl := range s.rt.Clouds() {
		names = append(names, cl.Name)
	}
	return ownership.Hold(ctx, s.ownerOrLocal(), names, func(err error) { s.log.Warn("cloud ownership", "err", err) })
}

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

// shareStatus makes the batched status pollers of every cloud one per
// cloud across replicas (when the owner is ownership.Etcd): the cloud's
// owner lists it and publishes its lists through etcd, the other replicas
// feed their waiters and Watch streams from them, so N replicas cost a
// cloud one list per interval. It also makes the read caches coherent
// across replicas (ownership.Versions) and divides each cloud's
// rate-limit budget among the live replicas. s.held must be set. On one process it
// does nothing.
func (s *Server) shareStatus(ctx context.Context) {
	e, ok := s.owner.(*ownership.Etcd)
	if !ok {
		return
	}
	relay := ownership.NewStatusRelay(ctx, e, s.held)
	versions := e.Versions()
	for _, cl := range s.rt.Clouds() {
		for kind, p := range statusPollers(cl) {
			p.Share(relay, cl.Name, kind)
		}
		// Cached reads are checked against the cloud's write version,
		// which every replica's write raises before it answers.
		if cl.Compute != nil {
			cl.Compute.Coherent(versions)
		}
		if cl.StorageCache != nil {
			cl.StorageCache.Coherent(versions)
		}
		// And the cached lists of the polled kinds come from the owner's
		// polls too (read after the write version): a read, a refill
		// after a write, costs the cloud no list of its own.
		if cl.Compute != nil && cl.Servers != nil {
			cl.Compute.ServersFrom(cl.Servers)
		}
		if cl.Compute != nil && cl.Images != nil {
			cl.Compute.ImagesFrom(cl.Images)
		}
		if cl.StorageCache != nil && cl.Volumes != nil {
			cl.StorageCache.VolumesFrom(cl.Volumes)
		}
		if cl.Net != nil {
			cl.Net.Coherent(versions)
		}
	}
	// Every replica calls every cloud (any replica answers any RPC):
	// each gets its share of the cloud's rate-limit budget, so N
	// replicas together stay within it.
	go func() {
		for n := range e.Members(ctx) {
			for _, cl := range s.rt.Clouds() {
				cl.Limiter.Share(n)
			}
			s.log.Info("replicas", "live", n)
		}
	}()
}

// statusPollers is every batched poller of a cloud, by kind.
func statusPollers(cl *router.Cloud) map[string]cache.RelayedPoller {
	out := map[string]cache.RelayedPoller{}
	add := func(kind string, p cache.RelayedPoller, present bool) {
		if present {
			out[kind] = p
		}
	}
	add("servers", cl.Servers, cl.Servers != nil)
	add("images", cl.Images, cl.Images != nil)
	add("volumes", cl.Volumes, cl.Volumes != nil)
	add("snapshots", cl.Snapshots, cl.Snapshots != nil)
	add("backups", cl.Backups, cl.Backups != nil)
	add("networks", cl.Networks, cl.Networks != nil)
	add("ports", cl.Ports, cl.Ports != nil)
	add("security_groups", cl.SecurityGroups, cl.SecurityGroups != nil)
	add("floating_ips", cl.FloatingIPs, cl.FloatingIPs != nil)
	return out
}
