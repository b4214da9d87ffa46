package providertest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// Routers: a gateway on the fixture's external network, interfaces added
// and removed, and the conflicts they cause (networks.go says what holds
// everywhere).

// newRouter creates a router with a gateway on the fixture's external
// network (none when the cloud has none), deleted at cleanup.
func (ns *netSuite) newRouter(t *testing.T) (providers.Router, ident) {
	t.Helper()
	id := ns.ident(t, "router")
	r, err := ns.r.CreateRouter(context.Background(), providers.RouterSpec{Name: id.name, ExternalNetworkID: ns.fx.ExternalNetwork, Zone: ns.fx.Zone,
		Labels: id.labels, IdempotencyToken: id.token})
	if err != nil {
		t.Fatalf("CreateRouter(%s, gateway on %q): %v", id.name, ns.fx.ExternalNetwork, err)
	}
	ns.cleanup(t, "router", r.NativeID, ns.r.DeleteRouter)
	return r, id
}

// addInterface attaches sub to router r; the interface is removed at
// cleanup (before the router and the subnet are deleted).
func (ns *netSuite) addInterface(t *testing.T, r, sub string) providers.RouterInterface {
	t.Helper()
	ri, err := ns.r.AddRouterInterface(context.Background(), r, sub)
	if err != nil {
		t.Fatalf("AddRouterInterface(%s, %s): %v", r, sub, err)
	}
	ns.cleanup(t, "router interface", sub, func(ctx context.Context, sub string) error { return ns.r.RemoveRouterInterface(ctx, r, sub) })
	return ri
}

// hasInterface reports whether the router shows an interface in sub.
func hasInterface(r providers.Router, sub string) bool {
	for _, ri := range r.Interfaces {
		if ri.SubnetID == sub {
			return true
		}
	}
	return false
}

func (ns *netSuite) testRouter(t *testing.T) {
	if ns.r == nil {
		t.Skip("adapter has no Routers capability: router tests not run")
	}
	ctx := context.Background()
	ext := ns.fx.ExternalNetwork
	n, cidr := ns.newNetwork(t, "net")
	spec, _ := ns.subnetSpec(t, n.NativeID, sub24(cidr, 1))
	sub := ns.newSubnet(t, spec)

	id := ns.ident(t, "router")
	rspec := providers.RouterSpec{Name: id.name, ExternalNetworkID: ext, Zone: ns.fx.Zone, Labels: id.labels, IdempotencyToken: id.token}
	r, err := ns.r.CreateRouter(ctx, rspec)
	if err != nil {
		t.Fatalf("CreateRouter(gateway on %q): %v", ext, err)
	}
	ns.cleanup(t, "router", r.NativeID, ns.r.DeleteRouter)
	if r.NativeID == "" || r.Name != id.name || r.ExternalNetworkID != ext {
		t.Errorf("CreateRouter = %+v: want an id, name %s, gateway on %q", r, id.name, ext)
	}
	got := shows(t, ns, "Router", r.NativeID, id, true, ns.r.GetRouter, ns.r.ListRouters)
	if got.ExternalNetworkID != ext || len(got.Interfaces) != 0 {
		t.Errorf("GetRouter = %+v: want a gateway on %q and no interfaces", got, ext)
	}
	rspec.Replay = true
	replay(t, ns, "Router", r.NativeID, id, func() (providers.Router, error) { return ns.r.CreateRouter(ctx, rspec) }, ns.r.ListRouters, ns.r.DeleteRouter)

	ri := ns.addInterface(t, r.NativeID, sub.NativeID)
	if ri.SubnetID != sub.NativeID {
		t.Errorf("AddRouterInterface = %+v, want subnet %s", ri, sub.NativeID)
	}
	ns.eventually(t, "the router lists its interface", func() error {
		got, err := ns.r.GetRouter(ctx, r.NativeID)
		if err != nil {
			return err
		}
		if !hasInterface(got, sub.NativeID) {
			return fmt.Errorf("interfaces %+v, want one in %s", got.Interfaces, sub.NativeID)
		}
		return nil
	})
	_, err = ns.r.AddRouterInterface(ctx, r.NativeID, sub.NativeID)
	wantErr(t, "AddRouterInterface twice", err, providers.ErrConflict)
	wantErr(t, "DeleteRouter with an interface", ns.r.DeleteRouter(ctx, r.NativeID), providers.ErrConflict)
	wantErr(t, "DeleteSubnet with a router interface", ns.n.DeleteSubnet(ctx, sub.NativeID), providers.ErrConflict)

	if err := ns.r.RemoveRouterInterface(ctx, r.NativeID, sub.NativeID); err != nil {
		t.Fatalf("RemoveRouterInterface: %v", err)
	}
	ns.eventually(t, "the router no longer lists the interface", func() error {
		got, err := ns.r.GetRouter(ctx, r.NativeID)
		if err != nil {
			return err
		}
		if hasInterface(got, sub.NativeID) {
			return fmt.Errorf("interfaces %+v still hold %s", got.Interfaces, sub.NativeID)
		}
		return nil
	})
	wantErr(t, "RemoveRouterInterface twice", ns.r.RemoveRouterInterface(ctx, r.NativeID, sub.NativeID), providers.ErrNotFound)

	if ext != "" {
		ns.checkGateway(t, r.NativeID, "")
		ns.checkGateway(t, r.NativeID, ext)
	}
	wantErr(t, "SetRouterGateway on a network that is not external", ns.r.SetRouterGateway(ctx, r.NativeID, n.NativeID), providers.ErrInvalid)

	missing := missingID(r.NativeID)
	_, err = ns.r.GetRouter(ctx, missing)
	wantErr(t, "GetRouter(missing)", err, providers.ErrNotFound)
	_, err = ns.r.AddRouterInterface(ctx, missing, sub.NativeID)
	wantErr(t, "AddRouterInterface(missing router)", err, providers.ErrNotFound)
	_, err = ns.r.AddRouterInterface(ctx, r.NativeID, missingID(sub.NativeID))
	if err == nil {
		ns.cleanup(t, "router interface", missingID(sub.NativeID), func(ctx context.Context, s string) error { return ns.r.RemoveRouterInterface(ctx, r.NativeID, s) })
	}
	wantErr(t, "AddRouterInterface(missing subnet)", err, providers.ErrInvalid, providers.ErrNotFound)

	if err := ns.r.DeleteRouter(ctx, r.NativeID); err != nil {
		t.Fatalf("DeleteRouter: %v", err)
	}
	ns.eventually(t, "GetRouter after delete is ErrNotFound", func() error {
		if _, err := ns.r.GetRouter(ctx, r.NativeID); !errors.Is(err, providers.ErrNotFound) {
			return fmt.Errorf("err = %v", err)
		}
		return nil
	})
	wantErr(t, "DeleteRouter twice", ns.r.DeleteRouter(ctx, r.NativeID), providers.ErrNotFound)
}

// checkGateway sets (or clears, ext "") a router's gateway and checks that
// the router shows it.
func (ns *netSuite) checkGateway(t *testing.T, r, ext string) {
	t.Helper()
	ctx := context.Background()
	if err := ns.r.SetRouterGateway(ctx, r, ext); err != nil {
		t.Fatalf("SetRouterGateway(%s, %q): %v", r, ext, err)
	}
	ns.eventually(t, fmt.Sprintf("router %s shows its gateway on %q", r, ext), func() error {
		got, err := ns.r.GetRouter(ctx, r)
		if err != nil {
			return err
		}
		if got.ExternalNetworkID != ext {
			return fmt.Errorf("gateway on %q", got.ExternalNetworkID)
		}
		if ext == "" && len(got.ExternalIPs) != 0 {
			return fmt.Errorf("no gateway, yet external IPs %v", got.ExternalIPs)
		}
		return nil
	})
}
