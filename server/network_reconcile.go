package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// A global group's rules in one cloud are derived from its definition
// (desiredRules) and kept equal to it (syncGroup): by the realization when
// it is made, then by the reconcile loop, which repairs what was changed
// at the cloud behind canopy's back and reports it (log line, metric
// canopy_network_drift_total).

// cloudNet is one cloud's networking as one reconcile pass reads it: fresh
// groups and ports (they change behind canopy's back), subnets.
type cloudNet struct {
	groups  map[string]providers.SecurityGroup
	ports   []providers.Port
	subnets map[string]providers.Subnet
}

func (s *networkService) readCloudNet(ctx context.Context, cl *router.Cloud) (*cloudNet, error) {
	groups, err := cl.Net.ListSecurityGroupsFresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("cloud %q: list security groups: %w", cl.Name, err)
	}
	ports, err := cl.Net.ListPortsFresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("cloud %q: list ports: %w", cl.Name, err)
	}
	subs, err := cl.Net.ListSubnets(ctx)
	if err != nil {
		return nil, fmt.Errorf("cloud %q: list subnets: %w", cl.Name, err)
	}
	out := &cloudNet{groups: map[string]providers.SecurityGroup{}, ports: ports, subnets: map[string]providers.Subnet{}}
	for _, g := range groups {
		out.groups[g.NativeID] = g
	}
	for _, x := range subs {
		out.subnets[x.NativeID] = x
	}
	return out, nil
}

// memberRanges are the ranges of the subnets where a group's members (the
// ports carrying its realization) are, in one cloud.
func (n *cloudNet) memberRanges(groupNative string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range n.ports {
		if !slices.Contains(p.SecurityGroupIDs, groupNative) {
			continue
		}
		for _, f := range p.FixedIPs {
			if sub, ok := n.subnets[f.SubnetID]; ok && !seen[sub.CIDR] {
				seen[sub.CIDR] = true
				out = append(out, sub.CIDR)
			}
		}
	}
	sort.Strings(out)
	return out
}

// views reads the clouds a sync needs, each once.
type views struct {
	s     *networkService
	ctx   context.Context
	byCld map[string]*cloudNet
}

func (v *views) of(cloud string) (*cloudNet, error) {
	if n, ok := v.byCld[cloud]; ok {
		return n, nil
	}
	cl, ok := v.s.rt.Cloud(cloud)
	if !ok || cl.Net == nil {
		return nil, fmt.Errorf("cloud %q is no longer configured with networks", cloud)
	}
	n, err := v.s.readCloudNet(v.ctx, cl)
	if err != nil {
		return nil, err
	}
	v.byCld[cloud] = n
	return n, nil
}

// desiredRules are g's rules in one realization: a rule whose remote is a
// global group becomes a rule on that group's realization in the same
// cloud and network scope (when it has one) plus a rule per range of its
// members' subnets everywhere else — in every other cloud, and in other
// networks of this one where groups belong to a network — Tricircle's
// expansion of remote-group rules across regions.
func (s *networkService) desiredRules(ctx context.Context, v *views, g globalRecord, self realization) ([]providers.SecurityRule, error) {
	var out []providers.SecurityRule
	seen := map[ruleKey]bool{}
	add := func(x providers.SecurityRule) {
		if k := keyOf(x); !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	for _, r := range g.Rules {
		if r.RemoteGroupID == "" {
			add(r)
			continue
		}
		rs, err := s.realizations(ctx, r.RemoteGroupID)
		if err != nil {
			return nil, err
		}
		if r.RemoteGroupID == g.ID {
			rs[self.key()] = self
		}
		keys := make([]string, 0, len(rs))
		for k := range rs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			remote := rs[k]
			if remote.Native == "" {
				continue
			}
			if sameScope(remote, self) {
				x := r
				x.RemoteGroupID = remote.Native
				add(x)
				continue
			}
			n, err := v.of(remote.Cloud)
			if err != nil {
				return nil, err
			}
			for _, cidr := range n.memberRanges(remote.Native) {
				p, err := netip.ParsePrefix(cidr)
				if err != nil || (p.Addr().Is4() != (r.EtherType != providers.IPv6)) {
					continue
				}
				x := r
				x.RemoteGroupID, x.RemoteCIDR = "", p.String()
				add(x)
			}
		}
	}
	return out, nil
}

type ruleKey struct {
	dir, eth, proto   string
	min, max          int32
	cidr, remoteGroup string
}

func keyOf(r providers.SecurityRule) ruleKey {
	return ruleKey{r.Direction, r.EtherType, r.Protocol, r.PortMin, r.PortMax, r.RemoteCIDR, r.RemoteGroupID}
}

// cloudDefault says whether a rule is one the cloud adds to every new
// group (allow all egress), which canopy leaves alone.
func cloudDefault(r providers.SecurityRule) bool {
	return r.Direction == providers.Egress && r.Protocol == "" && r.RemoteGroupID == "" &&
		(r.RemoteCIDR == "" || r.RemoteCIDR == "0.0.0.0/0" || r.RemoteCIDR == "::/0") && r.PortMin <= 0 && r.PortMax <= 0
}

// syncGroup brings a realization's rules to the definition: missing rules
// are added, rules the definition does not have are removed (the cloud's
// defaults stay). It returns how many of each it changed.
func (s *networkService) syncGroup(ctx context.Context, cl *router.Cloud, g globalRecord, r realization) (added, removed int, err error) {
	v := &views{s: s, ctx: ctx, byCld: map[string]*cloudNet{}}
	return s.syncGroupIn(ctx, v, cl, g, r)
}

func (s *networkService) syncGroupIn(ctx context.Context, v *views, cl *router.Cloud, g globalRecord, r realization) (added, removed int, err error) {
	want, err := s.desiredRules(ctx, v, g, r)
	if err != nil {
		return 0, 0, err
	}
	n, err := v.of(cl.Name)
	if err != nil {
		return 0, 0, err
	}
	cur, ok := n.groups[r.Native]
	if !ok {
		// Just made (the fresh list may predate it) or deleted at the
		// cloud: ask for it by id.
		if cur, err = cl.Net.GetSecurityGroup(ctx, r.Native); err != nil {
			return 0, 0, err
		}
	}
	have := map[ruleKey]providers.SecurityRule{}
	for _, x := range cur.Rules {
		have[keyOf(x)] = x
	}
	wanted := map[ruleKey]bool{}
	for _, x := range want {
		k := keyOf(x)
		wanted[k] = true
		if _, ok := have[k]; ok {
			continue
		}
		if _, err := cl.Net.AddSecurityRule(ctx, r.Native, x); err != nil && !errors.Is(err, providers.ErrAlreadyExists) {
			return added, removed, fmt.Errorf("cloud %q: add rule to group %s: %w", cl.Name, r.Native, err)
		}
		added++
	}
	for k, x := range have {
		if wanted[k] || cloudDefault(x) {
			continue
		}
		if err := cl.Net.DeleteSecurityRule(ctx, r.Native, x.NativeID); err != nil && !errors.Is(err, providers.ErrNotFound) {
			return added, removed, fmt.Errorf("cloud %q: remove rule %s from group %s: %w", cl.Name, x.NativeID, r.Native, err)
		}
		removed++
	}
	return added, removed, nil
}

// reconcile runs reconcilePass every interval until ctx ends.
func (s *networkService) reconcile(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reconcilePass(ctx)
		}
	}
}

// reconcilePass compares every done realization of every global group
// with its definition and repairs it, reading each cloud once. With
// several replicas only the owner of a cloud repairs (and reads) it.
func (s *networkService) reconcilePass(ctx context.Context) {
	recs, err := s.store.ListRecords(ctx, globalNamespace, "")
	if err != nil {
		s.log.Warn("reconcile: list global definitions", "err", err)
		return
	}
	v := &views{s: s, ctx: ctx, byCld: map[string]*cloudNet{}}
	for _, rec := range recs {
		var g globalRecord
		if json.Unmarshal(rec.Value, &g) != nil || g.ID != rec.Key || g.Kind != providers.KindSecurityGroup {
			continue
		}
		rs, err := s.realizations(ctx, g.ID)
		if err != nil {
			s.log.Warn("reconcile: read realizations", "global", g.ID, "err", err)
			continue
		}
		for _, r := range rs {
			if !r.Done || r.Native == "" {
				continue
			}
			cl, ok := s.rt.Cloud(r.Cloud)
			if !ok || cl.Net == nil || !s.owns(cl.Name) {
				continue
			}
			added, removed, err := s.syncGroupIn(ctx, v, cl, g, r)
			switch {
			case errors.Is(err, providers.ErrNotFound):
				// Deleted at the cloud: the next server that uses the group
				// there makes it again.
				r.Done, r.Native, r.Op = false, "", ""
				if perr := s.putRealization(ctx, g.ID, r); perr == nil {
					s.drift(cl.Name, "security_group_deleted", 1)
					s.log.Warn("reconcile: a global security group's realization was deleted at the cloud; it is made again when next used",
						"cloud", cl.Name, "group", g.Name, "global", g.ID)
				}
			case err != nil:
				s.log.Warn("reconcile: sync security group", "cloud", cl.Name, "group", g.Name, "err", err)
			case added+removed > 0:
				s.drift(cl.Name, "security_group_rule", added+removed)
				s.log.Warn("reconcile: repaired a global security group changed at the cloud", "cloud", cl.Name, "group", g.Name,
					"global", g.ID, "rules_added", added, "rules_removed", removed)
			}
		}
	}
}

func (s *networkService) drift(cloud, what string, n int) {
	if s.metrics != nil {
		s.metrics.drift.WithLabelValues(cloud, what).Add(float64(n))
	}
}
