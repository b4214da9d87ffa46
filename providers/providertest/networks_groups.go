package providertest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// Security groups and their rules (networks.go says what holds
// everywhere).

// newGroup creates a security group in network (the VPC on EC2), deleted
// at cleanup.
func (ns *netSuite) newGroup(t *testing.T, network string) providers.SecurityGroup {
	t.Helper()
	id := ns.ident(t, "sg")
	g, err := ns.sg.CreateSecurityGroup(context.Background(), providers.SecurityGroupSpec{Name: id.name, Description: "providertest",
		NetworkID: network, Labels: id.labels, IdempotencyToken: id.token})
	if err != nil {
		t.Fatalf("CreateSecurityGroup(%s): %v", id.name, err)
	}
	ns.cleanup(t, "security group", g.NativeID, ns.sg.DeleteSecurityGroup)
	return g
}

// sameRule: a and b are the same rule, NativeID aside.
func sameRule(a, b providers.SecurityRule) bool {
	a.NativeID, b.NativeID = "", ""
	return a == b
}

func findRule(rules []providers.SecurityRule, id string) (providers.SecurityRule, bool) {
	for _, r := range rules {
		if r.NativeID == id {
			return r, true
		}
	}
	return providers.SecurityRule{}, false
}

// allEgress: the rule lets everything out over IPv4.
func allEgress(r providers.SecurityRule) bool {
	return r.Direction == providers.Egress && r.EtherType == providers.IPv4 && r.Protocol == "" && r.RemoteGroupID == "" &&
		(r.RemoteCIDR == "" || r.RemoteCIDR == "0.0.0.0/0")
}

func (ns *netSuite) testSecurityGroup(t *testing.T) {
	if ns.sg == nil {
		t.Skip("adapter has no SecurityGroups capability: security group tests not run")
	}
	ctx := context.Background()
	n, cidr := ns.newNetwork(t, "net")
	id := ns.ident(t, "sg")
	spec := providers.SecurityGroupSpec{Name: id.name, Description: "providertest group", NetworkID: n.NativeID, Labels: id.labels, IdempotencyToken: id.token}
	g, err := ns.sg.CreateSecurityGroup(ctx, spec)
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	ns.cleanup(t, "security group", g.NativeID, ns.sg.DeleteSecurityGroup)
	if g.NativeID == "" || g.Name != id.name || g.Description != spec.Description {
		t.Errorf("CreateSecurityGroup = %+v: want an id, name %s, description %q", g, id.name, spec.Description)
	}
	got := shows(t, ns, "SecurityGroup", g.NativeID, id, true, ns.sg.GetSecurityGroup, ns.sg.ListSecurityGroups)
	if got.Description != spec.Description {
		t.Errorf("GetSecurityGroup: description %q, want %q", got.Description, spec.Description)
	}
	// The cloud's default rules, read back: all egress allowed, nothing in.
	egress := false
	for _, r := range got.Rules {
		if r.NativeID == "" {
			t.Errorf("default rule %+v has no id", r)
		}
		if r.Direction == providers.Ingress {
			t.Errorf("a new group has an ingress rule: %+v", r)
		}
		egress = egress || allEgress(r)
	}
	if !egress {
		t.Errorf("a new group's rules %+v: want the default allowing all IPv4 egress", got.Rules)
	}
	if len(g.Rules) != len(got.Rules) {
		t.Errorf("CreateSecurityGroup answered rules %+v, GetSecurityGroup shows %+v", g.Rules, got.Rules)
	}
	spec.Replay = true
	replay(t, ns, "SecurityGroup", g.NativeID, id, func() (providers.SecurityGroup, error) { return ns.sg.CreateSecurityGroup(ctx, spec) },
		ns.sg.ListSecurityGroups, ns.sg.DeleteSecurityGroup)

	// A group a port uses stays while the port does.
	spec2, _ := ns.subnetSpec(t, n.NativeID, sub24(cidr, 1))
	sub := ns.newSubnet(t, spec2)
	port := ns.newPort(t, sub, "", g.NativeID)
	wantErr(t, "DeleteSecurityGroup used by a port", ns.sg.DeleteSecurityGroup(ctx, g.NativeID), providers.ErrConflict)
	if err := ns.n.DeletePort(ctx, port.NativeID); err != nil {
		t.Fatalf("DeletePort: %v", err)
	}

	// A group another group's rule names stays while the rule does.
	other := ns.newGroup(t, n.NativeID)
	ref, err := ns.sg.AddSecurityRule(ctx, other.NativeID, providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4,
		Protocol: "tcp", PortMin: 5432, PortMax: 5432, RemoteGroupID: g.NativeID})
	if err != nil {
		t.Fatalf("AddSecurityRule(remote group %s): %v", g.NativeID, err)
	}
	wantErr(t, "DeleteSecurityGroup another group's rule names", ns.sg.DeleteSecurityGroup(ctx, g.NativeID), providers.ErrConflict)
	if err := ns.sg.DeleteSecurityRule(ctx, other.NativeID, ref.NativeID); err != nil {
		t.Fatalf("DeleteSecurityRule: %v", err)
	}

	ns.eventually(t, "DeleteSecurityGroup once nothing uses it", func() error { return ns.sg.DeleteSecurityGroup(ctx, g.NativeID) })
	ns.eventually(t, "GetSecurityGroup after delete is ErrNotFound", func() error {
		if _, err := ns.sg.GetSecurityGroup(ctx, g.NativeID); !errors.Is(err, providers.ErrNotFound) {
			return fmt.Errorf("err = %v", err)
		}
		return nil
	})
	wantErr(t, "DeleteSecurityGroup twice", ns.sg.DeleteSecurityGroup(ctx, g.NativeID), providers.ErrNotFound)
	_, err = ns.sg.GetSecurityGroup(ctx, missingID(g.NativeID))
	wantErr(t, "GetSecurityGroup(missing)", err, providers.ErrNotFound)
}

func (ns *netSuite) testSecurityRules(t *testing.T) {
	if ns.sg == nil {
		t.Skip("adapter has no SecurityGroups capability: security rule tests not run")
	}
	ctx := context.Background()
	n, _ := ns.newNetwork(t, "net")
	g := ns.newGroup(t, n.NativeID)
	rules := []providers.SecurityRule{
		{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCIDR: "0.0.0.0/0", Description: "ssh"},
		{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "udp", PortMin: 53, PortMax: 53, RemoteCIDR: "10.0.0.0/8"},
		{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "icmp", PortMin: 8, PortMax: -1, RemoteCIDR: "0.0.0.0/0"},
		{Direction: providers.Ingress, EtherType: providers.IPv6, Protocol: "tcp", PortMin: 443, PortMax: 443, RemoteCIDR: "::/0"},
		{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "", RemoteGroupID: g.NativeID}, // itself
	}
	added := make([]providers.SecurityRule, len(rules))
	for i, want := range rules {
		got, err := ns.sg.AddSecurityRule(ctx, g.NativeID, want)
		if err != nil {
			t.Fatalf("AddSecurityRule(%+v): %v", want, err)
		}
		if got.NativeID == "" || !sameRule(got, want) {
			t.Errorf("AddSecurityRule(%+v) = %+v: want the same rule with an id", want, got)
		}
		added[i] = got
	}
	ns.eventually(t, "GetSecurityGroup shows every rule as added", func() error {
		g, err := ns.sg.GetSecurityGroup(ctx, g.NativeID)
		if err != nil {
			return err
		}
		for i, a := range added {
			if got, ok := findRule(g.Rules, a.NativeID); !ok || !sameRule(got, rules[i]) {
				return fmt.Errorf("rule %s: shown as %+v (listed: %v), want %+v", a.NativeID, got, ok, rules[i])
			}
		}
		return nil
	})

	_, err := ns.sg.AddSecurityRule(ctx, g.NativeID, rules[0])
	wantErr(t, "AddSecurityRule a second time", err, providers.ErrAlreadyExists)
	for _, bad := range []struct {
		what string
		rule providers.SecurityRule
		want []error
	}{
		{"a port range upside down", providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "tcp", PortMin: 30, PortMax: 20}, nil},
		{"an unknown direction", providers.SecurityRule{Direction: "sideways", EtherType: providers.IPv4, Protocol: "tcp", PortMin: 1, PortMax: 2}, nil},
		{"a malformed remote CIDR", providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "tcp", PortMin: 1, PortMax: 2, RemoteCIDR: "10.0.0.0/33"}, nil},
		{"both a remote CIDR and a remote group", providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "tcp", PortMin: 1, PortMax: 2,
			RemoteCIDR: "10.0.0.0/8", RemoteGroupID: g.NativeID}, nil},
		{"an unknown remote group", providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4, Protocol: "tcp", PortMin: 1, PortMax: 2,
			RemoteGroupID: missingID(g.NativeID)}, []error{providers.ErrInvalid, providers.ErrNotFound}},
	} {
		r, err := ns.sg.AddSecurityRule(ctx, g.NativeID, bad.rule)
		if err == nil {
			_ = ns.sg.DeleteSecurityRule(ctx, g.NativeID, r.NativeID)
		}
		if bad.want == nil {
			bad.want = []error{providers.ErrInvalid}
		}
		wantErr(t, "AddSecurityRule with "+bad.what, err, bad.want...)
	}
	_, err = ns.sg.AddSecurityRule(ctx, missingID(g.NativeID), rules[0])
	wantErr(t, "AddSecurityRule(missing group)", err, providers.ErrNotFound)

	ssh := added[0].NativeID
	if err := ns.sg.DeleteSecurityRule(ctx, g.NativeID, ssh); err != nil {
		t.Fatalf("DeleteSecurityRule: %v", err)
	}
	ns.eventually(t, "the group no longer shows the deleted rule", func() error {
		g, err := ns.sg.GetSecurityGroup(ctx, g.NativeID)
		if err != nil {
			return err
		}
		if _, ok := findRule(g.Rules, ssh); ok {
			return fmt.Errorf("rule %s still shown", ssh)
		}
		if _, ok := findRule(g.Rules, added[1].NativeID); !ok {
			return fmt.Errorf("rule %s gone with the deleted one", added[1].NativeID)
		}
		return nil
	})
	wantErr(t, "DeleteSecurityRule twice", ns.sg.DeleteSecurityRule(ctx, g.NativeID, ssh), providers.ErrNotFound)
	// The group's self-referencing rule does not keep it: the group goes.
	ns.eventually(t, "DeleteSecurityGroup with a rule naming itself", func() error { return ns.sg.DeleteSecurityGroup(ctx, g.NativeID) })
}
