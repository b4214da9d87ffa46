package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// NetworkService over the simulator; the adapters' own behaviour is the
// conformance suite's, on Neutron and moto.

type netEnv struct {
	*env
	n   canopyv1.NetworkServiceClient
	ops canopyv1.OperationServiceClient
}

func newNetEnv(t *testing.T, yaml string) *netEnv {
	e := newEnv(t, yaml)
	return &netEnv{env: e, n: e.netClient(t, e.token), ops: canopyv1.NewOperationServiceClient(e.conn(t, e.token))}
}

func (e *env) conn(t *testing.T, token string) *grpc.ClientConn {
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func (e *env) netClient(t *testing.T, token string) canopyv1.NetworkServiceClient {
	return canopyv1.NewNetworkServiceClient(e.conn(t, token))
}

// done waits for an operation and unpacks its response into out, or
// returns its error as a status.
func (e *netEnv) done(ctx context.Context, op *canopyv1.Operation, err error, out proto.Message) error {
	if err != nil {
		return err
	}
	for !op.Done {
		if op, err = e.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id, Timeout: durationpb.New(5 * time.Second)}); err != nil {
			return err
		}
	}
	if oe := op.GetError(); oe != nil {
		return status.Error(codes.Code(oe.Code), oe.Message)
	}
	return op.GetResponse().UnmarshalTo(out)
}

const netCloud = `
clouds:
  - name: sim
    kind: sim
`

func TestNetworkLifecycle(t *testing.T) {
	e := newNetEnv(t, netCloud)
	ctx := ctxT(t)
	var nw canopyv1.Network
	op, err := e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "app", Cidr: "10.20.0.0/16", Labels: map[string]string{"tier": "web"}, RequestId: "net-1"})
	if err := e.done(ctx, op, err, &nw); err != nil {
		t.Fatal(err)
	}
	if nw.Id != op.Metadata.TargetId || nw.Cidr != "10.20.0.0/16" || nw.Labels["tier"] != "web" || nw.Location.GetCloud() != "sim" {
		t.Fatalf("network = %v", &nw)
	}
	// The same request id answers with the same operation.
	again, err := e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "app", Cidr: "10.20.0.0/16", Labels: map[string]string{"tier": "web"}, RequestId: "net-1"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Id != op.Id {
		t.Errorf("replayed request: operation %s, want %s", again.Id, op.Id)
	}

	var sub canopyv1.Subnet
	op, err = e.n.CreateSubnet(ctx, &canopyv1.CreateSubnetRequest{Name: "front", Network: "app", Cidr: "10.20.1.0/24", DnsServers: []string{"192.0.2.53"}})
	if err := e.done(ctx, op, err, &sub); err != nil {
		t.Fatal(err)
	}
	if sub.NetworkId != nw.Id || sub.GatewayIp != "10.20.1.1" || sub.Cidr != "10.20.1.0/24" || sub.IpVersion != 4 {
		t.Fatalf("subnet = %v", &sub)
	}
	got, err := e.n.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.SubnetIds) != 1 || got.SubnetIds[0] != sub.Id {
		t.Errorf("network's subnets = %v, want [%s]", got.SubnetIds, sub.Id)
	}

	// Addressing errors name the field, before anything reaches the cloud.
	for _, tc := range []struct {
		req      *canopyv1.CreateSubnetRequest
		field    string
		mentions []string
	}{
		{&canopyv1.CreateSubnetRequest{Name: "x", Network: "app", Cidr: "10.20.300.0/24"}, "cidr", []string{"not a CIDR"}},
		{&canopyv1.CreateSubnetRequest{Name: "x", Network: "app", Cidr: "10.20.2.5/24"}, "cidr", []string{"10.20.2.0/24"}},
		{&canopyv1.CreateSubnetRequest{Name: "x", Network: "app", Cidr: "10.99.0.0/24"}, "cidr", []string{"outside", "10.20.0.0/16"}},
		{&canopyv1.CreateSubnetRequest{Name: "x", Network: "app", Cidr: "10.20.1.128/25"}, "cidr", []string{"overlaps", sub.Id, "front"}},
		{&canopyv1.CreateSubnetRequest{Name: "x", Network: "app", Cidr: "10.20.2.0/24", GatewayIp: "10.20.3.1"}, "gateway_ip", []string{"outside"}},
		{&canopyv1.CreateSubnetRequest{Name: "x", Network: "app", Cidr: "10.20.2.0/24", GatewayIp: "10.20.2.255"}, "gateway_ip", []string{"broadcast"}},
		{&canopyv1.CreateSubnetRequest{Name: "x", Network: "app", Cidr: "10.20.2.0/24", AllocationPools: []*canopyv1.IPRange{{Start: "10.20.2.50", End: "10.20.2.10"}}}, "allocation_pools[0]", []string{"after"}},
		{&canopyv1.CreateSubnetRequest{Name: "x", Network: "nope", Cidr: "10.20.2.0/24"}, "", []string{"nope"}},
	} {
		_, err := e.n.CreateSubnet(ctx, tc.req)
		code := codes.InvalidArgument
		if tc.field == "" {
			code = codes.NotFound
		}
		wantErr(t, err, code, tc.field, tc.mentions...)
	}

	// A port with a fixed address, in a group whose rule names itself.
	var sg canopyv1.SecurityGroup
	op, err = e.n.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: "web", Description: "web tier", Rules: []*canopyv1.SecurityGroupRule{
		{Protocol: "tcp", PortMin: 22, RemoteCidr: "0.0.0.0/0"},
		{Protocol: "tcp", PortMin: 8000, PortMax: 8080, RemoteGroup: "web"},
	}})
	if err := e.done(ctx, op, err, &sg); err != nil {
		t.Fatal(err)
	}
	var self, ssh bool
	for _, r := range sg.Rules {
		self = self || (r.RemoteGroup == sg.Id && r.PortMin == 8000 && r.PortMax == 8080 && r.Direction == canopyv1.SecurityGroupRule_DIRECTION_INGRESS)
		ssh = ssh || (r.RemoteCidr == "0.0.0.0/0" && r.PortMin == 22 && r.PortMax == 22 && r.Protocol == "tcp")
	}
	if !self || !ssh {
		t.Fatalf("group rules = %v: want ssh from anywhere and 8000-8080 from itself", sg.Rules)
	}
	_, err = e.n.AddSecurityGroupRule(ctx, &canopyv1.AddSecurityGroupRuleRequest{Id: "web", Rule: &canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 22, RemoteCidr: "0.0.0.0/0"}})
	wantErr(t, err, codes.AlreadyExists, "")
	_, err = e.n.AddSecurityGroupRule(ctx, &canopyv1.AddSecurityGroupRuleRequest{Id: "web", Rule: &canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 70000}})
	wantErr(t, err, codes.InvalidArgument, "rule.port_min")

	var port canopyv1.Port
	op, err = e.n.CreatePort(ctx, &canopyv1.CreatePortRequest{Name: "vip", Network: "app", Subnet: "front", FixedIp: "10.20.1.10", SecurityGroups: []string{"web"}})
	if err := e.done(ctx, op, err, &port); err != nil {
		t.Fatal(err)
	}
	if len(port.FixedIps) != 1 || port.FixedIps[0].Ip != "10.20.1.10" || port.FixedIps[0].SubnetId != sub.Id || len(port.SecurityGroupIds) != 1 || port.SecurityGroupIds[0] != sg.Id {
		t.Fatalf("port = %v", &port)
	}
	_, err = e.n.CreatePort(ctx, &canopyv1.CreatePortRequest{Name: "bad", Network: "app", Subnet: "front", FixedIp: "10.20.9.9"})
	wantErr(t, err, codes.InvalidArgument, "fixed_ip", "outside")

	// A group a port uses cannot go, and the error names the port.
	_, err = e.n.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: "web"})
	wantErr(t, err, codes.FailedPrecondition, "", port.Id)

	// A router with a gateway on the cloud's external network.
	var rt canopyv1.Router
	op, err = e.n.CreateRouter(ctx, &canopyv1.CreateRouterRequest{Name: "edge", ExternalNetwork: "public"})
	if err := e.done(ctx, op, err, &rt); err != nil {
		t.Fatal(err)
	}
	pub, err := e.n.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if !pub.External || rt.ExternalNetworkId != pub.Id {
		t.Fatalf("router gateway on %q, public is %v", rt.ExternalNetworkId, pub)
	}
	r2, err := e.n.AddRouterInterface(ctx, &canopyv1.AddRouterInterfaceRequest{Id: "edge", Subnet: "front"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Interfaces) != 1 || r2.Interfaces[0].SubnetId != sub.Id {
		t.Fatalf("interfaces = %v", r2.Interfaces)
	}
	_, err = e.n.DeleteRouter(ctx, &canopyv1.DeleteRouterRequest{Id: "edge"})
	wantErr(t, err, codes.FailedPrecondition, "", sub.Id)
	// A subnet with a port (the router's, the vip) is refused up front,
	// naming them.
	_, err = e.n.DeleteSubnet(ctx, &canopyv1.DeleteSubnetRequest{Id: "front"})
	wantErr(t, err, codes.FailedPrecondition, "", port.Id, "router_interface")
	_, err = e.n.CreateRouter(ctx, &canopyv1.CreateRouterRequest{Name: "bad", ExternalNetwork: "app"})
	wantErr(t, err, codes.InvalidArgument, "external_network", "not external")

	// A floating IP, associated with the port, found by its address.
	var fip canopyv1.FloatingIP
	op, err = e.n.AllocateFloatingIP(ctx, &canopyv1.AllocateFloatingIPRequest{})
	if err := e.done(ctx, op, err, &fip); err != nil {
		t.Fatal(err)
	}
	if fip.Ip == "" || fip.NetworkId != pub.Id || fip.Name != fip.Ip {
		t.Fatalf("floating IP = %v", &fip)
	}
	a, err := e.n.AssociateFloatingIP(ctx, &canopyv1.AssociateFloatingIPRequest{Id: fip.Ip, Port: "vip"})
	if err != nil {
		t.Fatal(err)
	}
	if a.PortId != port.Id || a.FixedIp != "10.20.1.10" {
		t.Fatalf("associated = %v", a)
	}
	got2, err := e.n.GetFloatingIP(ctx, &canopyv1.GetFloatingIPRequest{Id: fip.Ip})
	if err != nil {
		t.Fatal(err)
	}
	if got2.Id != fip.Id || got2.PortId != port.Id {
		t.Errorf("get by address = %v", got2)
	}
	d, err := e.n.DisassociateFloatingIP(ctx, &canopyv1.DisassociateFloatingIPRequest{Id: fip.Id})
	if err != nil {
		t.Fatal(err)
	}
	if d.PortId != "" {
		t.Errorf("disassociated = %v", d)
	}

	// Everything goes, in order; a delete answers with the last view.
	var gone canopyv1.FloatingIP
	op, err = e.n.ReleaseFloatingIP(ctx, &canopyv1.ReleaseFloatingIPRequest{Id: fip.Id})
	if err := e.done(ctx, op, err, &gone); err != nil {
		t.Fatal(err)
	}
	if gone.Id != fip.Id || gone.Status != canopyv1.Status_STATUS_DELETED {
		t.Errorf("released = %v", &gone)
	}
	if _, err := e.n.RemoveRouterInterface(ctx, &canopyv1.RemoveRouterInterfaceRequest{Id: "edge", Subnet: "front"}); err != nil {
		t.Fatal(err)
	}
	for _, del := range []func() (*canopyv1.Operation, error){
		func() (*canopyv1.Operation, error) {
			return e.n.DeleteRouter(ctx, &canopyv1.DeleteRouterRequest{Id: "edge", Wait: true})
		},
		func() (*canopyv1.Operation, error) {
			return e.n.DeletePort(ctx, &canopyv1.DeletePortRequest{Id: "vip", Wait: true})
		},
		func() (*canopyv1.Operation, error) {
			return e.n.DeleteSecurityGroup(ctx, &canopyv1.DeleteSecurityGroupRequest{Id: "web", Wait: true})
		},
		func() (*canopyv1.Operation, error) {
			return e.n.DeleteSubnet(ctx, &canopyv1.DeleteSubnetRequest{Id: "front", Wait: true})
		},
		func() (*canopyv1.Operation, error) {
			return e.n.DeleteNetwork(ctx, &canopyv1.DeleteNetworkRequest{Id: "app", Wait: true})
		},
	} {
		op, err := del()
		if err != nil {
			t.Fatal(err)
		}
		if !op.Done || op.GetError() != nil {
			t.Fatalf("delete: %v", op)
		}
	}
	_, err = e.n.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: nw.Id})
	wantErr(t, err, codes.NotFound, "")
}

func TestNetworkProjects(t *testing.T) {
	e := newNetEnv(t, netCloud)
	ctx := ctxT(t)
	var nw canopyv1.Network
	op, err := e.n.CreateNetwork(ctx, &canopyv1.CreateNetworkRequest{Name: "mine", Cidr: "10.1.0.0/16"})
	if err := e.done(ctx, op, err, &nw); err != nil {
		t.Fatal(err)
	}
	other := e.netClient(t, mintToken(t, e.srv, "other", auth.ScopeRead, auth.ScopeWrite))
	list, err := other.ListNetworks(ctx, &canopyv1.ListNetworksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range list.Networks {
		names = append(names, n.Name)
		if n.Id == nw.Id {
			t.Errorf("project other sees project default's network %v", n)
		}
	}
	if !strings.Contains(strings.Join(names, ","), "public") {
		t.Errorf("project other does not see the external network: %v", names)
	}
	for _, ref := range []string{nw.Id, "mine"} {
		_, err := other.GetNetwork(ctx, &canopyv1.GetNetworkRequest{Id: ref})
		wantErr(t, err, codes.NotFound, "")
		_, err = other.CreateSubnet(ctx, &canopyv1.CreateSubnetRequest{Name: "s", Network: ref, Cidr: "10.1.1.0/24"})
		wantErr(t, err, codes.NotFound, "")
	}
	// The cloud's external network is seen, used, never deleted by others.
	_, err = other.DeleteNetwork(ctx, &canopyv1.DeleteNetworkRequest{Id: "public"})
	wantErr(t, err, codes.PermissionDenied, "", "public", "not to your project")
	ext, err := other.ListNetworks(ctx, &canopyv1.ListNetworksRequest{External: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ext.Networks) != 1 || !ext.Networks[0].External {
		t.Errorf("external networks = %v", ext.Networks)
	}
}

func TestServerNetworking(t *testing.T) {
	e := newNetEnv(t, `
clouds:
  - name: sim
    kind: sim
    options: `+fastSim+`
  - name: bare
    kind: sim
    options: {no_external_network: true}
`)
	ctx := ctxT(t)
	var sg canopyv1.SecurityGroup
	op, err := e.n.CreateSecurityGroup(ctx, &canopyv1.CreateSecurityGroupRequest{Name: "ssh", Location: &canopyv1.Location{Cloud: "sim"},
		Rules: []*canopyv1.SecurityGroupRule{{Protocol: "tcp", PortMin: 22}}})
	if err := e.done(ctx, op, err, &sg); err != nil {
		t.Fatal(err)
	}
	var port canopyv1.Port
	op, err = e.n.CreatePort(ctx, &canopyv1.CreatePortRequest{Name: "fixed", Network: "private", FixedIp: ""})
	wantErr(t, err, codes.InvalidArgument, "network", "2 networks") // "private" is in both clouds
	priv, err := e.n.ListNetworks(ctx, &canopyv1.ListNetworksRequest{Name: "private", Location: &canopyv1.Location{Cloud: "sim"}})
	if err != nil || len(priv.Networks) != 1 {
		t.Fatalf("private network of sim: %v %v", priv, err)
	}
	op, err = e.n.CreatePort(ctx, &canopyv1.CreatePortRequest{Name: "fixed", Network: priv.Networks[0].Id})
	if err := e.done(ctx, op, err, &port); err != nil {
		t.Fatal(err)
	}

	// auto_ip needs wait, as in shade.
	_, err = e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "web", Flavor: "m1.small", Image: "debian-12", AutoIp: true,
		Location: &canopyv1.Location{Cloud: "sim"}})
	wantErr(t, err, codes.InvalidArgument, "auto_ip", "wait")
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "web", Flavor: "m1.small", Image: "debian-12", Location: &canopyv1.Location{Cloud: "sim"},
		Ports: []string{"fixed"}, SecurityGroups: []string{"ssh"}, AutoIp: true, Wait: true, RequestId: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	var fixed, floating string
	for _, a := range sv.Addresses {
		switch a.Type {
		case "fixed":
			fixed = a.Ip
		case "floating":
			floating = a.Ip
		}
	}
	if fixed != port.FixedIps[0].Ip || floating == "" {
		t.Fatalf("server addresses %v: want the port's %s and a floating address", sv.Addresses, port.FixedIps[0].Ip)
	}
	p, err := e.n.GetPort(ctx, &canopyv1.GetPortRequest{Id: "fixed"})
	if err != nil || p.ServerId != sv.Id {
		t.Fatalf("port after create: %v %v, want server %s", p, err, sv.Id)
	}
	fips, err := e.n.ListFloatingIPs(ctx, &canopyv1.ListFloatingIPsRequest{Server: "web"})
	if err != nil || len(fips.FloatingIps) != 1 || fips.FloatingIps[0].Ip != floating {
		t.Fatalf("floating IPs of web: %v %v", fips, err)
	}
	// A retried create (same request id) keeps the one floating IP.
	if _, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "web", Flavor: "m1.small", Image: "debian-12", Location: &canopyv1.Location{Cloud: "sim"},
		Ports: []string{"fixed"}, SecurityGroups: []string{"ssh"}, AutoIp: true, Wait: true, RequestId: "web-1"}); err != nil {
		t.Fatal(err)
	}
	if fips, err := e.n.ListFloatingIPs(ctx, &canopyv1.ListFloatingIPsRequest{}); err != nil || len(fips.FloatingIps) != 1 {
		t.Fatalf("after a retried create: %v %v", fips, err)
	}
	// A port in use cannot be given to a second server.
	_, err = e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "web2", Flavor: "m1.small", Image: "debian-12", Location: &canopyv1.Location{Cloud: "sim"},
		Ports: []string{"fixed"}})
	wantErr(t, err, codes.FailedPrecondition, "", "ports[0]", "in use")

	// A cloud without an external network: no floating IPs, said clearly.
	_, err = e.n.AllocateFloatingIP(ctx, &canopyv1.AllocateFloatingIPRequest{Location: &canopyv1.Location{Cloud: "bare"}})
	wantErr(t, err, codes.FailedPrecondition, "", `"bare"`, "no external network")
	_, err = e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "lonely", Flavor: "m1.small", Image: "debian-12", Location: &canopyv1.Location{Cloud: "bare"},
		AutoIp: true, Wait: true})
	wantErr(t, err, codes.FailedPrecondition, "", `"bare"`, "no external network")
}

// The REST mapping: the paths users of Neutron's API and the CLI expect,
// the one error shape, enums in their short form, list fields always
// present.
func TestNetworksREST(t *testing.T) {
	e := newNetEnv(t, netCloud)
	for _, c := range []restCase{
		{name: "create", method: "POST", path: "/v1/networks", body: strings.NewReader(`{"name":"rest-net","cidr":"10.44.0.0/16","wait":true}`),
			status: 200, mentions: []string{`"done":true`, `"10.44.0.0/16"`}},
		{name: "bad cidr", method: "POST", path: "/v1/subnets", body: strings.NewReader(`{"name":"s","network":"rest-net","cidr":"10.44.1.7/24"}`),
			status: 400, code: codes.InvalidArgument, fields: []string{"cidr"}, mentions: []string{"did you mean 10.44.1.0/24"}},
		{name: "global group, short enums", method: "POST", path: "/v1/securityGroups",
			body:   strings.NewReader(`{"name":"rest-g","scope":"global","rules":[{"direction":"ingress","protocol":"tcp","port_min":22,"remote_cidr":"0.0.0.0/0"}],"wait":true}`),
			status: 200, mentions: []string{`"SCOPE_GLOBAL"`, `"port_min":22`}},
		{name: "list groups", method: "GET", path: "/v1/securityGroups?name=rest-g", status: 200, mentions: []string{`"security_groups":[`, `"rest-g"`}},
		{name: "empty list keeps its field", method: "GET", path: "/v1/floatingIps", status: 200, mentions: []string{`"floating_ips":[]`}},
		{name: "external networks", method: "GET", path: "/v1/networks?external=true", status: 200, mentions: []string{`"public"`}},
		{name: "unknown network", method: "GET", path: "/v1/networks/nope", status: 404, code: codes.NotFound, mentions: []string{"nope"}},
		{name: "wrong verb", method: "PUT", path: "/v1/routers", status: 405, code: codes.Unimplemented, allow: "GET, POST"},
		{name: "gateway on a router", method: "POST", path: "/v1/routers", body: strings.NewReader(`{"name":"rest-r","external_network":"public","wait":true}`),
			status: 200, mentions: []string{`"external_network_id"`}},
		{name: "interface needs a subnet", method: "POST", path: "/v1/routers/rest-r:addInterface", body: strings.NewReader(`{}`),
			status: 400, code: codes.InvalidArgument, fields: []string{"subnet"}},
	} {
		c.check(t, e.env)
	}
}
