package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/canopy-cloud/canopy/internal/ttllru"
	"github.com/canopy-cloud/canopy/providers"
)

// Kinds of cached reads; they match config.CacheKinds.
const (
	Servers  = "servers"
	Flavors  = "flavors"
	Images   = "images"
	Keypairs = "keypairs"
)

// Options tune one cloud's cache.
type Options struct {
	// TTL per kind; 0 turns the cache of that kind off (coalescing stays).
	TTL map[string]time.Duration
	// Poll bounds how long a list holding transitional items is trusted.
	Poll time.Duration
	// Size is the number of entries kept per kind (default 4096).
	Size int
}

// Compute wraps a cloud's compute driver so that identical concurrent reads
// share one upstream call (singleflight), reads are reused while fresh
// (expiring LRU, TTL per kind), a Get is answered from a fresh or in-flight
// list when there is one (shade's trick), writes invalidate what they
// change, and every upstream call goes through the cloud's rate limiter.
type Compute struct {
	cloud string
	inner providers.Compute
	lim   *Limiter
	m     *Metrics
	opts  Options
	sf    singleflight.Group

	mu      sync.Mutex
	gen     map[string]uint64 // bumped by every write of a kind
	listing map[string]string // kind → singleflight key of the list in flight
	lru     map[string]*ttllru.LRU[string, entry]
	// purged and filled say why a kind's list is not cached, for the
	// reason each upstream list is counted under: purged by a write
	// since it was last stored (refill_local), or stored once and since
	// expired (expired), or never stored (cold).
	purged, filled map[string]bool

	now func() time.Time // the clock Poll is measured on (nil: time.Now; tests set a fake one)

	onServers func() // after server writes (OnServerWrite)

	// coh, when set (Coherent), makes the cache coherent across replicas:
	// an entry is served only while the cloud's write version is the one
	// read before the entry was fetched.
	coh Coherence
	// polled, when set (coherence.go), answers the cached list reads of
	// a kind from its batched poller (*Poller[T] of the kind's items).
	polled map[string]any
}

// clock is the time now on c's clock.
func (c *Compute) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// entry is one cached read.
type entry struct {
	v      any
	at     time.Time
	moving bool  // holds something transitional: trusted only for Poll
	ver    int64 // the cloud's write version read before the fetch (Coherence)
}

// NewCompute wraps inner.
func NewCompute(cloud string, inner providers.Compute, lim *Limiter, m *Metrics, opts Options) *Compute {
	if opts.Size <= 0 {
		opts.Size = 4096
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	c := &Compute{cloud: cloud, inner: inner, lim: lim, m: m, opts: opts,
		gen: map[string]uint64{}, listing: map[string]string{}, lru: map[string]*ttllru.LRU[string, entry]{},
		purged: map[string]bool{}, filled: map[string]bool{}}
	for _, kind := range []string{Servers, Flavors, Images, Keypairs} {
		if ttl := opts.TTL[kind]; ttl > 0 {
			c.lru[kind] = ttllru.New[string, entry](opts.Size, ttl)
		}
	}
	return c
}

// upstream makes one call to the cloud under the rate limit and the
// circuit breaker, honoring the cloud's Retry-After by pausing the limiter
// and trying again while the caller's deadline allows.
func (c *Compute) upstream(ctx context.Context, kind, method string, fn func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		err := c.lim.Call(ctx, func(ctx context.Context) error {
			c.m.call(c.cloud, kind, method)
			return fn(ctx)
		})
		var ra *providers.RetryAfterError
		if !errors.As(err, &ra) || attempt >= 3 {
			return err
		}
		c.lim.Pause(ra.After)
	}
}

// version is the cloud's write version as of now (see Coherence): 0
// without one. known is false when it could not be read; then no entry is
// served or stored.
func (c *Compute) version(ctx context.Context) (ver int64, known bool) {
	c.mu.Lock()
	coh := c.coh
	c.mu.Unlock()
	if coh == nil {
		return 0, true
	}
	ver, err := coh.Current(ctx, c.cloud)
	return ver, err == nil
}

// cached returns a fresh cache entry fetched at write version ver.
func (c *Compute) cached(kind, key string, ver int64, known bool) (entry, bool) {
	e, ok, _ := c.lookup(kind, key, ver, known)
	return e, ok
}

// lookup is cached that also says why it missed: the reason (a List*
// constant) an upstream list made for the miss is counted under.
func (c *Compute) lookup(kind, key string, ver int64, known bool) (entry, bool, string) {
	c.mu.Lock()
	lru, purged, filled := c.lru[kind], c.purged[kind], c.filled[kind]
	c.mu.Unlock()
	if lru == nil {
		return entry{}, false, ListUncached
	}
	if !known {
		return entry{}, false, ListRefillRemote // the write version could not be read
	}
	e, ok := lru.Get(key)
	switch {
	case !ok && purged:
		return entry{}, false, ListRefillLocal
	case !ok && filled:
		return entry{}, false, ListExpired
	case !ok:
		return entry{}, false, ListCold
	case e.ver != ver:
		return entry{}, false, ListRefillRemote
	case e.moving && c.clock().Sub(e.at) > c.opts.Poll:
		return entry{}, false, ListExpired
	}
	return e, true, ""
}

// store caches v unless a write of the kind happened since gen was read.
func (c *Compute) store(kind, key string, gen uint64, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if lru := c.lru[kind]; lru != nil && c.gen[kind] == gen {
		lru.Add(key, e)
		if key == "list" {
			c.purged[kind], c.filled[kind] = false, true
		}
	}
}

// invalidate forgets every cached read of a kind; reads already in flight
// will not be stored, and later readers will not join them.
func (c *Compute) invalidate(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[kind]++
	delete(c.listing, kind)
	if lru := c.lru[kind]; lru != nil {
		lru.Purge()
		c.purged[kind] = true
	}
}

// cachedResult marks a flight whose leader found the cache filled after all.
type cachedResult struct{ v any }

// flight runs fn once for all concurrent callers of the same key. A caller
// that joined a call whose leader gave up (context ended) tries again with
// its own context. fn returns a cachedResult when it found the cache filled
// (by a flight that ended between the caller's miss and its own flight).
func (c *Compute) flight(ctx context.Context, kind, key string, fn func(context.Context) (any, error)) (any, error) {
	for {
		leader := false
		v, err, _ := c.sf.Do(key, func() (any, error) {
			leader = true
			return fn(ctx)
		})
		if cr, ok := v.(cachedResult); ok {
			c.m.read(c.cloud, kind, "hit")
			return cr.v, err
		}
		if leader {
			c.m.read(c.cloud, kind, "miss")
		} else {
			c.m.read(c.cloud, kind, "coalesced")
		}
		if err != nil && !leader && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue
		}
		return v, err
	}
}

// list is the read path of every list: cache, then singleflight, then the
// cloud. fresh skips the cache (the poller needs the cloud's current word)
// but still coalesces with lists in flight.
func list[T any](c *Compute, ctx context.Context, kind, method string, fresh bool, fetch func(context.Context) ([]T, error), moving func(T) bool) ([]T, error) {
	ver, known := c.version(ctx)
	lc := listCallOf(ctx)
	reason := listReasonUnknown
	if lc != nil {
		reason = lc.reason
	}
	if !fresh {
		e, ok, why := c.lookup(kind, "list", ver, known)
		if ok {
			c.m.read(c.cloud, kind, "hit")
			return e.v.([]T), nil
		}
		reason, lc = why, nil
		c.mu.Lock()
		src, gen, ttl := c.polled[kind], c.gen[kind], c.opts.TTL[kind]
		c.mu.Unlock()
		if p, ok := src.(*Poller[T]); ok && known {
			// Replicas: the owner's polls answer every replica's reads.
			items, err := p.Latest(ctx, ver, max(ttl, c.opts.Poll))
			if err != nil {
				return nil, err
			}
			c.m.read(c.cloud, kind, "polled")
			e := entry{v: items, at: c.clock(), ver: ver}
			for _, it := range items {
				if moving != nil && moving(it) {
					e.moving = true
					break
				}
			}
			c.store(kind, "list", gen, e)
			return items, nil
		}
	}
	c.mu.Lock()
	gen := c.gen[kind]
	// The version is in the flight's key: a reader that learnt of
	// another replica's write does not join a list that began before it.
	key := fmt.Sprintf("%s/list/%d/%d", kind, gen, ver)
	c.listing[kind] = key
	c.mu.Unlock()
	v, err := c.flight(ctx, kind, key, func(ctx context.Context) (any, error) {
		if !fresh { // a flight that ended between our cache miss and now filled it
			if e, ok := c.cached(kind, "list", ver, known); ok {
				return cachedResult{e.v}, nil
			}
		}
		var items []T
		err := c.upstream(ctx, kind, method, func(ctx context.Context) (err error) {
			if lc != nil {
				lc.send()
			}
			c.m.list(c.cloud, kind, reason)
			items, err = fetch(ctx)
			return err
		})
		// Stored before the flight stops being listed: a Get that finds
		// no list in flight then finds it in the cache (see get).
		defer func() {
			c.mu.Lock()
			if c.listing[kind] == key {
				delete(c.listing, kind)
			}
			c.mu.Unlock()
		}()
		if err != nil {
			return nil, err
		}
		e := entry{v: items, at: c.clock(), ver: ver}
		for _, it := range items {
			if moving != nil && moving(it) {
				e.moving = true
				break
			}
		}
		if known {
			c.store(kind, "list", gen, e)
		}
		return items, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]T), nil
}

// get is the read path of a Get by id: a fresh cached list or the list in
// flight answers it when it holds the id; else a coalesced, cached Get.
func get[T any](c *Compute, ctx context.Context, kind, method, id string, listFn func(context.Context) ([]T, error), key func(T) string, moving func(T) bool, fetch func(context.Context, string) (T, error)) (T, error) {
	var zero T
	ver, known := c.version(ctx)
	if e, ok := c.cached(kind, "list", ver, known); ok {
		for _, it := range e.v.([]T) {
			if key(it) == id {
				c.m.read(c.cloud, kind, "hit")
				return it, nil
			}
		}
	}
	c.mu.Lock()
	inflight, listing := c.listing[kind]
	_, polled := c.polled[kind]
	c.mu.Unlock()
	// (A kind whose lists the poller answers is not joined here: a read
	// of the list would wait for the poller, whose list might join it.)
	if listing && !polled && listFn != nil && strings.HasSuffix(inflight, fmt.Sprintf("/%d", ver)) {
		if v, err := c.flight(ctx, kind, inflight, func(ctx context.Context) (any, error) { return listFn(ctx) }); err == nil {
			for _, it := range v.([]T) {
				if key(it) == id {
					return it, nil
				}
			}
		}
	} else if e, ok := c.cached(kind, "list", ver, known); ok {
		// A list that ended between the first look and now: it stores
		// its result before it stops being listed.
		for _, it := range e.v.([]T) {
			if key(it) == id {
				c.m.read(c.cloud, kind, "hit")
				return it, nil
			}
		}
	}
	if e, ok := c.cached(kind, "get/"+id, ver, known); ok {
		c.m.read(c.cloud, kind, "hit")
		return e.v.(T), nil
	}
	c.mu.Lock()
	gen := c.gen[kind]
	c.mu.Unlock()
	v, err := c.flight(ctx, kind, fmt.Sprintf("%s/get/%s/%d/%d", kind, id, gen, ver), func(ctx context.Context) (any, error) {
		if e, ok := c.cached(kind, "get/"+id, ver, known); ok { // filled between our miss and now
			return cachedResult{e.v}, nil
		}
		var it T
		err := c.upstream(ctx, kind, method, func(ctx context.Context) (err error) {
			it, err = fetch(ctx, id)
			return err
		})
		if err != nil {
			return zero, err
		}
		if known {
			c.store(kind, "get/"+id, gen, entry{v: it, at: c.clock(), moving: moving != nil && moving(it), ver: ver})
		}
		return it, nil
	})
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

// write makes a mutating call and invalidates the kind, before and after:
// after, so nobody reads the state from before the write; before, so a
// list in flight during the write is not stored.
//
// With a Coherence, the write is announced to the other replicas before
// it returns (whatever its outcome: a failed write may have changed
// something), so none serves a read cached from before it once this
// replica has answered.
func (c *Compute) write(ctx context.Context, kind, method string, fn func(context.Context) error) error {
	c.invalidate(kind)
	defer c.invalidate(kind)
	if kind == Servers && c.onServers != nil {
		defer c.onServers()
	}
	err := c.upstream(ctx, kind, method, fn)
	c.mu.Lock()
	coh := c.coh
	c.mu.Unlock()
	if coh != nil {
		// Bounded apart from the caller's context: an announcement cut
		// short would leave other replicas serving the old state.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if werr := coh.Written(wctx, c.cloud); werr != nil && err == nil {
			err = fmt.Errorf("cloud %q: the write was made but the other replicas could not be told (their cached reads may be stale until their TTL): %w", c.cloud, werr)
		}
		cancel()
	}
	return err
}

// OnServerWrite registers fn to run after every server write (create,
// delete, action): what else caches a server's traces (its ports and
// floating IPs) drops them. Call it before the Compute is used.
func (c *Compute) OnServerWrite(fn func()) { c.onServers = fn }

func serverMoving(s providers.Server) bool { return s.Status.Transitional() }
func serverKey(s providers.Server) string  { return s.NativeID }

// ListFlavors implements providers.Compute.
func (c *Compute) ListFlavors(ctx context.Context) ([]providers.Flavor, error) {
	return list[providers.Flavor](c, ctx, Flavors, "ListFlavors", false, c.inner.ListFlavors, nil)
}

// ListImages implements providers.Compute.
func (c *Compute) ListImages(ctx context.Context) ([]providers.Image, error) {
	return list(c, ctx, Images, "ListImages", false, c.inner.ListImages, func(im providers.Image) bool { return im.Status.Transitional() })
}

// ListImagesFresh lists images from the cloud (coalesced with any list in
// flight) and refreshes the cache: the read of the poller that waits for
// uploaded images the cloud is still processing.
func (c *Compute) ListImagesFresh(ctx context.Context) ([]providers.Image, error) {
	return list(c, ctx, Images, "ListImages", true, c.inner.ListImages, func(im providers.Image) bool { return im.Status.Transitional() })
}

// InvalidateImages forgets the cached images: an upload made one the
// cached list does not have.
func (c *Compute) InvalidateImages() { c.invalidate(Images) }

// GetImage implements providers.Compute.
func (c *Compute) GetImage(ctx context.Context, id string) (providers.Image, error) {
	return get(c, ctx, Images, "GetImage", id, nil, func(im providers.Image) string { return im.NativeID },
		func(im providers.Image) bool { return im.Status.Transitional() }, c.inner.GetImage)
}

// ListServers implements providers.Compute.
func (c *Compute) ListServers(ctx context.Context) ([]providers.Server, error) {
	return list(c, ctx, Servers, "ListServers", false, c.inner.ListServers, serverMoving)
}

// ListServersFresh lists servers from the cloud (coalesced with any list in
// flight) and refreshes the cache: the batched poller's read.
func (c *Compute) ListServersFresh(ctx context.Context) ([]providers.Server, error) {
	return list(c, ctx, Servers, "ListServers", true, c.inner.ListServers, serverMoving)
}

// GetServer implements providers.Compute.
func (c *Compute) GetServer(ctx context.Context, id string) (providers.Server, error) {
	return get(c, ctx, Servers, "GetServer", id, c.ListServers, serverKey, serverMoving, c.inner.GetServer)
}

// CreateServer implements providers.Compute.
func (c *Compute) CreateServer(ctx context.Context, spec providers.ServerSpec) (s providers.Server, err error) {
	err = c.write(ctx, Servers, "CreateServer", func(ctx context.Context) error {
		s, err = c.inner.CreateServer(ctx, spec)
		return err
	})
	return s, err
}

// DeleteServer implements providers.Compute.
func (c *Compute) DeleteServer(ctx context.Context, id string) error {
	return c.write(ctx, Servers, "DeleteServer", func(ctx context.Context) error { return c.inner.DeleteServer(ctx, id) })
}

// ServerAction implements providers.Compute.
func (c *Compute) ServerAction(ctx context.Context, id string, action providers.Action) error {
	return c.write(ctx, Servers, "ServerAction", func(ctx context.Context) error { return c.inner.ServerAction(ctx, id, action) })
}

// ListKeypairs implements providers.Compute.
func (c *Compute) ListKeypairs(ctx context.Context) ([]providers.Keypair, error) {
	return list[providers.Keypair](c, ctx, Keypairs, "ListKeypairs", false, c.inner.ListKeypairs, nil)
}

// GetKeypair implements providers.Compute.
func (c *Compute) GetKeypair(ctx context.Context, name string) (providers.Keypair, error) {
	return get(c, ctx, Keypairs, "GetKeypair", name, c.ListKeypairs, func(k providers.Keypair) string { return k.NativeID }, nil, c.inner.GetKeypair)
}

// CreateKeypair implements providers.Compute.
func (c *Compute) CreateKeypair(ctx context.Context, name, publicKey string) (k providers.Keypair, err error) {
	err = c.write(ctx, Keypairs, "CreateKeypair", func(ctx context.Context) error {
		k, err = c.inner.CreateKeypair(ctx, name, publicKey)
		return err
	})
	return k, err
}

// DeleteKeypair implements providers.Compute.
func (c *Compute) DeleteKeypair(ctx context.Context, name string) error {
	return c.write(ctx, Keypairs, "DeleteKeypair", func(ctx context.Context) error { return c.inner.DeleteKeypair(ctx, name) })
}

var _ providers.Compute = (*Compute)(nil)

// ServerChanged forgets the cached server reads: the cloud announced a
// change (a notification) that they may not show.
func (c *Compute) ServerChanged() { c.invalidate(Servers) }
