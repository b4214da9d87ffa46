package server

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"

	"github.com/canopy-cloud/canopy/router"
)

// cloud is one configured cloud and what canopy keeps about it.
type cloud struct {
	name    string
	kind    string
	conf    config.Cloud // the configured entry it comes from (one per region once split)
	project string       // owns what canopy adopts from this cloud
	p       providers.Provider
	compute providers.Compute // the cached, rate-limited driver; nil without compute
	lim     *cache.Limiter
	regions []string
	zones   []string
	servers *cache.Poller[providers.Server]
	// images waits for uploaded images the cloud still processes
	// (image_jobs.go); imageCache is forgotten when an upload adds one.
	images     *cache.Poller[providers.Image]
	imageCache *cache.Compute
	// serverMemo keeps the conversion of the last cached server list, so
	// reads answered from the cache do not rebuild the same messages.
	serverMemo memo[providers.Server, *canopyv1.Server]

	mu        sync.Mutex
	healthy   bool
	healthErr string
	healthAt  time.Time
}

// cloudSet is every cloud, by name and by zone. It is built once at start.
type cloudSet struct {
	list   []*cloud // by name
	byName map[string]*cloud
	byZone map[string]*cloud
	// ambiguous zones are offered by several clouds and mapped by none.
	ambiguous map[string][]string
}

// openClouds opens every configured cloud. A cloud whose adapter cannot be
// opened is a startup error; a cloud that is merely unreachable is kept and
// reported unhealthy, so one bad cloud never takes canopy down.
func openClouds(ctx context.Context, cfg *config.Config, log *slog.Logger, m *cache.Metrics) (*cloudSet, error) {
	cs := &cloudSet{byName: map[string]*cloud{}, byZone: map[string]*cloud{}}
	for _, cc := range cfg.Clouds {
		expanded, err := providers.Expand(cc.Kind, providers.Config{Name: cc.Name, Regions: cc.Regions, Zones: cc.Zones, Options: cc.Options, DataDir: cfg.DataDir})
		if err != nil {
			cs.close()
			return nil, err
		}
		for _, pc := range expanded {
			if _, dup := cs.byName[pc.Name]; dup {
				cs.close()
				return nil, fmt.Errorf("cloud %q is configured twice (after splitting %q by region)", pc.Name, cc.Name)
			}
			cl, err := openCloud(ctx, cfg, cc, pc, log, m)
			if err != nil {
				cs.close()
				return nil, err
			}
			cs.list = append(cs.list, cl)
			cs.byName[cl.name] = cl
		}
	}
	sort.Slice(cs.list, func(i, j int) bool { return cs.list[i].name < cs.list[j].name })
	ambiguous := map[string][]string{}
	for _, cl := range cs.list {
		for _, z := range cl.zones {
			if _, explicit := cfg.Zones[z]; explicit {
				continue
			}
			if other, taken := cs.byZone[z]; taken {
				ambiguous[z] = append(ambiguous[z], other.name, cl.name)
			}
			cs.byZone[z] = cl
		}
	}
	// A zone two clouds report routes nowhere rather than to whichever was
	// opened last; the zones: map in the config settles it.
	cs.ambiguous = ambiguous
	for z, clouds := range ambiguous {
		delete(cs.byZone, z)
		log.Warn("zone offered by several clouds: creates must name the cloud, or map the zone in the config's zones:", "zone", z, "clouds", clouds)
	}
	for z, name := range cfg.Zones {
		cl, ok := cs.byName[name]
		if !ok {
			cs.close()
			return nil, fmt.Errorf("zones[%q]: no cloud %q (clouds: %v)", z, name, cs.names())
		}
		cs.byZone[z] = cl
		cl.zones = union(cl.zones, []string{z})
	}
	return cs, nil
}

// openCloud opens one canopy cloud: its adapter, wrapped in the cache and
// rate limit its config asks for, and a first health check.
func openCloud(ctx context.Context, cfg *config.Config, cc config.Cloud, pc providers.Config, log *slog.Logger, m *cache.Metrics) (*cloud, error) {
	p, err := providers.Open(ctx, cc.Kind, pc)
	if err != nil {
		return nil, err
	}
	cl := &cloud{name: pc.Name, kind: cc.Kind, conf: cc, project: cc.Project, p: p, regions: pc.Regions, zones: pc.Zones}
	rps, burst := cc.RateLimit.Rate, cc.RateLimit.Burst
	if rps == 0 {
		rps, burst = 20, 40
	}
	cl.lim = cache.NewLimiter(pc.Name, rps, burst, m)
	if c, ok := p.(providers.Compute); ok {
		ttl := map[string]time.Duration{}
		for kind := range config.CacheKinds {
			ttl[kind] = cc.TTL(kind)
		}
		cached := cache.NewCompute(pc.Name, c, cl.lim, m, cache.Options{TTL: ttl, Poll: cfg.Wait.MinInterval.Std()})
		cl.compute = cached
		cl.servers = cache.NewPoller(cached.ListServersFresh,
			func(s providers.Server) string { return s.NativeID },
			func(s providers.Server) bool { return s.Status.Transitional() },
			cfg.Wait.MinInterval.Std(), cfg.Wait.MaxInterval.Std())
		cl.images = cache.NewPoller(cached.ListImagesFresh,
			func(im providers.Image) string { return im.NativeID },
			func(im providers.Image) bool { return im.Status.Transitional() },
			cfg.Wait.MinInterval.Std(), cfg.Wait.MaxInterval.Std())
		cl.imageCache = cached
	}
	ictx, cancel := context.WithTimeout(ctx, 15*time.Second)
	info, err := p.Info(ictx)
	cancel()
	cl.setHealth(err)
	if err != nil {
		log.Warn("cloud unreachable at start", "cloud", pc.Name, "kind", cc.Kind, "err", err)
	} else {
		cl.regions = union(cl.regions, info.Regions)
		cl.zones = union(cl.zones, info.Zones)
	}
	return cl, nil
}

func (cs *cloudSet) close() {
	for _, cl := range cs.list {
		_ = cl.p.Close()
	}
}

func (cs *cloudSet) names() []string {
	out := make([]string, len(cs.list))
	for i, cl := range cs.list {
		out[i] = cl.name
	}
	return out
}

func (cl *cloud) setHealth(err error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.healthy, cl.healthAt, cl.healthErr = err == nil, time.Now(), ""
	if err != nil {
		cl.healthErr = err.Error()
	}
}

func (cl *cloud) health() (ok bool, msg string, at time.Time) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.healthy, cl.healthErr, cl.healthAt
}

// checkHealth calls the cloud's Info and records the outcome.
func (cl *cloud) checkHealth(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := cl.lim.Wait(ctx)
	if err == nil {
		_, err = cl.p.Info(ctx)
	}
	cl.setHealth(err)
}

// computeOrFail returns the cloud's compute driver or FAILED_PRECONDITION.
func (cl *cloud) computeOrFail() (providers.Compute, error) {
	if cl.compute == nil {
		return nil, router.CapabilityErr(cl.name, "compute")
	}
	return cl.compute, nil
}

// memo remembers the conversion of one source slice. The cache layer hands
// out the same slice while an entry is fresh, so its identity says whether
// the conversion still holds. Converted messages are shared and read-only.
type memo[S, D any] struct {
	mu  sync.Mutex
	src *S
	n   int
	out []D
}

func (m *memo[S, D]) convert(src []S, conv func() ([]D, error)) ([]D, error) {
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

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (cl *cloud) String() string { return fmt.Sprintf("%s(%s)", cl.name, cl.kind) }
