package sim

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// Security groups and their rules (networks.go), with Neutron's rules:
// a new group allows all egress, a rule is checked and normalized, a
// duplicate is refused, a group in use (by a port, by another group's
// rule) stays.

func groupView(g *providers.SecurityGroup) providers.SecurityGroup {
	out := *g
	out.Labels, out.Properties = cloneMap(g.Labels), cloneMap(g.Properties)
	out.Rules = slices.Clone(g.Rules)
	return out
}

// groupsFor checks the groups a port or a server asks for; none means the
// "default" group (when the cloud still has it). Callers hold c.mu.
func (c *Cloud) groupsFor(ids []string) ([]string, error) {
	if len(ids) == 0 {
		if _, ok := c.net.Groups[DefaultGroupID]; ok {
			return []string{DefaultGroupID}, nil
		}
		return nil, nil
	}
	var out []string
	for i, id := range ids {
		if _, ok := c.net.Groups[id]; !ok {
			return nil, fmt.Errorf("%w: security_groups[%d]: security group %q does not exist", providers.ErrInvalid, i, id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// ListSecurityGroups implements providers.SecurityGroups.
func (c *Cloud) ListSecurityGroups(ctx context.Context) ([]providers.SecurityGroup, error) {
	if err := c.netCall(ctx, "ListSecurityGroups"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	out := make([]providers.SecurityGroup, 0, len(c.net.Groups))
	for _, id := range sortedKeys(c.net.Groups) {
		out = append(out, groupView(c.net.Groups[id]))
	}
	return out, nil
}

// GetSecurityGroup implements providers.SecurityGroups.
func (c *Cloud) GetSecurityGroup(ctx context.Context, id string) (providers.SecurityGroup, error) {
	if err := c.netCall(ctx, "GetSecurityGroup"); err != nil {
		return providers.SecurityGroup{}, err
	}
	defer c.mu.Unlock()
	g, ok := c.net.Groups[id]
	if !ok {
		return providers.SecurityGroup{}, fmt.Errorf("sim: security group %q: %w", id, providers.ErrNotFound)
	}
	return groupView(g), nil
}

// CreateSecurityGroup implements providers.SecurityGroups. Groups belong
// to no network here (as in Neutron): spec.NetworkID is ignored.
func (c *Cloud) CreateSecurityGroup(ctx context.Context, spec providers.SecurityGroupSpec) (providers.SecurityGroup, error) {
	if err := c.netCall(ctx, "CreateSecurityGroup"); err != nil {
		return providers.SecurityGroup{}, err
	}
	defer c.mu.Unlock()
	if g := byToken(c.net.Groups, spec.IdempotencyToken, func(g *providers.SecurityGroup) providers.Common { return g.Common }); g != nil {
		return groupView(g), nil
	}
	if spec.Name == "" {
		return providers.SecurityGroup{}, fmt.Errorf("sim: create security group: %w: name is empty", providers.ErrInvalid)
	}
	id := c.newID("sg")
	g := &providers.SecurityGroup{Common: c.common(id, spec.Name, spec.Labels, spec.IdempotencyToken, time.Now()), Description: spec.Description}
	g.Rules = defaultRules(c.newID("sgr"))
	c.net.Groups[id] = g
	c.save()
	return groupView(g), nil
}

// DeleteSecurityGroup implements providers.SecurityGroups.
func (c *Cloud) DeleteSecurityGroup(ctx context.Context, id string) error {
	if err := c.netCall(ctx, "DeleteSecurityGroup"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if _, ok := c.net.Groups[id]; !ok {
		return fmt.Errorf("sim: delete security group %q: %w", id, providers.ErrNotFound)
	}
	if id == DefaultGroupID {
		return fmt.Errorf("sim: delete security group %q: %w: the default group cannot be deleted", id, providers.ErrConflict)
	}
	for _, pid := range sortedKeys(c.net.Ports) {
		if p := c.net.Ports[pid].P; slices.Contains(p.SecurityGroupIDs, id) {
			return fmt.Errorf("sim: delete security group %q: %w: port %s%s uses it", id, providers.ErrConflict, pid, ownedBy(p))
		}
	}
	for _, gid := range sortedKeys(c.net.Groups) {
		if gid == id {
			continue // its own rules may name it
		}
		for _, r := range c.net.Groups[gid].Rules {
			if r.RemoteGroupID == id {
				return fmt.Errorf("sim: delete security group %q: %w: rule %s of group %s names it", id, providers.ErrConflict, r.NativeID, gid)
			}
		}
	}
	delete(c.net.Groups, id)
	c.save()
	return nil
}

// AddSecurityRule implements providers.SecurityGroups.
func (c *Cloud) AddSecurityRule(ctx context.Context, groupID string, rule providers.SecurityRule) (providers.SecurityRule, error) {
	if err := c.netCall(ctx, "AddSecurityRule"); err != nil {
		return providers.SecurityRule{}, err
	}
	defer c.mu.Unlock()
	g, ok := c.net.Groups[groupID]
	if !ok {
		return providers.SecurityRule{}, fmt.Errorf("sim: add rule to security group %q: %w", groupID, providers.ErrNotFound)
	}
	r, err := normalizeRule(rule)
	if err != nil {
		return providers.SecurityRule{}, fmt.Errorf("sim: add rule to security group %q: %w", groupID, err)
	}
	if r.RemoteGroupID != "" {
		if _, ok := c.net.Groups[r.RemoteGroupID]; !ok {
			return providers.SecurityRule{}, fmt.Errorf("sim: add rule to security group %q: %w: remote_group_id %q does not exist", groupID, providers.ErrInvalid, r.RemoteGroupID)
		}
	}
	for _, o := range g.Rules {
		a, b := o, r
		a.NativeID, a.Description, b.Description = "", "", ""
		if a == b {
			return providers.SecurityRule{}, fmt.Errorf("sim: add rule to security group %q: %w: rule %s is the same", groupID, providers.ErrAlreadyExists, o.NativeID)
		}
	}
	r.NativeID = c.newID("sgr")
	g.Rules = append(g.Rules, r)
	g.Updated = time.Now()
	c.save()
	return r, nil
}

// DeleteSecurityRule implements providers.SecurityGroups.
func (c *Cloud) DeleteSecurityRule(ctx context.Context, groupID, ruleID string) error {
	if err := c.netCall(ctx, "DeleteSecurityRule"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	g, ok := c.net.Groups[groupID]
	if !ok {
		return fmt.Errorf("sim: delete rule %q: %w: security group %q does not exist", ruleID, providers.ErrNotFound, groupID)
	}
	i := slices.IndexFunc(g.Rules, func(r providers.SecurityRule) bool { return r.NativeID == ruleID })
	if i < 0 {
		return fmt.Errorf("sim: delete rule %q of security group %q: %w", ruleID, groupID, providers.ErrNotFound)
	}
	g.Rules = slices.Delete(g.Rules, i, i+1)
	g.Updated = time.Now()
	c.save()
	return nil
}

// protocolNames are the protocol numbers a rule may give for a name.
var protocolNames = map[string]string{"1": "icmp", "6": "tcp", "17": "udp", "58": "icmpv6", "132": "sctp", "any": ""}

// normalizeRule checks a rule and puts it in the form providers.SecurityRule
// describes (its NativeID is left alone).
func normalizeRule(r providers.SecurityRule) (providers.SecurityRule, error) {
	bad := func(format string, args ...any) (providers.SecurityRule, error) {
		return providers.SecurityRule{}, fmt.Errorf("%w: "+format, append([]any{providers.ErrInvalid}, args...)...)
	}
	if r.Direction != providers.Ingress && r.Direction != providers.Egress {
		return bad("direction %q is neither %s nor %s", r.Direction, providers.Ingress, providers.Egress)
	}
	if r.EtherType == "" {
		r.EtherType = providers.IPv4
	}
	if r.EtherType != providers.IPv4 && r.EtherType != providers.IPv6 {
		return bad("ethertype %q is neither %s nor %s", r.EtherType, providers.IPv4, providers.IPv6)
	}
	r.Protocol = strings.ToLower(r.Protocol)
	if name, ok := protocolNames[r.Protocol]; ok {
		r.Protocol = name
	}
	switch r.Protocol {
	case "tcp", "udp", "sctp":
		if (r.PortMin != 0 || r.PortMax != 0) && (r.PortMin < 1 || r.PortMax > 65535 || r.PortMax < r.PortMin) {
			return bad("port range %d-%d: want 1 <= min <= max <= 65535 (or 0-0: all)", r.PortMin, r.PortMax)
		}
	case "icmp", "icmpv6":
		if r.Protocol == "icmpv6" && r.EtherType == providers.IPv4 {
			return bad("protocol icmpv6 with ethertype IPv4")
		}
		if r.PortMin < -1 || r.PortMin > 255 || r.PortMax < -1 || r.PortMax > 255 || (r.PortMin == -1 && r.PortMax != -1) {
			return bad("icmp type %d code %d: want each in -1..255, and no code without a type", r.PortMin, r.PortMax)
		}
	case "":
		if r.PortMin != 0 || r.PortMax != 0 {
			return bad("port range %d-%d without a protocol", r.PortMin, r.PortMax)
		}
	default:
		n, err := strconv.Atoi(r.Protocol)
		if err != nil || n < 0 || n > 255 {
			return bad("protocol %q is not a name nor a number 0-255", r.Protocol)
		}
		if r.PortMin != 0 || r.PortMax != 0 {
			return bad("port range %d-%d for protocol %s, which has no ports", r.PortMin, r.PortMax, r.Protocol)
		}
	}
	if r.RemoteCIDR != "" && r.RemoteGroupID != "" {
		return bad("both remote_ip_prefix %s and remote_group_id %s", r.RemoteCIDR, r.RemoteGroupID)
	}
	if r.RemoteCIDR != "" {
		p, err := netip.ParsePrefix(r.RemoteCIDR)
		if err != nil {
			return bad("remote_ip_prefix %q: %v", r.RemoteCIDR, err)
		}
		if (p.Addr().Is4()) != (r.EtherType == providers.IPv4) {
			return bad("remote_ip_prefix %s is not an %s range", r.RemoteCIDR, r.EtherType)
		}
		r.RemoteCIDR = p.Masked().String()
	}
	return r, nil
}
