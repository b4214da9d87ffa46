package aws

// EC2 instances as providers.Server.

import (
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

func instanceState(in types.Instance) string {
	if in.State == nil {
		return ""
	}
	return string(in.State.Name)
}

// serverOf converts an instance.
func serverOf(region string, in types.Instance) providers.Server {
	state := instanceState(in)
	s := providers.Server{
		Common: providers.Common{
			NativeID: awssdk.ToString(in.InstanceId), Region: region,
			Status: serverStatus(state), ProviderStatus: state,
			Created: awssdk.ToTime(in.LaunchTime),
		},
		FlavorID: string(in.InstanceType), ImageID: awssdk.ToString(in.ImageId), Keypair: awssdk.ToString(in.KeyName),
	}
	s.Labels, s.Name = labelsOf(in.Tags)
	delete(s.Labels, tagToken)
	if len(s.Labels) == 0 {
		s.Labels = nil
	}
	if in.Placement != nil {
		s.Zone = awssdk.ToString(in.Placement.AvailabilityZone)
	}
	if in.StateReason != nil && state != stateRunning && state != statePending {
		s.StatusMessage = awssdk.ToString(in.StateReason.Message)
	}
	props := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			props[k] = v
		}
	}
	set("vpc_id", awssdk.ToString(in.VpcId))
	set("subnet_id", awssdk.ToString(in.SubnetId))
	set("private_dns_name", awssdk.ToString(in.PrivateDnsName))
	set("public_dns_name", awssdk.ToString(in.PublicDnsName))
	set("architecture", string(in.Architecture))
	set("platform_details", awssdk.ToString(in.PlatformDetails))
	set("lifecycle", string(in.InstanceLifecycle))
	set("client_token", awssdk.ToString(in.ClientToken))
	for _, t := range in.Tags {
		if awssdk.ToString(t.Key) == tagToken {
			set("client_token", awssdk.ToString(t.Value))
		}
	}
	// An instance's groups are its interfaces' (EC2 shows their union at
	// the instance too; moto only when the groups were given there, not
	// per interface).
	var groups []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			groups = append(groups, id)
		}
	}
	for _, g := range in.SecurityGroups {
		add(awssdk.ToString(g.GroupId))
	}
	for _, ni := range in.NetworkInterfaces {
		for _, g := range ni.Groups {
			add(awssdk.ToString(g.GroupId))
		}
	}
	set("security_groups", strings.Join(groups, ","))
	s.Properties = props
	s.Addresses = addressesOf(in)
	s.RootVolumeID = rootVolumeOf(in)
	return s
}

// addressesOf lists an instance's IPs: private ones are fixed, public ones
// (EC2's public IPs and Elastic IPs) floating, on the subnet they belong to.
func addressesOf(in types.Instance) []providers.Address {
	var out []providers.Address
	seen := map[string]bool{}
	add := func(network, ip string, version int32, typ string) {
		if ip == "" || seen[ip] {
			return
		}
		seen[ip] = true
		out = append(out, providers.Address{Network: network, IP: ip, Version: version, Type: typ})
	}
	for _, ni := range in.NetworkInterfaces {
		network := awssdk.ToString(ni.SubnetId)
		for _, p := range ni.PrivateIpAddresses {
			add(network, awssdk.ToString(p.PrivateIpAddress), 4, "fixed")
			if p.Association != nil {
				add(network, awssdk.ToString(p.Association.PublicIp), 4, "floating")
			}
		}
		if ni.Association != nil {
			add(network, awssdk.ToString(ni.Association.PublicIp), 4, "floating")
		}
		for _, v6 := range ni.Ipv6Addresses {
			add(network, awssdk.ToString(v6.Ipv6Address), 6, "fixed")
		}
	}
	network := awssdk.ToString(in.SubnetId)
	add(network, awssdk.ToString(in.PrivateIpAddress), 4, "fixed")
	add(network, awssdk.ToString(in.PublicIpAddress), 4, "floating")
	return out
}

func cloneServer(s providers.Server) providers.Server {
	s.Labels = cloneMap(s.Labels)
	s.Properties = cloneMap(s.Properties)
	s.Addresses = append([]providers.Address(nil), s.Addresses...)
	return s
}
