//go:build aws

package aws_test

// Replays of networking creates against moto. EC2 has no client token for
// VPCs, subnets, internet gateways, security groups or Elastic IPs (and
// moto honours none): the adapter tags what it makes with canopy:token and
// a replay finds it by that tag. Each test replays through a second
// adapter, as canopyd does after a crash, so nothing the first one
// remembers can help; the resources are counted with the SDK.

import (
	"context"
	"errors"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
	awsp "github.com/canopy-cloud/canopy/providers/aws"
)

// tagged returns the filter of resources carrying the canopy:token tag.
func tagged(token string) []types.Filter {
	return []types.Filter{{Name: awssdk.String("tag:canopy:token"), Values: []string{token}}}
}

// openMotoWindow opens an adapter on moto with a short create window, so a
// replay that finds nothing does not wait the default 15 s.
func openMotoWindow(t *testing.T, region string, window time.Duration) *awsp.Cloud {
	t.Helper()
	c, err := awsp.New(context.Background(), "moto", awsp.Options{Regions: []string{region}, Endpoint: motoEndpoint(t),
		AccessKeyID: "testing", SecretAccessKey: "testing", CreateWindow: window})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestMotoNetworkReplay: a VPC, a subnet, a router, a port, a security
// group and an Elastic IP created with a token, then created again with the
// token and Replay by a fresh adapter, are the same resource, and moto
// holds one of each.
func TestMotoNetworkReplay(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	const region = "us-east-1"
	first := openMoto(t, []string{region}, nil)
	again := openMotoWindow(t, region, 50*time.Millisecond) // canopyd after a restart
	sdk := ec2Client(t, region)
	labels := map[string]string{"suite": "replay"}

	t.Run("network", func(t *testing.T) {
		spec := providers.NetworkSpec{Name: "replayed", CIDR: "10.20.0.0/16", Labels: labels, IdempotencyToken: "tok-vpc"}
		n, err := first.CreateNetwork(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		spec.Replay = true
		r, err := again.CreateNetwork(ctx, spec)
		if err != nil || r.NativeID != n.NativeID {
			t.Fatalf("replayed CreateNetwork = %s, %v; want %s", r.NativeID, err, n.NativeID)
		}
		if r.Name != "replayed" || r.Properties[providers.PropToken] != "tok-vpc" || r.Labels["suite"] != "replay" {
			t.Errorf("replayed network = %+v: want its name, token and labels", r)
		}
		out, err := sdk.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: tagged("tok-vpc")})
		if err != nil || len(out.Vpcs) != 1 {
			t.Fatalf("VPCs with the token: %d, %v; want 1", len(out.Vpcs), err)
		}

		sspec := providers.SubnetSpec{Name: "sub", NetworkID: n.NativeID, CIDR: "10.20.1.0/24", IdempotencyToken: "tok-subnet"}
		s, err := first.CreateSubnet(ctx, sspec)
		if err != nil {
			t.Fatal(err)
		}
		sspec.Replay = true
		if r, err := again.CreateSubnet(ctx, sspec); err != nil || r.NativeID != s.NativeID {
			t.Fatalf("replayed CreateSubnet = %s, %v; want %s (the CIDR taken by the first would be a conflict)", r.NativeID, err, s.NativeID)
		}

		pspec := providers.PortSpec{Name: "port", SubnetID: s.NativeID, FixedIP: "10.20.1.10", IdempotencyToken: "tok-port"}
		p, err := first.CreatePort(ctx, pspec)
		if err != nil {
			t.Fatal(err)
		}
		pspec.Replay = true
		if r, err := again.CreatePort(ctx, pspec); err != nil || r.NativeID != p.NativeID {
			t.Fatalf("replayed CreatePort = %s, %v; want %s (not: its fixed IP is taken)", r.NativeID, err, p.NativeID)
		}
		enis, err := sdk.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: tagged("tok-port")})
		if err != nil || len(enis.NetworkInterfaces) != 1 {
			t.Fatalf("interfaces with the token: %d, %v; want 1", len(enis.NetworkInterfaces), err)
		}
	})

	t.Run("security group", func(t *testing.T) {
		spec := providers.SecurityGroupSpec{Name: "web", Description: "replayed", Labels: labels, IdempotencyToken: "tok-sg"}
		g, err := first.CreateSecurityGroup(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		spec.Replay = true
		r, err := again.CreateSecurityGroup(ctx, spec)
		if err != nil || r.NativeID != g.NativeID {
			t.Fatalf("replayed CreateSecurityGroup = %s, %v; want %s (not InvalidGroup.Duplicate)", r.NativeID, err, g.NativeID)
		}
		if r.Properties[providers.PropToken] != "tok-sg" || r.Labels["suite"] != "replay" || r.Description != "replayed" {
			t.Errorf("replayed group = %+v", r)
		}
		out, err := sdk.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: tagged("tok-sg")})
		if err != nil || len(out.SecurityGroups) != 1 {
			t.Fatalf("groups with the token: %d, %v; want 1", len(out.SecurityGroups), err)
		}
		// Without Replay and without the token, the name is taken: EC2's
		// InvalidGroup.Duplicate.
		if _, err := first.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "web"}); !errors.Is(err, providers.ErrAlreadyExists) {
			t.Errorf("a second group named web: %v, want ErrAlreadyExists", err)
		}
	})

	t.Run("floating IP", func(t *testing.T) {
		spec := providers.FloatingIPSpec{NetworkID: "amazon", Labels: labels, IdempotencyToken: "tok-eip"}
		f, err := first.AllocateFloatingIP(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		spec.Replay = true
		r, err := again.AllocateFloatingIP(ctx, spec)
		if err != nil || r.NativeID != f.NativeID || r.IP != f.IP {
			t.Fatalf("replayed AllocateFloatingIP = %+v, %v; want %s (%s)", r, err, f.NativeID, f.IP)
		}
		out, err := sdk.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: tagged("tok-eip")})
		if err != nil || len(out.Addresses) != 1 {
			t.Fatalf("addresses with the token: %d, %v; want 1", len(out.Addresses), err)
		}
		all, err := first.ListFloatingIPs(ctx)
		if err != nil || len(all) != 1 {
			t.Errorf("ListFloatingIPs = %d, %v; want the one", len(all), err)
		}
	})

	t.Run("router", func(t *testing.T) {
		spec := providers.RouterSpec{Name: "gw", ExternalNetworkID: "amazon", IdempotencyToken: "tok-igw"}
		r1, err := first.CreateRouter(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		spec.Replay = true
		if r2, err := again.CreateRouter(ctx, spec); err != nil || r2.NativeID != r1.NativeID || r2.ExternalNetworkID != "amazon" {
			t.Fatalf("replayed CreateRouter = %+v, %v; want %s with its gateway", r2, err, r1.NativeID)
		}
		out, err := sdk.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: tagged("tok-igw")})
		if err != nil || len(out.InternetGateways) != 1 {
			t.Fatalf("internet gateways with the token: %d, %v; want 1", len(out.InternetGateways), err)
		}
	})

	// A replay whose first attempt never reached EC2 finds nothing, waits
	// out the create window (counted from the adapter's start: an earlier
	// process sent its attempt before that), and then creates.
	t.Run("nothing to find", func(t *testing.T) {
		start := time.Now()
		fresh := openMotoWindow(t, region, 400*time.Millisecond)
		n, err := fresh.CreateNetwork(ctx, providers.NetworkSpec{Name: "late", CIDR: "10.30.0.0/16", IdempotencyToken: "tok-never-sent", Replay: true})
		if err != nil {
			t.Fatal(err)
		}
		if n.NativeID == "" || time.Since(start) < 400*time.Millisecond {
			t.Errorf("replay with nothing to find = %+v after %s; want a new network once the 400ms window is out", n, time.Since(start))
		}
		out, err := sdk.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: tagged("tok-never-sent")})
		if err != nil || len(out.Vpcs) != 1 {
			t.Fatalf("VPCs with the token: %d, %v; want 1", len(out.Vpcs), err)
		}
	})
}
