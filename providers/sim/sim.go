// Package sim is an in-memory cloud: the embedded default and the fast test
// double. Like libcloud's Dummy driver and nova's fake driver it behaves like
// a cloud (asynchronous boots, state machines, faults, latency) without one.
// It never replaces the tests against real engines.
//
// The simulator is goroutine-safe and deterministic under a seed: native ids
// come from a seeded generator, and every transition is a pure function of
// the time an action started, evaluated when the resource is read.
// Containers are the exception (containers.go): their processes run a
// simulated busybox on goroutines, so what a container does follows from
// its command, its timing from the wall clock.
package sim

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

func init() {
	providers.Register("sim", func(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
		opts, err := ParseOptions(cfg.Options)
		if err != nil {
			return nil, err
		}
		if len(opts.Regions) == 0 {
			opts.Regions = cfg.Regions
		}
		if len(opts.Zones) == 0 {
			opts.Zones = cfg.Zones
		}
		if opts.Persist {
			if cfg.DataDir == "" {
				return nil, fmt.Errorf("sim: persist needs a data dir")
			}
			opts.StatePath = filepath.Join(cfg.DataDir, "sim-"+cfg.Name+".json")
		}
		return New(opts), nil
	})
}

// The capabilities the simulator implements, checked by the compiler (a
// changed signature fails the build instead of silently dropping one);
// capabilities_test.go asserts that this is the whole set. Limited lets
// Options switch the block-storage ones off at run time.
var (
	_ providers.Provider        = (*Cloud)(nil)
	_ providers.Compute         = (*Cloud)(nil)
	_ providers.Objects         = (*Cloud)(nil)
	_ providers.URLSigner       = (*Cloud)(nil)
	_ providers.SignedURLServer = (*Cloud)(nil)
	_ providers.ImageTransfer   = (*Cloud)(nil)
	_ providers.Volumes         = (*Cloud)(nil)
	_ providers.Snapshots       = (*Cloud)(nil)
	_ providers.SnapshotJobs    = (*Cloud)(nil)
	_ providers.Backups         = (*Cloud)(nil)
	_ providers.VolumeData      = (*Cloud)(nil)
	_ providers.Limited         = (*Cloud)(nil)

	_ providers.Networks       = (*Cloud)(nil) // networks*.go
	_ providers.Routers        = (*Cloud)(nil)
	_ providers.SecurityGroups = (*Cloud)(nil)
	_ providers.FloatingIPs    = (*Cloud)(nil)

	_ providers.Containers         = (*Cloud)(nil) // containers*.go
	_ providers.ContainerIO        = (*Cloud)(nil)
	_ providers.ContainerEvents    = (*Cloud)(nil)
	_ providers.ContainerCommitter = (*Cloud)(nil)
)

// Cloud is one simulated cloud.
type Cloud struct {
	opts Options

	mu       sync.Mutex
	seq      uint64 // ids issued so far; ids derive from (seed, seq)
	servers  map[string]*server
	keypairs map[string]providers.Keypair
	flavors  []providers.Flavor
	images   []providers.Image
	imports  map[string]time.Time // uploaded images still importing → when done (images.go)
	faults   []*fault
	down     bool
	holds    map[string]chan struct{} // HoldCalls: method → closed on release
	obj      *objectState             // buckets and objects (objects.go), created on first use
	vol      *volumeState             // volumes.go
	net      *netState                // networks*.go
	ctr      *containerState          // the container host (containers.go); its own lock

	calls  sync.Map // method → *atomic.Int64
	total  atomic.Int64
	closed atomic.Bool
}

// server is the simulator's record; its visible status is derived from the
// pending transition and the clock.
type server struct {
	s        providers.Server
	from     providers.Status // status before the transition
	to       providers.Status // status after it; StatusDeleted removes it
	until    time.Time        // when the transition completes
	rawUntil string           // provider status word while transitioning
	// ports are the server's ports (networks_servers.go), in order; nil
	// for a server from before the cloud had networks, whose addresses
	// are the ones recorded in s.
	ports []string
}

// New creates a simulated cloud.
func New(opts Options) *Cloud {
	opts.setDefaults()
	c := &Cloud{
		opts:     opts,
		servers:  map[string]*server{},
		keypairs: map[string]providers.Keypair{},
		down:     opts.Down,
		vol:      newVolumeState(),
		net:      newNetState(),
		ctr:      newContainerState(),
	}
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range opts.Flavors {
		f.Status, f.ProviderStatus, f.Region, f.Created = providers.StatusActive, "available", opts.Regions[0], epoch
		c.flavors = append(c.flavors, f)
	}
	for _, im := range opts.Images {
		im.Status, im.ProviderStatus, im.Region, im.Created = providers.StatusActive, "active", opts.Regions[0], epoch
		c.images = append(c.images, im)
	}
	if c.load() {
		return c
	}
	c.seedNetworks()
	for i := 0; i < opts.Servers; i++ {
		s := providers.Server{
			Common: providers.Common{
				NativeID: c.newID("srv"), Name: fmt.Sprintf("preexisting-%d", i),
				Region: opts.Regions[0], Zone: opts.Zones[i%len(opts.Zones)],
				Status: providers.StatusActive, ProviderStatus: "ACTIVE", Created: epoch, Updated: epoch,
			},
			FlavorID: c.flavors[0].NativeID, ImageID: c.images[0].NativeID,
		}
		rec := &server{s: s, to: providers.StatusActive}
		if plan, err := c.planServer(providers.ServerSpec{}); err == nil {
			if rec.ports, err = c.bindServer(&rec.s, plan); err == nil {
				rec.s.Addresses = c.serverAddresses(rec.ports)
			}
		}
		c.servers[s.NativeID] = rec
	}
	return c
}

// Calls returns how many times the cloud's API method was called; "" counts
// every call. Benchmarks and tests count upstream calls here.
func (c *Cloud) Calls(method string) int64 {
	if method == "" {
		return c.total.Load()
	}
	if v, ok := c.calls.Load(method); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// SetDown makes the cloud unreachable (every call fails with
// providers.ErrUnavailable) or reachable again.
func (c *Cloud) SetDown(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
}

// call is the prologue of every API method: count, delay, fail.
func (c *Cloud) call(ctx context.Context, method string) error {
	c.total.Add(1)
	v, _ := c.calls.LoadOrStore(method, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if c.closed.Load() {
		return fmt.Errorf("sim: %s: %w: cloud closed", method, providers.ErrUnavailable)
	}
	if d := c.opts.Latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if err := c.held(ctx, method); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return fmt.Errorf("sim: %s: %w: cloud is down", method, providers.ErrUnavailable)
	}
	return c.takeFault(method)
}

// newID issues the next native id. It is a pure function of the seed and a
// counter, so ids are reproducible under a seed and never repeat across a
// restart of a persisted cloud. Callers hold c.mu (or own c).
func (c *Cloud) newID(prefix string) string {
	c.seq++
	return fmt.Sprintf("%s-%016x", prefix, mix(uint64(c.opts.Seed)^c.seq*0x9e3779b97f4a7c15))
}

// mix is splitmix64's finalizer: a cheap bijection that scatters counters.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// Info implements providers.Provider.
func (c *Cloud) Info(ctx context.Context) (providers.Info, error) {
	if err := c.call(ctx, "Info"); err != nil {
		return providers.Info{}, err
	}
	return providers.Info{Regions: append([]string(nil), c.opts.Regions...), Zones: append([]string(nil), c.opts.Zones...)}, nil
}

// Close implements providers.Provider.
func (c *Cloud) Close() error {
	c.closed.Store(true)
	c.ctr.shutdown()
	return nil
}

// ListFlavors implements providers.Compute.
func (c *Cloud) ListFlavors(ctx context.Context) ([]providers.Flavor, error) {
	if err := c.call(ctx, "ListFlavors"); err != nil {
		return nil, err
	}
	return append([]providers.Flavor(nil), c.flavors...), nil
}

// ListImages implements providers.Compute.
func (c *Cloud) ListImages(ctx context.Context) ([]providers.Image, error) {
	if err := c.call(ctx, "ListImages"); err != nil {
		return nil, err
	}
	c.mu.Lock() // uploads add images
	defer c.mu.Unlock()
	c.settleImports(time.Now())
	return append([]providers.Image(nil), c.images...), nil
}

// GetImage implements providers.Compute.
func (c *Cloud) GetImage(ctx context.Context, id string) (providers.Image, error) {
	if err := c.call(ctx, "GetImage"); err != nil {
		return providers.Image{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settleImports(time.Now())
	for _, im := range c.images {
		if im.NativeID == id {
			return im, nil
		}
	}
	return providers.Image{}, fmt.Errorf("sim: image %q: %w", id, providers.ErrNotFound)
}

// view returns the server as a client would see it now, or false when it
// has finished deleting (and removes it).
func (c *Cloud) view(id string, now time.Time) (providers.Server, bool) {
	rec := c.servers[id]
	if rec == nil {
		return providers.Server{}, false
	}
	s := rec.s
	if now.Before(rec.until) {
		s.Status, s.ProviderStatus = providers.StatusPending, rec.rawUntil
		switch rec.to {
		case providers.StatusDeleted:
			s.Status = providers.StatusDeleting
		case providers.StatusActive:
			if rec.from != providers.StatusUnspecified {
				s.Status = providers.StatusUpdating
			}
		case providers.StatusStopped:
			s.Status = providers.StatusUpdating
		}
		if rec.ports != nil {
			s.Addresses = c.serverAddresses(rec.ports)
		}
		return s, true
	}
	if rec.to == providers.StatusDeleted {
		delete(c.servers, id)
		c.unbindServer(id, rec.ports)
		return providers.Server{}, false
	}
	if s.Status != rec.to {
		s.Status = rec.to
		s.ProviderStatus = rawStatus(rec.to)
		s.Updated = rec.until
		rec.s = s
	}
	if rec.ports != nil {
		s.Addresses = c.serverAddresses(rec.ports)
	}
	return s, true
}

func rawStatus(s providers.Status) string {
	switch s {
	case providers.StatusActive:
		return "ACTIVE"
	case providers.StatusStopped:
		return "SHUTOFF"
	case providers.StatusError:
		return "ERROR"
	}
	return s.String()
}

// ListServers implements providers.Compute.
func (c *Cloud) ListServers(ctx context.Context) ([]providers.Server, error) {
	if err := c.call(ctx, "ListServers"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	out := make([]providers.Server, 0, len(c.servers))
	for id := range c.servers {
		if s, ok := c.view(id, now); ok {
			out = append(out, cloneServer(s))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

// GetServer implements providers.Compute.
func (c *Cloud) GetServer(ctx context.Context, id string) (providers.Server, error) {
	if err := c.call(ctx, "GetServer"); err != nil {
		return providers.Server{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.view(id, time.Now())
	if !ok {
		return providers.Server{}, fmt.Errorf("sim: server %q: %w", id, providers.ErrNotFound)
	}
	return cloneServer(s), nil
}

func cloneServer(s providers.Server) providers.Server {
	s.Labels = cloneMap(s.Labels)
	s.Properties = cloneMap(s.Properties)
	s.Addresses = append([]providers.Address(nil), s.Addresses...)
	return s
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CreateServer implements providers.Compute.
func (c *Cloud) CreateServer(ctx context.Context, spec providers.ServerSpec) (providers.Server, error) {
	if err := c.call(ctx, "CreateServer"); err != nil {
		return providers.Server{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if spec.Name == "" {
		return providers.Server{}, fmt.Errorf("sim: create server: %w: name is empty", providers.ErrInvalid)
	}
	if !c.hasFlavor(spec.FlavorID) {
		return providers.Server{}, fmt.Errorf("sim: create server: %w: flavor %q does not exist", providers.ErrInvalid, spec.FlavorID)
	}
	if err := c.prepareBoot(&spec); err != nil { // volumes.go
		return providers.Server{}, err
	}
	if !c.hasImage(spec.ImageID) {
		return providers.Server{}, fmt.Errorf("sim: create server: %w: image %q does not exist", providers.ErrInvalid, spec.ImageID)
	}
	zone := spec.Zone
	if zone == "" {
		zone = c.opts.Zones[0]
	} else if !contains(c.opts.Zones, zone) {
		return providers.Server{}, fmt.Errorf("sim: create server: %w: zone %q does not exist", providers.ErrInvalid, zone)
	}
	if spec.Keypair != "" {
		if _, ok := c.keypairs[spec.Keypair]; !ok {
			return providers.Server{}, fmt.Errorf("sim: create server: %w: keypair %q does not exist", providers.ErrInvalid, spec.Keypair)
		}
	}
	// An idempotency token seen before returns the same server (EC2
	// ClientToken semantics), so retries never duplicate.
	if spec.IdempotencyToken != "" {
		for id, rec := range c.servers {
			if rec.s.Properties["client_token"] == spec.IdempotencyToken {
				s, _ := c.view(id, time.Now())
				return cloneServer(s), nil
			}
		}
	}
	plan, err := c.planServer(spec) // networks_servers.go
	if err != nil {
		return providers.Server{}, fmt.Errorf("sim: create server: %w", err)
	}
	now := time.Now()
	id := c.newID("srv")
	props := map[string]string{}
	if spec.IdempotencyToken != "" {
		props["client_token"] = spec.IdempotencyToken
	}
	s := providers.Server{
		Common: providers.Common{
			NativeID: id, Name: spec.Name, Region: c.opts.Regions[0], Zone: zone,
			Status: providers.StatusPending, ProviderStatus: "BUILD", Created: now, Updated: now,
			Labels: cloneMap(spec.Labels), Properties: props,
		},
		FlavorID: spec.FlavorID, ImageID: spec.ImageID, Keypair: spec.Keypair,
	}
	ports, err := c.bindServer(&s, plan) // networks_servers.go
	if err != nil {
		return providers.Server{}, fmt.Errorf("sim: create server: %w", err)
	}
	s.Addresses = c.serverAddresses(ports)
	to := providers.StatusActive
	if c.opts.FailBoots {
		to = providers.StatusError
		s.StatusMessage = "sim: no valid host was found"
	}
	c.finishBoot(spec, &s, now) // volumes.go
	c.servers[id] = &server{s: s, to: to, until: now.Add(c.opts.BootDelay), rawUntil: "BUILD", ports: ports}
	c.save()
	v, _ := c.view(id, now)
	return cloneServer(v), nil
}

// DeleteServer implements providers.Compute.
func (c *Cloud) DeleteServer(ctx context.Context, id string) error {
	if err := c.call(ctx, "DeleteServer"); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	s, ok := c.view(id, now)
	if !ok {
		return fmt.Errorf("sim: delete server %q: %w", id, providers.ErrNotFound)
	}
	rec := c.servers[id]
	if rec.to == providers.StatusDeleted {
		return nil // already deleting: deletes are idempotent while in flight
	}
	rec.s, rec.from, rec.to, rec.until, rec.rawUntil = s, s.Status, providers.StatusDeleted, now.Add(c.opts.DeleteDelay), "DELETING"
	if c.opts.DeleteDelay <= 0 {
		delete(c.servers, id)
		c.unbindServer(id, rec.ports)
	}
	c.save()
	return nil
}

// FinishTransition ends a server's transition in flight (a boot, an
// action, a delete) now, as if its delay had passed; false when none is in
// flight. Tests that must see every state run with long delays and end
// each one once they have seen it, rather than racing the wall clock.
func (c *Cloud) FinishTransition(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := c.servers[id]
	now := time.Now()
	if rec == nil || !now.Before(rec.until) {
		return false
	}
	rec.until = now
	return true
}

// ServerAction implements providers.Compute.
func (c *Cloud) ServerAction(ctx context.Context, id string, action providers.Action) error {
	if err := c.call(ctx, "ServerAction"); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	s, ok := c.view(id, now)
	if !ok {
		return fmt.Errorf("sim: %s server %q: %w", action, id, providers.ErrNotFound)
	}
	var want providers.Status
	var raw string
	to := providers.StatusActive
	switch action {
	case providers.ActionStart:
		want, raw = providers.StatusStopped, "POWERING_ON"
	case providers.ActionStop:
		want, raw, to = providers.StatusActive, "POWERING_OFF", providers.StatusStopped
	case providers.ActionReboot, providers.ActionHardReboot:
		want, raw = providers.StatusActive, "REBOOT"
		if action == providers.ActionHardReboot {
			raw = "HARD_REBOOT"
		}
	default:
		return fmt.Errorf("sim: server action %q: %w", action, providers.ErrInvalid)
	}
	if s.Status != want {
		return fmt.Errorf("sim: cannot %s server %q in state %s: %w", action, id, s.ProviderStatus, providers.ErrConflict)
	}
	rec := c.servers[id]
	rec.s, rec.from, rec.to, rec.until, rec.rawUntil = s, s.Status, to, now.Add(c.opts.ActionDelay), raw
	c.save()
	return nil
}

func (c *Cloud) hasFlavor(id string) bool {
	for _, f := range c.flavors {
		if f.NativeID == id {
			return true
		}
	}
	return false
}

func (c *Cloud) hasImage(id string) bool {
	for _, im := range c.images {
		if im.NativeID == id {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
