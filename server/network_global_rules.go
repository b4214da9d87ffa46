package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// A global group's rules change in its definition; every realization
// follows at once (and, should a cloud not answer, at the reconcile
// loop's next pass).

// globalRuleID names a rule of a definition: stable while the rule is
// (rules are values), so RemoveSecurityGroupRule can name it.
func globalRuleID(r providers.SecurityRule) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%d|%d|%s|%s", r.Direction, r.EtherType, r.Protocol, r.PortMin, r.PortMax, r.RemoteCIDR, r.RemoteGroupID)))
	return "gr-" + hex.EncodeToString(sum[:8])
}

// changeGlobalRules applies change to g's rules under the definition's
// lock, records it, and brings every realization to it.
func (s *networkService) changeGlobalRules(ctx context.Context, g globalRecord, change func([]providers.SecurityRule) ([]providers.SecurityRule, error)) (*canopyv1.SecurityGroup, error) {
	unlock := s.locks.lock("def/" + g.ID)
	defer unlock()
	cur, ok, err := s.findGlobal(ctx, providers.KindSecurityGroup, g.ID) // again, under the lock
	if err != nil || !ok {
		return nil, router.NotFound("security group", g.ID)
	}
	rules, err := change(cur.Rules)
	if err != nil {
		return nil, err
	}
	cur.Rules = rules
	raw, _ := json.Marshal(cur)
	if err := s.store.PutRecord(ctx, globalNamespace, cur.ID, raw); err != nil {
		return nil, router.StoreErr("record global "+cur.ID, err)
	}
	rs, err := s.realizations(ctx, cur.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if !r.Done || r.Native == "" {
			continue
		}
		cl, ok := s.rt.Cloud(r.Cloud)
		if !ok || cl.Net == nil {
			continue
		}
		if _, _, err := s.syncGroup(ctx, cl, cur, r); err != nil {
			s.log.Warn("global group rules changed; a realization will follow at the next reconcile pass", "cloud", r.Cloud, "group", cur.Name, "err", err)
		}
	}
	return s.globalGroupPB(ctx, cur)
}

func (s *networkService) addGlobalRule(ctx context.Context, g globalRecord, req *canopyv1.AddSecurityGroupRuleRequest) (*canopyv1.SecurityGroup, error) {
	rule, err := ruleSpec("rule", req.GetRule())
	if err != nil {
		return nil, err
	}
	switch ref := req.GetRule().GetRemoteGroup(); {
	case ref == "":
	case ref == g.Name || ref == g.ID:
		rule.RemoteGroupID = g.ID
	default:
		other, ok, err := s.findGlobal(ctx, providers.KindSecurityGroup, ref)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, router.BadRequest("rule.remote_group", "no global security group %q: a global group's rules name global groups (or itself)", ref)
		}
		rule.RemoteGroupID = other.ID
	}
	return s.changeGlobalRules(ctx, g, func(rules []providers.SecurityRule) ([]providers.SecurityRule, error) {
		for _, r := range rules {
			if keyOf(r) == keyOf(rule) {
				return nil, status.Errorf(codes.AlreadyExists, "security group %s already has this rule (%s)", g.ID, globalRuleID(r))
			}
		}
		return append(rules, rule), nil
	})
}

func (s *networkService) removeGlobalRule(ctx context.Context, g globalRecord, ruleID string) (*canopyv1.SecurityGroup, error) {
	return s.changeGlobalRules(ctx, g, func(rules []providers.SecurityRule) ([]providers.SecurityRule, error) {
		for i, r := range rules {
			if globalRuleID(r) == ruleID {
				return append(rules[:i:i], rules[i+1:]...), nil
			}
		}
		return nil, router.NotFound("security group rule", ruleID)
	})
}
