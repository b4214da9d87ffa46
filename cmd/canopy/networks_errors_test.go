package main

import (
	"strings"
	"testing"
)

// canopyd's refusals, as the CLI shows them: the code, the message, and
// the field (or what blocks a delete) a user can act on. Exit status 1.
func TestNetworkErrors(t *testing.T) {
	addr := startCanopyd(t, netClouds)
	ok(t, addr, "network", "create", "app", "--cidr", "10.20.0.0/16", "--cloud", "local", "--wait")
	ok(t, addr, "subnet", "create", "app-a", "--network", "app", "--cidr", "10.20.1.0/24", "--wait")

	subnet := []string{"subnet", "create", "s", "--network", "app"}
	for _, tc := range []struct {
		args     []string
		mentions []string
	}{
		{[]string{"network", "create", "n", "--cloud", "local", "--cidr", "10.0.0.1/16"},
			[]string{"INVALID_ARGUMENT", "field cidr:", "did you mean 10.0.0.0/16?"}},
		{[]string{"network", "create", "n", "--cloud", "local", "--cidr", "10.0.0.0/33"},
			[]string{"INVALID_ARGUMENT", "field cidr:", "not a CIDR"}},
		{[]string{"network", "create", "n"}, []string{"INVALID_ARGUMENT", "field location:", "[closed local]"}},
		{append(subnet, "--cidr", "10.99.0.0/24"), []string{"INVALID_ARGUMENT", "field cidr:", "outside the network's range 10.20.0.0/16"}},
		{append(subnet, "--cidr", "10.20.1.128/25"), []string{"INVALID_ARGUMENT", "field cidr:", "overlaps subnet", "app-a"}},
		{append(subnet, "--cidr", "10.20.2.0/24", "--gateway", "10.20.9.1"), []string{"field gateway_ip:", "outside the subnet 10.20.2.0/24"}},
		{append(subnet, "--cidr", "10.20.2.0/24", "--gateway", "10.20.2.255"), []string{"field gateway_ip:", "broadcast"}},
		{append(subnet, "--cidr", "10.20.2.0/24", "--dns", "9.9.9.9", "--dns", "dns.quad9.net"), []string{"field dns_servers[1]:", "not an IP address"}},
		{append(subnet, "--cidr", "10.20.2.0/24", "--pool", "10.20.2.0-10.20.2.9"), []string{"field allocation_pools[0].start:", "network or broadcast"}},
		{append(subnet, "--cidr", "10.20.2.0/24", "--pool", "10.20.2.90-10.20.2.10"), []string{"field allocation_pools[0]:", "after end"}},
		{[]string{"subnet", "create", "s", "--network", "ghost", "--cidr", "10.0.0.0/24"}, []string{"NOT_FOUND", "ghost"}},
		{[]string{"router", "create", "r", "--cloud", "local", "--external-network", "app"}, []string{"field external_network:", "is not external"}},
		{[]string{"fip", "allocate", "--cloud", "closed"}, []string{"FAILED_PRECONDITION", `cloud "closed" has no external network`}},
		{[]string{"sg", "create", "g", "--cloud", "local", "--rule", "tcp,22,10.0.0.1/33"}, []string{"INVALID_ARGUMENT", "field rules[0].remote_cidr:"}},
		{[]string{"sg", "create", "g", "--cloud", "local", "--rule", "tcp,22", "--rule", "ipv6,tcp,22,10.0.0.0/8"}, []string{"field rules[1].remote_cidr:", "not IPv6"}},
		{[]string{"sg", "create", "g", "--cloud", "local", "--rule", "tcp,22,group=ghost"}, []string{"NOT_FOUND", "ghost"}},
		{[]string{"sg", "rule", "add", "default", "tcp,22,10.0.0.1/8"}, []string{"INVALID_ARGUMENT", "field rule.remote_cidr:", "did you mean 10.0.0.0/8?"}},
		{[]string{"router", "add-interface", "router1", "ghost"}, []string{"NOT_FOUND", "ghost"}},
		{[]string{"fip", "associate", "203.0.113.250", "--port", "ghost"}, []string{"NOT_FOUND"}},
		{[]string{"network", "get", "ghost"}, []string{"NOT_FOUND", "ghost"}},
	} {
		r := fails(t, addr, 1, tc.args, tc.mentions...)
		if r.stdout != "" {
			t.Errorf("canopy %s: stdout on error: %q", strings.Join(tc.args, " "), r.stdout)
		}
	}

	// What only the cloud refuses fails the operation: --wait shows it and
	// exits 1.
	r := fails(t, addr, 1, []string{"port", "create", "p", "--network", "app", "--fixed-ip", "10.30.0.5", "--wait"}, "operation ", "(port.create) failed", "10.30.0.5")
	if !strings.Contains(r.stdout, "failed") {
		t.Errorf("port create --wait, failed: stdout\n%s", r.stdout)
	}

	// A network with a port is refused, naming the port.
	ok(t, addr, "port", "create", "p1", "--network", "app", "--wait")
	fails(t, addr, 1, []string{"network", "delete", "app"}, "FAILED_PRECONDITION", "network ", "is in use by port")

	// Several deletes: concurrent; the failure is printed with its name,
	// the others proceed and show as operations; exit 1.
	ok(t, addr, "network", "create", "n2", "--cloud", "local", "--wait")
	ok(t, addr, "network", "create", "n3", "--cloud", "local", "--wait")
	r = fails(t, addr, 1, []string{"network", "delete", "n2", "ghost", "n3", "--wait"}, "canopy: ghost: NOT_FOUND")
	if strings.Count(r.stdout, "network.delete") != 2 || strings.Count(r.stdout, "done") != 2 || strings.Contains(r.stdout, "ghost") {
		t.Errorf("network delete n2 ghost n3:\n%s", r.stdout)
	}
	ok(t, addr, "network", "create", "n4", "--cloud", "local", "--wait")
	ok(t, addr, "network", "create", "n5", "--cloud", "local", "--wait")
	r = ok(t, addr, "network", "delete", "n4", "n5", "-o", "json", "--request-id", "del-45")
	opIDs := func(r result) []string {
		var ids []string
		ops, _ := jsonOf(t, r)["operations"].([]any)
		for _, op := range ops {
			ids = append(ids, jsonField(op.(map[string]any), "id"))
		}
		return ids
	}
	first := opIDs(r)
	if len(first) != 2 || first[0] == first[1] {
		t.Errorf("network delete n4 n5 -o json: %s", r.stdout)
	}
	// The same request id again: the same operations, in the same order.
	if again := opIDs(ok(t, addr, "network", "delete", "n4", "n5", "-o", "json", "--request-id", "del-45")); strings.Join(again, " ") != strings.Join(first, " ") {
		t.Errorf("replayed delete: operations %v, want %v", again, first)
	}
}
