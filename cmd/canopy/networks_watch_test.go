package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

func TestNetworkWatchCommands(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	ok(t, addr, "sg", "create", "web", "--rule", "ingress,tcp,22,0.0.0.0/0", "--label", "tier=web", "--wait")

	// Table: the group (its rules counted), then "synced".
	r := ok(t, addr, "sg", "watch", "--name", "web", "--count", "2")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "RULES") || tableRow(lines[1], "added", "web", "active", "local") == "" || !strings.Contains(lines[2], "synced") {
		t.Fatalf("sg watch table:\n%s", r.stdout)
	}
	// JSON lines, by label.
	r = ok(t, addr, "sg", "watch", "--label", "tier=web", "--count", "2", "-o", "json")
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev struct {
			Type          string `json:"type"`
			SecurityGroup struct {
				Name string `json:"name"`
			} `json:"security_group"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		got = append(got, strings.TrimSpace(ev.Type+" "+ev.SecurityGroup.Name))
	}
	if strings.Join(got, ",") != "EVENT_TYPE_ADDED web,EVENT_TYPE_SYNCED" {
		t.Errorf("sg watch -o json: %v", got)
	}

	// The external network is there for everyone; no floating IP yet.
	r = ok(t, addr, "network", "watch", "--name", "public", "--count", "2")
	if tableRow(r.stdout, "added", "public", "active", "local") == "" || !strings.Contains(r.stdout, "synced") {
		t.Errorf("network watch:\n%s", r.stdout)
	}
	r = ok(t, addr, "fip", "watch", "--count", "1")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "synced") {
		t.Errorf("fip watch with none:\n%s", r.stdout)
	}
	fip := jsonOf(t, ok(t, addr, "fip", "allocate", "--wait", "-o", "json"))["response"].(map[string]any)
	addrIP, _ := fip["ip"].(string)
	r = ok(t, addr, "fip", "watch", "--name", addrIP, "--count", "2")
	if addrIP == "" || tableRow(r.stdout, "added", addrIP, fip["id"].(string)) == "" {
		t.Errorf("fip watch --name %s:\n%s", addrIP, r.stdout)
	}
	r = ok(t, addr, "port", "watch", "--name", "none-such", "--count", "1")
	if !strings.Contains(r.stdout, "synced") || !strings.Contains(r.stdout, "FIXED IPS") {
		t.Errorf("port watch:\n%s", r.stdout)
	}

	// A rule added at the cloud itself shows as "modified" while watching.
	d, _ := daemons.Load(addr)
	cloud := d.(daemonInfo).srv.Provider("local").(*sim.Cloud)
	g := jsonOf(t, ok(t, addr, "sg", "get", "web", "-o", "json"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &signalBuffer{want: "synced", seen: make(chan struct{})}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", addr, "--token", d.(daemonInfo).token, "--credentials", "/nonexistent/canopy-test", "sg", "watch", "--name", "web"},
			strings.NewReader(""), out, &errb)
	}()
	select {
	case <-out.seen:
	case <-time.After(30 * time.Second):
		t.Fatalf("sg watch: no synced after 30s:\n%s\n%s", out.String(), errb.String())
	}
	if _, err := cloud.AddSecurityRule(ctx, g["native_id"].(string), providers.SecurityRule{Direction: providers.Ingress, EtherType: providers.IPv4,
		Protocol: "tcp", PortMin: 443, PortMax: 443, RemoteCIDR: "0.0.0.0/0"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); tableRow(out.String(), "modified", "web") == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sg watch: no modified event after a rule was added at the cloud:\n%s", out.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("interrupted sg watch: exit %d\n%s", code, errb.String())
	}
	// The rules column counts the new one.
	before := tableRow(out.String(), "added", "web")
	after := tableRow(out.String(), "modified", "web")
	if n := len(strings.Fields(before)); n < 6 || strings.Fields(after)[5] == strings.Fields(before)[5] {
		t.Errorf("rules count did not change:\n%s", out.String())
	}

	// Errors name the field.
	fails(t, addr, 1, []string{"sg", "watch", "--id", "web", "--count", "1"}, "ids")
	fails(t, addr, 1, []string{"network", "watch", "--cloud", "nope", "--count", "1"}, "nope")
	fails(t, addr, 2, []string{"fip", "watch", "--count", "-1"}, "--count")
}
