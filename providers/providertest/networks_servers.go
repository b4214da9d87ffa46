package providertest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// A server on an existing port (ServerSpec.Ports): the port becomes the
// server's, its address shows in the server's addresses, and a floating IP
// associated to the server shows there as "floating" (networks.go says
// what holds everywhere). Runs when the adapter also has Compute.

func (ns *netSuite) testServerPorts(t *testing.T) {
	c, ok := ns.p.(providers.Compute)
	if !ok {
		t.Skip("adapter has no Compute capability: servers on ports not tested")
	}
	ctx := context.Background()
	cs := *ns.suite
	cs.c = c
	n, cidr := ns.newNetwork(t, "net")
	p := sub24(cidr, 1)
	spec, _ := ns.subnetSpec(t, n.NativeID, p)
	sub := ns.newSubnet(t, spec)
	withFIP := ns.r != nil && ns.fip != nil && ns.fx.ExternalNetwork != ""
	if withFIP {
		r, _ := ns.newRouter(t)
		ns.addInterface(t, r.NativeID, sub.NativeID)
	}
	var groups []string
	if ns.sg != nil {
		groups = []string{ns.newGroup(t, n.NativeID).NativeID}
	}
	port := ns.newPort(t, sub, host(p, 30), groups...)

	flavor, image := cs.smallestFlavor(t), cs.image(t)
	id := ns.ident(t, "srv")
	srv, err := c.CreateServer(ctx, providers.ServerSpec{Name: id.name, Zone: ns.fx.Zone, FlavorID: flavor.NativeID, ImageID: image.NativeID,
		Ports: []string{port.NativeID}, Labels: id.labels, IdempotencyToken: id.token})
	if err != nil {
		t.Fatalf("CreateServer on port %s: %v", port.NativeID, err)
	}
	// Registered after the port's: runs before it, and waits the server
	// out, so the port is free to go.
	t.Cleanup(func() {
		_ = c.DeleteServer(context.Background(), srv.NativeID)
		cs.waitFor(t, srv.NativeID, "gone", func(_ providers.Server, err error) bool { return errors.Is(err, providers.ErrNotFound) })
	})
	cs.waitFor(t, srv.NativeID, "ACTIVE", statusIs(providers.StatusActive))
	ns.eventually(t, "the port is the server's", func() error {
		got, err := ns.n.GetPort(ctx, port.NativeID)
		if err != nil {
			return err
		}
		if got.DeviceID != srv.NativeID {
			return fmt.Errorf("port %s: device %q, want the server %s", port.NativeID, got.DeviceID, srv.NativeID)
		}
		return nil
	})
	ns.eventually(t, "the server shows the port's address", func() error { return hasAddress(c, srv.NativeID, host(p, 30), "fixed") })

	// A port in use cannot be given to a second server.
	other, err := c.CreateServer(ctx, providers.ServerSpec{Name: ns.name(t, "srv2"), Zone: ns.fx.Zone, FlavorID: flavor.NativeID, ImageID: image.NativeID,
		Ports: []string{port.NativeID}})
	if err == nil {
		t.Cleanup(func() { _ = c.DeleteServer(context.Background(), other.NativeID) })
	}
	wantErr(t, "CreateServer on a port another server uses", err, providers.ErrConflict, providers.ErrInvalid)
	if ns.sg != nil {
		bad, err := c.CreateServer(ctx, providers.ServerSpec{Name: ns.name(t, "srv3"), Zone: ns.fx.Zone, FlavorID: flavor.NativeID, ImageID: image.NativeID,
			Networks: ns.fx.Networks, SecurityGroupIDs: []string{missingID(groups[0])}})
		if err == nil {
			t.Cleanup(func() { _ = c.DeleteServer(context.Background(), bad.NativeID) })
		}
		wantErr(t, "CreateServer with a missing security group", err, providers.ErrInvalid, providers.ErrNotFound)
	}

	if !withFIP {
		t.Log("no routers, floating IPs or external network: a server's floating address not tested")
		return
	}
	fid := ns.ident(t, "fip")
	f, err := ns.fip.AllocateFloatingIP(ctx, providers.FloatingIPSpec{NetworkID: ns.fx.ExternalNetwork, Zone: ns.fx.Zone, Labels: fid.labels, IdempotencyToken: fid.token})
	if err != nil {
		t.Fatalf("AllocateFloatingIP: %v", err)
	}
	ns.cleanup(t, "floating IP", f.NativeID, func(ctx context.Context, id string) error {
		if err := ns.fip.DisassociateFloatingIP(ctx, id); err != nil && !errors.Is(err, providers.ErrNotFound) {
			return err
		}
		return ns.fip.ReleaseFloatingIP(ctx, id)
	})
	if err := ns.fip.AssociateFloatingIP(ctx, f.NativeID, "", srv.NativeID); err != nil {
		t.Fatalf("AssociateFloatingIP(%s, server %s): %v", f.NativeID, srv.NativeID, err)
	}
	ns.eventually(t, "the floating IP shows the server and its port", func() error {
		got, err := ns.fip.GetFloatingIP(ctx, f.NativeID)
		if err != nil {
			return err
		}
		if got.ServerID != srv.NativeID || got.PortID != port.NativeID || got.FixedIP != host(p, 30) {
			return fmt.Errorf("server %q port %q fixed IP %q, want %s, %s, %s", got.ServerID, got.PortID, got.FixedIP, srv.NativeID, port.NativeID, host(p, 30))
		}
		return nil
	})
	ns.eventually(t, "the server shows its floating address", func() error { return hasAddress(c, srv.NativeID, f.IP, "floating") })
	if err := ns.fip.DisassociateFloatingIP(ctx, f.NativeID); err != nil {
		t.Fatalf("DisassociateFloatingIP: %v", err)
	}
	ns.eventually(t, "the server no longer shows the floating address", func() error {
		err := hasAddress(c, srv.NativeID, f.IP, "floating")
		switch {
		case err == nil:
			return fmt.Errorf("server %s still shows %s", srv.NativeID, f.IP)
		case errors.Is(err, errNoAddress):
			return nil
		}
		return err
	})
}

// hasAddress: the server shows ip, of type typ ("fixed", "floating").
func hasAddress(c providers.Compute, server, ip, typ string) error {
	s, err := c.GetServer(context.Background(), server)
	if err != nil {
		return err
	}
	for _, a := range s.Addresses {
		if a.IP == ip && a.Type == typ {
			return nil
		}
	}
	return fmt.Errorf("server %s: addresses %+v, want %s (%s): %w", server, s.Addresses, ip, typ, errNoAddress)
}

var errNoAddress = errors.New("address not shown")
