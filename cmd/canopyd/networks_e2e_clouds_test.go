//go:build openstack && aws

package main

// The clouds' own views for networks_e2e_test.go: what Neutron and Nova
// (gophercloud) and EC2 on moto (aws-sdk-go-v2) hold of a global network
// and group, read without canopy. canopy's answers only say which native
// ids to look at; every fact the test checks comes from here.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// nativeRule is an ingress or egress rule as a cloud holds it.
type nativeRule struct {
	ID, Dir, Proto string
	Min, Max       int32
	CIDR, Group    string
}

func (r nativeRule) String() string {
	return fmt.Sprintf("%s %s %d-%d cidr=%q group=%q (%s)", r.Dir, r.Proto, r.Min, r.Max, r.CIDR, r.Group, r.ID)
}

// findRule finds an ingress tcp rule on one port from a CIDR or a group.
func findRule(rs []nativeRule, port int32, cidr, group string) (nativeRule, bool) {
	for _, r := range rs {
		if r.Dir == "ingress" && r.Proto == "tcp" && r.Min == port && r.Max == port && r.CIDR == cidr && r.Group == group {
			return r, true
		}
	}
	return nativeRule{}, false
}

// netFacts is one cloud's realization of a global network, as the cloud
// holds it.
type netFacts struct {
	network     string // native id
	networkCIDR string // a VPC's own block; empty on Neutron
	subnet      string
	subnetCIDR  string
	router      string // Neutron router / EC2 internet gateway
	gateway     string // what the router's default route goes to: the external network (Neutron), the IGW (EC2 route table)
}

// serverFacts is how a server is attached, as the cloud holds it.
type serverFacts struct {
	network, subnet string
	groups          []string
	fixed, floating []string
}

// nativeCloud is one engine's own API.
type nativeCloud interface {
	name() string
	network(ctx context.Context, native string) (netFacts, error)
	groupRules(ctx context.Context, native string) ([]nativeRule, error)
	// groupNetwork is the network a group belongs to ("" on Neutron,
	// where a group applies to any port).
	groupNetwork(ctx context.Context, native string) (string, error)
	deleteRule(ctx context.Context, group string, r nativeRule) error
	server(ctx context.Context, native string) (serverFacts, error)
	// gone reports which of the given natives the cloud still holds.
	remaining(ctx context.Context, nf netFacts, group, server string) []string
}

// ---- Neutron and Nova ----

type labCloud struct {
	l        *lab
	external string // the external network's id
}

func (c *labCloud) name() string { return "lab" }

func isGone(err error) bool { return gophercloud.ResponseCodeIs(err, http.StatusNotFound) }

func (c *labCloud) network(ctx context.Context, native string) (netFacts, error) {
	f := netFacts{}
	n, err := networks.Get(ctx, c.l.network, native).Extract()
	if err != nil {
		return f, fmt.Errorf("neutron: network %s: %w", native, err)
	}
	f.network = n.ID
	sp, err := subnets.List(c.l.network, subnets.ListOpts{NetworkID: native}).AllPages(ctx)
	if err != nil {
		return f, fmt.Errorf("neutron: subnets of %s: %w", native, err)
	}
	subs, _ := subnets.ExtractSubnets(sp)
	if len(subs) != 1 {
		return f, fmt.Errorf("neutron: network %s has %d subnets, want 1", native, len(subs))
	}
	f.subnet, f.subnetCIDR = subs[0].ID, subs[0].CIDR
	pp, err := ports.List(c.l.network, ports.ListOpts{NetworkID: native, DeviceOwner: "network:router_interface"}).AllPages(ctx)
	if err != nil {
		return f, fmt.Errorf("neutron: router ports of %s: %w", native, err)
	}
	ps, _ := ports.ExtractPorts(pp)
	if len(ps) != 1 {
		return f, fmt.Errorf("neutron: network %s has %d router interfaces, want 1", native, len(ps))
	}
	f.router = ps[0].DeviceID
	r, err := routers.Get(ctx, c.l.network, f.router).Extract()
	if err != nil {
		return f, fmt.Errorf("neutron: router %s: %w", f.router, err)
	}
	f.gateway = r.GatewayInfo.NetworkID
	return f, nil
}

func (c *labCloud) groupRules(ctx context.Context, native string) ([]nativeRule, error) {
	rp, err := rules.List(c.l.network, rules.ListOpts{SecGroupID: native}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("neutron: rules of %s: %w", native, err)
	}
	rs, _ := rules.ExtractRules(rp)
	out := make([]nativeRule, 0, len(rs))
	for _, r := range rs {
		out = append(out, nativeRule{ID: r.ID, Dir: r.Direction, Proto: r.Protocol, Min: int32(r.PortRangeMin), Max: int32(r.PortRangeMax),
			CIDR: r.RemoteIPPrefix, Group: r.RemoteGroupID})
	}
	return out, nil
}

func (c *labCloud) groupNetwork(ctx context.Context, native string) (string, error) {
	_, err := groups.Get(ctx, c.l.network, native).Extract()
	return "", err
}

func (c *labCloud) deleteRule(ctx context.Context, _ string, r nativeRule) error {
	return rules.Delete(ctx, c.l.network, r.ID).ExtractErr()
}

func (c *labCloud) server(ctx context.Context, native string) (serverFacts, error) {
	var f serverFacts
	s, err := servers.Get(ctx, c.l.compute, native).Extract()
	if err != nil {
		return f, fmt.Errorf("nova: server %s: %w", native, err)
	}
	// Nova's addresses: {network name: [{addr, version, OS-EXT-IPS:type}]}.
	for _, list := range s.Addresses {
		as, _ := list.([]any)
		for _, a := range as {
			m, _ := a.(map[string]any)
			ip, _ := m["addr"].(string)
			if m["OS-EXT-IPS:type"] == "floating" {
				f.floating = append(f.floating, ip)
			} else {
				f.fixed = append(f.fixed, ip)
			}
		}
	}
	pp, err := ports.List(c.l.network, ports.ListOpts{DeviceID: native}).AllPages(ctx)
	if err != nil {
		return f, fmt.Errorf("neutron: ports of server %s: %w", native, err)
	}
	ps, _ := ports.ExtractPorts(pp)
	if len(ps) != 1 {
		return f, fmt.Errorf("neutron: server %s has %d ports, want 1", native, len(ps))
	}
	f.network, f.groups = ps[0].NetworkID, ps[0].SecurityGroups
	if len(ps[0].FixedIPs) > 0 {
		f.subnet = ps[0].FixedIPs[0].SubnetID
	}
	return f, nil
}

// floatingOf is Neutron's floating IPs on a server's ports.
func (c *labCloud) floatingOf(ctx context.Context, server string) ([]floatingips.FloatingIP, error) {
	pp, err := ports.List(c.l.network, ports.ListOpts{DeviceID: server}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	ps, _ := ports.ExtractPorts(pp)
	var out []floatingips.FloatingIP
	for _, p := range ps {
		fp, err := floatingips.List(c.l.network, floatingips.ListOpts{PortID: p.ID}).AllPages(ctx)
		if err != nil {
			return nil, err
		}
		fs, _ := floatingips.ExtractFloatingIPs(fp)
		out = append(out, fs...)
	}
	return out, nil
}

func (c *labCloud) remaining(ctx context.Context, nf netFacts, group, server string) []string {
	var out []string
	check := func(what string, err error) {
		if !isGone(err) {
			out = append(out, fmt.Sprintf("%s (%v)", what, err))
		}
	}
	if server != "" {
		s, err := servers.Get(ctx, c.l.compute, server).Extract()
		if err == nil && (strings.EqualFold(s.Status, "DELETED") || s.TaskState == "deleting") {
			err = gophercloud.ErrUnexpectedResponseCode{Actual: http.StatusNotFound}
		}
		check("server "+server, err)
	}
	_, err := networks.Get(ctx, c.l.network, nf.network).Extract()
	check("network "+nf.network, err)
	_, err = subnets.Get(ctx, c.l.network, nf.subnet).Extract()
	check("subnet "+nf.subnet, err)
	_, err = routers.Get(ctx, c.l.network, nf.router).Extract()
	check("router "+nf.router, err)
	_, err = groups.Get(ctx, c.l.network, group).Extract()
	check("security group "+group, err)
	return out
}

// ---- EC2 on moto ----

type motoCloud struct{ api *ec2.Client }

func (c *motoCloud) name() string { return "aws" }

func (c *motoCloud) network(ctx context.Context, native string) (netFacts, error) {
	f := netFacts{}
	vo, err := c.api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{native}})
	if err != nil || len(vo.Vpcs) != 1 {
		return f, fmt.Errorf("ec2: vpc %s: %d, %w", native, lenOr(vo, func(o *ec2.DescribeVpcsOutput) int { return len(o.Vpcs) }), err)
	}
	f.network, f.networkCIDR = native, awssdk.ToString(vo.Vpcs[0].CidrBlock)
	so, err := c.api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: awssdk.String("vpc-id"), Values: []string{native}}}})
	if err != nil {
		return f, fmt.Errorf("ec2: subnets of %s: %w", native, err)
	}
	if len(so.Subnets) != 1 {
		return f, fmt.Errorf("ec2: vpc %s has %d subnets, want 1", native, len(so.Subnets))
	}
	f.subnet, f.subnetCIDR = awssdk.ToString(so.Subnets[0].SubnetId), awssdk.ToString(so.Subnets[0].CidrBlock)
	io, err := c.api.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []types.Filter{{Name: awssdk.String("attachment.vpc-id"), Values: []string{native}}}})
	if err != nil {
		return f, fmt.Errorf("ec2: internet gateways of %s: %w", native, err)
	}
	if len(io.InternetGateways) != 1 {
		return f, fmt.Errorf("ec2: vpc %s has %d internet gateways, want 1", native, len(io.InternetGateways))
	}
	f.router = awssdk.ToString(io.InternetGateways[0].InternetGatewayId)
	// The subnet's route table (its explicit association) and its
	// default route.
	ro, err := c.api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: awssdk.String("association.subnet-id"), Values: []string{f.subnet}}}})
	if err != nil {
		return f, fmt.Errorf("ec2: route tables of %s: %w", f.subnet, err)
	}
	for _, rt := range ro.RouteTables {
		for _, r := range rt.Routes {
			if awssdk.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" {
				f.gateway = awssdk.ToString(r.GatewayId)
			}
		}
	}
	return f, nil
}

func lenOr[T any](o *T, n func(*T) int) int {
	if o == nil {
		return 0
	}
	return n(o)
}

func (c *motoCloud) groupRules(ctx context.Context, native string) ([]nativeRule, error) {
	out, err := c.api.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: awssdk.String("group-id"), Values: []string{native}}}})
	if err != nil {
		return nil, fmt.Errorf("ec2: rules of %s: %w", native, err)
	}
	rs := make([]nativeRule, 0, len(out.SecurityGroupRules))
	for _, r := range out.SecurityGroupRules {
		x := nativeRule{ID: awssdk.ToString(r.SecurityGroupRuleId), Dir: "ingress", Proto: awssdk.ToString(r.IpProtocol),
			Min: awssdk.ToInt32(r.FromPort), Max: awssdk.ToInt32(r.ToPort), CIDR: awssdk.ToString(r.CidrIpv4)}
		if awssdk.ToBool(r.IsEgress) {
			x.Dir = "egress"
		}
		if r.ReferencedGroupInfo != nil {
			x.Group = awssdk.ToString(r.ReferencedGroupInfo.GroupId)
		}
		rs = append(rs, x)
	}
	return rs, nil
}

func (c *motoCloud) groupNetwork(ctx context.Context, native string) (string, error) {
	out, err := c.api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{native}})
	if err != nil {
		return "", err
	}
	if len(out.SecurityGroups) != 1 {
		return "", fmt.Errorf("ec2: security group %s: %d found", native, len(out.SecurityGroups))
	}
	return awssdk.ToString(out.SecurityGroups[0].VpcId), nil
}

func (c *motoCloud) deleteRule(ctx context.Context, group string, r nativeRule) error {
	_, err := c.api.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: awssdk.String(group), SecurityGroupRuleIds: []string{r.ID}})
	return err
}

func (c *motoCloud) server(ctx context.Context, native string) (serverFacts, error) {
	var f serverFacts
	out, err := c.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{native}})
	if err != nil {
		return f, fmt.Errorf("ec2: instance %s: %w", native, err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		return f, fmt.Errorf("ec2: instance %s: not found once", native)
	}
	in := out.Reservations[0].Instances[0]
	f.network, f.subnet = awssdk.ToString(in.VpcId), awssdk.ToString(in.SubnetId)
	// The groups are the interfaces' (as Neutron's are the ports'): moto
	// leaves the instance's own SecurityGroups empty when they were given
	// per interface, where EC2 copies the primary interface's.
	for _, ni := range in.NetworkInterfaces {
		for _, g := range ni.Groups {
			if id := awssdk.ToString(g.GroupId); !slices.Contains(f.groups, id) {
				f.groups = append(f.groups, id)
			}
		}
	}
	sort.Strings(f.groups)
	if ip := awssdk.ToString(in.PrivateIpAddress); ip != "" {
		f.fixed = append(f.fixed, ip)
	}
	if ip := awssdk.ToString(in.PublicIpAddress); ip != "" {
		f.floating = append(f.floating, ip)
	}
	return f, nil
}

// ec2Gone says whether an EC2 error is the resource's NotFound.
func ec2Gone(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "NotFound")
}

func (c *motoCloud) remaining(ctx context.Context, nf netFacts, group, server string) []string {
	var out []string
	if server != "" {
		o, err := c.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{server}})
		if err == nil {
			for _, r := range o.Reservations {
				for _, in := range r.Instances {
					if st := in.State.Name; st != types.InstanceStateNameTerminated && st != types.InstanceStateNameShuttingDown {
						out = append(out, "instance "+server+" ("+string(st)+")")
					}
				}
			}
		} else if !ec2Gone(err) {
			out = append(out, fmt.Sprintf("instance %s (%v)", server, err))
		}
	}
	if o, err := c.api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: awssdk.String("vpc-id"), Values: []string{nf.network}}}}); err != nil || len(o.Vpcs) > 0 {
		out = append(out, fmt.Sprintf("vpc %s (%v)", nf.network, err))
	}
	if o, err := c.api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: awssdk.String("subnet-id"), Values: []string{nf.subnet}}}}); err != nil || len(o.Subnets) > 0 {
		out = append(out, fmt.Sprintf("subnet %s (%v)", nf.subnet, err))
	}
	if o, err := c.api.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []types.Filter{{Name: awssdk.String("internet-gateway-id"), Values: []string{nf.router}}}}); err != nil || len(o.InternetGateways) > 0 {
		out = append(out, fmt.Sprintf("internet gateway %s (%v)", nf.router, err))
	}
	if o, err := c.api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: awssdk.String("group-id"), Values: []string{group}}}}); err != nil || len(o.SecurityGroups) > 0 {
		out = append(out, fmt.Sprintf("security group %s (%v)", group, err))
	}
	return out
}

func (c *motoCloud) subnetCIDR(ctx context.Context, subnet string) (string, error) {
	out, err := c.api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{subnet}})
	if err != nil || len(out.Subnets) != 1 {
		return "", fmt.Errorf("ec2: subnet %s: %v", subnet, err)
	}
	return awssdk.ToString(out.Subnets[0].CidrBlock), nil
}

// groupsLeft reports which of the groups EC2 still holds.
func (c *motoCloud) groupsLeft(ctx context.Context, ids ...string) []string {
	o, err := c.api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: awssdk.String("group-id"), Values: ids}}})
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, g := range o.SecurityGroups {
		out = append(out, awssdk.ToString(g.GroupId))
	}
	return out
}

// defaultSubnet is a subnet of the region's default VPC (the first by id).
func (c *motoCloud) defaultSubnet(ctx context.Context) (string, error) {
	out, err := c.api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: awssdk.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(out.Subnets) == 0 {
		return "", fmt.Errorf("ec2: the default VPC's subnets: %v", err)
	}
	ids := make([]string, 0, len(out.Subnets))
	for _, s := range out.Subnets {
		ids = append(ids, awssdk.ToString(s.SubnetId))
	}
	sort.Strings(ids)
	return ids[0], nil
}

// sweep removes from the shared lab whatever a run left behind under its
// name prefix (and its floating IP), when the test stopped before canopy
// removed it: the lab outlives the test, others use it. It returns what it
// removed.
func (c *labCloud) sweep(ctx context.Context, prefix, fip string) []string {
	var out []string
	if sp, err := servers.List(c.l.compute, servers.ListOpts{Name: "^" + prefix}).AllPages(ctx); err == nil {
		ss, _ := servers.ExtractServers(sp)
		for _, s := range ss {
			if strings.HasPrefix(s.Name, prefix) && servers.Delete(ctx, c.l.compute, s.ID).ExtractErr() == nil {
				out = append(out, "server "+s.ID)
			}
		}
	}
	if fip != "" {
		if fp, err := floatingips.List(c.l.network, floatingips.ListOpts{FloatingIP: fip}).AllPages(ctx); err == nil {
			fs, _ := floatingips.ExtractFloatingIPs(fp)
			for _, f := range fs {
				if floatingips.Delete(ctx, c.l.network, f.ID).ExtractErr() == nil {
					out = append(out, "floating IP "+f.FloatingIP)
				}
			}
		}
	}
	if rp, err := routers.List(c.l.network, routers.ListOpts{}).AllPages(ctx); err == nil {
		rs, _ := routers.ExtractRouters(rp)
		for _, r := range rs {
			if !strings.HasPrefix(r.Name, prefix) {
				continue
			}
			pp, _ := ports.List(c.l.network, ports.ListOpts{DeviceID: r.ID, DeviceOwner: "network:router_interface"}).AllPages(ctx)
			ps, _ := ports.ExtractPorts(pp)
			for _, p := range ps {
				_, _ = routers.RemoveInterface(ctx, c.l.network, r.ID, routers.RemoveInterfaceOpts{PortID: p.ID}).Extract()
			}
			if routers.Delete(ctx, c.l.network, r.ID).ExtractErr() == nil {
				out = append(out, "router "+r.ID)
			}
		}
	}
	// Ports of servers being deleted go with them: a network is tried a
	// few times.
	for try := 0; try < 10; try++ {
		np, err := networks.List(c.l.network, networks.ListOpts{}).AllPages(ctx)
		if err != nil {
			break
		}
		ns, _ := networks.ExtractNetworks(np)
		left := 0
		for _, n := range ns {
			if !strings.HasPrefix(n.Name, prefix) {
				continue
			}
			if networks.Delete(ctx, c.l.network, n.ID).ExtractErr() == nil {
				out = append(out, "network "+n.ID)
			} else {
				left++
			}
		}
		if left == 0 {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if gp, err := groups.List(c.l.network, groups.ListOpts{}).AllPages(ctx); err == nil {
		gs, _ := groups.ExtractGroups(gp)
		for _, g := range gs {
			if strings.HasPrefix(g.Name, prefix) && groups.Delete(ctx, c.l.network, g.ID).ExtractErr() == nil {
				out = append(out, "security group "+g.ID)
			}
		}
	}
	return out
}
