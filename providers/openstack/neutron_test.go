package openstack

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// Unit tests of the Neutron side: what the adapter sends, and how it reads
// Neutron's answers and errors. The lab test (neutron_openstack_test.go)
// and the conformance suite check the same against a real Neutron.

func TestLabelTags(t *testing.T) {
	tags, err := labelTags(map[string]string{"b": "2", "a": "1", "empty": ""})
	if err != nil || !slices.Equal(tags, []string{"a=1", "b=2", "empty="}) {
		t.Errorf("labelTags = %v, %v", tags, err)
	}
	for _, bad := range []map[string]string{{"": "x"}, {"k=v": "x"}, {tokenTagPrefix + "x": "y"}} {
		if _, err := labelTags(bad); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("labelTags(%v): err = %v, want ErrInvalid", bad, err)
		}
	}
	labels, token := splitTags([]string{"a=1", "b=x=y", "bare", tokenTagPrefix + "tok"})
	want := map[string]string{"a": "1", "b": "x=y", "bare": ""}
	if token != "tok" || fmt.Sprint(labels) != fmt.Sprint(want) {
		t.Errorf("splitTags = %v, %q; want %v, tok", labels, token, want)
	}
}

func TestCheckSubnetSpec(t *testing.T) {
	ok := providers.SubnetSpec{NetworkID: "n", CIDR: "10.1.2.0/24"}
	if v, err := checkSubnetSpec(ok); v != 4 || err != nil {
		t.Errorf("v4 = %d, %v", v, err)
	}
	v6 := ok
	v6.CIDR = "fd00::/64"
	if v, err := checkSubnetSpec(v6); v != 6 || err != nil {
		t.Errorf("v6 = %d, %v", v, err)
	}
	for name, mod := range map[string]func(*providers.SubnetSpec){
		"no network":        func(s *providers.SubnetSpec) { s.NetworkID = "" },
		"no cidr":           func(s *providers.SubnetSpec) { s.CIDR = "" },
		"bad cidr":          func(s *providers.SubnetSpec) { s.CIDR = "10.1.300.0/24" },
		"gateway outside":   func(s *providers.SubnetSpec) { s.GatewayIP = "10.1.3.1" },
		"gateway no addr":   func(s *providers.SubnetSpec) { s.GatewayIP = "gw" },
		"gateway and none":  func(s *providers.SubnetSpec) { s.GatewayIP, s.NoGateway = "10.1.2.1", true },
		"v4 gateway for v6": func(s *providers.SubnetSpec) { s.CIDR = "fd00::/64"; s.GatewayIP = "10.1.2.1" },
	} {
		s := ok
		mod(&s)
		if _, err := checkSubnetSpec(s); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	// A gateway inside a CIDR written with host bits (Neutron normalizes it).
	s := ok
	s.CIDR, s.GatewayIP = "10.1.2.7/24", "10.1.2.254"
	if _, err := checkSubnetSpec(s); err != nil {
		t.Errorf("gateway in 10.1.2.7/24: %v", err)
	}
}

func TestRuleBody(t *testing.T) {
	cases := []struct {
		rule providers.SecurityRule
		want string
	}{
		// ICMP type 0 (echo reply) is sent: gophercloud's omitempty would drop it.
		{providers.SecurityRule{Direction: "ingress", Protocol: "icmp", PortMin: 0, PortMax: -1},
			"map[direction:ingress ethertype:IPv4 port_range_min:0 protocol:icmp security_group_id:g]"},
		{providers.SecurityRule{Direction: "ingress", Protocol: "icmp", PortMin: -1, PortMax: -1},
			"map[direction:ingress ethertype:IPv4 protocol:icmp security_group_id:g]"},
		{providers.SecurityRule{Direction: "ingress", Protocol: "icmp", PortMin: 3, PortMax: 4},
			"map[direction:ingress ethertype:IPv4 port_range_max:4 port_range_min:3 protocol:icmp security_group_id:g]"},
		// tcp 0-0: every port, no range sent.
		{providers.SecurityRule{Direction: "egress", Protocol: "tcp"},
			"map[direction:egress ethertype:IPv4 protocol:tcp security_group_id:g]"},
		{providers.SecurityRule{Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCIDR: "::/0", Description: "ssh"},
			"map[description:ssh direction:ingress ethertype:IPv6 port_range_max:22 port_range_min:22 protocol:tcp remote_ip_prefix:::/0 security_group_id:g]"},
		{providers.SecurityRule{Direction: "ingress", EtherType: "IPv4", RemoteGroupID: "other"},
			"map[direction:ingress ethertype:IPv4 remote_group_id:other security_group_id:g]"},
	}
	for _, tc := range cases {
		b, err := ruleBody("g", tc.rule)
		if err != nil || fmt.Sprint(b) != tc.want {
			t.Errorf("ruleBody(%+v) = %v, %v; want %s", tc.rule, b, err, tc.want)
		}
	}
	for _, bad := range []providers.SecurityRule{
		{Direction: "sideways"},
		{Direction: "ingress", EtherType: "IPv5"},
		{Direction: "ingress", RemoteCIDR: "10.0.0.0/8", RemoteGroupID: "g2"},
		{Direction: "ingress", Protocol: "icmp", PortMin: -1, PortMax: 3},
	} {
		if _, err := ruleBody("g", bad); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("ruleBody(%+v): err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestToRuleNulls(t *testing.T) {
	icmp, tcp, eight := "icmp", "tcp", int32(8)
	r := toRule(ruleJSON{ID: "r", Direction: "ingress", EtherType: "IPv4", Protocol: &icmp, PortMin: &eight})
	if r.PortMin != 8 || r.PortMax != -1 || r.RemoteCIDR != "" || r.Description != "" {
		t.Errorf("icmp type 8, any code: %+v", r)
	}
	r = toRule(ruleJSON{ID: "r", Direction: "ingress", EtherType: "IPv4", Protocol: &tcp})
	if r.PortMin != 0 || r.PortMax != 0 {
		t.Errorf("tcp, every port: %+v", r)
	}
	r = toRule(ruleJSON{ID: "r", Direction: "egress", EtherType: "IPv6"})
	if r.Protocol != "" || r.PortMin != 0 || r.PortMax != 0 {
		t.Errorf("any protocol: %+v", r)
	}
}

// neutronJSON answers a Neutron-style error.
func neutronError(f *fakeCloud, w http.ResponseWriter, code int, typ, msg string) {
	f.json(w, code, map[string]any{"NeutronError": map[string]any{"type": typ, "message": msg, "detail": ""}})
}

func TestCreateNetworkPostsTheTokenThenTags(t *testing.T) {
	f := newFakeCloud(t, "2.93")
	var post map[string]any
	var tags []any
	var lookups []string
	net := map[string]any{"id": "n1", "name": "blue", "status": "ACTIVE", "mtu": 1400, "tags": []string{}, "created_at": "2026-01-02T03:04:05Z"}
	f.route("GET /network/v2.0/networks", func(w http.ResponseWriter, r *http.Request) {
		lookups = append(lookups, r.URL.RawQuery)
		f.json(w, 200, map[string]any{"networks": []any{}})
	})
	f.route("POST /network/v2.0/networks", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]map[string]any
		_ = jsonDecode(r, &req)
		post = req["network"]
		net["description"] = post["description"]
		f.json(w, 201, map[string]any{"network": net})
	})
	f.route("PUT /network/v2.0/networks/n1/tags", func(w http.ResponseWriter, r *http.Request) {
		var req map[string][]any
		_ = jsonDecode(r, &req)
		tags = req["tags"]
		net["tags"] = tags
		f.json(w, 200, req)
	})
	f.route("GET /network/v2.0/networks/n1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"network": net})
	})
	c := f.open(nil)
	n, err := c.CreateNetwork(t.Context(), providers.NetworkSpec{Name: "blue", MTU: 1400, Labels: map[string]string{"team": "a"}, IdempotencyToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(post); got != "map[description:canopy-token:tok mtu:1400 name:blue]" {
		t.Errorf("POST network = %s: want the token in the description, no tags (Neutron < 2023.2 refuses them)", got)
	}
	if got := fmt.Sprint(tags); got != "[team=a canopy-token:tok]" {
		t.Errorf("PUT tags = %s", got)
	}
	// The look-ups before the create: by tag, then by description.
	if len(lookups) < 2 || !strings.Contains(lookups[0], "tags=canopy-token%3Atok") || !strings.Contains(lookups[1], "description=canopy-token%3Atok") {
		t.Errorf("look-ups = %v", lookups)
	}
	if n.NativeID != "n1" || n.MTU != 1400 || n.Labels["team"] != "a" || n.Properties[providers.PropToken] != "tok" || n.Properties["description"] != "" {
		t.Errorf("CreateNetwork = %+v", n)
	}
	if n.Created.IsZero() || n.Status != providers.StatusActive {
		t.Errorf("CreateNetwork: created %v status %v", n.Created, n.Status)
	}
}

func TestReplayCompletesAHalfMadeSecurityGroup(t *testing.T) {
	f := newFakeCloud(t, "2.93")
	// An earlier attempt died after the POST: description = marker, no tags.
	sg := map[string]any{"id": "g1", "name": "web", "description": "canopy-token:tok", "tags": []string{}, "created_at": "2026-01-02T03:04:05Z",
		"security_group_rules": []any{map[string]any{"id": "r1", "direction": "egress", "ethertype": "IPv4", "protocol": nil,
			"port_range_min": nil, "port_range_max": nil, "remote_ip_prefix": nil, "remote_group_id": nil, "security_group_id": "g1"}}}
	var update map[string]any
	f.route("GET /network/v2.0/security-groups", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("description") == "canopy-token:tok" {
			f.json(w, 200, map[string]any{"security_groups": []any{sg}})
			return
		}
		f.json(w, 200, map[string]any{"security_groups": []any{}})
	})
	f.route("PUT /network/v2.0/security-groups/g1/tags", func(w http.ResponseWriter, r *http.Request) {
		var req map[string][]any
		_ = jsonDecode(r, &req)
		sg["tags"] = req["tags"]
		f.json(w, 200, req)
	})
	f.route("PUT /network/v2.0/security-groups/g1", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]map[string]any
		_ = jsonDecode(r, &req)
		update = req["security_group"]
		sg["description"] = update["description"]
		f.json(w, 200, map[string]any{"security_group": sg})
	})
	f.route("GET /network/v2.0/security-groups/g1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"security_group": sg})
	})
	c := f.open(nil)
	g, err := c.CreateSecurityGroup(t.Context(), providers.SecurityGroupSpec{Name: "web", Description: "the web tier",
		Labels: map[string]string{"a": "b"}, IdempotencyToken: "tok", Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests("POST /network/v2.0/security-groups")); n != 0 {
		t.Errorf("%d POSTs: the replay must adopt the half-made group", n)
	}
	if g.NativeID != "g1" || g.Description != "the web tier" || g.Labels["a"] != "b" || g.Properties[providers.PropToken] != "tok" {
		t.Errorf("CreateSecurityGroup = %+v", g)
	}
	if fmt.Sprint(update) != "map[description:the web tier]" {
		t.Errorf("update = %v", update)
	}
	if len(g.Rules) != 1 || g.Rules[0].Protocol != "" || g.Rules[0].PortMin != 0 {
		t.Errorf("rules = %+v", g.Rules)
	}
}

func TestCreateWithoutTokenUndoesAFailedTagging(t *testing.T) {
	f := newFakeCloud(t, "2.93")
	f.route("POST /network/v2.0/routers", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 201, map[string]any{"router": map[string]any{"id": "r1", "name": "x"}})
	})
	f.route("PUT /network/v2.0/routers/r1/tags", func(w http.ResponseWriter, r *http.Request) {
		neutronError(f, w, 400, "InvalidInput", "Invalid input for operation: 'xxx' exceeds maximum length of 255.")
	})
	deleted := 0
	f.route("DELETE /network/v2.0/routers/r1", func(w http.ResponseWriter, r *http.Request) { deleted++; w.WriteHeader(204) })
	c := f.open(nil)
	_, err := c.CreateRouter(t.Context(), providers.RouterSpec{Name: "x", Labels: map[string]string{"k": strings.Repeat("x", 300)}})
	if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "maximum length") {
		t.Errorf("err = %v, want ErrInvalid with Neutron's message", err)
	}
	if deleted != 1 {
		t.Errorf("router deleted %d times, want once: nothing could find it again", deleted)
	}
}

func TestNeutronErrorsAsTheContractSaysThem(t *testing.T) {
	f := newFakeCloud(t, "2.93")
	f.route("PUT /network/v2.0/routers/r1/add_router_interface", func(w http.ResponseWriter, r *http.Request) {
		neutronError(f, w, 400, "BadRequest", "Bad router request: Router already has a port on subnet s1.")
	})
	f.route("DELETE /network/v2.0/networks/n1", func(w http.ResponseWriter, r *http.Request) {
		neutronError(f, w, 409, "NetworkInUse", "Unable to complete operation on network n1. There are one or more ports still in use on the network.")
	})
	f.route("GET /network/v2.0/ports", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"ports": []any{
			map[string]any{"id": "p-dhcp", "device_owner": "network:dhcp", "device_id": "dhcp1"},
			map[string]any{"id": "p1", "device_owner": "compute:nova", "device_id": "srv1"},
		}})
	})
	// g1 is named by a rule of g2: refused before Neutron is asked (Neutron
	// would delete the rule with the group).
	f.route("GET /network/v2.0/security-group-rules", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"security_group_rules": []any{
			map[string]any{"id": "self", "security_group_id": "g1", "remote_group_id": "g1"},
			map[string]any{"id": "ref", "security_group_id": "g2", "remote_group_id": "g1"},
		}})
	})
	f.route("GET /network/v2.0/floatingips/f1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"floatingip": map[string]any{"id": "f1", "port_id": "pA", "floating_ip_address": "172.24.4.9"}})
	})
	f.route("POST /network/v2.0/security-group-rules", func(w http.ResponseWriter, r *http.Request) {
		neutronError(f, w, 404, "SecurityGroupNotFound", "Security group 00000000-0000-4000-8000-000000000000 does not exist")
	})
	c := f.open(nil)

	_, err := c.AddRouterInterface(t.Context(), "r1", "s1")
	if !errors.Is(err, providers.ErrConflict) {
		t.Errorf("AddRouterInterface twice: err = %v, want ErrConflict", err)
	}
	err = c.DeleteNetwork(t.Context(), "n1")
	if !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "port p1 (compute:nova srv1)") || strings.Contains(err.Error(), "p-dhcp") {
		t.Errorf("DeleteNetwork in use: err = %v, want ErrConflict naming port p1, not the DHCP port", err)
	}
	err = c.DeleteSecurityGroup(t.Context(), "g1")
	if !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "rule ref of group g2") || strings.Contains(err.Error(), "rule self") {
		t.Errorf("DeleteSecurityGroup named by a rule: err = %v, want ErrConflict naming rule ref only", err)
	}
	if n := len(f.requests("DELETE /network/v2.0/security-groups/g1")); n != 0 {
		t.Errorf("the group was sent %d DELETEs", n)
	}
	err = c.AssociateFloatingIP(t.Context(), "f1", "pB", "")
	if !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "pA") {
		t.Errorf("AssociateFloatingIP elsewhere: err = %v, want ErrConflict naming pA", err)
	}
	if n := len(f.requests("PUT /network/v2.0/floatingips/f1")); n != 0 {
		t.Errorf("the floating IP was sent %d PUTs (Neutron would move it)", n)
	}
	if err := c.AssociateFloatingIP(t.Context(), "f1", "pA", ""); err != nil {
		t.Errorf("AssociateFloatingIP to its own port: %v, want nil (done already)", err)
	}
	_, err = c.AddSecurityRule(t.Context(), "g1", providers.SecurityRule{Direction: "ingress", RemoteGroupID: "00000000-0000-4000-8000-000000000000"})
	if !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "remote_group_id") {
		t.Errorf("AddSecurityRule with a missing remote group: err = %v, want ErrInvalid naming remote_group_id", err)
	}
	_, err = c.AddSecurityRule(t.Context(), "00000000-0000-4000-8000-000000000000", providers.SecurityRule{Direction: "ingress"})
	if !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("AddSecurityRule to a missing group: err = %v, want ErrNotFound", err)
	}
}

func TestCreateServerPortsAndGroups(t *testing.T) {
	f := newFakeCloud(t, "2.93")
	var body map[string]any
	f.route("GET /network/v2.0/networks", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"networks": []any{map[string]any{"id": "net-1", "name": r.URL.Query().Get("name")}}})
	})
	f.route("GET /compute/v2.1/servers/detail", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"servers": []any{}})
	})
	f.route("POST /compute/v2.1/servers", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]map[string]any
		_ = jsonDecode(r, &req)
		body = req["server"]
		f.json(w, 202, map[string]any{"server": map[string]any{"id": "new-1"}})
	})
	c := f.open(nil)
	spec := providers.ServerSpec{Name: "web", FlavorID: "fl", ImageID: "img", Networks: []string{"private"}, Ports: []string{"port-1", "port-2"},
		SecurityGroupIDs: []string{"sg-1", "sg-2"}}
	if _, err := c.CreateServer(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(body["networks"]); got != "[map[uuid:net-1] map[port:port-1] map[port:port-2]]" {
		t.Errorf("networks = %s: want the network's new port, then the existing ports", got)
	}
	if got := fmt.Sprint(body["security_groups"]); got != "[map[name:sg-1] map[name:sg-2]]" {
		t.Errorf("security_groups = %s", got)
	}
	spec.Networks = nil
	if _, err := c.CreateServer(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(body["networks"]); got != "[map[port:port-1] map[port:port-2]]" {
		t.Errorf("ports only: networks = %s, want the ports alone (not auto)", got)
	}
	spec.Networks = []string{"auto"}
	if _, err := c.CreateServer(t.Context(), spec); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("auto with ports: err = %v, want ErrInvalid", err)
	}
}
