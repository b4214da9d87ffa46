//go:build openstack

package openstack_test

// A server on Neutron's terms, against the lab: CreateServer attaches an
// existing port beside a network's new one and gives the new one the
// security group asked for (the existing port keeps its own), and a
// floating IP associated by server lands on its first port and shows in
// the server's addresses. Neutron is read directly to check.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/openstack"
)

func TestLabServerPortsGroupsAndFloatingIP(t *testing.T) {
	path, cloud := labCloud(t)
	ctx := context.Background()
	h := harness{path: path, cloud: cloud}
	ext := labExternalNetwork(t, h)
	c := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud})
	sc, err := openstack.NeutronClient(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	flavorID, imageID := labFlavorImage(t, c)
	run := fmt.Sprintf("ptest-os-net-%d", time.Now().UnixNano()%1e9)
	cleanup := func(what, id string, f func(context.Context, string) error) {
		t.Cleanup(func() {
			if err := f(context.Background(), id); err != nil && !errors.Is(err, providers.ErrNotFound) {
				t.Errorf("cleanup: delete %s %s: %v", what, id, err)
			}
		})
	}

	var netID string
	nets, err := c.ListNetworks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if n.Name == labNetwork() {
			netID = n.NativeID
		}
	}
	if netID == "" {
		t.Fatalf("no network %s", labNetwork())
	}
	portGroup, err := c.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: run + "-port-sg"})
	if err != nil {
		t.Fatal(err)
	}
	cleanup("security group", portGroup.NativeID, c.DeleteSecurityGroup)
	serverGroup, err := c.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: run + "-server-sg"})
	if err != nil {
		t.Fatal(err)
	}
	cleanup("security group", serverGroup.NativeID, c.DeleteSecurityGroup)
	port, err := c.CreatePort(ctx, providers.PortSpec{Name: run + "-port", NetworkID: netID, SecurityGroupIDs: []string{portGroup.NativeID}})
	if err != nil {
		t.Fatal(err)
	}
	cleanup("port", port.NativeID, c.DeletePort) // after the server's delete: registered first, runs last

	s, err := c.CreateServer(ctx, providers.ServerSpec{Name: run, FlavorID: flavorID, ImageID: imageID, Networks: []string{netID},
		Ports: []string{port.NativeID}, SecurityGroupIDs: []string{serverGroup.NativeID}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.DeleteServer(context.Background(), s.NativeID); err != nil && !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("cleanup: delete server: %v", err)
		}
		waitServer(t, c, s.NativeID, func(_ providers.Server, err error) bool { return errors.Is(err, providers.ErrNotFound) })
	})
	waitServer(t, c, s.NativeID, func(s providers.Server, err error) bool { return err == nil && s.Status == providers.StatusActive })

	// Neutron's view: two ports bound to the server, the existing one with
	// its own group, the new one with the server's.
	ports := neutronList(t, sc, "ports", "ports", url.Values{"device_id": {s.NativeID}})
	if len(ports) != 2 {
		t.Fatalf("Neutron: %d ports on server %s, want 2 (the network's new one and %s): %v", len(ports), s.NativeID, port.NativeID, ports)
	}
	for _, p := range ports {
		groups, _ := p["security_groups"].([]any)
		want := serverGroup.NativeID
		if p["id"] == port.NativeID {
			want = portGroup.NativeID
		}
		if len(groups) != 1 || groups[0] != want {
			t.Errorf("Neutron: port %v of the server has groups %v, want [%s]", p["id"], groups, want)
		}
	}

	f, err := c.AllocateFloatingIP(ctx, providers.FloatingIPSpec{NetworkID: ext})
	if err != nil {
		t.Fatal(err)
	}
	cleanup("floating IP", f.NativeID, c.ReleaseFloatingIP)
	if err := c.AssociateFloatingIP(ctx, f.NativeID, "", s.NativeID); err != nil {
		t.Fatalf("AssociateFloatingIP by server: %v", err)
	}
	got, err := c.GetFloatingIP(ctx, f.NativeID)
	// Its first port: the oldest, the one made before the server.
	if err != nil || got.PortID != port.NativeID || got.ServerID != s.NativeID || got.FixedIP != port.FixedIPs[0].IP {
		t.Fatalf("GetFloatingIP after associating by server = %+v, %v; want port %s (%s), server %s", got, err, port.NativeID, port.FixedIPs[0].IP, s.NativeID)
	}
	srv := waitServer(t, c, s.NativeID, func(s providers.Server, err error) bool {
		return err == nil && slices.ContainsFunc(s.Addresses, func(a providers.Address) bool { return a.IP == f.IP && a.Type == "floating" })
	})
	if !slices.ContainsFunc(srv.Addresses, func(a providers.Address) bool { return a.IP == port.FixedIPs[0].IP && a.Type == "fixed" }) {
		t.Errorf("server addresses %+v: want the port's fixed %s beside the floating %s", srv.Addresses, port.FixedIPs[0].IP, f.IP)
	}
	if err := c.DisassociateFloatingIP(ctx, f.NativeID); err != nil {
		t.Fatal(err)
	}
}
