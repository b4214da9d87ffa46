package providertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// Ports: a fixed address chosen or given, security groups, replays, and
// the conflicts a port causes for its subnet and network (networks.go says
// what holds everywhere).

func (ns *netSuite) testPort(t *testing.T) {
	ctx := context.Background()
	n, cidr := ns.newNetwork(t, "net")
	p := sub24(cidr, 1)
	spec, _ := ns.subnetSpec(t, n.NativeID, p)
	sub := ns.newSubnet(t, spec)
	var groups []string
	if ns.sg != nil {
		groups = []string{ns.newGroup(t, n.NativeID).NativeID}
	}

	id := ns.ident(t, "port")
	fixed := host(p, 10)
	pspec := providers.PortSpec{Name: id.name, NetworkID: n.NativeID, SubnetID: sub.NativeID, FixedIP: fixed, SecurityGroupIDs: groups,
		Labels: id.labels, IdempotencyToken: id.token}
	port, err := ns.n.CreatePort(ctx, pspec)
	if err != nil {
		t.Fatalf("CreatePort: %v", err)
	}
	ns.cleanup(t, "port", port.NativeID, ns.n.DeletePort)
	want := []providers.FixedIP{{SubnetID: sub.NativeID, IP: fixed}}
	checkPort := func(what string, got providers.Port) {
		t.Helper()
		if got.NativeID != port.NativeID || got.NetworkID != n.NativeID || !slices.Equal(got.FixedIPs, want) || got.MAC == "" {
			t.Errorf("%s = %+v: want network %s, fixed IPs %v, a MAC", what, got, n.NativeID, want)
		}
		for _, g := range groups {
			if !slices.Contains(got.SecurityGroupIDs, g) {
				t.Errorf("%s: security groups %v, want %s among them", what, got.SecurityGroupIDs, g)
			}
		}
	}
	checkPort("CreatePort", port)
	checkPort("GetPort", shows(t, ns, "Port", port.NativeID, id, true, ns.n.GetPort, ns.n.ListPorts))
	pspec.Replay = true
	replay(t, ns, "Port", port.NativeID, id, func() (providers.Port, error) { return ns.n.CreatePort(ctx, pspec) }, ns.n.ListPorts, ns.n.DeletePort)

	// An address the cloud chooses is a host of the subnet, neither the
	// gateway nor one another port holds.
	chosen := ns.newPort(t, sub, "")
	if len(chosen.FixedIPs) != 1 || chosen.FixedIPs[0].SubnetID != sub.NativeID {
		t.Fatalf("CreatePort without an address: fixed IPs %v, want one in subnet %s", chosen.FixedIPs, sub.NativeID)
	}
	if ip, err := netip.ParseAddr(chosen.FixedIPs[0].IP); err != nil || !p.Contains(ip) || ip.String() == host(p, 1) || ip.String() == fixed {
		t.Errorf("CreatePort without an address got %s: want a free host of %s, not its gateway %s nor %s", chosen.FixedIPs[0].IP, p, host(p, 1), fixed)
	}

	// mustFail creates a port that must be refused; one made anyway is
	// deleted.
	mustFail := func(what string, spec providers.PortSpec, want ...error) {
		t.Helper()
		id := ns.ident(t, "badport")
		spec.Name, spec.Labels, spec.IdempotencyToken = id.name, id.labels, id.token
		bad, err := ns.n.CreatePort(ctx, spec)
		if err == nil {
			ns.cleanup(t, "port", bad.NativeID, ns.n.DeletePort)
		}
		wantErr(t, "CreatePort with "+what, err, want...)
	}
	mustFail("an address another port holds", providers.PortSpec{NetworkID: n.NativeID, SubnetID: sub.NativeID, FixedIP: fixed},
		providers.ErrConflict, providers.ErrAlreadyExists, providers.ErrInvalid)
	mustFail("an address outside its subnet", providers.PortSpec{NetworkID: n.NativeID, SubnetID: sub.NativeID, FixedIP: host(sub24(cidr, 2), 10)},
		providers.ErrInvalid)
	mustFail("an address that is no address", providers.PortSpec{NetworkID: n.NativeID, SubnetID: sub.NativeID, FixedIP: "ten"},
		providers.ErrInvalid)
	mustFail("a missing subnet", providers.PortSpec{NetworkID: n.NativeID, SubnetID: missingID(sub.NativeID)},
		providers.ErrInvalid, providers.ErrNotFound)
	if ns.sg != nil {
		mustFail("a missing security group", providers.PortSpec{NetworkID: n.NativeID, SubnetID: sub.NativeID, SecurityGroupIDs: []string{missingID(groups[0])}},
			providers.ErrInvalid, providers.ErrNotFound)
	}

	// What a port uses cannot go while it is there.
	wantErr(t, "DeleteSubnet with a port", ns.n.DeleteSubnet(ctx, sub.NativeID), providers.ErrConflict)
	wantErr(t, "DeleteNetwork with a port", ns.n.DeleteNetwork(ctx, n.NativeID), providers.ErrConflict)

	if err := ns.n.DeletePort(ctx, chosen.NativeID); err != nil {
		t.Fatalf("DeletePort: %v", err)
	}
	ns.eventually(t, "GetPort after delete is ErrNotFound", func() error {
		if _, err := ns.n.GetPort(ctx, chosen.NativeID); !errors.Is(err, providers.ErrNotFound) {
			return fmt.Errorf("err = %v", err)
		}
		return nil
	})
	wantErr(t, "DeletePort twice", ns.n.DeletePort(ctx, chosen.NativeID), providers.ErrNotFound)
	_, err = ns.n.GetPort(ctx, missingID(port.NativeID))
	wantErr(t, "GetPort(missing)", err, providers.ErrNotFound)
}
