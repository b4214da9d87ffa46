package aws

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// Security group rules: EC2's security group rules (sgr-…) in the
// contract's form (providers.SecurityRule), and back.
//
//   - Protocol: EC2's "-1" (all) is ""; "58" (EC2's spelling of ICMPv6) is
//     "icmpv6"; tcp, udp, icmp and other protocol numbers are as EC2 says.
//     A create given 6, 17, 1 or 58 sends EC2 the name, which EC2 keeps.
//   - Ports: tcp and udp 0-65535 (EC2's "all ports") is 0, 0; ICMP type and
//     code are PortMin and PortMax, -1 any, as EC2 has them; other
//     protocols have none (0, 0).
//   - Remote: EC2 needs a source or destination: a rule asked with none
//     ("any") is made with 0.0.0.0/0 or ::/0 (by its ether type), and reads
//     back so, as EC2 holds it. A group reference is RemoteGroupID, ether
//     type IPv4 (EC2 applies it to both families). A prefix list (pl-…),
//     which the contract has no field for, is shown as RemoteCIDR pl-…
//     rather than hidden.

// ruleOf converts an EC2 security group rule.
func ruleOf(r types.SecurityGroupRule) providers.SecurityRule {
	out := providers.SecurityRule{
		NativeID: awssdk.ToString(r.SecurityGroupRuleId), Direction: providers.Ingress, EtherType: providers.IPv4,
		Description: awssdk.ToString(r.Description),
	}
	if awssdk.ToBool(r.IsEgress) {
		out.Direction = providers.Egress
	}
	from, to := awssdk.ToInt32(r.FromPort), awssdk.ToInt32(r.ToPort)
	switch p := awssdk.ToString(r.IpProtocol); p {
	case "-1", "":
	case "tcp", "udp", "6", "17":
		out.Protocol = map[string]string{"6": "tcp", "17": "udp"}[p]
		if out.Protocol == "" {
			out.Protocol = p
		}
		if !(from == 0 && to == 65535) && !(from == -1 && to == -1) {
			out.PortMin, out.PortMax = from, to
		}
	case "icmp", "1", "icmpv6", "58":
		out.Protocol = "icmp"
		if p == "icmpv6" || p == "58" {
			out.Protocol = "icmpv6"
		}
		out.PortMin, out.PortMax = from, to
		if r.FromPort == nil {
			out.PortMin = -1
		}
		if r.ToPort == nil {
			out.PortMax = -1
		}
	default:
		out.Protocol = p
	}
	switch {
	case awssdk.ToString(r.CidrIpv4) != "":
		out.RemoteCIDR = awssdk.ToString(r.CidrIpv4)
	case awssdk.ToString(r.CidrIpv6) != "":
		out.EtherType, out.RemoteCIDR = providers.IPv6, awssdk.ToString(r.CidrIpv6)
	case r.ReferencedGroupInfo != nil && awssdk.ToString(r.ReferencedGroupInfo.GroupId) != "":
		out.RemoteGroupID = awssdk.ToString(r.ReferencedGroupInfo.GroupId)
	case awssdk.ToString(r.PrefixListId) != "":
		out.RemoteCIDR = awssdk.ToString(r.PrefixListId)
	}
	return out
}

// permissionOf turns a contract rule into the IpPermission EC2 takes,
// refusing what is malformed or what EC2 cannot express.
func permissionOf(rule providers.SecurityRule) (types.IpPermission, error) {
	var perm types.IpPermission
	if rule.Direction != providers.Ingress && rule.Direction != providers.Egress {
		return perm, fmt.Errorf("%w: direction %q: want %s or %s", providers.ErrInvalid, rule.Direction, providers.Ingress, providers.Egress)
	}
	if rule.RemoteCIDR != "" && rule.RemoteGroupID != "" {
		return perm, fmt.Errorf("%w: remote_cidr and remote_group_id are both set (at most one)", providers.ErrInvalid)
	}
	ether := rule.EtherType
	var cidr netip.Prefix
	if rule.RemoteCIDR != "" {
		p, err := parseCIDR("remote_cidr", rule.RemoteCIDR)
		if err != nil {
			return perm, err
		}
		cidr = p
		fam := providers.IPv4
		if p.Addr().Is6() {
			fam = providers.IPv6
		}
		if ether != "" && ether != fam {
			return perm, fmt.Errorf("%w: remote_cidr %s is %s, the rule's ether type %s", providers.ErrInvalid, rule.RemoteCIDR, fam, ether)
		}
		ether = fam
	}
	switch ether {
	case "":
		ether = providers.IPv4
	case providers.IPv4, providers.IPv6:
	default:
		return perm, fmt.Errorf("%w: ether type %q: want %s or %s", providers.ErrInvalid, rule.EtherType, providers.IPv4, providers.IPv6)
	}
	proto := strings.ToLower(rule.Protocol)
	switch proto {
	case "", "any", "-1":
		proto = "-1"
	case "6":
		proto = "tcp"
	case "17":
		proto = "udp"
	case "1":
		proto = "icmp"
	case "icmpv6", "ipv6-icmp", "58":
		proto = "58"
	case "tcp", "udp", "icmp":
	default:
		n, err := strconv.Atoi(proto)
		if err != nil || n < 0 || n > 255 {
			return perm, fmt.Errorf("%w: protocol %q: want tcp, udp, icmp, icmpv6 or a number 0-255", providers.ErrInvalid, rule.Protocol)
		}
	}
	perm.IpProtocol = awssdk.String(proto)
	lo, hi := rule.PortMin, rule.PortMax
	switch proto {
	case "tcp", "udp":
		switch {
		case lo == 0 && hi == 0:
			lo, hi = 0, 65535
		case lo < 1 || hi > 65535 || lo > hi:
			return perm, fmt.Errorf("%w: port range %d-%d: want 1 <= min <= max <= 65535 (0, 0: all)", providers.ErrInvalid, lo, hi)
		}
		perm.FromPort, perm.ToPort = awssdk.Int32(lo), awssdk.Int32(hi)
	case "icmp", "58":
		if lo < -1 || lo > 255 || hi < -1 || hi > 255 || (lo == -1 && hi != -1) {
			return perm, fmt.Errorf("%w: icmp type %d code %d: want -1..255 each (-1: any; a code needs a type)", providers.ErrInvalid, lo, hi)
		}
		perm.FromPort, perm.ToPort = awssdk.Int32(lo), awssdk.Int32(hi)
	default:
		if lo != 0 || hi != 0 {
			return perm, fmt.Errorf("%w: port range %d-%d: protocol %s has no ports on EC2", providers.ErrInvalid, lo, hi, rule.Protocol)
		}
	}
	desc := awssdk.String(rule.Description)
	if rule.Description == "" {
		desc = nil
	}
	switch {
	case rule.RemoteGroupID != "":
		perm.UserIdGroupPairs = []types.UserIdGroupPair{{GroupId: awssdk.String(rule.RemoteGroupID), Description: desc}}
	case ether == providers.IPv6:
		c := "::/0"
		if cidr.IsValid() {
			c = cidr.String()
		}
		perm.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: awssdk.String(c), Description: desc}}
	default:
		c := "0.0.0.0/0"
		if cidr.IsValid() {
			c = cidr.String()
		}
		perm.IpRanges = []types.IpRange{{CidrIp: awssdk.String(c), Description: desc}}
	}
	return perm, nil
}

// describeRules lists a region's security group rules matching the input.
func describeRules(ctx context.Context, region string, api netAPI, in *ec2.DescribeSecurityGroupRulesInput) ([]types.SecurityGroupRule, error) {
	return allPages(ctx, region, "security group rules", ec2.NewDescribeSecurityGroupRulesPaginator(api, in), func(p *ec2.DescribeSecurityGroupRulesOutput) []types.SecurityGroupRule { return p.SecurityGroupRules })
}

// AddSecurityRule implements providers.SecurityGroups with
// AuthorizeSecurityGroupIngress or -Egress. A rule the group has already
// is EC2's InvalidPermission.Duplicate, ErrAlreadyExists; a remote group
// EC2 does not know is ErrInvalid naming remote_group_id.
func (c *Cloud) AddSecurityRule(ctx context.Context, groupID string, rule providers.SecurityRule) (providers.SecurityRule, error) {
	if err := c.check(); err != nil {
		return providers.SecurityRule{}, err
	}
	perm, err := permissionOf(rule)
	if err != nil {
		return providers.SecurityRule{}, fmt.Errorf("aws: add rule to security group %s: %w", groupID, err)
	}
	region, _, err := c.describeGroup(ctx, groupID)
	if err != nil {
		return providers.SecurityRule{}, err
	}
	api, err := c.netClient(region)
	if err != nil {
		return providers.SecurityRule{}, err
	}
	var (
		rules []types.SecurityGroupRule
		sent  int
	)
	if rule.Direction == providers.Ingress {
		var out *ec2.AuthorizeSecurityGroupIngressOutput
		out, sent, err = attempted(ctx, api.AuthorizeSecurityGroupIngress, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: awssdk.String(groupID), IpPermissions: []types.IpPermission{perm}})
		if err == nil {
			rules = out.SecurityGroupRules
		}
	} else {
		var out *ec2.AuthorizeSecurityGroupEgressOutput
		out, sent, err = attempted(ctx, api.AuthorizeSecurityGroupEgress, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: awssdk.String(groupID), IpPermissions: []types.IpPermission{perm}})
		if err == nil {
			rules = out.SecurityGroupRules
		}
	}
	if madeBefore(err, sent, "InvalidPermission.Duplicate") {
		// A retry after a lost answer (attempts.go): the rule the first
		// attempt added is the answer.
		if r, ok := c.findRule(ctx, region, api, groupID, rule.Direction == providers.Egress, perm); ok {
			return r, nil
		}
	}
	if err != nil {
		return providers.SecurityRule{}, ruleFail(err, rule, groupID)
	}
	if len(rules) == 0 {
		return providers.SecurityRule{}, fmt.Errorf("aws: add rule to security group %s: %w: EC2 answered without the rule's id", groupID, providers.ErrUnavailable)
	}
	return ruleOf(rules[0]), nil
}

// findRule looks in the group for the rule perm adds (in the direction
// egress says), compared in canopy's form (ruleOf) so that EC2's way of
// writing it does not matter.
func (c *Cloud) findRule(ctx context.Context, region string, api netAPI, groupID string, egress bool, perm types.IpPermission) (providers.SecurityRule, bool) {
	want := types.SecurityGroupRule{IsEgress: awssdk.Bool(egress), IpProtocol: perm.IpProtocol, FromPort: perm.FromPort, ToPort: perm.ToPort}
	switch {
	case len(perm.UserIdGroupPairs) > 0:
		want.ReferencedGroupInfo = &types.ReferencedSecurityGroup{GroupId: perm.UserIdGroupPairs[0].GroupId}
		want.Description = perm.UserIdGroupPairs[0].Description
	case len(perm.Ipv6Ranges) > 0:
		want.CidrIpv6, want.Description = perm.Ipv6Ranges[0].CidrIpv6, perm.Ipv6Ranges[0].Description
	case len(perm.IpRanges) > 0:
		want.CidrIpv4, want.Description = perm.IpRanges[0].CidrIp, perm.IpRanges[0].Description
	}
	w := ruleOf(want)
	rules, err := describeRules(ctx, region, api, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: awssdk.String("group-id"), Values: []string{groupID}}}})
	if err != nil {
		return providers.SecurityRule{}, false
	}
	for _, r := range rules {
		if got := ruleOf(r); awssdk.ToString(r.GroupId) == groupID && got.NativeID != "" {
			w.NativeID = got.NativeID
			if got == w {
				return got, true
			}
		}
	}
	return providers.SecurityRule{}, false
}

// ruleFail maps an authorize error, naming remote_group_id when that is
// what EC2 did not find.
func ruleFail(err error, rule providers.SecurityRule, groupID string) error {
	e := netFail(err, target, "add %s rule to security group %s", rule.Direction, groupID)
	if code := awsCode(e); rule.RemoteGroupID != "" && strings.HasPrefix(code, "InvalidGroup") && (strings.HasSuffix(code, "NotFound") || strings.HasSuffix(code, "Malformed")) {
		// Which group is missing: the target was found a moment ago.
		return fmt.Errorf("aws: add rule to security group %s: %w: remote_group_id %s: no such security group (%v)", groupID, providers.ErrInvalid, rule.RemoteGroupID, e)
	}
	return e
}

// DeleteSecurityRule implements providers.SecurityGroups: it revokes the
// rule by its id. A rule that is not there, or not the group's, is
// ErrNotFound.
func (c *Cloud) DeleteSecurityRule(ctx context.Context, groupID, ruleID string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, _, err := c.describeGroup(ctx, groupID)
	if err != nil {
		return err
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(ruleID, "sgr-") {
		return fmt.Errorf("aws: security group %s rule %q: %w", groupID, ruleID, providers.ErrNotFound)
	}
	rules, err := describeRules(ctx, region, api, &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{ruleID}})
	if err != nil {
		return err
	}
	var found *types.SecurityGroupRule
	for i := range rules {
		if awssdk.ToString(rules[i].SecurityGroupRuleId) == ruleID && awssdk.ToString(rules[i].GroupId) == groupID {
			found = &rules[i]
		}
	}
	if found == nil {
		return fmt.Errorf("aws: security group %s rule %s: %w", groupID, ruleID, providers.ErrNotFound)
	}
	if awssdk.ToBool(found.IsEgress) {
		_, err = api.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: awssdk.String(groupID), SecurityGroupRuleIds: []string{ruleID}})
	} else {
		_, err = api.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: awssdk.String(groupID), SecurityGroupRuleIds: []string{ruleID}})
	}
	if err != nil {
		return netFail(err, target, "revoke rule %s of security group %s in %s", ruleID, groupID, region)
	}
	return nil
}
