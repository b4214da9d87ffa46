package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
)

// Security groups are VPC security groups (sg-…), each in one VPC (its
// NetworkID); rules are in secrules.go. A group's name is its GroupName,
// unique in its VPC (a second one is EC2's InvalidGroup.Duplicate,
// ErrAlreadyExists). EC2 requires a description: a group created without
// one gets its name as description, and reports it so.

// describeGroups lists a region's security groups matching the input.
func describeGroups(ctx context.Context, region string, api netAPI, in *ec2.DescribeSecurityGroupsInput) ([]types.SecurityGroup, error) {
	return allPages(ctx, region, "security groups", ec2.NewDescribeSecurityGroupsPaginator(api, in), func(p *ec2.DescribeSecurityGroupsOutput) []types.SecurityGroup { return p.SecurityGroups })
}

// groupOf converts a security group and its rules.
func groupOf(region string, g types.SecurityGroup, rules []types.SecurityGroupRule) providers.SecurityGroup {
	out := providers.SecurityGroup{
		Common:      common(awssdk.ToString(g.GroupId), region, g.Tags),
		Description: awssdk.ToString(g.Description),
		NetworkID:   awssdk.ToString(g.VpcId),
	}
	out.Name = awssdk.ToString(g.GroupName)
	out.Status, out.ProviderStatus = providers.StatusActive, "available"
	for _, r := range rules {
		out.Rules = append(out.Rules, ruleOf(r))
	}
	sort.SliceStable(out.Rules, func(i, j int) bool { return out.Rules[i].NativeID < out.Rules[j].NativeID })
	return out
}

// groupsIn converts a region's security groups with their rules: all the
// region's rules in one listing when there are many groups, else per group.
func groupsIn(ctx context.Context, region string, api netAPI, groups []types.SecurityGroup) ([]providers.SecurityGroup, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	in := &ec2.DescribeSecurityGroupRulesInput{}
	if len(groups) <= 50 {
		ids := make([]string, 0, len(groups))
		for _, g := range groups {
			ids = append(ids, awssdk.ToString(g.GroupId))
		}
		in.Filters = []types.Filter{filter("group-id", ids...)}
	}
	rules, err := describeRules(ctx, region, api, in)
	if err != nil {
		return nil, err
	}
	byGroup := map[string][]types.SecurityGroupRule{}
	for _, r := range rules {
		g := awssdk.ToString(r.GroupId)
		byGroup[g] = append(byGroup[g], r)
	}
	out := make([]providers.SecurityGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, groupOf(region, g, byGroup[awssdk.ToString(g.GroupId)]))
	}
	return out, nil
}

// ListSecurityGroups implements providers.SecurityGroups: the security
// groups of every region, each VPC's default group included.
func (c *Cloud) ListSecurityGroups(ctx context.Context) ([]providers.SecurityGroup, error) {
	return listEachRegion(ctx, c, func(g providers.SecurityGroup) string { return g.NativeID },
		func(ctx context.Context, region string, api netAPI) ([]providers.SecurityGroup, error) {
			groups, err := describeGroups(ctx, region, api, &ec2.DescribeSecurityGroupsInput{})
			if err != nil {
				return nil, err
			}
			return groupsIn(ctx, region, api, groups)
		})
}

// describeGroup finds a security group by id.
func (c *Cloud) describeGroup(ctx context.Context, id string) (string, types.SecurityGroup, error) {
	return locateByID(ctx, c, "security group", "sg-", id, func(ctx context.Context, region string, api netAPI) ([]types.SecurityGroup, error) {
		return describeGroups(ctx, region, api, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	})
}

// GetSecurityGroup implements providers.SecurityGroups.
func (c *Cloud) GetSecurityGroup(ctx context.Context, id string) (providers.SecurityGroup, error) {
	if err := c.check(); err != nil {
		return providers.SecurityGroup{}, err
	}
	region, g, err := c.describeGroup(ctx, id)
	if err != nil {
		return providers.SecurityGroup{}, err
	}
	api, err := c.netClient(region)
	if err != nil {
		return providers.SecurityGroup{}, err
	}
	out, err := groupsIn(ctx, region, api, []types.SecurityGroup{g})
	if err != nil {
		return providers.SecurityGroup{}, err
	}
	return out[0], nil
}

// CreateSecurityGroup implements providers.SecurityGroups with
// CreateSecurityGroup in the spec's VPC (its region), else the default VPC
// of the region of the spec's zone (else of the cloud's first). The group
// keeps the rule EC2 gives every new group (all egress to 0.0.0.0/0).
func (c *Cloud) CreateSecurityGroup(ctx context.Context, spec providers.SecurityGroupSpec) (providers.SecurityGroup, error) {
	if err := c.check(); err != nil {
		return providers.SecurityGroup{}, err
	}
	if spec.Name == "" {
		return providers.SecurityGroup{}, fmt.Errorf("aws: create security group: %w: name is required (EC2's GroupName)", providers.ErrInvalid)
	}
	if strings.HasPrefix(strings.ToLower(spec.Name), "sg-") {
		return providers.SecurityGroup{}, fmt.Errorf("aws: create security group %q: %w: name: EC2 refuses names starting with sg-", spec.Name, providers.ErrInvalid)
	}
	tags, err := netTags(types.ResourceTypeSecurityGroup, "security group", "", spec.Labels, spec.IdempotencyToken, nil)
	if err != nil {
		return providers.SecurityGroup{}, err
	}
	region, api, err := c.netRegion(ctx, spec.Zone)
	if err != nil {
		return providers.SecurityGroup{}, err
	}
	if spec.NetworkID != "" {
		r, _, err := c.describeVpc(ctx, spec.NetworkID)
		if isNotFound(err) {
			return providers.SecurityGroup{}, fmt.Errorf("aws: create security group %q: %w: network_id %s: no such network", spec.Name, providers.ErrInvalid, spec.NetworkID)
		}
		if err != nil {
			return providers.SecurityGroup{}, err
		}
		if spec.Zone != "" && r != region {
			return providers.SecurityGroup{}, fmt.Errorf("aws: create security group %q: %w: zone %s is in region %s, network %s in %s",
				spec.Name, providers.ErrInvalid, spec.Zone, region, spec.NetworkID, r)
		}
		region = r
		if api, err = c.netClient(region); err != nil {
			return providers.SecurityGroup{}, err
		}
	}
	desc := spec.Description
	if desc == "" {
		desc = spec.Name
	}
	in := &ec2.CreateSecurityGroupInput{GroupName: awssdk.String(spec.Name), Description: awssdk.String(desc), TagSpecifications: tags}
	if spec.NetworkID != "" {
		in.VpcId = awssdk.String(spec.NetworkID)
	}
	find := replayByToken(spec.IdempotencyToken, func(ctx context.Context, by []types.Filter) ([]types.SecurityGroup, error) {
		return describeGroups(ctx, region, api, &ec2.DescribeSecurityGroupsInput{Filters: by})
	})
	create := func(ctx context.Context) (types.SecurityGroup, error) {
		out, err := api.CreateSecurityGroup(failpoint.Sent(ctx, "aws/security-group:sent"), in, once(spec.IdempotencyToken)...)
		if err != nil {
			return types.SecurityGroup{}, netFail(err, reference, "create security group %q in %s", spec.Name, region)
		}
		failpoint.Hit("aws/security-group:posted")
		return types.SecurityGroup{GroupId: out.GroupId}, nil
	}
	g, _, err := providers.FindOrCreate(ctx, c.replays, spec.IdempotencyToken, spec.Replay, find, create)
	if err != nil {
		return providers.SecurityGroup{}, err
	}
	id := awssdk.ToString(g.GroupId)
	c.remember(id, region)
	// CreateSecurityGroup answers with the id only: read the group back,
	// with the egress rule EC2 added.
	return c.GetSecurityGroup(ctx, id)
}

// DeleteSecurityGroup implements providers.SecurityGroups. A group that
// network interfaces (so servers) use, or that another group's rules name,
// is a conflict naming them: EC2 refuses both (DependencyViolation), moto
// deletes the group all the same, so the adapter looks first. A VPC's
// default group cannot be deleted (EC2's CannotDelete, a conflict).
func (c *Cloud) DeleteSecurityGroup(ctx context.Context, id string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, _, err := c.describeGroup(ctx, id)
	if err != nil {
		return err
	}
	api, err := c.netClient(region)
	if err != nil {
		return err
	}
	enis, err := describeENIs(ctx, region, api, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{filter("group-id", id)}})
	if err != nil {
		return err
	}
	if len(enis) > 0 {
		var users []string
		for _, e := range enis {
			u := "port " + awssdk.ToString(e.NetworkInterfaceId)
			if e.Attachment != nil && awssdk.ToString(e.Attachment.InstanceId) != "" {
				u += " (server " + awssdk.ToString(e.Attachment.InstanceId) + ")"
			}
			users = append(users, u)
		}
		return fmt.Errorf("aws: delete security group %s: %w: %s use it", id, providers.ErrConflict, strings.Join(users, ", "))
	}
	rules, err := describeRules(ctx, region, api, &ec2.DescribeSecurityGroupRulesInput{})
	if err != nil {
		return err
	}
	var namers []string
	seen := map[string]bool{}
	for _, r := range rules {
		g := awssdk.ToString(r.GroupId)
		if r.ReferencedGroupInfo != nil && awssdk.ToString(r.ReferencedGroupInfo.GroupId) == id && g != id && !seen[g] {
			seen[g] = true
			namers = append(namers, g)
		}
	}
	if len(namers) > 0 {
		sort.Strings(namers)
		return fmt.Errorf("aws: delete security group %s: %w: rules of security groups %s name it", id, providers.ErrConflict, strings.Join(namers, ", "))
	}
	if _, err := removal(ctx, api.DeleteSecurityGroup, &ec2.DeleteSecurityGroupInput{GroupId: awssdk.String(id)}); err != nil {
		return netFail(err, target, "delete security group %s in %s", id, region)
	}
	return nil
}
