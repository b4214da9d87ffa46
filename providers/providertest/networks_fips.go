package providertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// Floating IPs: allocated from the fixture's external network, associated
// to a port behind a router with a gateway there, moved, freed, released;
// ErrUnsupported on a cloud without an external network (networks.go says
// what holds everywhere).

func (ns *netSuite) testFloatingIP(t *testing.T) {
	if ns.fip == nil {
		t.Skip("adapter has no FloatingIPs capability: floating IP tests not run")
	}
	ctx := context.Background()
	ext := ns.fx.ExternalNetwork
	if ext == "" {
		id := ns.ident(t, "fip")
		f, err := ns.fip.AllocateFloatingIP(ctx, providers.FloatingIPSpec{Zone: ns.fx.Zone, Labels: id.labels, IdempotencyToken: id.token})
		if err == nil {
			ns.cleanup(t, "floating IP", f.NativeID, ns.fip.ReleaseFloatingIP)
		}
		wantErr(t, "AllocateFloatingIP on a cloud without an external network", err, providers.ErrUnsupported)
		return
	}

	// What an association needs: a subnet behind a router with a gateway on
	// the external network, and two ports in it. Made first, so that the
	// floating IP's cleanup (disassociate, release) runs before theirs.
	var ports []providers.Port
	var n providers.Network
	if ns.r != nil {
		var cidr netip.Prefix
		n, cidr = ns.newNetwork(t, "net")
		spec, _ := ns.subnetSpec(t, n.NativeID, sub24(cidr, 1))
		sub := ns.newSubnet(t, spec)
		r, _ := ns.newRouter(t)
		ns.addInterface(t, r.NativeID, sub.NativeID)
		ports = []providers.Port{ns.newPort(t, sub, host(sub24(cidr, 1), 20)), ns.newPort(t, sub, host(sub24(cidr, 1), 21))}
	}

	id := ns.ident(t, "fip")
	spec := providers.FloatingIPSpec{NetworkID: ext, Zone: ns.fx.Zone, Labels: id.labels, IdempotencyToken: id.token}
	f, err := ns.fip.AllocateFloatingIP(ctx, spec)
	if err != nil {
		t.Fatalf("AllocateFloatingIP(%s): %v", ext, err)
	}
	ns.cleanup(t, "floating IP", f.NativeID, func(ctx context.Context, id string) error {
		if err := ns.fip.DisassociateFloatingIP(ctx, id); err != nil && !errors.Is(err, providers.ErrNotFound) {
			return err
		}
		return ns.fip.ReleaseFloatingIP(ctx, id)
	})
	if _, err := netip.ParseAddr(f.IP); err != nil || f.NativeID == "" || f.NetworkID != ext || f.PortID != "" {
		t.Errorf("AllocateFloatingIP = %+v: want an id, an address, network %s, no port", f, ext)
	}
	got := shows(t, ns, "FloatingIP", f.NativeID, id, false, ns.fip.GetFloatingIP, ns.fip.ListFloatingIPs)
	if got.IP != f.IP || got.NetworkID != ext || got.PortID != "" {
		t.Errorf("GetFloatingIP = %+v: want %s on %s, free", got, f.IP, ext)
	}
	spec.Replay = true
	replay(t, ns, "FloatingIP", f.NativeID, id, func() (providers.FloatingIP, error) { return ns.fip.AllocateFloatingIP(ctx, spec) },
		ns.fip.ListFloatingIPs, ns.fip.ReleaseFloatingIP)

	if ns.r == nil {
		t.Log("adapter has no Routers capability: association not tested")
	} else {
		ns.testAssociation(t, f.NativeID, ports)
		if n.NativeID != "" {
			bad, err := ns.fip.AllocateFloatingIP(ctx, providers.FloatingIPSpec{NetworkID: n.NativeID, Zone: ns.fx.Zone, Labels: id.labels})
			if err == nil {
				ns.cleanup(t, "floating IP", bad.NativeID, ns.fip.ReleaseFloatingIP)
			}
			wantErr(t, "AllocateFloatingIP from a network that is not external", err, providers.ErrInvalid)
		}
	}

	if err := ns.fip.ReleaseFloatingIP(ctx, f.NativeID); err != nil {
		t.Fatalf("ReleaseFloatingIP: %v", err)
	}
	ns.eventually(t, "GetFloatingIP after release is ErrNotFound", func() error {
		if _, err := ns.fip.GetFloatingIP(ctx, f.NativeID); !errors.Is(err, providers.ErrNotFound) {
			return fmt.Errorf("err = %v", err)
		}
		return nil
	})
	wantErr(t, "ReleaseFloatingIP twice", ns.fip.ReleaseFloatingIP(ctx, f.NativeID), providers.ErrNotFound)
	_, err = ns.fip.GetFloatingIP(ctx, missingID(f.NativeID))
	wantErr(t, "GetFloatingIP(missing)", err, providers.ErrNotFound)
	wantErr(t, "AssociateFloatingIP(missing)", ns.fip.AssociateFloatingIP(ctx, missingID(f.NativeID), "", ""), providers.ErrNotFound)
}

// testAssociation associates the floating IP to ports[0], checks that it
// cannot be taken to ports[1] while there, and frees it.
func (ns *netSuite) testAssociation(t *testing.T, fip string, ports []providers.Port) {
	t.Helper()
	ctx := context.Background()
	first, second := ports[0], ports[1]
	if err := ns.fip.AssociateFloatingIP(ctx, fip, first.NativeID, ""); err != nil {
		t.Fatalf("AssociateFloatingIP(%s, port %s): %v", fip, first.NativeID, err)
	}
	ns.eventually(t, "the floating IP shows its port", func() error {
		got, err := ns.fip.GetFloatingIP(ctx, fip)
		if err != nil {
			return err
		}
		if got.PortID != first.NativeID || got.FixedIP != first.FixedIPs[0].IP {
			return fmt.Errorf("port %q fixed IP %q, want %s and %s", got.PortID, got.FixedIP, first.NativeID, first.FixedIPs[0].IP)
		}
		return nil
	})
	wantErr(t, "AssociateFloatingIP while associated elsewhere", ns.fip.AssociateFloatingIP(ctx, fip, second.NativeID, ""), providers.ErrConflict)
	if got, err := ns.fip.GetFloatingIP(ctx, fip); err != nil || got.PortID != first.NativeID {
		t.Errorf("after a refused association: %+v, %v; want it still on %s", got, err, first.NativeID)
	}
	err := ns.fip.AssociateFloatingIP(ctx, fip, missingID(first.NativeID), "")
	wantErr(t, "AssociateFloatingIP to a missing port", err, providers.ErrInvalid, providers.ErrNotFound, providers.ErrConflict)

	if err := ns.fip.DisassociateFloatingIP(ctx, fip); err != nil {
		t.Fatalf("DisassociateFloatingIP: %v", err)
	}
	ns.eventually(t, "the floating IP is free", func() error {
		got, err := ns.fip.GetFloatingIP(ctx, fip)
		if err != nil {
			return err
		}
		if got.PortID != "" || got.FixedIP != "" {
			return fmt.Errorf("still on port %q (%q)", got.PortID, got.FixedIP)
		}
		return nil
	})
	if err := ns.fip.DisassociateFloatingIP(ctx, fip); err != nil {
		t.Errorf("DisassociateFloatingIP of a free one: %v, want nil", err)
	}
	// Free again, it may go to the second port.
	if err := ns.fip.AssociateFloatingIP(ctx, fip, second.NativeID, ""); err != nil {
		t.Fatalf("AssociateFloatingIP(%s, port %s) once free: %v", fip, second.NativeID, err)
	}
	ns.eventually(t, "the floating IP shows its new port", func() error {
		got, err := ns.fip.GetFloatingIP(ctx, fip)
		if err != nil {
			return err
		}
		if got.PortID != second.NativeID || got.FixedIP != second.FixedIPs[0].IP {
			return fmt.Errorf("port %q fixed IP %q, want %s and %s", got.PortID, got.FixedIP, second.NativeID, second.FixedIPs[0].IP)
		}
		return nil
	})
	if err := ns.fip.DisassociateFloatingIP(ctx, fip); err != nil {
		t.Fatalf("DisassociateFloatingIP: %v", err)
	}
}
