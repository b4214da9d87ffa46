package router

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// Cloud is one configured cloud and its whole stack, built once when the
// router opens: the adapter; the cache layer over it (reads, batched
// pollers, the rate limiter and circuit breaker every upstream call
// passes); the emulation
// layer over block storage; and the byte transfer drivers. Handlers reach
// a cloud only through these fields; nothing else wraps an adapter.
type Cloud struct {
	Name    string
	Kind    string
	Conf    config.Cloud // the configured entry it comes from (one per region once split)
	Project string       // owns what canopy adopts from this cloud
	// Provider is the bare adapter: for Info (health), Close and the
	// signed URLs the simulator serves itself. Everything else goes
	// through the drivers below.
	Provider providers.Provider
	Limiter  *cache.Limiter
	Regions  []string
	Zones    []string

	// Compute is the cached, rate-limited compute driver; nil without
	// compute. Servers and Images are its batched pollers (waits, Watch,
	// uploaded images the cloud still processes).
	Compute *cache.Compute
	Servers *cache.Poller[providers.Server]
	Images  *cache.Poller[providers.Image]
	// ServerMemo keeps the conversion of the last cached server list, so
	// reads answered from the cache do not rebuild the same messages.
	ServerMemo Memo[providers.Server, *canopyv1.Server]

	// Storage is the cloud's block storage as the provider interfaces,
	// with what the cloud lacks filled in (emulate.Storage, chosen from
	// the adapter's capabilities): what handlers and operation steps call
	// for volumes, snapshots, backups and restores, reads and writes
	// alike. Nil without volumes.
	Storage *emulate.Storage
	// StorageCache is the cached block-storage driver under it (nil
	// without volumes); Emulation is the layer Storage is made of (always
	// set: it says FAILED_PRECONDITION for what it cannot fill in), which
	// also keeps deferred volumes. The pollers list through Emulation, so
	// emulated copies are waited on alike.
	StorageCache *cache.Storage
	Emulation    *emulate.Layer
	Volumes      *cache.Poller[providers.Volume]
	Snapshots    *cache.Poller[providers.Snapshot]
	Backups      *cache.Poller[providers.Backup]

	// Objects is the rate-limited object driver (nil without objects);
	// Transfer the image upload/download driver (nil without it).
	Objects  *cache.Objects
	Transfer *cache.ImageTransfer

	// Containers is the rate-limited container driver with its event-fed
	// view (lists, waits and Watch); nil on clouds without containers.
	Containers *cache.Containers
	// Net is the rate-limited, cached networking driver; nil on clouds
	// without networks. Networks, Ports, SecurityGroups and FloatingIPs are
	// its batched pollers (Watch), each listing fresh through Net so a
	// change at the cloud is seen and any number of watchers cost one list
	// per interval; each is nil when the cloud lacks its capability.
	Net            *cache.Net
	Networks       *cache.Poller[providers.Network]
	Ports          *cache.Poller[providers.Port]
	SecurityGroups *cache.Poller[providers.SecurityGroup]
	FloatingIPs    *cache.Poller[providers.FloatingIP]

	mu        sync.Mutex
	healthy   bool
	healthErr string
	healthAt  time.Time
}

// Router is every cloud, by name and by zone, and the id map that routes
// everything after a create. It is built once at start; its clouds never
// change while it lives.
type Router struct {
	cfg   *config.Config
	store store.Store

	list   []*Cloud // by name
	byName map[string]*Cloud
	byZone map[string]*Cloud
	// ambiguous zones are offered by several clouds and mapped by none.
	ambiguous map[string][]string
	// dups handles the crash duplicates lists find (duplicates.go).
	dups *duplicates
	// feeds are the clouds' notification feeds (events.go).
	feeds *feeds
}

// Open opens every configured cloud and builds its stack. A cloud whose
// adapter cannot be opened is a startup error; a cloud that is merely
// unreachable is kept and reported unhealthy, so one bad cloud never
// takes canopy down. st is the id map and the emulation records; the
// caller keeps it and closes it after Close.
func Open(ctx context.Context, cfg *config.Config, st store.Store, log *slog.Logger, m *cache.Metrics, opts ...Option) (*Router, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	r := &Router{cfg: cfg, store: st, byName: map[string]*Cloud{}, byZone: map[string]*Cloud{}, dups: newDuplicates(cfg.Duplicates, log)}
	for _, cc := range cfg.Clouds {
		expanded, err := providers.Expand(cc.Kind, providers.Config{Name: cc.Name, Regions: cc.Regions, Zones: cc.Zones, Options: cc.Options, DataDir: cfg.DataDir})
		if err != nil {
			r.Close()
			return nil, err
		}
		for _, pc := range expanded {
			if _, dup := r.byName[pc.Name]; dup {
				r.Close()
				return nil, fmt.Errorf("cloud %q is configured twice (after splitting %q by region)", pc.Name, cc.Name)
			}
			cl, err := openCloud(ctx, cfg, cc, pc, log, m, o)
			if err != nil {
				r.Close()
				return nil, err
			}
			r.list = append(r.list, cl)
			r.byName[cl.Name] = cl
		}
	}
	sort.Slice(r.list, func(i, j int) bool { return r.list[i].Name < r.list[j].Name })
	ambiguous := map[string][]string{}
	for _, cl := range r.list {
		for _, z := range cl.Zones {
			if _, explicit := cfg.Zones[z]; explicit {
				continue
			}
			if other, taken := r.byZone[z]; taken {
				ambiguous[z] = append(ambiguous[z], other.Name, cl.Name)
			}
			r.byZone[z] = cl
		}
	}
	// A zone two clouds report routes nowhere rather than to whichever was
	// opened last; the zones: map in the config settles it.
	r.ambiguous = ambiguous
	for z, clouds := range ambiguous {
		delete(r.byZone, z)
		log.Warn("zone offered by several clouds: creates must name the cloud, or map the zone in the config's zones:", "zone", z, "clouds", clouds)
	}
	for z, name := range cfg.Zones {
		cl, ok := r.byName[name]
		if !ok {
			r.Close()
			return nil, fmt.Errorf("zones[%q]: no cloud %q (clouds: %v)", z, name, r.Names())
		}
		r.byZone[z] = cl
		cl.Zones = union(cl.Zones, []string{z})
	}
	// The emulation layers come last: a backup_bucket may name any cloud's
	// object store.
	for _, cl := range r.list {
		if err := r.placement(ctx, cl); err != nil { // placement.go
			r.Close()
			return nil, err
		}
		if err := r.emulation(cl); err != nil {
			r.Close()
			return nil, err
		}
	}
	r.startFeeds(log, m)
	return r, nil
}

// openCloud opens one canopy cloud: its adapter, wrapped in the cache,
// rate limit and circuit breaker its config asks for, and a first health
// check.
func openCloud(ctx context.Context, cfg *config.Config, cc config.Cloud, pc providers.Config, log *slog.Logger, m *cache.Metrics, o options) (*Cloud, error) {
	p, err := providers.Open(ctx, cc.Kind, pc)
	if err != nil {
		return nil, err
	}
	cl := &Cloud{Name: pc.Name, Kind: cc.Kind, Conf: cc, Project: cc.Project, Provider: p, Regions: pc.Regions, Zones: pc.Zones}
	rps, burst := cc.RateLimit.Rate, cc.RateLimit.Burst
	if rps == 0 {
		rps, burst = 20, 40
		_, containers := p.(providers.Containers)
		if _, compute := p.(providers.Compute); containers && !compute {
			// A container runtime is a daemon on a host, answering in
			// milliseconds: its budget is a flood guard, not a quota.
			rps, burst = 200, 400
		}
	}
	failures := cc.Breaker.Failures
	if failures == 0 {
		failures = cache.DefaultBreakerFailures
	}
	cl.Limiter = cache.NewLimiter(pc.Name, rps, burst, m).WithBreaker(cache.NewBreaker(pc.Name, failures, cc.Breaker.Cooldown.Std(), m).WithClock(o.clock))
	min := cfg.Wait.MinInterval.Std()
	if c, ok := p.(providers.Compute); ok {
		cl.computeStack(cfg, cc, c, m)
	}
	if providers.Has(p, providers.CapVolumes) {
		ttl := map[string]time.Duration{}
		for _, kind := range []string{cache.Volumes, cache.Snapshots, cache.Backups} {
			ttl[kind] = cc.TTL(kind)
		}
		cl.StorageCache = cache.NewStorage(pc.Name, p, cl.Limiter, cache.Options{TTL: ttl, Poll: min})
	}
	{
		ttl := map[string]time.Duration{}
		for _, kind := range cache.NetworkKinds {
			ttl[kind] = cc.TTL(kind)
		}
		cl.Net = cache.NewNet(pc.Name, p, cl.Limiter, cache.Options{TTL: ttl, Poll: min})
		if cl.Net != nil && cl.Compute != nil {
			cl.Compute.OnServerWrite(cl.Net.ServersChanged)
		}
		cl.netPollers(cfg)
	}
	if o, ok := p.(providers.Objects); ok {
		cl.Objects = cache.NewObjects(pc.Name, o, cl.Limiter, nil)
	}
	if t, ok := p.(providers.ImageTransfer); ok {
		cl.Transfer = cache.NewImageTransfer(t, cl.Limiter)
	}
	if c, ok := p.(providers.Containers); ok {
		cl.Containers = cache.NewContainers(pc.Name, c, p, cl.Limiter, min)
		if cl.Compute == nil {
			// A container cloud also answers as servers (emulate.ContainerServers).
			images, _ := p.(providers.ContainerImages)
			region := ""
			if len(pc.Regions) > 0 {
				region = pc.Regions[0]
			}
			cl.computeStack(cfg, cc, emulate.NewContainerServers(cl.Containers, images, containerFlavors(cc, region), region, emulate.StopGrace), m)
		}
	}
	ictx, cancel := context.WithTimeout(ctx, 15*time.Second)
	info, err := p.Info(ictx)
	cancel()
	cl.setHealth(err)
	if err != nil {
		log.Warn("cloud unreachable at start", "cloud", pc.Name, "kind", cc.Kind, "err", err)
	} else {
		cl.Regions = union(cl.Regions, info.Regions)
		cl.Zones = union(cl.Zones, info.Zones)
	}
	return cl, nil
}

// computeStack builds the cached compute driver over c and its batched
// pollers.
func (cl *Cloud) computeStack(cfg *config.Config, cc config.Cloud, c providers.Compute, m *cache.Metrics) {
	min, max := cfg.Wait.MinInterval.Std(), cfg.Wait.MaxInterval.Std()
	ttl := map[string]time.Duration{}
	for kind := range config.CacheKinds {
		ttl[kind] = cc.TTL(kind)
	}
	cached := cache.NewCompute(cl.Name, c, cl.Limiter, m, cache.Options{TTL: ttl, Poll: min})
	cl.Compute = cached
	cl.Servers = cache.NewPoller(cached.ListServersFresh,
		func(s providers.Server) string { return s.NativeID },
		func(s providers.Server) bool { return s.Status.Transitional() }, min, max)
	cl.Images = cache.NewPoller(cached.ListImagesFresh,
		func(im providers.Image) string { return im.NativeID },
		func(im providers.Image) bool { return im.Status.Transitional() }, min, max)
}

// netPollers builds the batched pollers of the networking kinds the cloud
// has, over the cached driver's fresh lists.
func (cl *Cloud) netPollers(cfg *config.Config) {
	n := cl.Net
	if n == nil {
		return
	}
	min, max := cfg.Wait.MinInterval.Std(), cfg.Wait.MaxInterval.Std()
	if n.Has(providers.CapNetworks) {
		cl.Networks = cache.NewPoller(n.ListNetworksFresh,
			func(x providers.Network) string { return x.NativeID }, func(x providers.Network) bool { return x.Status.Transitional() }, min, max)
		cl.Ports = cache.NewPoller(n.ListPortsFresh,
			func(x providers.Port) string { return x.NativeID }, func(x providers.Port) bool { return x.Status.Transitional() }, min, max)
	}
	if n.Has(providers.CapSecurityGroups) {
		cl.SecurityGroups = cache.NewPoller(n.ListSecurityGroupsFresh,
			func(x providers.SecurityGroup) string { return x.NativeID }, func(x providers.SecurityGroup) bool { return x.Status.Transitional() }, min, max)
	}
	if n.Has(providers.CapFloatingIPs) {
		cl.FloatingIPs = cache.NewPoller(n.ListFloatingIPsFresh,
			func(x providers.FloatingIP) string { return x.NativeID }, func(x providers.FloatingIP) bool { return x.Status.Transitional() }, min, max)
	}
}

// containerFlavors are a container cloud's configured sizes as flavors.
func containerFlavors(cc config.Cloud, region string) []providers.Flavor {
	conf := cc.Flavors
	if len(conf) == 0 {
		conf = config.DefaultContainerFlavors
	}
	out := make([]providers.Flavor, len(conf))
	for i, f := range conf {
		out[i] = providers.Flavor{Common: providers.Common{NativeID: f.Name, Name: f.Name, Region: region, Status: providers.StatusActive, ProviderStatus: "configured"},
			VCPUs: f.VCPUs, RAMMiB: f.RAMMiB}
	}
	return out
}

// emulation builds a cloud's emulation layer over its block storage and
// the batched pollers that list through it.
func (r *Router) emulation(cl *Cloud) error {
	bucket, err := r.backupBucketOf(cl.Name)
	if err != nil {
		return err
	}
	cl.Emulation = emulate.New(cl.Name, cl.Provider, cl.StorageCache, emulate.Options{Records: r.store, Bucket: bucket, ObjectsOf: r.objectsByName})
	if cl.StorageCache == nil {
		return nil
	}
	cl.Storage = cl.Emulation.Storage()
	e, min, max := cl.Emulation, r.cfg.Wait.MinInterval.Std(), r.cfg.Wait.MaxInterval.Std()
	cl.Volumes = cache.NewPoller(func(ctx context.Context) ([]providers.Volume, error) { return e.ListVolumes(ctx, true) },
		func(x providers.Volume) string { return x.NativeID }, func(x providers.Volume) bool { return x.Status.Transitional() }, min, max)
	cl.Snapshots = cache.NewPoller(func(ctx context.Context) ([]providers.Snapshot, error) { return e.ListSnapshots(ctx, true) },
		func(x providers.Snapshot) string { return x.NativeID }, func(x providers.Snapshot) bool { return x.Status.Transitional() }, min, max)
	cl.Backups = cache.NewPoller(func(ctx context.Context) ([]providers.Backup, error) { return e.ListBackups(ctx, true) },
		func(x providers.Backup) string { return x.NativeID }, func(x providers.Backup) bool { return x.Status.Transitional() }, min, max)
	return nil
}

// objectsByName is a configured cloud's object store, or nil.
func (r *Router) objectsByName(name string) *cache.Objects {
	if cl, ok := r.byName[name]; ok {
		return cl.Objects
	}
	return nil
}

// backupBucketOf resolves a cloud's backup_bucket: its cloud must be
// configured and have an object store (the bucket itself is checked when a
// copy is made, so canopyd starts while a cloud is down).
func (r *Router) backupBucketOf(cloud string) (*emulate.Bucket, error) {
	bb := r.CloudConfig(cloud).BackupBucket
	if bb == "" {
		return nil, nil
	}
	bc, name, _ := strings.Cut(bb, "/")
	cl, ok := r.byName[bc]
	if !ok {
		return nil, fmt.Errorf("cloud %q: backup_bucket %q: no cloud %q", cloud, bb, bc)
	}
	if cl.Objects == nil {
		return nil, fmt.Errorf("cloud %q: backup_bucket %q: cloud %q has no object store", cloud, bb, bc)
	}
	return emulate.NewBucket(bc, name, cl.Objects), nil
}

// Close closes the cloud adapters.
func (r *Router) Close() {
	r.feeds.stop()
	r.dups.close()
	for _, cl := range r.list {
		if cl.Containers != nil {
			cl.Containers.Hub.Close()
		}
		_ = cl.Provider.Close()
	}
}

// Clouds is every cloud, sorted by name. The slice is shared: read only.
func (r *Router) Clouds() []*Cloud { return r.list }

// Cloud is the cloud of that name.
func (r *Router) Cloud(name string) (*Cloud, bool) {
	cl, ok := r.byName[name]
	return cl, ok
}

// Names lists the clouds' names, sorted.
func (r *Router) Names() []string {
	out := make([]string, len(r.list))
	for i, cl := range r.list {
		out[i] = cl.Name
	}
	return out
}

// Store is the id map the router resolves through.
func (r *Router) Store() store.Store { return r.store }

// CloudConfig is the configuration entry of a cloud: for a cloud an
// adapter split by region (<configured>-<region>), the entry it came from.
func (r *Router) CloudConfig(name string) config.Cloud {
	if cl, ok := r.byName[name]; ok {
		return cl.Conf
	}
	for _, cc := range r.cfg.Clouds {
		if cc.Name == name {
			return cc
		}
	}
	return config.Cloud{Name: name}
}

func (cl *Cloud) setHealth(err error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.healthy, cl.healthAt, cl.healthErr = err == nil, time.Now(), ""
	if err != nil {
		cl.healthErr = err.Error()
	}
}

// Health is the outcome of the last health check.
func (cl *Cloud) Health() (ok bool, msg string, at time.Time) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.healthy, cl.healthErr, cl.healthAt
}

// CheckHealth calls the cloud's Info and records the outcome; the call
// passes the cloud's breaker like any other (and may be its probe).
func (cl *Cloud) CheckHealth(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := cl.Limiter.Call(ctx, func(ctx context.Context) error {
		_, err := cl.Provider.Info(ctx)
		return err
	})
	cl.setHealth(err)
}

// Capabilities lists what the cloud offers, natively or through canopy's
// emulation (canopy.v1.Cloud.capabilities).
func (cl *Cloud) Capabilities() []string {
	caps := providers.Capabilities(cl.Provider)
	if cl.Emulation != nil {
		caps = union(caps, cl.Emulation.Capabilities())
		sort.Strings(caps)
	}
	return caps
}

// ComputeOrFail returns the cloud's compute driver or FAILED_PRECONDITION.
func (cl *Cloud) ComputeOrFail() (*cache.Compute, error) {
	if cl.Compute == nil {
		return nil, CapabilityErr(cl.Name, "compute")
	}
	return cl.Compute, nil
}

// NetOrFail returns the cloud's networking driver, or FAILED_PRECONDITION
// naming the cloud when it has none (or lacks the capability asked).
func (cl *Cloud) NetOrFail(capability string) (*cache.Net, error) {
	if cl.Net == nil || !cl.Net.Has(capability) {
		return nil, CapabilityErr(cl.Name, capability)
	}
	return cl.Net, nil
}

// ContainersOrFail returns the cloud's container driver or
// FAILED_PRECONDITION.
func (cl *Cloud) ContainersOrFail() (*cache.Containers, error) {
	if cl.Containers == nil {
		return nil, CapabilityErr(cl.Name, "containers")
	}
	return cl.Containers, nil
}

// ObjectsOrFail returns the cloud's object driver or FAILED_PRECONDITION.
func (cl *Cloud) ObjectsOrFail() (*cache.Objects, error) {
	if cl.Objects == nil {
		return nil, CapabilityErr(cl.Name, "objects")
	}
	return cl.Objects, nil
}

// TransferOrFail returns the cloud's image data driver or
// FAILED_PRECONDITION.
func (cl *Cloud) TransferOrFail() (*cache.ImageTransfer, error) {
	if cl.Transfer == nil {
		return nil, CapabilityErr(cl.Name, "image-transfer")
	}
	return cl.Transfer, nil
}

// StorageOrFail is FAILED_PRECONDITION unless the cloud has volumes, which
// canopy cannot emulate.
func (cl *Cloud) StorageOrFail() error {
	return EmulationErr(cl.Emulation.VolumesOrFail())
}

// Memo remembers the conversion of one source slice. The cache layer hands
// out the same slice while an entry is fresh, so its identity says whether
// the conversion still holds. Converted messages are shared and read-only.
type Memo[S, D any] struct {
	mu  sync.Mutex
	src *S
	n   int
	out []D
}

// Convert returns conv's result for src, from memory when src is the
// slice converted last.
func (m *Memo[S, D]) Convert(src []S, conv func() ([]D, error)) ([]D, error) {
	if len(src) == 0 {
		return conv()
	}
	m.mu.Lock()
	if m.src == &src[0] && m.n == len(src) {
		out := m.out
		m.mu.Unlock()
		return out, nil
	}
	m.mu.Unlock()
	out, err := conv()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.src, m.n, m.out = &src[0], len(src), out
	m.mu.Unlock()
	return out, nil
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range [][]string{a, b} {
		for _, s := range list {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// Contains reports whether list holds s.
func Contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (cl *Cloud) String() string { return fmt.Sprintf("%s(%s)", cl.Name, cl.Kind) }
