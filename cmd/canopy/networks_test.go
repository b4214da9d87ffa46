package main

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

const (
	ingress = canopyv1.SecurityGroupRule_DIRECTION_INGRESS
	egress  = canopyv1.SecurityGroupRule_DIRECTION_EGRESS
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want *canopyv1.SecurityGroupRule
	}{
		{"ingress,tcp,22,0.0.0.0/0", &canopyv1.SecurityGroupRule{Direction: ingress, Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCidr: "0.0.0.0/0"}},
		// Any order; words in any case; spaces around elements.
		{"0.0.0.0/0, 22 ,TCP", &canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCidr: "0.0.0.0/0"}},
		{"tcp,8000-8080,10.0.0.0/8", &canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 8000, PortMax: 8080, RemoteCidr: "10.0.0.0/8"}},
		{"udp,53,group=dns", &canopyv1.SecurityGroupRule{Protocol: "udp", PortMin: 53, PortMax: 53, RemoteGroup: "dns"}},
		{"any,self", &canopyv1.SecurityGroupRule{RemoteGroup: "grp"}},
		{"egress,ipv6,any", &canopyv1.SecurityGroupRule{Direction: egress, EtherType: "IPv6"}},
		{"tcp", &canopyv1.SecurityGroupRule{Protocol: "tcp"}},
		{"icmp,8", &canopyv1.SecurityGroupRule{Protocol: "icmp", PortMin: 8, PortMax: -1}},
		{"icmpv6,128:0,::/0", &canopyv1.SecurityGroupRule{Protocol: "icmpv6", PortMin: 128, PortMax: 0, RemoteCidr: "::/0"}},
		{"proto=47,10.1.0.0/16", &canopyv1.SecurityGroupRule{Protocol: "47", RemoteCidr: "10.1.0.0/16"}},
		{"proto=6,443", &canopyv1.SecurityGroupRule{Protocol: "6", PortMin: 443, PortMax: 443}},
		// The CIDR is canopyd's to check (it names the field).
		{"tcp,22,10.0.0.1/33", &canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCidr: "10.0.0.1/33"}},
	} {
		got, err := parseRule(tc.spec, "grp")
		if err != nil {
			t.Errorf("parseRule(%q): %v", tc.spec, err)
			continue
		}
		if !proto.Equal(got, tc.want) {
			t.Errorf("parseRule(%q) = %v, want %v", tc.spec, got, tc.want)
		}
	}

	for _, tc := range []struct{ spec, mention string }{
		{"", "empty element"},
		{"tcp,,22", "empty element"},
		{"tcp,22,", "empty element"},
		{"ingress,egress", `two directions ("ingress" and "egress")`},
		{"tcp,udp", "two protocols"},
		{"tcp,22,23", "two ports"},
		{"10.0.0.0/8,self", "two remotes"},
		{"group=a,group=b", "two remotes"},
		{"ipv4,ipv6", "two ether types"},
		{"22", "say which protocol"},
		{"any,22", "say which protocol"},
		{"proto=47,22", "say which protocol"},
		{"tcp,0", "1-65535"},
		{"tcp,70000", "1-65535"},
		{"tcp,90-80", "MIN <= MAX"},
		{"tcp,22:23", "MIN-MAX"},
		{"icmp,8-0", "TYPE:CODE"},
		{"icmp,256", "0-255"},
		{"icmp,8:300", "0-255"},
		{"proto=300", "0-255"},
		{"proto=gre", "proto=N"},
		{"group=", "group=G"},
		{"sctp", `"sctp" is not a direction, protocol`},
		{"tcp,ssh", `"ssh" is not`},
		{"tcp,-22", `"-22" is not`},
	} {
		_, err := parseRule(tc.spec, "grp")
		if err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("parseRule(%q) = %v, want an error mentioning %q", tc.spec, err, tc.mention)
		}
	}
}

// The rule table writes rules back in SPEC words; those that name a
// protocol read back as the same rule.
func TestRuleWords(t *testing.T) {
	for _, tc := range []struct {
		rule          *canopyv1.SecurityGroupRule
		ports, remote string
		roundTrip     bool
	}{
		{&canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 22, PortMax: 22, RemoteCidr: "0.0.0.0/0"}, "22", "0.0.0.0/0", true},
		{&canopyv1.SecurityGroupRule{Protocol: "tcp", PortMin: 8000, PortMax: 8080, RemoteGroup: "g-2"}, "8000-8080", "group=g-2", true},
		{&canopyv1.SecurityGroupRule{Protocol: "udp", RemoteGroup: "g-1"}, "any", "self", true},
		{&canopyv1.SecurityGroupRule{Protocol: "icmp", PortMin: 8, PortMax: -1}, "8", "anywhere", true},
		{&canopyv1.SecurityGroupRule{Protocol: "icmpv6", PortMin: 128, PortMax: 0}, "128:0", "anywhere", true},
		{&canopyv1.SecurityGroupRule{}, "any", "anywhere", false},
		// canopyd's form of "any ICMP".
		{&canopyv1.SecurityGroupRule{Protocol: "icmp", PortMin: -1, PortMax: -1}, "any", "anywhere", false},
	} {
		ports, remote := rulePorts(tc.rule), ruleRemote(tc.rule, "g-1")
		if ports != tc.ports || remote != tc.remote {
			t.Errorf("rule %v shows ports %q, remote %q; want %q, %q", tc.rule, ports, remote, tc.ports, tc.remote)
		}
		if !tc.roundTrip {
			continue
		}
		spec := tc.rule.GetProtocol()
		if ports != "any" {
			spec += "," + ports
		}
		if remote != "anywhere" {
			spec += "," + remote
		}
		if back, err := parseRule(spec, "g-1"); err != nil || !proto.Equal(back, tc.rule) {
			t.Errorf("%q reads back as %v, %v; want %v", spec, back, err, tc.rule)
		}
	}
}

func TestParsePools(t *testing.T) {
	got, err := parsePools([]string{"10.0.0.10-10.0.0.99", " fd00::10 - fd00::99 "})
	if err != nil || len(got) != 2 || got[0].GetStart() != "10.0.0.10" || got[0].GetEnd() != "10.0.0.99" || got[1].GetStart() != "fd00::10" || got[1].GetEnd() != "fd00::99" {
		t.Errorf("parsePools = %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.10", "10.0.0.10-", "-10.0.0.99", "1-2-3", ""} {
		if _, err := parsePools([]string{bad}); err == nil || !strings.Contains(err.Error(), "START-END") {
			t.Errorf("parsePools(%q) = %v, want a START-END error", bad, err)
		}
	}
}

// Mistakes in the command line are usage errors (exit 2) naming what is
// wrong, before anything reaches canopyd.
func TestNetworkUsageErrors(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	for _, tc := range []struct {
		args     []string
		mentions []string
	}{
		{[]string{"network", "create"}, []string{"missing one network NAME"}},
		{[]string{"network", "create", "a", "b"}, []string{"want one network NAME"}},
		{[]string{"network", "create", "a", "--mtu", "-1"}, []string{"--mtu"}},
		{[]string{"network", "create", "a", "--label", "novalue"}, []string{"--label", "key=value"}},
		{[]string{"network", "list", "--limit", "-1"}, []string{"--limit"}},
		{[]string{"network", "delete"}, []string{"one or more network ID|NAME"}},
		{[]string{"network", "bogus"}, []string{`unknown command "bogus"`}},
		{[]string{"subnet", "create", "s", "--cidr", "10.0.0.0/24"}, []string{"network"}},
		{[]string{"subnet", "create", "s", "--network", "n"}, []string{"cidr"}},
		{[]string{"subnet", "create", "s", "--network", "n", "--cidr", "10.0.0.0/24", "--gateway", "10.0.0.1", "--no-gateway"}, []string{"gateway", "no-gateway"}},
		{[]string{"subnet", "create", "s", "--network", "n", "--cidr", "10.0.0.0/24", "--pool", "10.0.0.5"}, []string{`--pool "10.0.0.5"`, "START-END"}},
		{[]string{"port", "create", "p"}, []string{"network"}},
		{[]string{"router", "set-gateway", "r"}, []string{"--external-network N or --clear"}},
		{[]string{"router", "set-gateway", "r", "--external-network", "public", "--clear"}, []string{"external-network", "clear"}},
		{[]string{"router", "add-interface", "r"}, []string{"ROUTER and SUBNET"}},
		{[]string{"router", "remove-interface", "r", "s", "t"}, []string{"ROUTER and SUBNET"}},
		{[]string{"sg", "create", "g", "--rule", "tcp,http"}, []string{`--rule "tcp,http"`, `"http" is not`, "rule syntax"}},
		{[]string{"sg", "rule", "add", "g"}, []string{"GROUP", "rule SPEC"}},
		{[]string{"sg", "rule", "add", "g", "tcp,22", "udp,99999"}, []string{`rule "udp,99999"`, "1-65535"}},
		{[]string{"sg", "rule", "delete", "g"}, []string{"RULE_ID"}},
		{[]string{"sg", "rule", "bogus"}, []string{`unknown command "bogus"`}},
		{[]string{"fip", "allocate", "extra"}, []string{"no arguments"}},
		{[]string{"fip", "associate", "1.2.3.4"}, []string{"--server S or --port P"}},
		{[]string{"fip", "associate", "1.2.3.4", "--server", "s", "--port", "p"}, []string{"server", "port"}},
		{[]string{"fip", "list", "--name", "x"}, []string{"--name"}},
		{[]string{"fip", "release"}, []string{"one or more floating IP ID|ADDRESS"}},
	} {
		fails(t, addr, 2, tc.args, append(tc.mentions, "--help' for usage")...)
	}
}
