//go:build openstack

package openstack_test

// The idempotency token against the lab's real Neutron: a replayed create
// returns the first one's resource and Neutron holds one, for every kind;
// a resource an interrupted create left half made (POSTed with the token
// in its description, never tagged) is adopted and completed; two
// adapters (two canopy replicas) racing one token end with one resource.
// Neutron is read directly (its own API, with the adapter's client), not
// through the adapter.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/openstack"
)

func labToken(t *testing.T) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("lab-%x", b)
}

// neutronList returns the resources of a Neutron collection matching the
// query, as Neutron answers them.
func neutronList(t *testing.T, sc *gophercloud.ServiceClient, collection, key string, q url.Values) []map[string]any {
	t.Helper()
	var body map[string][]map[string]any
	if _, err := sc.Get(context.Background(), sc.ServiceURL(collection)+"?"+q.Encode(), &body, nil); err != nil {
		t.Fatalf("GET %s?%s: %v", collection, q.Encode(), err)
	}
	return body[key]
}

// holdsOne checks that Neutron has exactly one resource carrying the
// token's tag, id, with the labels as tags.
func holdsOne(t *testing.T, sc *gophercloud.ServiceClient, collection, key, token, id string, labels map[string]string) {
	t.Helper()
	tag := "canopy-token:" + token
	got := neutronList(t, sc, collection, key, url.Values{"tags": {tag}})
	if len(got) != 1 || got[0]["id"] != id {
		var ids []any
		for _, r := range got {
			ids = append(ids, r["id"])
		}
		t.Fatalf("Neutron %s tagged %s: %v, want exactly %s", collection, tag, ids, id)
	}
	tags, _ := got[0]["tags"].([]any)
	for k, v := range labels {
		if !slices.Contains(tags, any(k+"="+v)) {
			t.Errorf("Neutron %s %s: tags %v, want %s=%s among them", collection, id, tags, k, v)
		}
	}
}

func TestLabNeutronReplay(t *testing.T) {
	path, cloud := labCloud(t)
	ctx := context.Background()
	h := harness{path: path, cloud: cloud}
	ext := labExternalNetwork(t, h)
	c := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud})
	sc, err := openstack.NeutronClient(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"suite": "lab-replay"}
	del := func(what, id string, f func(context.Context, string) error) {
		t.Cleanup(func() {
			if err := f(context.Background(), id); err != nil && !errors.Is(err, providers.ErrNotFound) {
				t.Errorf("cleanup: delete %s %s: %v", what, id, err)
			}
		})
	}

	// Each kind: create, replay with the same token, Neutron holds one.
	tok := labToken(t)
	n, err := c.CreateNetwork(ctx, providers.NetworkSpec{Name: "lab-replay-net", Labels: labels, IdempotencyToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	del("network", n.NativeID, c.DeleteNetwork)
	again, err := c.CreateNetwork(ctx, providers.NetworkSpec{Name: "lab-replay-net", Labels: labels, IdempotencyToken: tok, Replay: true})
	if err != nil || again.NativeID != n.NativeID || again.Properties[providers.PropToken] != tok {
		t.Fatalf("CreateNetwork replayed = %s (token %q), %v; want %s", again.NativeID, again.Properties[providers.PropToken], err, n.NativeID)
	}
	holdsOne(t, sc, "networks", "networks", tok, n.NativeID, labels)

	tok = labToken(t)
	subSpec := providers.SubnetSpec{Name: "lab-replay-sub", NetworkID: n.NativeID, CIDR: "10.213.7.0/24", Labels: labels, IdempotencyToken: tok}
	sub, err := c.CreateSubnet(ctx, subSpec)
	if err != nil {
		t.Fatal(err)
	}
	del("subnet", sub.NativeID, c.DeleteSubnet)
	subSpec.Replay = true
	if again, err := c.CreateSubnet(ctx, subSpec); err != nil || again.NativeID != sub.NativeID {
		t.Fatalf("CreateSubnet replayed = %s, %v; want %s", again.NativeID, err, sub.NativeID)
	}
	holdsOne(t, sc, "subnets", "subnets", tok, sub.NativeID, labels)

	tok = labToken(t)
	portSpec := providers.PortSpec{Name: "lab-replay-port", NetworkID: n.NativeID, Labels: labels, IdempotencyToken: tok}
	port, err := c.CreatePort(ctx, portSpec)
	if err != nil {
		t.Fatal(err)
	}
	del("port", port.NativeID, c.DeletePort)
	portSpec.Replay = true
	if again, err := c.CreatePort(ctx, portSpec); err != nil || again.NativeID != port.NativeID {
		t.Fatalf("CreatePort replayed = %s, %v; want %s", again.NativeID, err, port.NativeID)
	}
	holdsOne(t, sc, "ports", "ports", tok, port.NativeID, labels)

	tok = labToken(t)
	routerSpec := providers.RouterSpec{Name: "lab-replay-router", ExternalNetworkID: ext, Labels: labels, IdempotencyToken: tok}
	r, err := c.CreateRouter(ctx, routerSpec)
	if err != nil {
		t.Fatal(err)
	}
	del("router", r.NativeID, c.DeleteRouter)
	routerSpec.Replay = true
	if again, err := c.CreateRouter(ctx, routerSpec); err != nil || again.NativeID != r.NativeID || again.ExternalNetworkID != ext {
		t.Fatalf("CreateRouter replayed = %+v, %v; want %s", again, err, r.NativeID)
	}
	holdsOne(t, sc, "routers", "routers", tok, r.NativeID, labels)

	tok = labToken(t)
	sgSpec := providers.SecurityGroupSpec{Name: "lab-replay-sg", Description: "replayed", Labels: labels, IdempotencyToken: tok}
	g, err := c.CreateSecurityGroup(ctx, sgSpec)
	if err != nil {
		t.Fatal(err)
	}
	del("security group", g.NativeID, c.DeleteSecurityGroup)
	sgSpec.Replay = true
	if again, err := c.CreateSecurityGroup(ctx, sgSpec); err != nil || again.NativeID != g.NativeID || again.Description != "replayed" {
		t.Fatalf("CreateSecurityGroup replayed = %+v, %v; want %s", again, err, g.NativeID)
	}
	holdsOne(t, sc, "security-groups", "security_groups", tok, g.NativeID, labels)

	tok = labToken(t)
	fipSpec := providers.FloatingIPSpec{NetworkID: ext, Labels: labels, IdempotencyToken: tok}
	f, err := c.AllocateFloatingIP(ctx, fipSpec)
	if err != nil {
		t.Fatal(err)
	}
	del("floating IP", f.NativeID, c.ReleaseFloatingIP)
	fipSpec.Replay = true
	if again, err := c.AllocateFloatingIP(ctx, fipSpec); err != nil || again.NativeID != f.NativeID || again.IP != f.IP {
		t.Fatalf("AllocateFloatingIP replayed = %+v, %v; want %s", again, err, f.NativeID)
	}
	holdsOne(t, sc, "floatingips", "floatingips", tok, f.NativeID, labels)

	t.Run("HalfMade", func(t *testing.T) {
		// What a create that died between its POST and its tagging leaves:
		// the token in the description, no tags.
		tok := labToken(t)
		var body map[string]map[string]any
		_, err := sc.Post(ctx, sc.ServiceURL("security-groups"), map[string]any{"security_group": map[string]any{
			"name": "lab-halfmade-sg", "description": "canopy-token:" + tok}}, &body, nil)
		if err != nil {
			t.Fatal(err)
		}
		half, _ := body["security_group"]["id"].(string)
		del("security group", half, c.DeleteSecurityGroup)
		g, err := c.CreateSecurityGroup(ctx, providers.SecurityGroupSpec{Name: "lab-halfmade-sg", Description: "finished", Labels: labels,
			IdempotencyToken: tok, Replay: true})
		if err != nil || g.NativeID != half {
			t.Fatalf("CreateSecurityGroup replayed over a half-made group = %s, %v; want %s", g.NativeID, err, half)
		}
		holdsOne(t, sc, "security-groups", "security_groups", tok, half, labels)
		got := neutronList(t, sc, "security-groups", "security_groups", url.Values{"id": {half}})
		if len(got) != 1 || got[0]["description"] != "finished" {
			t.Errorf("Neutron's group %s after the replay: %v; want its description set", half, got)
		}
		if g.Description != "finished" || g.Properties[providers.PropToken] != tok {
			t.Errorf("CreateSecurityGroup = %+v", g)
		}
	})

	t.Run("TwoReplicasRace", func(t *testing.T) {
		// Two adapters share no lock: when both miss each other's network
		// and both POST, the oldest wins and the other deletes its own. The
		// fail point log counts the POSTs, so a round where only one was
		// made (the other found it) is retried until both raced.
		c2 := openLab(t, map[string]any{"clouds_yaml": path, "cloud": cloud})
		if _, err := c2.ListNetworks(ctx); err != nil { // connected, as c is
			t.Fatal(err)
		}
		logPath := filepath.Join(t.TempDir(), "failpoints")
		failpoint.Configure("", logPath)
		t.Cleanup(func() { failpoint.Configure("", "") })
		posts := func() int {
			raw, _ := os.ReadFile(logPath)
			return strings.Count(string(raw), "openstack/network:posted\n")
		}
		for round := 1; ; round++ {
			tok := labToken(t)
			before := posts()
			var wg sync.WaitGroup
			start := make(chan struct{})
			ids := make([]string, 2)
			errs := make([]error, 2)
			for i, a := range []*openstack.Cloud{c, c2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					n, err := a.CreateNetwork(ctx, providers.NetworkSpec{Name: "lab-race-net", Labels: labels, IdempotencyToken: tok})
					ids[i], errs[i] = n.NativeID, err
				}()
			}
			close(start)
			wg.Wait()
			for i := range ids {
				if errs[i] != nil {
					t.Fatalf("round %d, replica %d: %v", round, i, errs[i])
				}
				del("network", ids[i], c.DeleteNetwork)
			}
			if ids[0] != ids[1] {
				t.Fatalf("round %d: the replicas answered %s and %s, want one network", round, ids[0], ids[1])
			}
			holdsOne(t, sc, "networks", "networks", tok, ids[0], labels)
			if left := neutronList(t, sc, "networks", "networks", url.Values{"name": {"lab-race-net"}}); len(left) != 1 {
				t.Fatalf("round %d: Neutron has %d networks named lab-race-net, want 1", round, len(left))
			}
			if n := posts() - before; n == 2 {
				t.Logf("round %d: both replicas POSTed; one network remains", round)
				return
			}
			if round == 20 {
				t.Fatalf("in %d rounds the replicas never both POSTed: the race was not exercised", round)
			}
		}
	})
}
