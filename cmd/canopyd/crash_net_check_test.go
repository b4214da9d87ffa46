package main

// The networking story's invariants (crash_net_test.go), and the story on
// a sim cloud, counted from the sim's state file.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/internal/canopydtest"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// verify checks, canopyd stopped, what the story left: every operation
// done without error; each id the story holds (realizations included)
// bound, in this cloud, to a resource the cloud has and that carries the
// id as its token; the cloud holding exactly those (no duplicate, no leak);
// each router with its one interface; no id of a networking kind left
// pending.
func (s *netStory) verify(t *testing.T, data string) {
	t.Helper()
	holds := s.holds(t, data, s)
	st, err := bolt.Open(filepath.Join(data, "canopy", "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()

	ops, err := st.ListOperations(ctx, store.OperationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if !op.Done || op.ErrorCode != 0 {
			t.Errorf("%s: operation %s (%s, step %s) done=%v error %d %s", s.cloud, op.ID, op.Kind, op.Step, op.Done, op.ErrorCode, op.ErrorMessage)
		}
	}

	// The server's auto_ip floating IP carries the server's id as its
	// token: exactly one, on the server.
	var auto []string
	for n, tok := range holds.res[providers.KindFloatingIP] {
		if tok != "" && tok == s.ids["srv"] {
			auto = append(auto, n)
		}
	}
	if len(auto) != 1 {
		t.Errorf("%s: the cloud holds floating IPs %v made for the server's auto_ip; want one", s.cloud, auto)
	}
	natives := map[string]string{} // story id → native id
	for kind, ids := range s.expected() {
		var want []string
		if kind == providers.KindFloatingIP {
			want = append(want, auto...)
		}
		for _, id := range ids {
			if id == "" {
				t.Errorf("%s: the story has no id for a %s: %v", s.cloud, kind, s.ids)
				continue
			}
			m, err := st.Get(ctx, id)
			if err != nil || m.Pending() || m.Cloud != s.cloud || m.Kind != kind {
				t.Errorf("%s: mapping of %s %s = %+v, %v; want bound in this cloud", s.cloud, kind, id, m, err)
				continue
			}
			natives[id] = m.NativeID
			want = append(want, m.NativeID)
			tok, held := holds.res[kind][m.NativeID]
			switch {
			case !held:
				t.Errorf("%s: %s %s is bound to %s, which the cloud does not hold", s.cloud, kind, id, m.NativeID)
			case tok != "" && tok != id:
				t.Errorf("%s: %s %s is bound to %s, which carries the token %s", s.cloud, kind, id, m.NativeID, tok)
			}
		}
		sort.Strings(want)
		if got := holds.natives(kind); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the cloud holds %s %v of this story; canopy's are %v (a duplicate or a leak)", s.cloud, kind, got, want)
		}
	}
	for _, r := range [][2]string{{"rt", "sub"}, {"gnet.router", "gnet.subnet"}} {
		rn, sn := natives[s.ids[r[0]]], natives[s.ids[r[1]]]
		if rn == "" {
			continue // reported above
		}
		if got := holds.ifaces[rn]; len(got) != 1 || got[0] != sn {
			t.Errorf("%s: router %s (%s) has interfaces on %v; want one, on subnet %s", s.cloud, s.ids[r[0]], rn, got, sn)
		}
	}
	for _, kind := range netStoryKinds {
		ms, err := st.List(ctx, s.cloud, kind)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Pending() {
				t.Errorf("%s: %s %s is still pending", s.cloud, kind, m.ID)
			}
		}
	}
}

// simNetState is the part of a sim cloud's state file the networking
// story counts.
type simNetState struct {
	Servers []struct {
		Server struct {
			NativeID   string
			Name       string
			Labels     map[string]string
			Properties map[string]string
		} `json:"server"`
		To providers.Status `json:"to"`
	} `json:"servers"`
	Net struct {
		Networks map[string]providers.Network `json:"networks"`
		Subnets  map[string]providers.Subnet  `json:"subnets"`
		Ports    map[string]struct {
			P providers.Port `json:"port"`
		} `json:"ports"`
		Routers map[string]providers.Router        `json:"routers"`
		Groups  map[string]providers.SecurityGroup `json:"groups"`
		FIPs    map[string]providers.FloatingIP    `json:"fips"`
	} `json:"net"`
}

// simNetHolds reads a sim cloud's state file.
func simNetHolds(t *testing.T, data string, s *netStory) netHolds {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, "canopy", "sim-"+s.cloud+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var sim simNetState
	if err := json.Unmarshal(raw, &sim); err != nil {
		t.Fatal(err)
	}
	h := newNetHolds()
	add := func(kind string, c providers.Common) {
		tok := c.Properties[providers.PropToken]
		if s.mine(c.Name, c.Labels, tok) {
			h.add(kind, c.NativeID, tok)
		}
	}
	for _, x := range sim.Net.Networks {
		add(providers.KindNetwork, x.Common)
	}
	for _, x := range sim.Net.Subnets {
		add(providers.KindSubnet, x.Common)
	}
	for _, x := range sim.Net.Routers {
		add(providers.KindRouter, x.Common)
	}
	for _, x := range sim.Net.Groups {
		add(providers.KindSecurityGroup, x.Common)
	}
	for _, x := range sim.Net.FIPs {
		// Every floating IP: the cloud is the lineage's own, and one
		// allocated without token nor label (auto_ip's) is counted too.
		h.add(providers.KindFloatingIP, x.NativeID, x.Properties[providers.PropToken])
	}
	for _, x := range sim.Net.Ports {
		p := x.P
		if p.DeviceOwner == "network:router_interface" && len(p.FixedIPs) > 0 {
			h.ifaces[p.DeviceID] = append(h.ifaces[p.DeviceID], p.FixedIPs[0].SubnetID)
		}
		add(providers.KindPort, p.Common)
	}
	for _, sv := range sim.Servers {
		x := sv.Server
		if sv.To != providers.StatusDeleted && s.mine(x.Name, x.Labels, x.Properties[providers.PropToken]) {
			h.add(providers.KindServer, x.NativeID, "")
		}
	}
	for r := range h.ifaces {
		if _, ok := h.res[providers.KindRouter][r]; !ok {
			delete(h.ifaces, r) // a router of the cloud's own (router1)
		}
	}
	return h
}

const netCrashConfig = `
clouds:
  - name: sim
    kind: sim
    zones: [n1]
    options: {boot_delay: 15ms, action_delay: 10ms, delete_delay: 10ms, persist: true}
wait:
  min_interval: 5ms
  max_interval: 20ms
auth:
  issuer_url: http://canopy.crash.test
`

// TestCrashSafetyNetworks runs the networking story on a sim cloud: the
// server-side failpoints (the sim has no adapter ones; the real engines'
// lineages, crash_net_openstack_test.go and crash_net_aws_test.go, have).
func TestCrashSafetyNetworks(t *testing.T) {
	if testing.Short() {
		t.Skip("crash-safety test: kills and restarts canopyd many times")
	}
	cfg := canopydtest.WriteConfig(t, netCrashConfig)
	run := crashRun{cfg: cfg, cloud: "sim", story: func(lineage int) crashStory {
		return &netStory{cloud: "sim", cfg: cfg, prefix: fmt.Sprintf("ncrash-%d-", lineage+1), ext: "public", flavor: "m1.tiny", image: "cirros-0.6.2",
			netCIDR: "10.61.0.0/16", subCIDR: "10.61.1.0/24", globalCIDR: "10.62.0.0/16", ids: map[string]string{}, holds: simNetHolds}
	}, together: true}
	points := discover(t, run)
	res := crashCloud(t, run, points)
	t.Logf("crash safety, networks on sim: %d kill points, %d SIGKILLs, %d lineages", res.points, res.kills, res.lineages)
	t.Logf("sim kill points: %s", strings.Join(points, " "))
}
