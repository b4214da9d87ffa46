package openstack

// Neutron security groups and rules (providers.SecurityGroups).
// neutron.go says how labels and the idempotency token are kept; a
// group's token rides in its description only until the group is tagged,
// then its own description replaces it.
//
// Two points where Neutron is laxer than canopy's contract, measured on
// the lab: deleting a group that another group's rule names succeeds
// there and silently deletes that rule (canopy refuses: ErrConflict naming
// the rules' groups, checked before the delete — a rule added in between
// is lost as Neutron would lose it), and a rule naming a group that does
// not exist is Neutron's 404, which canopy reports as ErrInvalid naming
// remote_group_id (ErrNotFound would say the rule's own group is gone).

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/canopy-cloud/canopy/providers"
)

type ruleJSON struct {
	ID            string  `json:"id"`
	GroupID       string  `json:"security_group_id"`
	Direction     string  `json:"direction"`
	EtherType     string  `json:"ethertype"`
	Protocol      *string `json:"protocol"`
	PortMin       *int32  `json:"port_range_min"`
	PortMax       *int32  `json:"port_range_max"`
	RemoteCIDR    *string `json:"remote_ip_prefix"`
	RemoteGroupID *string `json:"remote_group_id"`
	Description   *string `json:"description"`
}

type secGroupJSON struct {
	attrs
	Rules    []ruleJSON `json:"security_group_rules"`
	Stateful *bool      `json:"stateful"`
}

// isICMP: protocols whose port range is an ICMP type and code.
func isICMP(proto string) bool {
	switch strings.ToLower(proto) {
	case "icmp", "icmpv6", "ipv6-icmp", "1", "58":
		return true
	}
	return false
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// toRule reads a rule: a null port bound is 0 (all ports) for tcp and udp,
// -1 (any) for an ICMP type or code.
func toRule(r ruleJSON) providers.SecurityRule {
	out := providers.SecurityRule{
		NativeID: r.ID, Direction: r.Direction, EtherType: r.EtherType, Protocol: deref(r.Protocol),
		RemoteCIDR: deref(r.RemoteCIDR), RemoteGroupID: deref(r.RemoteGroupID), Description: deref(r.Description),
	}
	unset := int32(0)
	if isICMP(out.Protocol) {
		unset = -1
	}
	out.PortMin, out.PortMax = unset, unset
	if r.PortMin != nil {
		out.PortMin = *r.PortMin
	}
	if r.PortMax != nil {
		out.PortMax = *r.PortMax
	}
	return out
}

func toSecurityGroup(region string, g secGroupJSON) providers.SecurityGroup {
	cm := g.common(region)
	desc := cm.Properties["description"]
	delete(cm.Properties, "description")
	if g.Stateful != nil && !*g.Stateful {
		cm.Properties["stateful"] = "false"
	}
	out := providers.SecurityGroup{Common: cm, Description: desc}
	for _, r := range g.Rules {
		out.Rules = append(out.Rules, toRule(r))
	}
	sort.Slice(out.Rules, func(i, j int) bool { return out.Rules[i].NativeID < out.Rules[j].NativeID })
	return out
}

func (c *Cloud) listSecGroups(ctx context.Context, sc *gophercloud.ServiceClient, opts groups.ListOpts) ([]secGroupJSON, error) {
	opts.Limit = c.opts.PageSize
	return listAll[secGroupJSON](ctx, groups.List(sc, opts), "security_groups")
}

// ListSecurityGroups implements providers.SecurityGroups.
func (c *Cloud) ListSecurityGroups(ctx context.Context) ([]providers.SecurityGroup, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.listSecGroups(ctx, sc, groups.ListOpts{})
	if err != nil {
		return nil, netFail(err, "list security groups in %s", region)
	}
	out := make([]providers.SecurityGroup, 0, len(list))
	for _, g := range list {
		out = append(out, toSecurityGroup(region, g))
	}
	return out, nil
}

// GetSecurityGroup implements providers.SecurityGroups.
func (c *Cloud) GetSecurityGroup(ctx context.Context, id string) (providers.SecurityGroup, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.SecurityGroup{}, err
	}
	g, err := extract[secGroupJSON](groups.Get(ctx, sc, url.PathEscape(id)).Result, "security_group")
	if err != nil {
		return providers.SecurityGroup{}, netFail(err, "get security group %s in %s", id, region)
	}
	return toSecurityGroup(region, g), nil
}

// CreateSecurityGroup implements providers.SecurityGroups. Neutron gives
// a new group two egress rules (any IPv4, any IPv6); they are reported as
// they are. spec.NetworkID is ignored: Neutron groups belong to the
// project.
func (c *Cloud) CreateSecurityGroup(ctx context.Context, spec providers.SecurityGroupSpec) (providers.SecurityGroup, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.SecurityGroup{}, err
	}
	if spec.Name == "" {
		return providers.SecurityGroup{}, fmt.Errorf("openstack: create security group in %s: %w: name is required", region, providers.ErrInvalid)
	}
	marker := ""
	if spec.IdempotencyToken != "" {
		marker = tokenTag(spec.IdempotencyToken)
	}
	g, err := creation[secGroupJSON]{
		sc: sc, kind: providers.KindSecurityGroup, resource: "security-groups",
		labels: spec.Labels, token: spec.IdempotencyToken, replay: spec.Replay,
		post: func(ctx context.Context, desc string) (secGroupJSON, error) {
			if desc == "" {
				desc = spec.Description // no token: the description at once
			}
			return extract[secGroupJSON](groups.Create(ctx, sc, groups.CreateOpts{Name: spec.Name, Description: desc}).Result, "security_group")
		},
		list: func(ctx context.Context, tag, desc string) ([]secGroupJSON, error) {
			return c.listSecGroups(ctx, sc, groups.ListOpts{Tags: tag, Description: desc})
		},
		get: func(ctx context.Context, id string) (secGroupJSON, error) {
			return extract[secGroupJSON](groups.Get(ctx, sc, id).Result, "security_group")
		},
		del: func(ctx context.Context, id string) error { return groups.Delete(ctx, sc, id).ExtractErr() },
		finish: func(ctx context.Context, g secGroupJSON) (bool, error) {
			if marker == "" || g.Description != marker || spec.Description == marker {
				return false, nil
			}
			d := spec.Description
			if _, err := groups.Update(ctx, sc, url.PathEscape(g.ID), groups.UpdateOpts{Description: &d}).Extract(); err != nil {
				return false, fmt.Errorf("set the description of security group %s: %w", g.ID, mapErr(err))
			}
			return true, nil
		},
	}.run(ctx, c)
	if err != nil {
		return providers.SecurityGroup{}, netFail(err, "create security group %q in %s", spec.Name, region)
	}
	return toSecurityGroup(region, g), nil
}

// DeleteSecurityGroup implements providers.SecurityGroups: a group other
// groups' rules name, or ports use (Neutron's 409), is ErrConflict naming
// them.
func (c *Cloud) DeleteSecurityGroup(ctx context.Context, id string) error {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("openstack: delete security group %s in %s: %w", id, region, err)
	}
	refs, err := listAll[ruleJSON](ctx, rules.List(sc, rules.ListOpts{RemoteGroupID: id, Limit: c.opts.PageSize}), "security_group_rules")
	if err != nil {
		return fail(mapErr(err))
	}
	var named []string
	for _, r := range refs {
		if r.GroupID != id && deref(r.RemoteGroupID) == id {
			named = append(named, fmt.Sprintf("rule %s of group %s", r.ID, r.GroupID))
		}
	}
	if len(named) > 0 {
		return fail(fmt.Errorf("%w: other groups' rules name it as their remote group: %s", providers.ErrConflict, strings.Join(named, ", ")))
	}
	err = groups.Delete(ctx, sc, url.PathEscape(id)).ExtractErr()
	if err == nil {
		return nil
	}
	err = mapErr(err)
	if isHTTP(err, 409) {
		if used, lerr := c.listPorts(ctx, sc, ports.ListOpts{SecurityGroups: []string{id}}); lerr == nil && len(used) > 0 {
			err = reclassify(err, providers.ErrConflict, "in use by "+portUsers(used))
		}
	}
	return fail(err)
}

// ruleCreate is Neutron's rule body. gophercloud's omits a zero port
// bound, which for ICMP is a real type (0: echo reply).
type ruleCreate struct{ body map[string]any }

func (r ruleCreate) ToSecGroupRuleCreateMap() (map[string]any, error) {
	return map[string]any{"security_group_rule": r.body}, nil
}

// ruleBody checks a rule and builds its body.
func ruleBody(groupID string, r providers.SecurityRule) (map[string]any, error) {
	if r.Direction != providers.Ingress && r.Direction != providers.Egress {
		return nil, fmt.Errorf("%w: direction %q (want %s or %s)", providers.ErrInvalid, r.Direction, providers.Ingress, providers.Egress)
	}
	if r.RemoteCIDR != "" && r.RemoteGroupID != "" {
		return nil, fmt.Errorf("%w: remote_cidr and remote_group_id are both set (at most one)", providers.ErrInvalid)
	}
	et := r.EtherType
	if et == "" {
		et = providers.IPv4
		if strings.Contains(r.RemoteCIDR, ":") {
			et = providers.IPv6
		}
	}
	if et != providers.IPv4 && et != providers.IPv6 {
		return nil, fmt.Errorf("%w: ether_type %q (want %s or %s)", providers.ErrInvalid, r.EtherType, providers.IPv4, providers.IPv6)
	}
	b := map[string]any{"security_group_id": groupID, "direction": r.Direction, "ethertype": et}
	if r.Protocol != "" {
		b["protocol"] = r.Protocol
	}
	if isICMP(r.Protocol) {
		// Type and code; -1 is any (Neutron: absent).
		if r.PortMin >= 0 {
			b["port_range_min"] = r.PortMin
			if r.PortMax >= 0 {
				b["port_range_max"] = r.PortMax
			}
		} else if r.PortMax >= 0 {
			return nil, fmt.Errorf("%w: an ICMP code (port_max %d) needs a type (port_min)", providers.ErrInvalid, r.PortMax)
		}
	} else if r.PortMin != 0 || r.PortMax != 0 {
		b["port_range_min"], b["port_range_max"] = r.PortMin, r.PortMax
	}
	if r.RemoteCIDR != "" {
		b["remote_ip_prefix"] = r.RemoteCIDR
	}
	if r.RemoteGroupID != "" {
		b["remote_group_id"] = r.RemoteGroupID
	}
	if r.Description != "" {
		b["description"] = r.Description
	}
	return b, nil
}

// AddSecurityRule implements providers.SecurityGroups. A rule the group
// has already is Neutron's 409 SecurityGroupRuleExists: ErrAlreadyExists.
func (c *Cloud) AddSecurityRule(ctx context.Context, groupID string, rule providers.SecurityRule) (providers.SecurityRule, error) {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return providers.SecurityRule{}, err
	}
	fail := func(err error) (providers.SecurityRule, error) {
		return providers.SecurityRule{}, fmt.Errorf("openstack: add a rule to security group %s in %s: %w", groupID, region, err)
	}
	body, err := ruleBody(groupID, rule)
	if err != nil {
		return fail(err)
	}
	r, err := extract[ruleJSON](rules.Create(ctx, sc, ruleCreate{body}).Result, "security_group_rule")
	if err != nil {
		err = mapErr(err)
		var ae *APIError
		if rule.RemoteGroupID != "" && rule.RemoteGroupID != groupID && errors.As(err, &ae) && ae.Code == 404 && strings.Contains(ae.Message, rule.RemoteGroupID) {
			err = reclassify(err, providers.ErrInvalid, "remote_group_id "+rule.RemoteGroupID)
		}
		return fail(err)
	}
	return toRule(r), nil
}

// DeleteSecurityRule implements providers.SecurityGroups. Neutron deletes
// rules by id alone; a rule of another group is ErrNotFound here.
func (c *Cloud) DeleteSecurityRule(ctx context.Context, groupID, ruleID string) error {
	sc, region, err := c.neutron(ctx)
	if err != nil {
		return err
	}
	r, err := extract[ruleJSON](rules.Get(ctx, sc, url.PathEscape(ruleID)).Result, "security_group_rule")
	if err != nil {
		return netFail(err, "delete rule %s of security group %s in %s", ruleID, groupID, region)
	}
	if r.GroupID != groupID {
		return fmt.Errorf("openstack: delete rule %s of security group %s in %s: %w: the rule belongs to group %s", ruleID, groupID, region, providers.ErrNotFound, r.GroupID)
	}
	if err := rules.Delete(ctx, sc, url.PathEscape(ruleID)).ExtractErr(); err != nil {
		return netFail(err, "delete rule %s of security group %s in %s", ruleID, groupID, region)
	}
	return nil
}
