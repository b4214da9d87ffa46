package aws

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

func isNotFound(err error) bool { return errors.Is(err, providers.ErrNotFound) }

// errTerminated marks a lookup that found the instance terminated (it is
// not found, as a deleted server; but it was there).
var errTerminated = errors.New("terminated")

// liveStates are the instance states lists ask EC2 for: everything but
// terminated (which EC2 keeps showing for about an hour).
var liveStates = []string{statePending, stateRunning, stateStopping, stateStopped, stateShuttingDown}

// ListServers implements providers.Compute: the instances of every region,
// terminated ones left out.
func (c *Cloud) ListServers(ctx context.Context) ([]providers.Server, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var out []providers.Server
	seen := map[string]bool{}
	err := c.eachRegion(ctx, func(ctx context.Context, region string, api ec2API) error {
		pages := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{
			Filters: []types.Filter{{Name: awssdk.String("instance-state-name"), Values: liveStates}},
		}, func(o *ec2.DescribeInstancesPaginatorOptions) { o.Limit = pageSizes.instances })
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return fail(err, reference, "describe instances in %s", region)
			}
			mu.Lock()
			for _, r := range page.Reservations {
				for _, in := range r.Instances {
					s := serverOf(region, in)
					if s.Status == providers.StatusDeleted || s.NativeID == "" || seen[s.NativeID] {
						continue
					}
					seen[s.NativeID] = true
					out = append(out, s)
				}
			}
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range out {
		c.remember(s.NativeID, s.Region)
	}
	// Instances launched moments ago that the lists did not show yet: look
	// each up (rare: only within EC2's lag after a launch), so one that was
	// terminated meanwhile is not shown.
	for _, r := range c.unseenRecent(seen) {
		s, err := c.GetServer(ctx, r.NativeID)
		switch {
		case err == nil:
			out = append(out, s)
		case !isNotFound(err):
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

// unseenRecent returns the instances created lately that EC2 did not list
// yet, and forgets those it did list (or that are too old to wait for).
func (c *Cloud) unseenRecent(seen map[string]bool) []providers.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []providers.Server
	for id, r := range c.recent {
		switch {
		case seen[id] || time.Since(r.at) > recentWindow:
			delete(c.recent, id)
		default:
			out = append(out, cloneServer(r.s))
		}
	}
	return out
}

func (c *Cloud) recentServer(id string) (providers.Server, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.recent[id]
	if !ok || time.Since(r.at) > recentWindow {
		delete(c.recent, id)
		return providers.Server{}, false
	}
	return cloneServer(r.s), true
}

func (c *Cloud) forgetRecent(id string) {
	c.mu.Lock()
	delete(c.recent, id)
	c.mu.Unlock()
}

// describeInstance finds an instance by id in its region (or every region
// when its region is not known). Terminated instances are not found.
func (c *Cloud) describeInstance(ctx context.Context, id string) (string, types.Instance, error) {
	if !strings.HasPrefix(id, "i-") {
		return "", types.Instance{}, fmt.Errorf("aws: instance %q: %w", id, providers.ErrNotFound)
	}
	var mu sync.Mutex
	var region string
	var found *types.Instance
	err := c.inRegions(ctx, c.regionsOf(id), func(ctx context.Context, r string, api ec2API) error {
		out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			err = fail(err, target, "describe instance %s in %s", id, r)
			if isNotFound(err) {
				return nil
			}
			return err
		}
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				if awssdk.ToString(in.InstanceId) == id {
					mu.Lock()
					region, found = r, &in
					mu.Unlock()
				}
			}
		}
		return nil
	})
	if err != nil {
		return "", types.Instance{}, err
	}
	if found == nil {
		return "", types.Instance{}, fmt.Errorf("aws: instance %q: %w", id, providers.ErrNotFound)
	}
	c.remember(id, region)
	c.forgetRecent(id)
	if found.State != nil && found.State.Name == types.InstanceStateNameTerminated {
		return region, *found, fmt.Errorf("aws: instance %q: %w: %w", id, providers.ErrNotFound, errTerminated)
	}
	return region, *found, nil
}

// GetServer implements providers.Compute.
func (c *Cloud) GetServer(ctx context.Context, id string) (providers.Server, error) {
	if err := c.check(); err != nil {
		return providers.Server{}, err
	}
	region, in, err := c.describeInstance(ctx, id)
	if err != nil {
		if s, ok := c.recentServer(id); ok && isNotFound(err) && !errors.Is(err, errTerminated) {
			return s, nil // launched moments ago; EC2's describe has not caught up
		}
		return providers.Server{}, err
	}
	return serverOf(region, in), nil
}

// CreateServer implements providers.Compute with RunInstances. The spec's
// IdempotencyToken is the ClientToken, so a retried create returns the
// instance the first one launched.
//
// Root volumes (canopy's deferred volume-from-image, server/emulate_boot.go):
// with RootVolumeGiB the instance gets a block device mapping for the AMI's
// root device of that size, DeleteOnTermination=false so the volume outlives
// the instance as a canopy volume does, tagged Name=RootVolumeName (else
// "<name>-root") and canopy:token=root:<token> (volumes.go's conventions;
// EC2 applies a launch's volume tags to every volume it makes, so an AMI
// with more mappings tags those alike). RunInstances rarely names the
// volume, so CreateServer then waits a little (rootVolumeWait) for describe
// to show the mapping; if it does not in time the server is returned all the
// same, without RootVolumeID (the instance exists, and canopy binds the
// volume later from GetServer: emulate_boot.go's settleBoot).
//
// BootVolumeID is ErrUnsupported: EC2 launches only from an AMI and cannot
// boot an instance from an existing EBS volume. server/emulate_boot.go does
// not need it on AWS: it asks for BootVolumeID only to boot a volume that
// exists natively, and a deferred volume (the emulation) goes through
// RootVolumeGiB. Booting an existing volume would take an AMI registered
// from its snapshot, or a root-volume swap on a stopped instance; neither
// is done here.
func (c *Cloud) CreateServer(ctx context.Context, spec providers.ServerSpec) (providers.Server, error) {
	if err := c.check(); err != nil {
		return providers.Server{}, err
	}
	if spec.Name == "" {
		return providers.Server{}, fmt.Errorf("aws: create server: %w: name is empty", providers.ErrInvalid)
	}
	if spec.BootVolumeID != "" {
		return providers.Server{}, fmt.Errorf("aws: create server %q: %w: EC2 cannot boot an instance from an existing volume (boot volume %s); it launches from an image only",
			spec.Name, providers.ErrUnsupported, spec.BootVolumeID)
	}
	if spec.RootVolumeGiB < 0 || spec.RootVolumeGiB > math.MaxInt32 {
		return providers.Server{}, fmt.Errorf("aws: create server %q: %w: root volume size %d GiB", spec.Name, providers.ErrInvalid, spec.RootVolumeGiB)
	}
	if spec.FlavorID == "" || spec.ImageID == "" {
		return providers.Server{}, fmt.Errorf("aws: create server %q: %w: flavor and image are required", spec.Name, providers.ErrInvalid)
	}
	if len(spec.IdempotencyToken) > 64 {
		return providers.Server{}, fmt.Errorf("aws: create server %q: %w: idempotency token longer than EC2's 64 characters", spec.Name, providers.ErrInvalid)
	}
	tags := []types.Tag{{Key: awssdk.String("Name"), Value: awssdk.String(spec.Name)}}
	keys := make([]string, 0, len(spec.Labels))
	for k := range spec.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "Name" || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return providers.Server{}, fmt.Errorf("aws: create server %q: %w: label %q is reserved on AWS", spec.Name, providers.ErrInvalid, k)
		}
		tags = append(tags, types.Tag{Key: awssdk.String(k), Value: awssdk.String(spec.Labels[k])})
	}
	region, err := c.regionFor(ctx, spec)
	if err != nil {
		return providers.Server{}, err
	}
	instTags := tags
	if spec.IdempotencyToken != "" {
		// The token as a tag too: the look-up of a replayed create (moto
		// ignores ClientToken, and EC2 forgets it with the instance).
		instTags = append(append([]types.Tag(nil), tags...), types.Tag{Key: awssdk.String(tagToken), Value: awssdk.String(spec.IdempotencyToken)})
	}
	in := &ec2.RunInstancesInput{
		MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1),
		ImageId: awssdk.String(spec.ImageID), InstanceType: types.InstanceType(spec.FlavorID),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: instTags},
			{ResourceType: types.ResourceTypeVolume, Tags: tags},
		},
	}
	if spec.IdempotencyToken != "" {
		in.ClientToken = awssdk.String(spec.IdempotencyToken)
	}
	if spec.Zone != "" {
		in.Placement = &types.Placement{AvailabilityZone: awssdk.String(spec.Zone)}
	}
	if spec.Keypair != "" {
		in.KeyName = awssdk.String(spec.Keypair)
	}
	if len(spec.UserData) > 0 {
		in.UserData = awssdk.String(base64.StdEncoding.EncodeToString(spec.UserData))
	}
	if err := c.applyNetworks(ctx, region, in, spec); err != nil {
		return providers.Server{}, fmt.Errorf("aws: create server %q: %w", spec.Name, err)
	}
	if err := c.checkPorts(ctx, region, spec.IdempotencyToken, spec.Ports); err != nil {
		return providers.Server{}, fmt.Errorf("aws: create server %q: %w", spec.Name, err)
	}
	if spec.RootVolumeGiB > 0 {
		if err := c.mapRootVolume(ctx, region, spec, in); err != nil {
			return providers.Server{}, err
		}
	}
	find := func(ctx context.Context) (types.Instance, bool, error) {
		return c.instanceByToken(ctx, region, spec.IdempotencyToken)
	}
	create := func(ctx context.Context) (types.Instance, error) {
		out, err := c.clients[region].RunInstances(failpoint.Sent(ctx, "aws/server:sent"), in, once(spec.IdempotencyToken)...)
		if err != nil {
			return types.Instance{}, fail(err, reference, "run instances in %s", region)
		}
		failpoint.Hit("aws/server:posted")
		if len(out.Instances) == 0 {
			return types.Instance{}, fmt.Errorf("aws: run instances in %s: %w: no instance in the answer", region, providers.ErrUnavailable)
		}
		return out.Instances[0], nil
	}
	inst, found, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create)
	if err != nil {
		return providers.Server{}, err
	}
	s := serverOf(region, inst)
	if found {
		c.remember(s.NativeID, region)
		return s, nil
	}
	if s.Name == "" {
		s.Name = spec.Name
	}
	if len(s.Labels) == 0 && len(spec.Labels) > 0 {
		s.Labels = cloneMap(spec.Labels)
	}
	if s.Status == providers.StatusDeleted || s.Status == providers.StatusUnknown {
		// A ClientToken reused after its instance was terminated: EC2
		// answers with that instance.
		return providers.Server{}, fmt.Errorf("aws: run instances in %s: %w: idempotency token %q belongs to instance %s, which is %s",
			region, providers.ErrAlreadyExists, spec.IdempotencyToken, s.NativeID, s.ProviderStatus)
	}
	c.remember(s.NativeID, region)
	if spec.RootVolumeGiB > 0 {
		if s.RootVolumeID == "" {
			s.RootVolumeID = c.awaitRootVolume(ctx, region, s.NativeID)
		}
		if s.RootVolumeID != "" {
			c.rememberRootVolume(region, s, spec, in)
		}
	}
	c.mu.Lock()
	c.recent[s.NativeID] = recentServer{s: cloneServer(s), at: time.Now()}
	c.mu.Unlock()
	return s, nil
}

// regionFor picks the region a new server goes to: its zone's, else its
// image's (AMIs are regional), else the cloud's first region.
func (c *Cloud) regionFor(ctx context.Context, spec providers.ServerSpec) (string, error) {
	zoneRegion := ""
	if spec.Zone != "" {
		r, err := c.zoneToRegion(ctx, spec.Zone)
		if err != nil {
			return "", err
		}
		zoneRegion = r
	}
	if len(c.regions) == 1 {
		return c.regions[0], nil
	}
	imageRegion, known := c.whereIs(spec.ImageID)
	if !known {
		im, err := c.GetImage(ctx, spec.ImageID)
		switch {
		case isNotFound(err):
			return "", fmt.Errorf("aws: create server %q: %w: image %q not found in regions %s", spec.Name, providers.ErrInvalid, spec.ImageID, strings.Join(c.regions, ", "))
		case err != nil:
			return "", err
		}
		imageRegion = im.Region
	}
	if zoneRegion != "" && zoneRegion != imageRegion {
		return "", fmt.Errorf("aws: create server %q: %w: image %s is in region %s, zone %s in region %s",
			spec.Name, providers.ErrInvalid, spec.ImageID, imageRegion, spec.Zone, zoneRegion)
	}
	return imageRegion, nil
}

// whereIs returns the region of a native id seen before.
func (c *Cloud) whereIs(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.where[id]
	return r, ok
}

// DeleteServer implements providers.Compute with TerminateInstances. A
// server already terminated (or never there) is not found; one shutting
// down is being deleted already.
func (c *Cloud) DeleteServer(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, in, err := c.describeInstance(ctx, id)
	if err != nil {
		if _, ok := c.recentServer(id); ok && isNotFound(err) && !errors.Is(err, errTerminated) {
			// Launched moments ago: terminate it all the same.
			region, _ = c.whereIs(id)
			if _, err := c.clients[region].TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
				return fail(err, target, "terminate instance %s in %s", id, region)
			}
			c.forgetRecent(id)
			return nil
		}
		return err
	}
	if in.State != nil && in.State.Name == types.InstanceStateNameShuttingDown {
		return nil
	}
	if _, err := c.clients[region].TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		return fail(err, target, "terminate instance %s in %s", id, region)
	}
	return nil
}

// ServerAction implements providers.Compute. Like every other cloud, an
// action on a server in the wrong state is a conflict, including where EC2
// would accept it quietly (starting a running instance, stopping a stopped
// one). EC2 reboots are soft with a hard fallback, and instantaneous: the
// instance stays running.
func (c *Cloud) ServerAction(ctx context.Context, id string, action providers.Action) error {
	if err := c.check(); err != nil {
		return err
	}
	var want string
	switch action {
	case providers.ActionStart:
		want = stateStopped
	case providers.ActionStop, providers.ActionReboot, providers.ActionHardReboot:
		want = stateRunning
	default:
		return fmt.Errorf("aws: server action %q: %w", action, providers.ErrInvalid)
	}
	region, in, err := c.describeInstance(ctx, id)
	if err != nil {
		if _, ok := c.recentServer(id); ok && isNotFound(err) {
			return fmt.Errorf("aws: %s instance %s: %w: it is still pending", action, id, providers.ErrConflict)
		}
		return err
	}
	if state := instanceState(in); state != want {
		return fmt.Errorf("aws: cannot %s instance %s in state %s: %w", action, id, state, providers.ErrConflict)
	}
	api := c.clients[region]
	ids := []string{id}
	switch action {
	case providers.ActionStart:
		_, err = api.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids})
	case providers.ActionStop:
		_, err = api.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
	default:
		_, err = api.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: ids})
	}
	if err != nil {
		return fail(err, target, "%s instance %s in %s", action, id, region)
	}
	return nil
}

// instanceByToken returns the live instance a create with this token made
// (tagged canopy:token), for a replayed create.
func (c *Cloud) instanceByToken(ctx context.Context, region, token string) (types.Instance, bool, error) {
	p := ec2.NewDescribeInstancesPaginator(c.clients[region], &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: awssdk.String("tag:" + tagToken), Values: []string{token}}},
	})
	var best types.Instance
	found := false
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return types.Instance{}, false, fail(err, reference, "describe instances with token %s in %s", token, region)
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if in.State != nil && (in.State.Name == types.InstanceStateNameTerminated || in.State.Name == types.InstanceStateNameShuttingDown) {
					continue
				}
				// The oldest wins, as every look-up agrees; others are duplicates.
				if !found || awssdk.ToTime(in.LaunchTime).Before(awssdk.ToTime(best.LaunchTime)) {
					best, found = in, true
				}
			}
		}
	}
	return best, found, nil
}
