//go:build aws

package main

// The networking crash lineages on moto (test/moto): the story of
// crash_net_test.go against EC2's VPC API — a VPC, a subnet, a security
// group, a network interface, an internet gateway with its route table, an
// Elastic IP, and the globals' realizations made by a RunInstances —
// canopyd killed at every failpoint it passes, the adapter's own included
// (just after EC2 accepted a create, before canopy recorded the answer),
// and what moto holds counted with the AWS SDK.

import (
	"context"
	"fmt"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/canopydtest"
	"github.com/canopy-cloud/canopy/providers"
)

// ec2Tags reads the Name, the labels and canopy's token from EC2 tags.
func ec2Tags(tags []types.Tag) (name string, labels map[string]string, token string) {
	labels = map[string]string{}
	for _, tg := range tags {
		k, v := awssdk.ToString(tg.Key), awssdk.ToString(tg.Value)
		switch k {
		case "Name":
			name = v
		case "canopy:token":
			token = v
		default:
			labels[k] = v
		}
	}
	return name, labels, token
}

// motoNetHolds lists what moto holds of a networking story. A router's
// interfaces are the subnet associations of the route tables tagged for
// its internet gateway; a second such table is a leak, reported as an
// interface on "<second route table>".
func motoNetHolds(t *testing.T, api *ec2.Client, s *netStory) netHolds {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newNetHolds()
	add := func(kind, id string, tags []types.Tag) {
		name, labels, token := ec2Tags(tags)
		if s.mine(name, labels, token) {
			h.add(kind, id, token)
		}
	}
	fail := func(what string, err error) {
		t.Fatalf("ec2: describe %s: %v", what, err)
	}
	vp := ec2.NewDescribeVpcsPaginator(api, &ec2.DescribeVpcsInput{})
	for vp.HasMorePages() {
		out, err := vp.NextPage(ctx)
		if err != nil {
			fail("vpcs", err)
		}
		for _, x := range out.Vpcs {
			add(providers.KindNetwork, awssdk.ToString(x.VpcId), x.Tags)
		}
	}
	sp := ec2.NewDescribeSubnetsPaginator(api, &ec2.DescribeSubnetsInput{})
	for sp.HasMorePages() {
		out, err := sp.NextPage(ctx)
		if err != nil {
			fail("subnets", err)
		}
		for _, x := range out.Subnets {
			add(providers.KindSubnet, awssdk.ToString(x.SubnetId), x.Tags)
		}
	}
	ep := ec2.NewDescribeNetworkInterfacesPaginator(api, &ec2.DescribeNetworkInterfacesInput{})
	for ep.HasMorePages() {
		out, err := ep.NextPage(ctx)
		if err != nil {
			fail("network interfaces", err)
		}
		for _, x := range out.NetworkInterfaces {
			add(providers.KindPort, awssdk.ToString(x.NetworkInterfaceId), x.TagSet)
		}
	}
	gp := ec2.NewDescribeInternetGatewaysPaginator(api, &ec2.DescribeInternetGatewaysInput{})
	for gp.HasMorePages() {
		out, err := gp.NextPage(ctx)
		if err != nil {
			fail("internet gateways", err)
		}
		for _, x := range out.InternetGateways {
			add(providers.KindRouter, awssdk.ToString(x.InternetGatewayId), x.Tags)
		}
	}
	rp := ec2.NewDescribeRouteTablesPaginator(api, &ec2.DescribeRouteTablesInput{})
	tables := map[string]int{}
	for rp.HasMorePages() {
		out, err := rp.NextPage(ctx)
		if err != nil {
			fail("route tables", err)
		}
		for _, x := range out.RouteTables {
			igw := ""
			for _, tg := range x.Tags {
				if awssdk.ToString(tg.Key) == "canopy:router" {
					igw = awssdk.ToString(tg.Value)
				}
			}
			if _, ours := h.res[providers.KindRouter][igw]; !ours {
				continue
			}
			if tables[igw]++; tables[igw] > 1 {
				h.ifaces[igw] = append(h.ifaces[igw], "<second route table "+awssdk.ToString(x.RouteTableId)+">")
			}
			for _, a := range x.Associations {
				if sn := awssdk.ToString(a.SubnetId); sn != "" {
					h.ifaces[igw] = append(h.ifaces[igw], sn)
				}
			}
		}
	}
	gsp := ec2.NewDescribeSecurityGroupsPaginator(api, &ec2.DescribeSecurityGroupsInput{})
	for gsp.HasMorePages() {
		out, err := gsp.NextPage(ctx)
		if err != nil {
			fail("security groups", err)
		}
		for _, x := range out.SecurityGroups {
			name, labels, token := ec2Tags(x.Tags)
			if name == "" {
				name = awssdk.ToString(x.GroupName) // a group's name is its GroupName
			}
			if s.mine(name, labels, token) {
				h.add(providers.KindSecurityGroup, awssdk.ToString(x.GroupId), token)
			}
		}
	}
	addrs, err := api.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		fail("addresses", err)
	}
	for _, x := range addrs.Addresses {
		add(providers.KindFloatingIP, awssdk.ToString(x.AllocationId), x.Tags)
	}
	ip := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{})
	for ip.HasMorePages() {
		out, err := ip.NextPage(ctx)
		if err != nil {
			fail("instances", err)
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				st := in.State.Name
				name, labels, token := ec2Tags(in.Tags)
				if s.mine(name, labels, token) && st != types.InstanceStateNameTerminated && st != types.InstanceStateNameShuttingDown {
					h.add(providers.KindServer, awssdk.ToString(in.InstanceId), "")
				}
			}
		}
	}
	return h
}

// motoNetSweep removes, with the SDK, what a networking story left in moto,
// dependents first.
func motoNetSweep(t *testing.T, api *ec2.Client, s *netStory) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		h := motoNetHolds(t, api, s)
		if h.empty() {
			return
		}
		t.Logf("moto: sweeping %v", h)
		if ids := h.natives(providers.KindServer); len(ids) > 0 {
			_, _ = api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
		}
		for _, id := range h.natives(providers.KindFloatingIP) {
			_, _ = api.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: awssdk.String(id)})
		}
		for _, id := range h.natives(providers.KindRouter) {
			tables, _ := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: awssdk.String("tag:canopy:router"), Values: []string{id}}}})
			if tables != nil {
				for _, rt := range tables.RouteTables {
					for _, a := range rt.Associations {
						_, _ = api.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId})
					}
					_, _ = api.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: rt.RouteTableId})
				}
			}
			g, _ := api.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{id}})
			if g != nil {
				for _, x := range g.InternetGateways {
					for _, a := range x.Attachments {
						_, _ = api.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: awssdk.String(id), VpcId: a.VpcId})
					}
				}
			}
			_, _ = api.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: awssdk.String(id)})
		}
		for _, id := range h.natives(providers.KindPort) {
			_, _ = api.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: awssdk.String(id)})
		}
		for _, id := range h.natives(providers.KindSecurityGroup) {
			_, _ = api.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: awssdk.String(id)})
		}
		for _, id := range h.natives(providers.KindSubnet) {
			_, _ = api.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: awssdk.String(id)})
		}
		for _, id := range h.natives(providers.KindNetwork) {
			_, _ = api.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: awssdk.String(id)})
		}
		time.Sleep(time.Second)
	}
	t.Errorf("moto: %s* not all removed: %v", s.prefix, motoNetHolds(t, api, s))
}

// TestCrashSafetyAWSNetworks runs the networking crash lineages on moto;
// test/moto/test.sh runs it with TestCrashSafetyAWS.
func TestCrashSafetyAWSNetworks(t *testing.T) {
	api, endpoint := motoEC2(t)
	run := fmt.Sprintf("ncrash%d", time.Now().Unix()%1000000)
	image := run + "-image"
	if _, err := api.RegisterImage(context.Background(), &ec2.RegisterImageInput{
		Name: awssdk.String(image), Architecture: types.ArchitectureValuesX8664, RootDeviceName: awssdk.String("/dev/xvda"),
		VirtualizationType: awssdk.String("hvm"),
	}); err != nil {
		t.Fatalf("register image: %v", err)
	}
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: aws
    kind: aws
    regions: [%s]
    options:
      endpoint: %s
      access_key_id: testing
      secret_access_key: testing
      instance_types: [t3.micro]
      create_window: 2s
wait:
  min_interval: 50ms
  max_interval: 500ms
auth:
  issuer_url: http://canopy.crash.test
`, motoRegion, endpoint))
	var swept []*netStory
	eng := crashRun{cfg: cfg, cloud: "aws", together: true, story: func(lineage int) crashStory {
		s := &netStory{cloud: "aws", cfg: cfg, prefix: fmt.Sprintf("%s-%d-", run, lineage+1), real: true,
			ext: "internet", flavor: "t3.micro", image: image,
			netCIDR: "10.151.0.0/16", subCIDR: "10.151.1.0/24", globalCIDR: "10.152.0.0/16",
			timeout: 2 * time.Minute, ids: map[string]string{},
			holds: func(t *testing.T, _ string, s *netStory) netHolds { return motoNetHolds(t, api, s) },
			sweep: func(t *testing.T, s *netStory) { motoNetSweep(t, api, s) }}
		swept = append(swept, s)
		return s
	}}
	t.Cleanup(func() {
		for _, s := range swept {
			motoNetSweep(t, api, s)
		}
	})
	runRealCrash(t, eng)
}
