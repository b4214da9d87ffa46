// Package openstack is canopy's adapter for OpenStack clouds, built on
// gophercloud v2: Nova for servers, flavors and keypairs, Glance for
// images and their bytes (glance.go), Neutron for networks, subnets,
// ports, routers, security groups and floating IPs (neutron.go and the
// files it names) and to resolve network names, Cinder for volumes and
// snapshots (volumes.go, snapshots.go), Swift for buckets, objects and
// TempURLs (swift.go).
//
// Configuration follows openstacksdk: a cloud is an entry of clouds.yaml
// (found on the standard search path or given explicitly), secure.yaml is
// merged over it, Keystone v3 password, token and application-credential
// auth work, and the region, interface and endpoints can be overridden.
// One adapter serves one (cloud, region).
//
// Opening an adapter only reads configuration; the cloud is first reached
// on first use, so an unreachable cloud never stops canopy from starting.
package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/utils"

	"github.com/canopy-cloud/canopy/providers"
)

// Kind is the adapter kind canopy's config names.
const Kind = "openstack"

// DefaultMicroversion is the Nova microversion the adapter is written
// against; a server that supports less is used at its maximum.
const DefaultMicroversion = "2.79"

func init() {
	providers.Register(Kind, func(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
		return Open(ctx, cfg)
	})
}

// The capabilities the adapter implements, checked by the compiler (a
// changed signature fails the build instead of silently dropping one);
// capabilities_test.go asserts that this is the whole set. Backups,
// VolumeData and Limited are declared beside their code (backups.go,
// volumedata.go). Not implemented: SnapshotJobs (Cinder answers a snapshot
// with the snapshot).
var (
	_ providers.Provider       = (*Cloud)(nil)
	_ providers.Compute        = (*Cloud)(nil)
	_ providers.Objects        = (*Cloud)(nil)
	_ providers.URLSigner      = (*Cloud)(nil)
	_ providers.ImageTransfer  = (*Cloud)(nil)
	_ providers.Volumes        = (*Cloud)(nil)
	_ providers.Snapshots      = (*Cloud)(nil)
	_ providers.Networks       = (*Cloud)(nil)
	_ providers.Routers        = (*Cloud)(nil)
	_ providers.SecurityGroups = (*Cloud)(nil)
	_ providers.FloatingIPs    = (*Cloud)(nil)
)

// Cloud is one OpenStack (cloud, region).
type Cloud struct {
	name string // canopy cloud name
	opts Options
	cc   *cloudConfig

	mu       sync.Mutex
	cl       *clients // nil until connected
	lastErr  error
	lastFail time.Time

	flavorMu     sync.Mutex
	flavorByName map[string]string // flavor name → id, for servers at ≥ 2.47
	flavorsAt    time.Time

	// replays makes creates safe to repeat (see providers.ReplayGuard).
	replays *providers.ReplayGuard

	sweepMu sync.Mutex
	swept   map[string]time.Time // orphaned upload → when its delete was sent (glance.go)
}

// clients are the authenticated service clients of one (cloud, region).
type clients struct {
	provider *gophercloud.ProviderClient
	compute  *gophercloud.ServiceClient
	image    *gophercloud.ServiceClient
	network  *gophercloud.ServiceClient // nil when the cloud has no Neutron
	region   string
	regions  []string // regions the catalog offers compute in
	micro    string   // negotiated Nova microversion ("" = 2.1 baseline)
}

// Open creates an adapter from canopy's cloud config. It reads clouds.yaml
// but does not reach the cloud.
func Open(ctx context.Context, cfg providers.Config) (*Cloud, error) {
	o, err := ParseOptions(cfg.Options)
	if err != nil {
		return nil, err
	}
	if o.Region == "" && len(cfg.Regions) > 1 {
		return nil, fmt.Errorf("openstack: cloud %q: one adapter serves one region, and the config lists %v: declare one canopy cloud per region (or set the region option)", cfg.Name, cfg.Regions)
	}
	cc, err := loadCloudConfig(o, cfg)
	if err != nil {
		return nil, err
	}
	if o.PageSize == 0 {
		o.PageSize = 200
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.ComputeMicroversion == "" {
		o.ComputeMicroversion = DefaultMicroversion
	}
	if _, _, err := utils.ParseMicroversion(o.ComputeMicroversion); err != nil {
		return nil, fmt.Errorf("openstack: option compute_microversion: %w", err)
	}
	if _, set := cfg.Options["create_window"]; !set {
		o.CreateWindow = DefaultCreateWindow
	}
	if _, set := cfg.Options["orphan_upload_after"]; !set {
		o.OrphanUploadAfter = DefaultOrphanUploadAfter
	}
	return &Cloud{name: cfg.Name, opts: o, cc: cc, replays: providers.NewReplayGuard(o.CreateWindow), swept: map[string]time.Time{}}, nil
}

// Region returns the region the adapter serves ("" until known).
func (c *Cloud) Region() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cl != nil {
		return c.cl.region
	}
	return c.cc.Region
}

// clients authenticates on first use and caches the result. A failure is
// remembered for a second so a storm of calls to a down cloud costs one
// attempt.
func (c *Cloud) clients(ctx context.Context) (*clients, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cl != nil {
		return c.cl, nil
	}
	if c.lastErr != nil && time.Since(c.lastFail) < time.Second {
		return nil, c.lastErr
	}
	cl, err := c.connect(ctx)
	if err != nil {
		c.lastErr, c.lastFail = err, time.Now()
		return nil, err
	}
	c.cl, c.lastErr = cl, nil
	return cl, nil
}

func (c *Cloud) connect(ctx context.Context) (*clients, error) {
	cc := c.cc
	pc, err := openstack.NewClient(cc.Auth.IdentityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("openstack: cloud %s: auth_url %q: %w", cc.Cloud, cc.Auth.IdentityEndpoint, providers.ErrInvalid)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cc.TLS != nil {
		transport.TLSClientConfig = cc.TLS
	}
	pc.HTTPClient = http.Client{Transport: transport, Timeout: c.opts.Timeout}
	pc.UserAgent.Prepend("canopy")
	if err := openstack.Authenticate(ctx, pc, cc.Auth); err != nil {
		return nil, fmt.Errorf("openstack: authenticate to cloud %s at %s: %w", cc.Cloud, cc.Auth.IdentityEndpoint, mapErr(err))
	}

	cl := &clients{provider: pc, region: cc.Region}
	cl.regions = catalogRegions(pc, "compute", cc.Interface)
	if cl.region == "" && len(cl.regions) > 0 {
		cl.region = cl.regions[0]
	}
	if cc.Region != "" && len(cl.regions) > 0 && !containsStr(cl.regions, cc.Region) {
		return nil, fmt.Errorf("openstack: cloud %s: %w: region %q has no compute endpoint (the catalog has %v)", cc.Cloud, providers.ErrUnavailable, cc.Region, cl.regions)
	}
	eo := gophercloud.EndpointOpts{Region: cl.region, Availability: availability(cc.Interface)}

	if cl.compute, err = c.serviceClient(pc, eo, "compute"); err != nil {
		return nil, err
	}
	if cl.image, err = c.serviceClient(pc, eo, "image"); err != nil {
		return nil, err
	}
	if cl.network, err = c.serviceClient(pc, eo, "network"); err != nil {
		cl.network = nil // networks are then given by id only
	}

	// Microversion: the highest we want, bounded by the server's maximum.
	mv, err := utils.GetSupportedMicroversions(ctx, cl.compute)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue gophercloud.ErrUnexpectedResponseCode
		var urlErr *url.Error
		if errors.As(err, &ue) || errors.As(err, &urlErr) {
			return nil, fmt.Errorf("openstack: cloud %s: compute version document: %w", cc.Cloud, mapErr(err))
		}
		// An endpoint without microversions (legacy v2): baseline API.
		mv = utils.SupportedMicroversions{}
	}
	cl.micro = negotiate(c.opts.ComputeMicroversion, mv)
	cl.compute.Microversion = cl.micro
	return cl, nil
}

// serviceClient builds the client of one service type, applying an
// endpoint override when configured.
func (c *Cloud) serviceClient(pc *gophercloud.ProviderClient, eo gophercloud.EndpointOpts, svc string) (*gophercloud.ServiceClient, error) {
	override := c.cc.Overrides[svc]
	var sc *gophercloud.ServiceClient
	var err error
	if override == "" {
		switch svc {
		case "compute":
			sc, err = openstack.NewComputeV2(pc, eo)
		case "image":
			sc, err = openstack.NewImageV2(pc, eo)
		case "network":
			sc, err = openstack.NewNetworkV2(pc, eo)
		}
		if err != nil {
			return nil, fmt.Errorf("openstack: cloud %s: no %s endpoint in region %q (%s interface): %w", c.cc.Cloud, svc, eo.Region, c.cc.Interface, mapErr(err))
		}
		return sc, nil
	}
	base := strings.TrimRight(override, "/") + "/"
	sc = &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: base, ResourceBase: base, Type: svc}
	switch svc {
	case "image":
		if !strings.HasSuffix(base, "/v2/") {
			sc.ResourceBase = base + "v2/"
		}
	case "network":
		if !strings.HasSuffix(base, "/v2.0/") {
			sc.ResourceBase = base + "v2.0/"
		}
	}
	return sc, nil
}

// negotiate picks want, bounded by the server's supported range; "" means
// the server has no microversions (or cannot reach 2.1).
func negotiate(want string, mv utils.SupportedMicroversions) string {
	if mv.MaxMajor == 0 && mv.MaxMinor == 0 {
		return ""
	}
	wMaj, wMin, err := utils.ParseMicroversion(want)
	if err != nil {
		return ""
	}
	maj, min := wMaj, wMin
	if maj > mv.MaxMajor || (maj == mv.MaxMajor && min > mv.MaxMinor) {
		maj, min = mv.MaxMajor, mv.MaxMinor
	}
	if maj < mv.MinMajor || (maj == mv.MinMajor && min < mv.MinMinor) {
		return ""
	}
	return fmt.Sprintf("%d.%d", maj, min)
}

// atLeast reports whether the negotiated microversion is ≥ v.
func (cl *clients) atLeast(v string) bool {
	if cl.micro == "" {
		return false
	}
	hMaj, hMin, err1 := utils.ParseMicroversion(cl.micro)
	wMaj, wMin, err2 := utils.ParseMicroversion(v)
	if err1 != nil || err2 != nil {
		return false
	}
	return hMaj > wMaj || (hMaj == wMaj && hMin >= wMin)
}

func availability(iface string) gophercloud.Availability {
	switch iface {
	case "internal":
		return gophercloud.AvailabilityInternal
	case "admin":
		return gophercloud.AvailabilityAdmin
	}
	return gophercloud.AvailabilityPublic
}

// catalogRegions lists the regions offering a service type on an interface,
// from the token's catalog.
func catalogRegions(pc *gophercloud.ProviderClient, svc, iface string) []string {
	type catalogResult interface {
		ExtractServiceCatalog() (*tokens.ServiceCatalog, error)
	}
	res, ok := pc.GetAuthResult().(catalogResult)
	if !ok {
		return nil
	}
	cat, err := res.ExtractServiceCatalog()
	if err != nil || cat == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range cat.Entries {
		if e.Type != svc {
			continue
		}
		for _, ep := range e.Endpoints {
			r := firstNonEmpty(ep.RegionID, ep.Region)
			if ep.Interface == iface && r != "" && !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Info implements providers.Provider: the adapter's region and Nova's
// available zones. It reaches Keystone and Nova, so it is a health check.
func (c *Cloud) Info(ctx context.Context) (providers.Info, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return providers.Info{}, err
	}
	pages, err := availabilityzones.List(cl.compute).AllPages(ctx)
	if err != nil {
		return providers.Info{}, fmt.Errorf("openstack: list availability zones in %s: %w", cl.region, mapErr(err))
	}
	azs, err := availabilityzones.ExtractAvailabilityZones(pages)
	if err != nil {
		return providers.Info{}, fmt.Errorf("openstack: list availability zones in %s: %w", cl.region, mapErr(err))
	}
	info := providers.Info{}
	if cl.region != "" {
		info.Regions = []string{cl.region}
	} else {
		info.Regions = []string{c.cc.Cloud}
	}
	for _, az := range azs {
		if az.ZoneState.Available && az.ZoneName != "" && az.ZoneName != "internal" {
			info.Zones = append(info.Zones, az.ZoneName)
		}
	}
	sort.Strings(info.Zones)
	return info, nil
}

// Microversion returns the negotiated Nova microversion (after first use).
func (c *Cloud) Microversion(ctx context.Context) (string, error) {
	cl, err := c.clients(ctx)
	if err != nil {
		return "", err
	}
	return cl.micro, nil
}

// Close implements providers.Provider.
func (c *Cloud) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cl != nil {
		c.cl.provider.HTTPClient.CloseIdleConnections()
	}
	return nil
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
