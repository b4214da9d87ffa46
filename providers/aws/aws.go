// Package aws is canopy's adapter for Amazon Web Services, written with
// aws-sdk-go-v2: EC2 for servers, images (AMIs) and keypairs; EBS for
// volumes and snapshots (ebs.go); the VPC API for networks, subnets, ports,
// routers, security groups and floating IPs (net.go); S3 for buckets,
// objects and presigned URLs (s3.go). A server's networks name VPCs,
// subnets and security groups by id, its ports network interfaces
// (servers.go), else EC2's defaults apply.
//
// One canopy cloud is one AWS account seen through one or more regions: the
// adapter keeps a client per region, fans lists out to every region, and
// finds a resource's region by its id. Zones such as us-east-1a map to
// themselves, so a create in zone us-east-1a goes to region us-east-1.
// Native ids are EC2's own (i-…, ami-…); keypairs are keyed by name and are
// imported into every region, so a key works wherever a server lands.
//
// Where EC2 differs from the other clouds the adapter shields it:
// terminated instances vanish from lists and lookups (as deleted servers do
// on OpenStack), actions on a server in the wrong state are a conflict even
// where EC2 would quietly accept them (stopping a stopped instance), a
// delete of a missing keypair is not found, and an instance just created is
// visible at once even while EC2's describe calls have not caught up.
//
// Credentials and regions come from the standard AWS chain (environment,
// shared config and credentials files, profiles) unless the cloud's options
// set them; `endpoint` points every region at an emulator such as moto.
package aws

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/canopy-cloud/canopy/providers"
)

func init() {
	providers.Register("aws", Open)
}

// The capabilities the adapter implements, checked by the compiler (a
// changed signature fails the build instead of silently dropping one);
// capabilities_test.go asserts that this is the whole set (with the
// networking interfaces, asserted in net.go). Limited: EBS has
// no volume-from-image (canopy emulates it with a volume made when a server
// boots from it). VolumeDataCreator: a volume's bytes move through the
// EBS direct API (ebsdirect.go), read from a snapshot of it, written into
// a new volume only (EBS cannot write into an existing one), over which
// canopy emulates backups. Not implemented: Backups, VolumeData,
// SnapshotJobs, ImageTransfer.
var (
	_ providers.Provider          = (*Cloud)(nil)
	_ providers.VolumeDataCreator = (*Cloud)(nil)
	_ providers.Compute           = (*Cloud)(nil)
	_ providers.Objects           = (*Cloud)(nil)
	_ providers.URLSigner         = (*Cloud)(nil)
	_ providers.Volumes           = (*Cloud)(nil)
	_ providers.Snapshots         = (*Cloud)(nil)
	_ providers.Limited           = (*Cloud)(nil)
)

// ec2API is the part of the EC2 client the adapter uses (a fake can stand
// in for it in unit tests).
type ec2API interface {
	ec2.DescribeInstancesAPIClient
	ec2.DescribeImagesAPIClient
	ec2.DescribeInstanceTypesAPIClient
	DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error)
	RunInstances(context.Context, *ec2.RunInstancesInput, ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error)
	StartInstances(context.Context, *ec2.StartInstancesInput, ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error)
	StopInstances(context.Context, *ec2.StopInstancesInput, ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
	RebootInstances(context.Context, *ec2.RebootInstancesInput, ...func(*ec2.Options)) (*ec2.RebootInstancesOutput, error)
	TerminateInstances(context.Context, *ec2.TerminateInstancesInput, ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	ImportKeyPair(context.Context, *ec2.ImportKeyPairInput, ...func(*ec2.Options)) (*ec2.ImportKeyPairOutput, error)
	DescribeKeyPairs(context.Context, *ec2.DescribeKeyPairsInput, ...func(*ec2.Options)) (*ec2.DescribeKeyPairsOutput, error)
	DeleteKeyPair(context.Context, *ec2.DeleteKeyPairInput, ...func(*ec2.Options)) (*ec2.DeleteKeyPairOutput, error)
}

// Cloud is one AWS account over one or more regions.
type Cloud struct {
	name    string
	opts    Options
	regions []string
	clients map[string]ec2API
	idle    func() // closes idle HTTP connections
	closed  atomic.Bool

	mu         sync.Mutex
	zoneRegion map[string]string // availability zone → region
	where      map[string]string // native id (instance, AMI) → region
	// recent holds instances this adapter created, until EC2's describe
	// calls show them (EC2 is eventually consistent right after a launch).
	recent map[string]recentServer

	s3     s3State     // S3 clients (s3.go)
	direct directState // EBS direct API clients (ebsdirect.go)

	rootWait rootVolumeWait // how CreateServer waits for a root volume (servers_root.go)

	// replays makes snapshot creates safe to repeat (providers.ReplayGuard).
	replays *providers.ReplayGuard

	catMu     sync.Mutex // held while the catalogue is fetched: one fetch at a time
	flavors   []providers.Flavor
	flavorsAt time.Time
}

type recentServer struct {
	s  providers.Server
	at time.Time
}

// recentWindow is how long a created instance is shown while EC2's
// describe calls do not list it yet.
const recentWindow = 2 * time.Minute

// Open is the providers.Opener of kind "aws".
func Open(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
	opts, err := ParseOptions(cfg.Options)
	if err != nil {
		return nil, err
	}
	if len(opts.Regions) == 0 {
		opts.Regions = cfg.Regions
	}
	return New(ctx, cfg.Name, opts)
}

// New opens an aws cloud: it resolves credentials and regions (without
// calling AWS) and builds a client per region.
func New(ctx context.Context, name string, opts Options) (*Cloud, error) {
	if len(opts.ImageOwners) == 0 {
		opts.ImageOwners = []string{"self"}
	}
	var load []func(*config.LoadOptions) error
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	if len(opts.Regions) > 0 {
		load = append(load, config.WithRegion(opts.Regions[0]))
	}
	if opts.AccessKeyID != "" {
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)))
	}
	if opts.MaxAttempts > 0 {
		load = append(load, config.WithRetryMaxAttempts(opts.MaxAttempts))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("aws: load configuration: %w", err)
	}
	// The adapter owns its connection pool (Close releases it). The
	// transport is the SDK's, with what the configuration added (a CA
	// bundle from AWS_CA_BUNDLE, say).
	var idle func()
	if bc, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient); ok {
		tr := bc.GetTransport()
		tr.MaxIdleConnsPerHost = 16
		awsCfg.HTTPClient = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		idle = tr.CloseIdleConnections
	}
	regions := dedupe(opts.Regions)
	if len(regions) == 0 && awsCfg.Region != "" {
		regions = []string{awsCfg.Region}
	}
	if len(regions) == 0 {
		return nil, fmt.Errorf("aws: no region: set the cloud's regions (or options.regions), AWS_REGION, or a region in the profile")
	}
	clients := map[string]ec2API{}
	for _, r := range regions {
		clients[r] = ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
			o.Region = r
			o.APIOptions = append(o.APIOptions, addAttemptCounter) // attempts.go
			if opts.Endpoint != "" {
				o.BaseEndpoint = awssdk.String(opts.Endpoint)
			}
		})
	}
	c := newCloud(name, opts, regions, clients)
	c.idle = idle
	c.s3.cfg = &awsCfg
	return c, nil
}

func newCloud(name string, opts Options, regions []string, clients map[string]ec2API) *Cloud {
	return &Cloud{
		name: name, opts: opts, regions: regions, clients: clients,
		zoneRegion: map[string]string{}, where: map[string]string{}, recent: map[string]recentServer{},
		replays:  providers.NewReplayGuard(opts.CreateWindow),
		rootWait: defaultRootVolumeWait,
	}
}

// Regions returns the cloud's regions, the default one first.
func (c *Cloud) Regions() []string { return append([]string(nil), c.regions...) }

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// check is the prologue of every call.
func (c *Cloud) check() error {
	if c.closed.Load() {
		return fmt.Errorf("aws: cloud %q: %w: closed", c.name, providers.ErrUnavailable)
	}
	return nil
}

// Close implements providers.Provider.
func (c *Cloud) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.idle != nil {
		c.idle()
	}
	return nil
}

// eachRegion runs fn in every region concurrently and returns the first
// error (in region order).
func (c *Cloud) eachRegion(ctx context.Context, fn func(ctx context.Context, region string, api ec2API) error) error {
	return c.inRegions(ctx, c.regions, fn)
}

func (c *Cloud) inRegions(ctx context.Context, regions []string, fn func(ctx context.Context, region string, api ec2API) error) error {
	if len(regions) == 1 {
		return fn(ctx, regions[0], c.clients[regions[0]])
	}
	errs := make([]error, len(regions))
	var wg sync.WaitGroup
	for i, r := range regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(ctx, r, c.clients[r])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Info implements providers.Provider: the regions, and the zones each
// region offers (DescribeAvailabilityZones). It reaches every region.
func (c *Cloud) Info(ctx context.Context) (providers.Info, error) {
	if err := c.check(); err != nil {
		return providers.Info{}, err
	}
	zones, err := c.loadZones(ctx)
	if err != nil {
		return providers.Info{}, err
	}
	return providers.Info{Regions: c.Regions(), Zones: zones}, nil
}

// loadZones lists the availability zones of every region and remembers
// which region each belongs to.
func (c *Cloud) loadZones(ctx context.Context) ([]string, error) {
	byRegion := make([][]string, len(c.regions))
	idx := map[string]int{}
	for i, r := range c.regions {
		idx[r] = i
	}
	err := c.eachRegion(ctx, func(ctx context.Context, region string, api ec2API) error {
		out, err := api.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
		if err != nil {
			return fail(err, target, "describe availability zones in %s", region)
		}
		var zones []string
		for _, z := range out.AvailabilityZones {
			if z.ZoneName == nil || (z.ZoneType != nil && *z.ZoneType != "availability-zone") {
				continue
			}
			if z.State != "" && z.State != "available" {
				continue
			}
			zones = append(zones, *z.ZoneName)
		}
		sort.Strings(zones)
		byRegion[idx[region]] = zones
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all []string
	c.mu.Lock()
	for i, zones := range byRegion {
		for _, z := range zones {
			c.zoneRegion[z] = c.regions[i]
		}
		all = append(all, zones...)
	}
	c.mu.Unlock()
	return all, nil
}

// zoneToRegion returns the region of an availability zone of this cloud.
func (c *Cloud) zoneToRegion(ctx context.Context, zone string) (string, error) {
	c.mu.Lock()
	r, ok := c.zoneRegion[zone]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	if _, err := c.loadZones(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	r, ok = c.zoneRegion[zone]
	c.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("aws: zone %q: %w: not an available zone of regions %s", zone, providers.ErrInvalid, strings.Join(c.regions, ", "))
	}
	return r, nil
}

// remember records the region of a native id.
func (c *Cloud) remember(id, region string) {
	if id == "" {
		return
	}
	c.mu.Lock()
	c.where[id] = region
	c.mu.Unlock()
}

// regionsOf returns where to look for a native id: its region if known,
// else every region.
func (c *Cloud) regionsOf(id string) []string {
	c.mu.Lock()
	r, ok := c.where[id]
	c.mu.Unlock()
	if ok {
		return []string{r}
	}
	return c.regions
}

// pageSizes are the MaxResults of the paginated lists: EC2's largest
// pages, so big accounts take few calls (tests shrink them).
var pageSizes = struct{ instances, images, instanceTypes int32 }{1000, 1000, 100}
