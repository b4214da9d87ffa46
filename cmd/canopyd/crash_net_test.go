package main

// The networking crash story: every networking create is a durable
// operation whose create step passes the operation's target id to the
// adapter as its idempotency token, and a step repeated after a crash
// (Replay) finds what the first attempt made by that token instead of
// making a second resource. This story proves it the way crash_test.go
// proves it for volumes and servers: canopyd is SIGKILLed at every
// failpoint the story passes — the job steps, the RPC handlers, the
// realization of global resources, and the adapters' own points just after
// the cloud accepted a create — restarted, and the story driven on with the
// same request ids. At the end the cloud itself is counted: exactly one of
// each resource the story made, each canopy id bound to it; after the
// story's own deletes (through canopy), none.
//
// The story: a network, a subnet, a security group with rules (one naming
// the group itself), a port in the subnet with the group, a router with its
// gateway on the cloud's external network and an interface on the subnet, a
// floating IP from the external network, and a global security group and
// global network (with a gateway) that one server create makes real in the
// cloud.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
	"github.com/canopy-cloud/canopy/providers"
)

// crashLabel is the label every resource of a networking story carries
// (realizations too: they take their global's labels), valued with the
// lineage; the engines count the cloud's resources by it, by name and by
// token.
const crashLabel = "crashtest"

// netStory is one lineage's networking story in one cloud.
type netStory struct {
	cloud  string
	cfg    string
	prefix string // of every name; the label's value is prefix without its last "-"
	// ext is the cloud's external network, by name ("public" on the sim,
	// the lab's, "internet" on EC2).
	ext              string
	flavor, image    string
	netCIDR, subCIDR string
	globalCIDR       string
	timeout          time.Duration
	real             bool
	ids              map[string]string // step → canopy id (realizations: "gnet.net", "gnet.subnet", "gnet.router", "gsg.group")
	token            string            // canopyd's admin token, for the cleanup's restart
	holds            func(t *testing.T, data string, s *netStory) netHolds
	sweep            func(t *testing.T, s *netStory) // removes, with the cloud's API, what canopy's deletes left
}

func (s *netStory) req(step string) string    { return s.prefix + step }
func (s *netStory) name(step string) string   { return s.prefix + step }
func (s *netStory) labelValue() string        { return strings.TrimSuffix(s.prefix, "-") }
func (s *netStory) labels() map[string]string { return map[string]string{crashLabel: s.labelValue()} }

// mine reports whether a cloud resource is the story's: its name has the
// prefix, it carries the label, or its token is one of the story's ids.
func (s *netStory) mine(name string, labels map[string]string, token string) bool {
	if strings.HasPrefix(name, s.prefix) || labels[crashLabel] == s.labelValue() {
		return true
	}
	for _, id := range s.ids {
		if token != "" && token == id {
			return true
		}
	}
	return false
}

// netHolds is what a cloud holds of one story, read with the cloud's own
// API (the sim: its state file).
type netHolds struct {
	// res maps a kind (providers.Kind*, servers included) to the native
	// ids of the story's live resources and the token each carries ("" if
	// none, or for kinds whose token the engine does not show).
	res map[string]map[string]string
	// ifaces maps a router's native id to the subnets of its interfaces.
	ifaces map[string][]string
}

func newNetHolds() netHolds {
	return netHolds{res: map[string]map[string]string{}, ifaces: map[string][]string{}}
}

func (h netHolds) add(kind, native, token string) {
	if h.res[kind] == nil {
		h.res[kind] = map[string]string{}
	}
	h.res[kind][native] = token
}

func (h netHolds) natives(kind string) []string {
	var out []string
	for n := range h.res[kind] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (h netHolds) empty() bool {
	for _, m := range h.res {
		if len(m) > 0 {
			return false
		}
	}
	return true
}

func (h netHolds) String() string {
	var parts []string
	for _, k := range netStoryKinds {
		if n := h.natives(k); len(n) > 0 {
			parts = append(parts, fmt.Sprintf("%s %v", k, n))
		}
	}
	return strings.Join(parts, "; ")
}

// netStoryKinds are the kinds a networking story makes.
var netStoryKinds = []string{providers.KindNetwork, providers.KindSubnet, providers.KindPort, providers.KindRouter,
	providers.KindSecurityGroup, providers.KindFloatingIP, providers.KindServer}

// expected lists, by kind, the story ids of what must exist at the end.
func (s *netStory) expected() map[string][]string {
	return map[string][]string{
		providers.KindNetwork:       {s.ids["net"], s.ids["gnet.net"]},
		providers.KindSubnet:        {s.ids["sub"], s.ids["gnet.subnet"]},
		providers.KindPort:          {s.ids["port"]},
		providers.KindRouter:        {s.ids["rt"], s.ids["gnet.router"]},
		providers.KindSecurityGroup: {s.ids["sg"], s.ids["gsg.group"]},
		providers.KindFloatingIP:    {s.ids["fip"]},
		providers.KindServer:        {s.ids["srv"]},
	}
}

func (s *netStory) callTimeout() time.Duration {
	if s.timeout > 0 {
		return s.timeout
	}
	return 30 * time.Second
}

// run drives the story. Every create carries a request id, so driving it
// again after a crash answers the steps done with the same operations; the
// router's interface (a change without request id) is looked at first, as
// a client retrying it would.
func (s *netStory) run(t *testing.T, d *canopydtest.Daemon) error {
	s.token = d.Token
	nets := canopyv1.NewNetworkServiceClient(d.Conn)
	loc := &canopyv1.Location{Cloud: s.cloud}
	// died tells a crash (canopyd gone: errDied) from a failure (fatal).
	died := func(step string, err error) error {
		if _, exited := d.WaitExit(3 * time.Second); exited {
			return errDied
		}
		t.Fatalf("%s: step %s: %v\n%s", s.cloud, step, err, d.Logs())
		return err
	}
	call := func(step string, f func(ctx context.Context) (*canopyv1.Operation, error)) error {
		ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout())
		defer cancel()
		op, err := f(ctx)
		if err != nil {
			return died(step, err)
		}
		if !op.Done || op.GetError() != nil {
			return died(step, fmt.Errorf("operation %v", op))
		}
		s.ids[step] = op.Metadata.TargetId
		return nil
	}
	do := func(step string, f func(ctx context.Context) error) error {
		ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout())
		defer cancel()
		if err := f(ctx); err != nil {
			return died(step, err)
		}
		return nil
	}
	ssh := &canopyv1.SecurityGroupRule{Direction: canopyv1.SecurityGroupRule_DIRECTION_INGRESS, Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCidr: "0.0.0.0/0"}
	steps := []func() error{
		func() error {
			return call("net", func(ctx context.Context) (*canopyv1.Operation, error) {
				return nets.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: s.name("net"), Location: loc, Cidr: s.netCIDR, Labels: s.labels(), RequestId: s.req("net"), Wait: true})
			})
		},
		func() error {
			return call("sub", func(ctx context.Context) (*canopyv1.Operation, error) {
				return nets.CreateSubnet(ctx, &canopyv1.CreateSubnetRequest{Name: s.name("sub"), Network: s.ids["net"], Cidr: s.subCIDR, Labels: s.labels(), RequestId: s.req("sub"), Wait: true})
			})
		},
		func() error {
			return call("sg", func(ctx context.Context) (*canopyv1.Operation, error) {
				return nets.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: s.name("sg"), Location: loc, Network: s.ids["net"], Description: "crash story",
					Rules:  []*canopyv1.SecurityGroupRule{ssh, {Direction: canopyv1.SecurityGroupRule_DIRECTION_INGRESS, Protocol: "tcp", PortMin: 8080, PortMax: 8080, RemoteGroup: s.name("sg")}},
					Labels: s.labels(), RequestId: s.req("sg"), Wait: true})
			})
		},
		func() error {
			return call("port", func(ctx context.Context) (*canopyv1.Operation, error) {
				return nets.CreatePort(ctx, &canopyv1.CreatePortRequest{Name: s.name("port"), Network: s.ids["net"], Subnet: s.ids["sub"], SecurityGroups: []string{s.ids["sg"]},
					Labels: s.labels(), RequestId: s.req("port"), Wait: true})
			})
		},
		func() error {
			return call("rt", func(ctx context.Context) (*canopyv1.Operation, error) {
				return nets.CreateRouter(ctx, &canopyv1.CreateRouterRequest{Name: s.name("rt"), Location: loc, ExternalNetwork: s.ext, Labels: s.labels(), RequestId: s.req("rt"), Wait: true})
			})
		},
		func() error {
			return do("iface", func(ctx context.Context) error {
				r, err := nets.GetRouter(ctx, &canopyv1.GetRouterRequest{Id: s.ids["rt"]})
				if err != nil {
					return err
				}
				for _, i := range r.Interfaces {
					if i.SubnetId == s.ids["sub"] {
						return nil // attached before the crash
					}
				}
				_, err = nets.AddRouterInterface(ctx, &canopyv1.AddRouterInterfaceRequest{Id: s.ids["rt"], Subnet: s.ids["sub"]})
				return err
			})
		},
		func() error {
			return call("fip", func(ctx context.Context) (*canopyv1.Operation, error) {
				return nets.AllocateFloatingIP(ctx, &canopyv1.AllocateFloatingIPRequest{Location: loc, Network: s.ext, Labels: s.labels(), RequestId: s.req("fip"), Wait: true})
			})
		},
		func() error {
			return call("gsg", func(ctx context.Context) (*canopyv1.Operation, error) {
				return nets.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: s.name("gsg"), Scope: canopyv1.Scope_SCOPE_GLOBAL, Description: "crash story, global",
					Rules:  []*canopyv1.SecurityGroupRule{ssh, {Direction: canopyv1.SecurityGroupRule_DIRECTION_INGRESS, Protocol: "tcp", PortMin: 9000, PortMax: 9000, RemoteGroup: s.name("gsg")}},
					Labels: s.labels(), RequestId: s.req("gsg"), Wait: true})
			})
		},
		func() error {
			return call("gnet", func(ctx context.Context) (*canopyv1.Operation, error) {
				return nets.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: s.name("gnet"), Scope: canopyv1.Scope_SCOPE_GLOBAL, Cidr: s.globalCIDR, SubnetPrefixLength: 24, Gateway: true,
					Labels: s.labels(), RequestId: s.req("gnet"), Wait: true})
			})
		},
		func() error {
			// The server create makes both globals real in the cloud,
			// then gives the server a floating IP (auto_ip; the global
			// network's gateway routes it).
			return do("srv", func(ctx context.Context) error {
				sv, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: s.name("srv"), Flavor: s.flavor, Image: s.image, Location: loc,
					Networks: []string{s.ids["gnet"]}, SecurityGroups: []string{s.ids["gsg"]}, AutoIp: true, Labels: s.labels(), RequestId: s.req("srv"), Wait: true})
				if err == nil {
					s.ids["srv"] = sv.Id
				}
				return err
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// realizations reads, through canopy, the ids of the globals' realizations
// in the story's cloud.
func (s *netStory) realizations(t *testing.T, d *canopydtest.Daemon) {
	t.Helper()
	nets := canopyv1.NewNetworkServiceClient(d.Conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gn, err := nets.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: s.ids["gnet"]})
	if err != nil {
		t.Fatalf("%s: get global network: %v", s.cloud, err)
	}
	gg, err := nets.GetSecurityGroup(ctx, &canopyv1.GetSecurityGroupRequest{Id: s.ids["gsg"]})
	if err != nil {
		t.Fatalf("%s: get global group: %v", s.cloud, err)
	}
	if len(gn.Realizations) != 1 || len(gg.Realizations) != 1 {
		t.Fatalf("%s: realizations: network %v, group %v; want one each", s.cloud, gn.Realizations, gg.Realizations)
	}
	r := gn.Realizations[0]
	s.ids["gnet.net"], s.ids["gnet.subnet"], s.ids["gnet.router"] = r.Id, r.SubnetId, r.RouterId
	s.ids["gsg.group"] = gg.Realizations[0].Id
}

// settle reads the realizations, then, on a real engine, lists through
// canopy until the cloud holds nothing canopy does not show: a list drops
// (and deletes) a crash duplicate, a second resource carrying a token
// whose id is bound to another.
func (s *netStory) settle(t *testing.T, d *canopydtest.Daemon, data string) int {
	t.Helper()
	s.realizations(t, d)
	if !s.real {
		return 0
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		shown, err := s.canopyShows(d)
		got := s.holds(t, data, s)
		if err == nil && got.within(shown) {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("%s: after 3 minutes the cloud holds %v; canopy shows %v (%v)", s.cloud, got, shown, err)
			break
		}
		time.Sleep(time.Second)
	}
	n := 0
	for _, line := range strings.Split(d.Logs(), "\n") {
		if strings.Contains(line, "duplicate: ") {
			t.Logf("%s: %s", s.cloud, line)
			if strings.Contains(line, "duplicate: deleted") {
				n++
			}
		}
	}
	return n
}

// within reports whether every resource h holds is in shown.
func (h netHolds) within(shown netHolds) bool {
	for k, m := range h.res {
		for n := range m {
			if _, ok := shown.res[k][n]; !ok {
				return false
			}
		}
	}
	return true
}

// canopyShows lists, through canopy, the native ids of every networking
// resource and server of the story's cloud.
func (s *netStory) canopyShows(d *canopydtest.Daemon) (netHolds, error) {
	nets := canopyv1.NewNetworkServiceClient(d.Conn)
	loc := &canopyv1.Location{Cloud: s.cloud}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newNetHolds()
	ln, err := nets.ListNetworks(ctx, &canopyv1.ListNetworksRequest{Location: loc, PageSize: 1000})
	if err != nil {
		return h, err
	}
	for _, x := range ln.Networks {
		h.add(providers.KindNetwork, x.NativeId, "")
	}
	ls, err := nets.ListSubnets(ctx, &canopyv1.ListSubnetsRequest{Location: loc, PageSize: 1000})
	if err != nil {
		return h, err
	}
	for _, x := range ls.Subnets {
		h.add(providers.KindSubnet, x.NativeId, "")
	}
	lp, err := nets.ListPorts(ctx, &canopyv1.ListPortsRequest{Location: loc, PageSize: 1000})
	if err != nil {
		return h, err
	}
	for _, x := range lp.Ports {
		h.add(providers.KindPort, x.NativeId, "")
	}
	lr, err := nets.ListRouters(ctx, &canopyv1.ListRoutersRequest{Location: loc, PageSize: 1000})
	if err != nil {
		return h, err
	}
	for _, x := range lr.Routers {
		h.add(providers.KindRouter, x.NativeId, "")
	}
	lg, err := nets.ListSecurityGroups(ctx, &canopyv1.ListSecurityGroupsRequest{Location: loc, PageSize: 1000})
	if err != nil {
		return h, err
	}
	for _, x := range lg.SecurityGroups {
		h.add(providers.KindSecurityGroup, x.NativeId, "")
	}
	lf, err := nets.ListFloatingIPs(ctx, &canopyv1.ListFloatingIPsRequest{Location: loc, PageSize: 1000})
	if err != nil {
		return h, err
	}
	for _, x := range lf.FloatingIps {
		h.add(providers.KindFloatingIP, x.NativeId, "")
	}
	lv, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{Location: loc, PageSize: 1000})
	if err != nil {
		return h, err
	}
	for _, x := range lv.Servers {
		if x.Status != canopyv1.Status_STATUS_DELETED && x.Status != canopyv1.Status_STATUS_DELETING {
			h.add(providers.KindServer, x.NativeId, "")
		}
	}
	return h, nil
}

// cleanup deletes what the story made, through canopy (a restarted
// canopyd on the lineage's data dir), and checks with the cloud's API that
// nothing is left; on a real engine what is left is then removed with that
// API, so a failed lineage does not leak into the shared cloud.
func (s *netStory) cleanup(t *testing.T, data string) {
	t.Helper()
	defer func() {
		if s.sweep != nil && !s.holds(t, data, s).empty() {
			s.sweep(t, s)
		}
	}()
	var env []string
	if s.token != "" {
		env = append(env, canopydtest.TokenEnv+"="+s.token)
	}
	d, err := startWith(t, data, s.cfg, env...)
	if err != nil {
		t.Errorf("%s: restart for the cleanup: %v", s.cloud, err)
		return
	}
	nets := canopyv1.NewNetworkServiceClient(d.Conn)
	del := func(what string, f func(ctx context.Context) (*canopyv1.Operation, error)) {
		ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout())
		defer cancel()
		op, err := f(ctx)
		if err == nil && (!op.Done || op.GetError() != nil) {
			err = fmt.Errorf("operation %v", op)
		}
		if err != nil {
			t.Errorf("%s: cleanup: delete %s: %v", s.cloud, what, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout())
	// The server's auto_ip address is not deleted with it (as on Nova).
	fips, err := nets.ListFloatingIPs(ctx, &canopyv1.ListFloatingIPsRequest{Server: s.ids["srv"]})
	if err != nil {
		t.Errorf("%s: cleanup: list the server's floating IPs: %v", s.cloud, err)
	} else if len(fips.FloatingIps) != 1 {
		t.Errorf("%s: the server has floating IPs %v; want its auto_ip one", s.cloud, fips.FloatingIps)
	}
	for _, f := range fips.GetFloatingIps() {
		del("the server's floating IP", func(ctx context.Context) (*canopyv1.Operation, error) {
			return nets.ReleaseFloatingIP(ctx, &canopyv1.ReleaseFloatingIPRequest{Id: f.Id, Wait: true})
		})
	}
	if _, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: s.ids["srv"], Wait: true}); err != nil {
		t.Errorf("%s: cleanup: delete server: %v", s.cloud, err)
	}
	if _, err := nets.RemoveRouterInterface(ctx, &canopyv1.RemoveRouterInterfaceRequest{Id: s.ids["rt"], Subnet: s.ids["sub"]}); err != nil {
		t.Errorf("%s: cleanup: remove the router's interface: %v", s.cloud, err)
	}
	cancel()
	del("floating IP", func(ctx context.Context) (*canopyv1.Operation, error) {
		return nets.ReleaseFloatingIP(ctx, &canopyv1.ReleaseFloatingIPRequest{Id: s.ids["fip"], Wait: true, RequestId: s.req("del-fip")})
	})
	del("router", func(ctx context.Context) (*canopyv1.Operation, error) {
		return nets.DeleteRouter(ctx, &canopyv1.DeleteRouterRequest{Id: s.ids["rt"], Wait: true, RequestId: s.req("del-rt")})
	})
	del("port", func(ctx context.Context) (*canopyv1.Operation, error) {
		return nets.DeletePort(ctx, &canopyv1.DeletePortRequest{Id: s.ids["port"], Wait: true, RequestId: s.req("del-port")})
	})
	del("security group", func(ctx context.Context) (*canopyv1.Operation, error) {
		return nets.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: s.ids["sg"], Wait: true, RequestId: s.req("del-sg")})
	})
	del("subnet", func(ctx context.Context) (*canopyv1.Operation, error) {
		return nets.DeleteSubnet(ctx, &canopyv1.DeleteSubnetRequest{Id: s.ids["sub"], Wait: true, RequestId: s.req("del-sub")})
	})
	del("network", func(ctx context.Context) (*canopyv1.Operation, error) {
		return nets.DeleteNetwork(ctx, &canopyv1.DeleteNetworkRequest{Id: s.ids["net"], Wait: true, RequestId: s.req("del-net")})
	})
	del("global network", func(ctx context.Context) (*canopyv1.Operation, error) {
		return nets.DeleteNetwork(ctx, &canopyv1.DeleteNetworkRequest{Id: s.ids["gnet"], Wait: true, RequestId: s.req("del-gnet")})
	})
	del("global security group", func(ctx context.Context) (*canopyv1.Operation, error) {
		return nets.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: s.ids["gsg"], Wait: true, RequestId: s.req("del-gsg")})
	})
	if t.Failed() {
		t.Logf("%s: canopyd's log:\n%s", s.cloud, d.Logs())
	}
	d.Stop()
	// Deletes the cloud finishes after it answered (a server's ports)
	// get a minute.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		h := s.holds(t, data, s)
		if h.empty() {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: after canopy deleted the story, the cloud still holds %v", s.cloud, h)
			return
		}
	}
}
