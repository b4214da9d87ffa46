package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/canopy-cloud/canopy/providers"
)

// fakeEC2 is a tiny in-memory region for the behaviours moto cannot show
// (EC2's eventual consistency) and for call counting. Methods it does not
// implement panic through the nil embedded interface.
type fakeEC2 struct {
	ec2API
	region string

	mu        sync.Mutex
	instances map[string]*types.Instance
	keys      map[string]types.KeyPairInfo
	invisible map[string]bool // launched but not yet returned by describe
	calls     map[string]int
	failKeys  bool // ImportKeyPair fails
	seq       int

	// EC2's ClientToken: a RunInstances repeating a token returns the
	// instance the first one launched, or IdempotentParameterMismatch when
	// its parameters differ.
	tokens    map[string]clientToken
	runTokens []string                 // the ClientToken of every RunInstances call, in order
	typeSets  []types.InstanceTypeInfo // DescribeInstanceTypes' answer when set (the default otherwise)
}

// clientToken is what EC2 keeps of a ClientToken: the instance it made and
// the parameters of the call that made it.
type clientToken struct {
	instance string
	params   string
}

// runParams are the parameters EC2 compares when a ClientToken repeats.
func runParams(in *ec2.RunInstancesInput) string {
	zone := ""
	if in.Placement != nil {
		zone = awssdk.ToString(in.Placement.AvailabilityZone)
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%d|%d|%s|%v", awssdk.ToString(in.ImageId), in.InstanceType, zone, awssdk.ToString(in.KeyName),
		awssdk.ToString(in.SubnetId), awssdk.ToInt32(in.MinCount), awssdk.ToInt32(in.MaxCount), awssdk.ToString(in.UserData), in.SecurityGroupIds)
}

// instanceMatches reports whether an instance passes DescribeInstances' filters
// (the fake knows tag:KEY and instance-state-name).
func instanceMatches(i *types.Instance, filters []types.Filter) bool {
	for _, f := range filters {
		name := awssdk.ToString(f.Name)
		var have string
		switch {
		case strings.HasPrefix(name, "tag:"):
			for _, t := range i.Tags {
				if awssdk.ToString(t.Key) == strings.TrimPrefix(name, "tag:") {
					have = awssdk.ToString(t.Value)
				}
			}
		case name == "instance-state-name":
			have = string(i.State.Name)
		default:
			continue
		}
		if !slices.Contains(f.Values, have) {
			return false
		}
	}
	return true
}

func newFake(region string) *fakeEC2 {
	return &fakeEC2{region: region, instances: map[string]*types.Instance{}, keys: map[string]types.KeyPairInfo{},
		invisible: map[string]bool{}, calls: map[string]int{}, tokens: map[string]clientToken{}}
}

func apiErr(code string) error {
	return &smithy.OperationError{ServiceID: "EC2", Err: &smithy.GenericAPIError{Code: code, Message: code, Fault: smithy.FaultClient}}
}

func (f *fakeEC2) count(op string) { f.calls[op]++ }

func (f *fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeInstances")
	var list []types.Instance
	if len(in.InstanceIds) > 0 {
		for _, id := range in.InstanceIds {
			i, ok := f.instances[id]
			if !ok || f.invisible[id] {
				return nil, apiErr("InvalidInstanceID.NotFound")
			}
			list = append(list, *i)
		}
	} else {
		for id, i := range f.instances {
			if !f.invisible[id] && i.State.Name != types.InstanceStateNameTerminated && instanceMatches(i, in.Filters) {
				list = append(list, *i)
			}
		}
	}
	return &ec2.DescribeInstancesOutput{Reservations: []types.Reservation{{Instances: list}}}, nil
}

func (f *fakeEC2) DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error) {
	f.count("DescribeAvailabilityZones")
	var zones []types.AvailabilityZone
	for _, s := range []string{"a", "b"} {
		zones = append(zones, types.AvailabilityZone{ZoneName: awssdk.String(f.region + s), State: "available", ZoneType: awssdk.String("availability-zone")})
	}
	zones = append(zones, types.AvailabilityZone{ZoneName: awssdk.String(f.region + "-lax-1a"), State: "available", ZoneType: awssdk.String("local-zone")})
	return &ec2.DescribeAvailabilityZonesOutput{AvailabilityZones: zones}, nil
}

func (f *fakeEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	f.count("DescribeImages")
	id := "ami-" + f.region
	for _, want := range in.ImageIds {
		if want != id {
			return nil, apiErr("InvalidAMIID.NotFound")
		}
	}
	return &ec2.DescribeImagesOutput{Images: []types.Image{{ImageId: awssdk.String(id), Name: awssdk.String("img-" + f.region), State: "available"}}}, nil
}

func (f *fakeEC2) DescribeInstanceTypes(context.Context, *ec2.DescribeInstanceTypesInput, ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeInstanceTypes")
	if f.typeSets != nil {
		return &ec2.DescribeInstanceTypesOutput{InstanceTypes: f.typeSets}, nil
	}
	return &ec2.DescribeInstanceTypesOutput{InstanceTypes: []types.InstanceTypeInfo{
		{InstanceType: "t3.micro", VCpuInfo: &types.VCpuInfo{DefaultVCpus: awssdk.Int32(2)}, MemoryInfo: &types.MemoryInfo{SizeInMiB: awssdk.Int64(1024)}},
		{InstanceType: "g5.xlarge", VCpuInfo: &types.VCpuInfo{DefaultVCpus: awssdk.Int32(4)}, MemoryInfo: &types.MemoryInfo{SizeInMiB: awssdk.Int64(16384)},
			InstanceStorageInfo: &types.InstanceStorageInfo{TotalSizeInGB: awssdk.Int64(250)},
			GpuInfo:             &types.GpuInfo{Gpus: []types.GpuDeviceInfo{{Count: awssdk.Int32(1), Manufacturer: awssdk.String("NVIDIA"), Name: awssdk.String("A10G")}}}},
		{InstanceType: "broken.none"}, // no sizes: left out
	}}, nil
}

func (f *fakeEC2) RunInstances(_ context.Context, in *ec2.RunInstancesInput, _ ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("RunInstances")
	token := awssdk.ToString(in.ClientToken)
	f.runTokens = append(f.runTokens, token)
	if prev, ok := f.tokens[token]; ok && token != "" {
		if prev.params != runParams(in) {
			return nil, apiErr("IdempotentParameterMismatch")
		}
		out := *f.instances[prev.instance]
		out.Tags = nil
		return &ec2.RunInstancesOutput{Instances: []types.Instance{out}}, nil
	}
	f.seq++
	id := "i-" + f.region + string(rune('0'+f.seq))
	now := time.Now()
	inst := &types.Instance{
		InstanceId: awssdk.String(id), ImageId: in.ImageId, InstanceType: in.InstanceType, LaunchTime: &now,
		State: &types.InstanceState{Name: types.InstanceStateNamePending}, Tags: in.TagSpecifications[0].Tags,
		Placement: &types.Placement{AvailabilityZone: awssdk.String(f.region + "a")},
	}
	if in.Placement != nil {
		inst.Placement.AvailabilityZone = in.Placement.AvailabilityZone
	}
	f.instances[id] = inst
	if token != "" {
		f.tokens[token] = clientToken{instance: id, params: runParams(in)}
	}
	f.invisible[id] = true // EC2: describe may not know it yet
	out := *inst
	out.Tags = nil // RunInstances answers need not carry the tags
	return &ec2.RunInstancesOutput{Instances: []types.Instance{out}}, nil
}

func (f *fakeEC2) setState(id string, s types.InstanceStateName) {
	f.instances[id].State = &types.InstanceState{Name: s}
}

func (f *fakeEC2) StopInstances(_ context.Context, in *ec2.StopInstancesInput, _ ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("StopInstances")
	f.setState(in.InstanceIds[0], types.InstanceStateNameStopped)
	return &ec2.StopInstancesOutput{}, nil
}

func (f *fakeEC2) TerminateInstances(_ context.Context, in *ec2.TerminateInstancesInput, _ ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("TerminateInstances")
	f.setState(in.InstanceIds[0], types.InstanceStateNameTerminated)
	return &ec2.TerminateInstancesOutput{}, nil
}

func (f *fakeEC2) ImportKeyPair(_ context.Context, in *ec2.ImportKeyPairInput, _ ...func(*ec2.Options)) (*ec2.ImportKeyPairOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("ImportKeyPair")
	if f.failKeys {
		return nil, apiErr("KeyPairLimitExceeded")
	}
	name := awssdk.ToString(in.KeyName)
	if _, dup := f.keys[name]; dup {
		return nil, apiErr("InvalidKeyPair.Duplicate")
	}
	k := types.KeyPairInfo{KeyName: in.KeyName, KeyFingerprint: awssdk.String("fp"), KeyPairId: awssdk.String("key-1"), KeyType: "ed25519"}
	f.keys[name] = k
	return &ec2.ImportKeyPairOutput{KeyName: k.KeyName, KeyFingerprint: k.KeyFingerprint, KeyPairId: k.KeyPairId}, nil
}

func (f *fakeEC2) DescribeKeyPairs(_ context.Context, in *ec2.DescribeKeyPairsInput, _ ...func(*ec2.Options)) (*ec2.DescribeKeyPairsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeKeyPairs")
	var out []types.KeyPairInfo
	for _, n := range in.KeyNames {
		k, ok := f.keys[n]
		if !ok {
			return nil, apiErr("InvalidKeyPair.NotFound")
		}
		out = append(out, k)
	}
	if len(in.KeyNames) == 0 {
		for _, k := range f.keys {
			out = append(out, k)
		}
	}
	return &ec2.DescribeKeyPairsOutput{KeyPairs: out}, nil
}

func (f *fakeEC2) DeleteKeyPair(_ context.Context, in *ec2.DeleteKeyPairInput, _ ...func(*ec2.Options)) (*ec2.DeleteKeyPairOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DeleteKeyPair")
	delete(f.keys, awssdk.ToString(in.KeyName)) // EC2: no error when missing
	return &ec2.DeleteKeyPairOutput{}, nil
}

func fakeCloud(regions ...string) (*Cloud, map[string]*fakeEC2) {
	fakes := map[string]*fakeEC2{}
	clients := map[string]ec2API{}
	for _, r := range regions {
		fakes[r] = newFake(r)
		clients[r] = fakes[r]
	}
	return newCloud("fake", Options{CatalogTTL: time.Hour, ImageOwners: []string{"self"}}, regions, clients), fakes
}

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl canopy"

// Right after RunInstances EC2's describe calls may not know the instance
// yet; canopy must not think it vanished (it would forget the mapping).
func TestJustLaunchedInstanceIsVisible(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeCloud("us-east-1")
	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "web", FlavorID: "t3.micro", ImageID: "ami-us-east-1",
		Labels: map[string]string{"tier": "web"}, IdempotencyToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "web" || s.Labels["tier"] != "web" || s.Status != providers.StatusPending {
		t.Errorf("created = %+v", s)
	}
	got, err := c.GetServer(ctx, s.NativeID)
	if err != nil || got.NativeID != s.NativeID || got.Status != providers.StatusPending {
		t.Fatalf("GetServer while describe lags = %+v, %v", got, err)
	}
	list, err := c.ListServers(ctx)
	if err != nil || len(list) != 1 || list[0].NativeID != s.NativeID {
		t.Fatalf("ListServers while describe lags = %v, %v", list, err)
	}
	if err := c.ServerAction(ctx, s.NativeID, providers.ActionStop); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("stop while pending: %v, want ErrConflict", err)
	}
	// Describe catches up: the real instance, tags read back as labels.
	f := fakes["us-east-1"]
	f.mu.Lock()
	delete(f.invisible, s.NativeID)
	f.setState(s.NativeID, types.InstanceStateNameRunning)
	f.mu.Unlock()
	got, err = c.GetServer(ctx, s.NativeID)
	if err != nil || got.Status != providers.StatusActive || got.Name != "web" || got.Labels["tier"] != "web" || got.Labels["Name"] != "" {
		t.Fatalf("GetServer after describe caught up = %+v, %v", got, err)
	}
	// Deleting: terminated instances vanish.
	if err := c.DeleteServer(ctx, s.NativeID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetServer(ctx, s.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetServer after terminate: %v, want ErrNotFound", err)
	}
	if err := c.DeleteServer(ctx, s.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteServer twice: %v, want ErrNotFound", err)
	}
	if err := c.ServerAction(ctx, s.NativeID, providers.ActionStart); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("start a terminated server: %v, want ErrNotFound", err)
	}
	if list, _ := c.ListServers(ctx); len(list) != 0 {
		t.Errorf("ListServers lists the terminated instance: %v", list)
	}
}

// A delete right after the launch, before describe knows the instance,
// terminates it all the same.
func TestDeleteJustLaunched(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeCloud("us-east-1")
	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "x", FlavorID: "t3.micro", ImageID: "ami-us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteServer(ctx, s.NativeID); err != nil {
		t.Fatalf("delete while describe lags: %v", err)
	}
	if n := fakes["us-east-1"].calls["TerminateInstances"]; n != 1 {
		t.Errorf("TerminateInstances called %d times", n)
	}
}

func TestWrongStateIsConflictWithoutCallingEC2(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeCloud("us-east-1")
	f := fakes["us-east-1"]
	f.instances["i-1"] = &types.Instance{InstanceId: awssdk.String("i-1"), State: &types.InstanceState{Name: types.InstanceStateNameStopped}}
	for _, a := range []providers.Action{providers.ActionStop, providers.ActionReboot, providers.ActionHardReboot} {
		if err := c.ServerAction(ctx, "i-1", a); !errors.Is(err, providers.ErrConflict) {
			t.Errorf("%s a stopped instance: %v, want ErrConflict", a, err)
		}
	}
	if f.calls["StopInstances"] != 0 {
		t.Errorf("StopInstances was called on a stopped instance")
	}
	if err := c.ServerAction(ctx, "i-1", "suspend"); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("unknown action: %v, want ErrInvalid", err)
	}
	if err := c.ServerAction(ctx, "not-an-instance-id", providers.ActionStart); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("malformed id: %v, want ErrNotFound", err)
	}
	// Shutting down: deleting already, a second delete is fine.
	f.setState("i-1", types.InstanceStateNameShuttingDown)
	if s, err := c.GetServer(ctx, "i-1"); err != nil || s.Status != providers.StatusDeleting {
		t.Errorf("shutting-down = %v, %v; want DELETING", s.Status, err)
	}
	if err := c.DeleteServer(ctx, "i-1"); err != nil || f.calls["TerminateInstances"] != 0 {
		t.Errorf("delete while shutting down: %v (terminate calls %d)", err, f.calls["TerminateInstances"])
	}
}

func TestMultiRegion(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeCloud("us-east-1", "eu-west-1")
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"us-east-1a", "us-east-1b", "eu-west-1a", "eu-west-1b"}
	if len(info.Zones) != len(want) || len(info.Regions) != 2 {
		t.Fatalf("Info = %+v, want zones %v (no local zones)", info, want)
	}
	for i := range want {
		if info.Zones[i] != want[i] {
			t.Errorf("zone %d = %s, want %s", i, info.Zones[i], want[i])
		}
	}
	// A zone picks its region.
	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "eu", Zone: "eu-west-1b", FlavorID: "t3.micro", ImageID: "ami-eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Region != "eu-west-1" || s.Zone != "eu-west-1b" || fakes["eu-west-1"].calls["RunInstances"] != 1 {
		t.Errorf("server in zone eu-west-1b = %+v", s)
	}
	// Without a zone, the image's region.
	s, err = c.CreateServer(ctx, providers.ServerSpec{Name: "eu2", FlavorID: "t3.micro", ImageID: "ami-eu-west-1"})
	if err != nil || s.Region != "eu-west-1" {
		t.Errorf("server with an eu image = %+v, %v", s, err)
	}
	// A zone and an image of different regions, an unknown zone, a missing image.
	for _, spec := range []providers.ServerSpec{
		{Name: "x", Zone: "us-east-1a", FlavorID: "t3.micro", ImageID: "ami-eu-west-1"},
		{Name: "x", Zone: "mars-1a", FlavorID: "t3.micro", ImageID: "ami-eu-west-1"},
		{Name: "x", FlavorID: "t3.micro", ImageID: "ami-nowhere"},
		{Name: "x", FlavorID: "t3.micro", ImageID: "ami-us-east-1", Networks: []string{"my-network"}},
		{Name: "x", FlavorID: "t3.micro", ImageID: "ami-us-east-1", Labels: map[string]string{"aws:x": "y"}},
		{Name: "", FlavorID: "t3.micro", ImageID: "ami-us-east-1"},
	} {
		if _, err := c.CreateServer(ctx, spec); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("CreateServer(%+v): %v, want ErrInvalid", spec, err)
		}
	}
	// Lookups find the region by id.
	got, err := c.GetServer(ctx, s.NativeID)
	if err != nil || got.Region != "eu-west-1" {
		t.Errorf("GetServer = %+v, %v", got, err)
	}
	// Flavors: one per type, sized; local disk and GPUs counted; the
	// catalogue is listed once per TTL.
	for i := 0; i < 3; i++ {
		flavors, err := c.ListFlavors(ctx)
		if err != nil || len(flavors) != 2 {
			t.Fatalf("ListFlavors = %v, %v", flavors, err)
		}
		g := flavors[0]
		if g.Name != "g5.xlarge" || g.VCPUs != 4 || g.RAMMiB != 16384 || g.DiskGiB != 250 || g.GPUs != 1 || g.Region != "" ||
			g.Properties["regions"] != "eu-west-1,us-east-1" || g.Properties["gpu_model"] != "NVIDIA A10G" {
			t.Errorf("flavor = %+v", g)
		}
		flavors[0].Properties["x"] = "mutated" // callers get copies
	}
	if n := fakes["us-east-1"].calls["DescribeInstanceTypes"]; n != 1 {
		t.Errorf("DescribeInstanceTypes called %d times in 3 lists, want 1 (cached)", n)
	}
	// Keypairs go to every region; a failure in one undoes the others.
	k, err := c.CreateKeypair(ctx, "k", testKey)
	if err != nil || k.Region != "" || k.Properties["regions"] != "us-east-1,eu-west-1" || k.Type != "ssh-ed25519" {
		t.Fatalf("CreateKeypair = %+v, %v", k, err)
	}
	if len(fakes["us-east-1"].keys) != 1 || len(fakes["eu-west-1"].keys) != 1 {
		t.Errorf("key not in both regions")
	}
	if _, err := c.CreateKeypair(ctx, "k", testKey); !errors.Is(err, providers.ErrAlreadyExists) {
		t.Errorf("duplicate key: %v", err)
	}
	fakes["eu-west-1"].failKeys = true
	if _, err := c.CreateKeypair(ctx, "k2", testKey); !errors.Is(err, providers.ErrQuota) {
		t.Errorf("key over quota in eu-west-1: %v, want ErrQuota", err)
	}
	if _, ok := fakes["us-east-1"].keys["k2"]; ok {
		t.Errorf("k2 left behind in us-east-1 after eu-west-1 failed")
	}
	if err := c.DeleteKeypair(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteKeypair(ctx, "k"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("delete a missing key: %v, want ErrNotFound (EC2 itself says nothing)", err)
	}
	if _, err := c.CreateKeypair(ctx, "bad", "ssh-ed25519 not-base64!"); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("bad key: %v", err)
	}
}

func TestApplyNetworks(t *testing.T) {
	ctx := context.Background()
	c, _ := fakeCloud("us-east-1")
	apply := func(spec providers.ServerSpec) (*ec2.RunInstancesInput, error) {
		in := &ec2.RunInstancesInput{}
		return in, c.applyNetworks(ctx, "us-east-1", in, spec)
	}
	in, err := apply(providers.ServerSpec{Networks: []string{"subnet-1", "sg-1"}, SecurityGroupIDs: []string{"sg-2"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.SubnetId != nil || in.SecurityGroupIds != nil || len(in.NetworkInterfaces) != 1 ||
		awssdk.ToString(in.NetworkInterfaces[0].SubnetId) != "subnet-1" || len(in.NetworkInterfaces[0].Groups) != 2 ||
		!awssdk.ToBool(in.NetworkInterfaces[0].DeleteOnTermination) {
		t.Errorf("one subnet = %+v: want one interface, its groups, deleted with the instance", in)
	}
	in, err = apply(providers.ServerSpec{Networks: []string{"subnet-1", "subnet-2", "sg-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.SubnetId != nil || len(in.NetworkInterfaces) != 2 || awssdk.ToInt32(in.NetworkInterfaces[1].DeviceIndex) != 1 ||
		in.NetworkInterfaces[1].Groups[0] != "sg-1" {
		t.Errorf("two subnets = %+v", in)
	}
	// An existing port comes after the new interfaces, without groups
	// (EC2 refuses groups beside an interface id), and moves the subnet and
	// the groups into NetworkInterfaces.
	in, err = apply(providers.ServerSpec{Networks: []string{"subnet-1"}, Ports: []string{"eni-9"}, SecurityGroupIDs: []string{"sg-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.SubnetId != nil || in.SecurityGroupIds != nil || len(in.NetworkInterfaces) != 2 ||
		awssdk.ToString(in.NetworkInterfaces[0].SubnetId) != "subnet-1" || in.NetworkInterfaces[0].Groups[0] != "sg-1" ||
		awssdk.ToString(in.NetworkInterfaces[1].NetworkInterfaceId) != "eni-9" || awssdk.ToInt32(in.NetworkInterfaces[1].DeviceIndex) != 1 ||
		in.NetworkInterfaces[1].Groups != nil {
		t.Errorf("subnet and port = %+v", in)
	}
	in, err = apply(providers.ServerSpec{Ports: []string{"eni-9"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.NetworkInterfaces) != 1 || awssdk.ToInt32(in.NetworkInterfaces[0].DeviceIndex) != 0 {
		t.Errorf("port only = %+v", in)
	}
	for _, bad := range []providers.ServerSpec{
		{Networks: []string{"net-1"}}, {Ports: []string{"subnet-1"}}, {SecurityGroupIDs: []string{"default"}},
	} {
		if _, err := apply(bad); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
	// A VPC needs the VPC calls, which this fake lacks.
	if _, err := apply(providers.ServerSpec{Networks: []string{"vpc-1"}}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("vpc without VPC calls: %v, want ErrUnsupported", err)
	}
}

func TestServerOf(t *testing.T) {
	in := types.Instance{
		InstanceId: awssdk.String("i-1"), InstanceType: "t3.micro", ImageId: awssdk.String("ami-1"), KeyName: awssdk.String("k"),
		State:     &types.InstanceState{Name: types.InstanceStateNameStopped},
		Placement: &types.Placement{AvailabilityZone: awssdk.String("us-east-1c")},
		Tags: []types.Tag{{Key: awssdk.String("Name"), Value: awssdk.String("web")}, {Key: awssdk.String("aws:cloudformation:stack-id"), Value: awssdk.String("x")},
			{Key: awssdk.String("tier"), Value: awssdk.String("front")}},
		StateReason: &types.StateReason{Message: awssdk.String("Client.UserInitiatedShutdown: User initiated shutdown")},
		SubnetId:    awssdk.String("subnet-1"), PrivateIpAddress: awssdk.String("10.0.0.5"), PublicIpAddress: awssdk.String("3.3.3.3"),
		NetworkInterfaces: []types.InstanceNetworkInterface{{SubnetId: awssdk.String("subnet-1"),
			PrivateIpAddresses: []types.InstancePrivateIpAddress{{PrivateIpAddress: awssdk.String("10.0.0.5"),
				Association: &types.InstanceNetworkInterfaceAssociation{PublicIp: awssdk.String("3.3.3.3")}}},
			Ipv6Addresses: []types.InstanceIpv6Address{{Ipv6Address: awssdk.String("2600::1")}}}},
	}
	s := serverOf("us-east-1", in)
	if s.Name != "web" || len(s.Labels) != 1 || s.Labels["tier"] != "front" || s.Status != providers.StatusStopped ||
		s.ProviderStatus != "stopped" || s.Zone != "us-east-1c" || s.Keypair != "k" || s.FlavorID != "t3.micro" || s.StatusMessage == "" {
		t.Errorf("serverOf = %+v", s)
	}
	addr := func(ip string, v int32, typ string) providers.Address {
		return providers.Address{Network: "subnet-1", IP: ip, Version: v, Type: typ}
	}
	want := []providers.Address{addr("10.0.0.5", 4, "fixed"), addr("3.3.3.3", 4, "floating"), addr("2600::1", 6, "fixed")}
	if len(s.Addresses) != len(want) {
		t.Fatalf("addresses = %+v, want %+v", s.Addresses, want)
	}
	for i := range want {
		if s.Addresses[i] != want[i] {
			t.Errorf("address %d = %+v, want %+v", i, s.Addresses[i], want[i])
		}
	}
}

// An instance terminated behind canopy's back while EC2's describe still
// lagged is not shown as pending from memory.
func TestRecentButTerminatedIsNotListed(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeCloud("us-east-1")
	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "x", FlavorID: "t3.micro", ImageID: "ami-us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	f := fakes["us-east-1"]
	f.mu.Lock()
	f.setState(s.NativeID, types.InstanceStateNameTerminated)
	f.mu.Unlock()
	if list, err := c.ListServers(ctx); err != nil || len(list) != 1 {
		t.Fatalf("while describe lags: %v, %v; want the new server", list, err)
	}
	f.mu.Lock()
	delete(f.invisible, s.NativeID)
	f.mu.Unlock()
	if list, err := c.ListServers(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after it was terminated: %v, %v; want none", list, err)
	}
	if _, err := c.GetServer(ctx, s.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetServer: %v, want ErrNotFound", err)
	}
}

// EC2's ClientToken, against a fake that implements it as EC2 does (the
// first instance returned for a repeated token, IdempotentParameterMismatch
// for the token with other parameters): the adapter sends the spec's
// token, and a retry whose tag look-up misses because describe still lags
// gets the first instance back, in this process or in a restarted one.
// moto ignores ClientToken (TestIdempotencyToken there is a named skip).
func TestClientToken(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeCloud("us-east-1")
	f := fakes["us-east-1"]
	const token = "00000000-0000-4000-8000-000000000001"
	spec := providers.ServerSpec{Name: "once", FlavorID: "t3.micro", ImageID: "ami-us-east-1", IdempotencyToken: token}
	a, err := c.CreateServer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// Describe has not caught up: the look-up by tag finds nothing, so the
	// adapter sends RunInstances again and EC2 answers with the first.
	b, err := c.CreateServer(ctx, spec)
	if err != nil || b.NativeID != a.NativeID {
		t.Fatalf("retried create = %q, %v; want the first instance %q", b.NativeID, err, a.NativeID)
	}
	// A restarted canopyd replaying the create (its guard waits out the
	// window, the look-up still misses) gets the same instance.
	restarted := newCloud("fake", Options{CatalogTTL: time.Hour, ImageOwners: []string{"self"}, CreateWindow: time.Millisecond},
		[]string{"us-east-1"}, map[string]ec2API{"us-east-1": f})
	replay := spec
	replay.Replay = true
	r, err := restarted.CreateServer(ctx, replay)
	if err != nil || r.NativeID != a.NativeID {
		t.Fatalf("replayed create after a restart = %q, %v; want %q", r.NativeID, err, a.NativeID)
	}
	// The same token with other parameters: EC2 refuses, canopy says the
	// token is taken.
	other := spec
	other.FlavorID = "g5.xlarge"
	if s, err := c.CreateServer(ctx, other); !errors.Is(err, providers.ErrAlreadyExists) {
		t.Errorf("same token, other flavor = %q, %v; want ErrAlreadyExists (IdempotentParameterMismatch)", s.NativeID, err)
	}
	f.mu.Lock()
	n, runTokens := len(f.instances), slices.Clone(f.runTokens)
	f.mu.Unlock()
	if n != 1 {
		t.Errorf("%d instances after four creates with one token, want 1", n)
	}
	if want := []string{token, token, token, token}; !slices.Equal(runTokens, want) {
		t.Errorf("RunInstances ClientTokens = %q, want %q", runTokens, want)
	}
	// Once describe shows the instance, the tag look-up answers and no
	// RunInstances is sent.
	f.mu.Lock()
	delete(f.invisible, a.NativeID)
	f.mu.Unlock()
	if s, err := c.CreateServer(ctx, spec); err != nil || s.NativeID != a.NativeID || f.calls["RunInstances"] != 4 {
		t.Errorf("create after describe caught up = %q, %v (RunInstances %d); want %q without a call", s.NativeID, err, f.calls["RunInstances"], a.NativeID)
	}
	// Another token is another instance; no token sends none.
	if s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "two", FlavorID: "t3.micro", ImageID: "ami-us-east-1", IdempotencyToken: "tok-2"}); err != nil || s.NativeID == a.NativeID {
		t.Errorf("create with another token = %q, %v; want a new instance", s.NativeID, err)
	}
	if s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "three", FlavorID: "t3.micro", ImageID: "ami-us-east-1"}); err != nil || s.NativeID == a.NativeID {
		t.Errorf("create without a token = %q, %v; want a new instance", s.NativeID, err)
	}
	if got := f.runTokens[len(f.runTokens)-2:]; got[0] != "tok-2" || got[1] != "" {
		t.Errorf("ClientTokens of the last two launches = %q, want [tok-2 \"\"]", got)
	}
	// A token whose instance was terminated: EC2 answers with the
	// terminated instance; canopy refuses rather than return a dead server.
	f.mu.Lock()
	f.setState(a.NativeID, types.InstanceStateNameTerminated)
	f.mu.Unlock()
	if s, err := c.CreateServer(ctx, spec); !errors.Is(err, providers.ErrAlreadyExists) || !strings.Contains(fmt.Sprint(err), a.NativeID) {
		t.Errorf("create with the token of a terminated instance = %q, %v; want ErrAlreadyExists naming %s", s.NativeID, err, a.NativeID)
	}
}

// Regions offer different instance types (EC2's DescribeInstanceTypes is
// regional): a type offered in one region only is that region's flavor,
// one offered in both is listed once with both regions.
func TestInstanceTypesDifferByRegion(t *testing.T) {
	ctx := context.Background()
	c, fakes := fakeCloud("us-east-1", "eu-west-1")
	size := func(name string, vcpus int32, mib int64) types.InstanceTypeInfo {
		return types.InstanceTypeInfo{InstanceType: types.InstanceType(name), VCpuInfo: &types.VCpuInfo{DefaultVCpus: awssdk.Int32(vcpus)},
			MemoryInfo: &types.MemoryInfo{SizeInMiB: awssdk.Int64(mib)}}
	}
	fakes["us-east-1"].typeSets = []types.InstanceTypeInfo{size("t3.micro", 2, 1024), size("p5.48xlarge", 192, 2097152)}
	fakes["eu-west-1"].typeSets = []types.InstanceTypeInfo{size("t3.micro", 2, 1024), size("m7i.large", 2, 8192)}
	flavors, err := c.ListFlavors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fl := range flavors {
		got[fl.Name] = fl.Region + " " + fl.Properties["regions"]
	}
	want := map[string]string{
		"m7i.large":   "eu-west-1 eu-west-1",
		"p5.48xlarge": "us-east-1 us-east-1",
		"t3.micro":    " eu-west-1,us-east-1",
	}
	if len(got) != len(want) {
		t.Fatalf("flavors (region, regions) = %q, want %q", got, want)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("flavor %s: region, regions = %q, want %q", name, got[name], w)
		}
	}
}
