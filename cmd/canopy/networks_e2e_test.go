package main

import (
	"strings"
	"testing"
)

// The networking commands end to end against canopyd over the sim, whose
// clouds start as a fresh devstack does: the external network "public"
// (203.0.113.0/24), "private", "router1" and the group "default".

// netClouds are a cloud with networks and one without an external network.
const netClouds = fastLocal + `  - name: closed
    kind: sim
    zones: [closed-1a]
    options: {no_external_network: true, boot_delay: 20ms, delete_delay: 10ms}
`

// jsonField returns a JSON document's string field, following a path of keys.
func jsonField(m map[string]any, path ...string) string {
	var cur any = m
	for _, k := range path {
		mm, _ := cur.(map[string]any)
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

func TestNetworkLifecycle(t *testing.T) {
	addr := startCanopyd(t, netClouds)

	// Without --wait: the operation; the same request id returns it again.
	create := []string{"network", "create", "app", "--cidr", "10.20.0.0/16", "--label", "env=test", "--cloud", "local", "--request-id", "net-1", "-o", "json"}
	op := jsonOf(t, ok(t, addr, create...))
	netID := jsonField(op, "metadata", "target_id")
	if jsonField(op, "metadata", "kind") != "network.create" || netID == "" {
		t.Fatalf("network create printed %v", op)
	}
	ok(t, addr, "operation", "wait", jsonField(op, "id"))
	if again := jsonOf(t, ok(t, addr, create...)); jsonField(again, "id") != jsonField(op, "id") {
		t.Errorf("replayed create = %s, want %s", jsonField(again, "id"), jsonField(op, "id"))
	}
	r := ok(t, addr, "network", "list")
	if tableRow(r.stdout, netID, "app", "active", "local", "10.20.0.0/16", "no", "0") == "" || tableRow(r.stdout, "public", "yes") == "" {
		t.Errorf("network list:\n%s", r.stdout)
	}
	r = ok(t, addr, "network", "list", "--external")
	if tableRow(r.stdout, "public", "yes") == "" || strings.Contains(r.stdout, netID) {
		t.Errorf("network list --external:\n%s", r.stdout)
	}
	if r = ok(t, addr, "network", "list", "--label", "env=test", "-o", "json"); strings.Count(r.stdout, `"name": "app"`) != 1 || strings.Contains(r.stdout, "public") {
		t.Errorf("network list --label:\n%s", r.stdout)
	}

	// A subnet with its options, listed under its network's name.
	r = ok(t, addr, "subnet", "create", "app-a", "--network", "app", "--cidr", "10.20.1.0/24", "--dns", "9.9.9.9",
		"--pool", "10.20.1.10-10.20.1.99", "--wait")
	for _, want := range []string{"Gateway:", "10.20.1.1", "DHCP:", "yes", "9.9.9.9", "10.20.1.10-10.20.1.99", netID} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("subnet create --wait does not show %q:\n%s", want, r.stdout)
		}
	}
	r = ok(t, addr, "subnet", "list", "--network", "app")
	if tableRow(r.stdout, "app-a", "app", "10.20.1.0/24", "10.20.1.1", "local") == "" || strings.Contains(r.stdout, "private") {
		t.Errorf("subnet list --network app:\n%s", r.stdout)
	}
	r = ok(t, addr, "subnet", "create", "app-b", "--network", "app", "--cidr", "10.20.2.0/24", "--no-gateway", "--no-dhcp", "--wait", "-o", "json")
	if resp := jsonOf(t, r)["response"].(map[string]any); resp["gateway_ip"] != "" || resp["dhcp"] != false {
		t.Errorf("subnet --no-gateway --no-dhcp: %s", r.stdout)
	}
	ok(t, addr, "subnet", "delete", "app-b", "--wait")

	// A router with its gateway on "public", cleared and set again, and an
	// interface in the subnet.
	r = ok(t, addr, "router", "create", "edge", "--external-network", "public", "--cloud", "local", "--wait")
	if !strings.Contains(r.stdout, "External IPs:") || !strings.Contains(r.stdout, "203.0.113.") {
		t.Errorf("router create --external-network:\n%s", r.stdout)
	}
	if r = ok(t, addr, "router", "set-gateway", "edge", "--clear"); strings.Contains(r.stdout, "External") {
		t.Errorf("set-gateway --clear:\n%s", r.stdout)
	}
	ok(t, addr, "router", "set-gateway", "edge", "--external-network", "public")
	r = ok(t, addr, "router", "add-interface", "edge", "app-a", "-o", "json")
	ifs, _ := jsonOf(t, r)["interfaces"].([]any)
	if len(ifs) != 1 || ifs[0].(map[string]any)["ip"] != "10.20.1.1" {
		t.Errorf("add-interface: %s", r.stdout)
	}
	r = ok(t, addr, "router", "list")
	if tableRow(r.stdout, "edge", "active", "local", "public", "203.0.113.", "1") == "" {
		t.Errorf("router list:\n%s", r.stdout)
	}
	subnetID := jsonField(jsonOf(t, ok(t, addr, "subnet", "get", "app-a", "-o", "json")), "id")
	fails(t, addr, 1, []string{"router", "delete", "edge"}, "FAILED_PRECONDITION", "still has an interface in subnet "+subnetID)

	// A group whose rule references the group itself.
	r = ok(t, addr, "sg", "create", "cluster", "--cloud", "local", "--description", "talks to itself", "--rule", "any,self", "--rule", "ingress,tcp,22,0.0.0.0/0", "--wait", "-o", "json")
	sg := jsonOf(t, r)["response"].(map[string]any)
	sgID, _ := sg["id"].(string)
	self := false
	for _, x := range sg["rules"].([]any) {
		if x.(map[string]any)["remote_group"] == sgID {
			self = true
		}
	}
	if !self {
		t.Errorf("no rule references the group itself: %s", r.stdout)
	}
	r = ok(t, addr, "sg", "get", "cluster")
	if tableRow(r.stdout, "ingress", "IPv4", "any", "self") == "" || tableRow(r.stdout, "ingress", "tcp", "22", "0.0.0.0/0") == "" ||
		tableRow(r.stdout, "egress", "anywhere") == "" {
		t.Errorf("sg get: rules table:\n%s", r.stdout)
	}
	r = ok(t, addr, "sg", "rule", "add", "cluster", "tcp,8000-8080,10.0.0.0/8", "icmp,8", "--description", "ops")
	if tableRow(r.stdout, "tcp", "8000-8080", "10.0.0.0/8", "ops") == "" || tableRow(r.stdout, "icmp", "8", "anywhere", "ops") == "" {
		t.Errorf("sg rule add:\n%s", r.stdout)
	}
	fails(t, addr, 1, []string{"sg", "rule", "add", "cluster", "udp,53", "tcp,22,0.0.0.0/0"}, "ALREADY_EXISTS", "rule 2 of 2 (tcp,22,0.0.0.0/0; 1 added before it)")
	ruleID := strings.Fields(tableRow(ok(t, addr, "sg", "get", "cluster").stdout, "udp", "53"))[0]
	r = ok(t, addr, "sg", "rule", "delete", "cluster", ruleID)
	if strings.Contains(r.stdout, ruleID) || tableRow(r.stdout, "8000-8080") == "" {
		t.Errorf("sg rule delete %s:\n%s", ruleID, r.stdout)
	}
	fails(t, addr, 1, []string{"sg", "rule", "delete", "cluster", "sgr-ghost"}, "NOT_FOUND")
	if r = ok(t, addr, "sg", "get", "cluster"); tableRow(r.stdout, "udp", "53") != "" || tableRow(r.stdout, "any", "self") == "" {
		t.Errorf("sg get after the rule deletes:\n%s", r.stdout)
	}
	if r = ok(t, addr, "sg", "list"); tableRow(r.stdout, sgID, "cluster", "active", "local", "talks to itself") == "" {
		t.Errorf("sg list:\n%s", r.stdout)
	}

	// A port with a fixed address in the group, and a floating IP for it.
	r = ok(t, addr, "port", "create", "vip", "--network", "app", "--subnet", "app-a", "--fixed-ip", "10.20.1.10", "--sg", "cluster", "--wait")
	if !strings.Contains(r.stdout, "10.20.1.10 (subnet "+subnetID+")") || !strings.Contains(r.stdout, sgID) {
		t.Errorf("port create --wait:\n%s", r.stdout)
	}
	if r = ok(t, addr, "port", "list", "--network", "app"); tableRow(r.stdout, "vip", "app", "10.20.1.10") == "" || tableRow(r.stdout, "10.20.1.1", "network:router_interface") == "" {
		t.Errorf("port list --network app:\n%s", r.stdout)
	}
	fip := jsonOf(t, ok(t, addr, "fip", "allocate", "--network", "public", "--cloud", "local", "--wait", "-o", "json"))["response"].(map[string]any)
	ip, _ := fip["ip"].(string)
	if !strings.HasPrefix(ip, "203.0.113.") {
		t.Fatalf("fip allocate: %v", fip)
	}
	r = ok(t, addr, "fip", "associate", ip, "--port", "vip")
	if !strings.Contains(r.stdout, "Fixed IP:") || !strings.Contains(r.stdout, "10.20.1.10") {
		t.Errorf("fip associate --port:\n%s", r.stdout)
	}
	if r = ok(t, addr, "fip", "list"); tableRow(r.stdout, ip, "local", "10.20.1.10") == "" {
		t.Errorf("fip list:\n%s", r.stdout)
	}
	fails(t, addr, 1, []string{"sg", "delete", "cluster"}, "FAILED_PRECONDITION", "in use by port")

	// A server in the network, in a group of its own, with a floating IP
	// of its own.
	ok(t, addr, "sg", "create", "solo", "--cloud", "local", "--rule", "tcp,80", "--wait")
	ok(t, addr, "server", "create", "web", "--flavor", "m1.tiny", "--image", "cirros-0.6.2", "--cloud", "local", "--network", netID,
		"--sg", "solo", "--auto-ip", "--wait")
	r = ok(t, addr, "fip", "list", "--server", "web", "-o", "json")
	fips, _ := jsonOf(t, r)["floating_ips"].([]any)
	if len(fips) != 1 {
		t.Fatalf("fip list --server web: %s", r.stdout)
	}
	webIP, _ := fips[0].(map[string]any)["ip"].(string)
	if r = ok(t, addr, "server", "get", "web"); !strings.Contains(r.stdout, webIP) || !strings.Contains(r.stdout, "10.20.1.") {
		t.Errorf("server get web does not show %s and its fixed address:\n%s", webIP, r.stdout)
	}
	if r = ok(t, addr, "port", "list", "--server", "web"); tableRow(r.stdout, "app", "10.20.1.") == "" {
		t.Errorf("port list --server web:\n%s", r.stdout)
	}

	fails(t, addr, 1, []string{"sg", "delete", "solo"}, "FAILED_PRECONDITION", "in use by port", "(server ")

	// A server on a port made beforehand, with its fixed address.
	ok(t, addr, "port", "create", "db-port", "--network", "app", "--fixed-ip", "10.20.1.50", "--wait")
	ok(t, addr, "server", "create", "db", "--flavor", "m1.tiny", "--image", "cirros-0.6.2", "--cloud", "local", "--port", "db-port", "--wait")
	if r = ok(t, addr, "port", "list", "--server", "db"); tableRow(r.stdout, "db-port", "10.20.1.50") == "" {
		t.Errorf("port list --server db:\n%s", r.stdout)
	}
	fails(t, addr, 1, []string{"server", "create", "db2", "--flavor", "m1.tiny", "--image", "cirros-0.6.2", "--cloud", "local", "--port", "db-port"},
		"FAILED_PRECONDITION", "ports[0]: port ", "is in use by")
	ok(t, addr, "server", "delete", "db", "--wait")
	ok(t, addr, "port", "delete", "db-port", "--wait")

	// Taking it all down: the server's group once the server is gone (its
	// port went with it, though canopy did not delete it), several
	// floating IPs at once.
	ok(t, addr, "server", "delete", "web", "--wait")
	ok(t, addr, "sg", "delete", "solo", "--wait")
	if r = ok(t, addr, "fip", "disassociate", ip); strings.Contains(r.stdout, "Fixed IP:") {
		t.Errorf("fip disassociate:\n%s", r.stdout)
	}
	r = ok(t, addr, "fip", "release", ip, webIP, "--wait")
	if tableRow(r.stdout, "floating_ip.delete", "done") == "" || strings.Count(r.stdout, "done") != 2 {
		t.Errorf("fip release (two):\n%s", r.stdout)
	}
	ok(t, addr, "port", "delete", "vip", "--wait")
	ok(t, addr, "router", "remove-interface", "edge", "app-a")
	ok(t, addr, "router", "delete", "edge", "--wait")
	ok(t, addr, "sg", "delete", "cluster", "--wait")
	ok(t, addr, "subnet", "delete", "app-a", "--wait")
	r = ok(t, addr, "network", "delete", "app", "--wait")
	if !strings.Contains(r.stdout, "deleted") {
		t.Errorf("network delete --wait:\n%s", r.stdout)
	}
	for _, kind := range []string{"network", "subnet", "port", "router", "sg", "fip"} {
		r = ok(t, addr, kind, "list", "--cloud", "local")
		for _, gone := range []string{"app", "edge", "cluster", "vip", "203.0.113.4"} {
			if tableRow(r.stdout, " "+gone+" ") != "" {
				t.Errorf("%s list still shows %s:\n%s", kind, gone, r.stdout)
			}
		}
	}
}
