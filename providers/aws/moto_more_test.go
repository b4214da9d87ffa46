//go:build aws

package aws_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
	awsp "github.com/canopy-cloud/canopy/providers/aws"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl canopy"

// waitStatus polls GetServer until the server has the status.
func waitStatus(t *testing.T, c *awsp.Cloud, id string, want providers.Status) providers.Server {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := c.GetServer(context.Background(), id)
		if err == nil && s.Status == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s: not %v after 30s (last %v %q, %v)", id, want, s.Status, s.ProviderStatus, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A server with everything a spec can say: zone, key, subnet and security
// group, user data, labels. Checked through the adapter and behind it.
func TestServerDetails(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	sdk := ec2Client(t, "us-east-1")
	ami := registerImage(t, "us-east-1", "canopy-details")
	vpc, err := sdk.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	subnet, err := sdk.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: awssdk.String("10.1.1.0/24"), AvailabilityZone: awssdk.String("us-east-1c")})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := sdk.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("web"), Description: awssdk.String("web"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	subnetID, sgID := awssdk.ToString(subnet.Subnet.SubnetId), awssdk.ToString(sg.GroupId)

	c := openMoto(t, []string{"us-east-1"}, map[string]any{"instance_types": []any{"t3.micro"}})
	info, err := c.Info(ctx)
	if err != nil || len(info.Regions) != 1 || !contains(info.Zones, "us-east-1a") || !contains(info.Zones, "us-east-1c") {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if _, err := c.CreateKeypair(ctx, "deploy", testKey); err != nil {
		t.Fatal(err)
	}
	userData := []byte("#cloud-config\npackages: [nginx]\n")
	s, err := c.CreateServer(ctx, providers.ServerSpec{
		Name: "web-1", Zone: "us-east-1c", FlavorID: "t3.micro", ImageID: ami, Keypair: "deploy",
		Networks: []string{subnetID, sgID}, UserData: userData, Labels: map[string]string{"team": "infra", "env": "test"},
		IdempotencyToken: "details-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	s = waitStatus(t, c, s.NativeID, providers.StatusActive)
	if s.Name != "web-1" || s.Zone != "us-east-1c" || s.Region != "us-east-1" || s.Keypair != "deploy" || s.FlavorID != "t3.micro" || s.ImageID != ami {
		t.Errorf("server = %+v", s)
	}
	if len(s.Labels) != 2 || s.Labels["team"] != "infra" || s.Labels["env"] != "test" {
		t.Errorf("labels = %v, want team and env only (no Name, no aws: tags)", s.Labels)
	}
	if len(s.Addresses) == 0 || s.Addresses[0].Network != subnetID || !strings.HasPrefix(s.Addresses[0].IP, "10.1.1.") || s.Addresses[0].Type != "fixed" {
		t.Errorf("addresses = %+v, want a fixed 10.1.1.x on %s", s.Addresses, subnetID)
	}
	if s.Properties["subnet_id"] != subnetID || !strings.Contains(s.Properties["security_groups"], sgID) || s.Properties["vpc_id"] != awssdk.ToString(vpc.Vpc.VpcId) {
		t.Errorf("properties = %v", s.Properties)
	}

	// Behind the adapter: the tags, the user data, the placement.
	out, err := sdk.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{s.NativeID}})
	if err != nil {
		t.Fatal(err)
	}
	in := out.Reservations[0].Instances[0]
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[awssdk.ToString(tg.Key)] = awssdk.ToString(tg.Value)
	}
	if tags["Name"] != "web-1" || tags["team"] != "infra" {
		t.Errorf("EC2 tags = %v", tags)
	}
	attr, err := sdk.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: in.InstanceId, Attribute: types.InstanceAttributeNameUserData})
	if err != nil {
		t.Fatal(err)
	}
	if got := awssdk.ToString(attr.UserData.Value); got != base64.StdEncoding.EncodeToString(userData) {
		t.Errorf("EC2 user data = %q, want base64 of %q", got, userData)
	}
	if awssdk.ToString(in.KeyName) != "deploy" || awssdk.ToString(in.SubnetId) != subnetID {
		t.Errorf("EC2 key %q subnet %q", awssdk.ToString(in.KeyName), awssdk.ToString(in.SubnetId))
	}

	// The key pair reads back with its public key where EC2 returns it.
	k, err := c.GetKeypair(ctx, "deploy")
	if err != nil || k.Fingerprint == "" || k.Type != "ssh-ed25519" || k.Properties["key_pair_id"] == "" {
		t.Errorf("GetKeypair = %+v, %v", k, err)
	}
	if err := c.DeleteKeypair(ctx, "deploy"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteServer(ctx, s.NativeID); err != nil {
		t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Bad specs are ErrInvalid (the gRPC INVALID_ARGUMENT), and leave nothing.
func TestCreateServerErrors(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	ami := registerImage(t, "us-east-1", "canopy-errors")
	c := openMoto(t, []string{"us-east-1"}, map[string]any{"instance_types": []any{"t3.micro"}})
	for _, tc := range []struct {
		what string
		spec providers.ServerSpec
	}{
		{"missing key pair", providers.ServerSpec{Keypair: "nope"}},
		{"unknown instance type", providers.ServerSpec{FlavorID: "t9.mega"}},
		{"unknown zone", providers.ServerSpec{Zone: "us-east-1z"}},
		{"zone of another region", providers.ServerSpec{Zone: "eu-west-1a"}},
		{"missing subnet", providers.ServerSpec{Networks: []string{"subnet-0123456789abcdef0"}}},
		{"missing security group", providers.ServerSpec{Networks: []string{"sg-0123456789abcdef0"}}},
		{"network by name", providers.ServerSpec{Networks: []string{"default"}}},
		{"missing image", providers.ServerSpec{ImageID: "ami-0123456789abcdef0"}},
		{"malformed image", providers.ServerSpec{ImageID: "ami-nope-missing"}},
		{"reserved label", providers.ServerSpec{Labels: map[string]string{"aws:owner": "me"}}},
	} {
		spec := tc.spec
		spec.Name = "bad"
		if spec.FlavorID == "" {
			spec.FlavorID = "t3.micro"
		}
		if spec.ImageID == "" {
			spec.ImageID = ami
		}
		if s, err := c.CreateServer(ctx, spec); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: CreateServer = %s, %v; want ErrInvalid", tc.what, s.NativeID, err)
		}
	}
	if list, err := c.ListServers(ctx); err != nil || len(list) != 0 {
		t.Errorf("after failed creates: %d servers, %v", len(list), err)
	}
}

// EC2 keeps terminated instances for a while; canopy shows them gone.
func TestTerminatedInstancesVanish(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	ami := registerImage(t, "us-east-1", "canopy-vanish")
	c := openMoto(t, []string{"us-east-1"}, map[string]any{"instance_types": []any{"t3.micro"}})
	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: "gone", FlavorID: "t3.micro", ImageID: ami})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, s.NativeID, providers.StatusActive)
	if err := c.ServerAction(ctx, s.NativeID, providers.ActionStart); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("start a running server: %v, want ErrConflict (EC2 itself accepts it)", err)
	}
	if err := c.DeleteServer(ctx, s.NativeID); err != nil {
		t.Fatal(err)
	}
	out, err := ec2Client(t, "us-east-1").DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{s.NativeID}})
	if err != nil || out.Reservations[0].Instances[0].State.Name != types.InstanceStateNameTerminated {
		t.Fatalf("EC2 does not show %s terminated: %v", s.NativeID, err)
	}
	if _, err := c.GetServer(ctx, s.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetServer(terminated) = %v, want ErrNotFound", err)
	}
	if list, _ := c.ListServers(ctx); len(list) != 0 {
		t.Errorf("ListServers shows %d servers, want the terminated one left out", len(list))
	}
	if err := c.ServerAction(ctx, s.NativeID, providers.ActionReboot); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("reboot a terminated server: %v, want ErrNotFound", err)
	}
	if err := c.DeleteServer(ctx, s.NativeID); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("delete a terminated server: %v, want ErrNotFound", err)
	}
}

// Lists use the SDK paginators: with small pages they still see everything.
func TestPagination(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	defer awsp.SetPageSizes(5, 5, 5)()
	ami := registerImage(t, "us-east-1", "canopy-pages")
	sdk := ec2Client(t, "us-east-1")
	for i := 0; i < 12; i++ {
		if _, err := sdk.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: awssdk.String(ami), InstanceType: "t3.micro", MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1)}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := sdk.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: awssdk.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	if first.NextToken == nil {
		t.Fatal("moto returned 12 reservations in one page of MaxResults 5")
	}
	c := openMoto(t, []string{"us-east-1"}, map[string]any{"instance_types": []any{"t3.*", "m5.*"}})
	list, err := c.ListServers(ctx)
	if err != nil || len(list) != 12 {
		t.Errorf("ListServers with pages of 5: %d servers, %v; want 12", len(list), err)
	}
	flavors, err := c.ListFlavors(ctx)
	if err != nil || len(flavors) < 10 {
		t.Errorf("ListFlavors: %d, %v", len(flavors), err)
	}
	for _, f := range flavors {
		if !strings.HasPrefix(f.Name, "t3.") && !strings.HasPrefix(f.Name, "m5.") {
			t.Errorf("flavor %s is not allow-listed", f.Name)
		}
	}
}

// AMIs: the owners' (default self) and filtered, never the public catalogue.
func TestImageOwnersAndFilters(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	a := registerImage(t, "us-east-1", "team-a-base")
	b := registerImage(t, "us-east-1", "team-b-base")
	ids := func(list []providers.Image) []string {
		var out []string
		for _, im := range list {
			out = append(out, im.NativeID)
		}
		return out
	}
	self, err := openMoto(t, []string{"us-east-1"}, nil).ListImages(ctx)
	if err != nil || len(self) != 2 {
		t.Fatalf("self images = %v, %v; want %s and %s only", ids(self), err, a, b)
	}
	for _, im := range self {
		if im.Status != providers.StatusActive || im.Properties["owner_id"] == "" || im.Region != "us-east-1" || im.Created.IsZero() {
			t.Errorf("image %+v", im)
		}
	}
	filtered, err := openMoto(t, []string{"us-east-1"}, map[string]any{"image_filters": map[string]any{"name": "team-a-*"}}).ListImages(ctx)
	if err != nil || len(filtered) != 1 || filtered[0].NativeID != a {
		t.Errorf("filtered images = %v, %v; want [%s]", ids(filtered), err, a)
	}
	amazon, err := openMoto(t, []string{"us-east-1"}, map[string]any{"image_owners": []any{"amazon"}}).ListImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if contains(ids(amazon), a) {
		t.Errorf("owner amazon lists our image %s", a)
	}
	if len(amazon) == 0 {
		t.Skip("moto has no AMIs owned by amazon in us-east-1 (MOTO_EC2_LOAD_DEFAULT_AMIS off?)")
	}
}

// EC2's ClientToken makes a retried RunInstances return the first
// instance; canopy passes its server id as the token. moto stores the token
// but launches a new instance on every call, so this can only be shown
// against a fake that implements EC2's semantics: TestClientToken (the
// token sent, the first instance returned for a retry, ErrAlreadyExists for
// the token with other parameters or after its instance was terminated).
func TestIdempotencyToken(t *testing.T) {
	t.Skip("moto ignores RunInstances' ClientToken (a new instance on every call); EC2's semantics are TestClientToken against a fake EC2")
}

// Named skips: what real EC2 does that moto cannot show. Each behaviour is
// covered by a unit test against a fake EC2 instead.

func TestThrottling(t *testing.T) {
	t.Skip("moto never throttles (no RequestLimitExceeded); the mapping to ErrRateLimited with a retry hint is TestMapErr/TestKindOf")
}

func TestDescribeLagsBehindLaunch(t *testing.T) {
	t.Skip("moto's describe calls see an instance as soon as RunInstances returns (EC2 is eventually consistent); TestJustLaunchedInstanceIsVisible covers it")
}

func TestQuota(t *testing.T) {
	t.Skip("moto has no instance or vCPU limits (InstanceLimitExceeded/VcpuLimitExceeded); the mapping to ErrQuota is TestKindOf")
}
