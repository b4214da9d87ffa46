package main

import (
	"strings"
	"testing"
)

const volumeClouds = `
clouds:
  - name: local
    kind: sim
    regions: [local-1]
    zones: [local-1a, local-1b]
    options: {boot_delay: 20ms, action_delay: 10ms, delete_delay: 10ms, volume_delay: 10ms, snapshot_delay: 10ms}
  - name: bare
    kind: sim
    zones: [bare-1a]
    options: {no_snapshots: true, no_backups: true, no_volume_data: true, no_volume_from_image: true, volume_delay: 10ms}
`

func TestVolumeCommands(t *testing.T) {
	addr := startCanopyd(t, volumeClouds)

	// Without --wait: the operation.
	r := ok(t, addr, "volume", "create", "data", "--size", "2", "--cloud", "local", "--zone", "local-1b", "--label", "app=db", "--request-id", "cli-1", "-o", "json")
	op := jsonOf(t, r)
	md, _ := op["metadata"].(map[string]any)
	id, _ := md["target_id"].(string)
	if md["kind"] != "volume.create" || id == "" {
		t.Fatalf("create printed %s", r.stdout)
	}
	r = ok(t, addr, "operation", "wait", op["id"].(string))
	if !strings.Contains(r.stdout, "done") {
		t.Errorf("operation wait:\n%s", r.stdout)
	}
	// The same request id: the same operation, nothing new.
	if again := jsonOf(t, ok(t, addr, "volume", "create", "data", "--size", "2", "--cloud", "local", "--zone", "local-1b", "--label", "app=db", "--request-id", "cli-1", "-o", "json")); again["id"] != op["id"] {
		t.Errorf("replayed create = %v, want %v", again["id"], op["id"])
	}

	r = ok(t, addr, "volume", "watch", "--count", "2", "--name", "data")
	if !strings.Contains(r.stdout, "added") || !strings.Contains(r.stdout, "synced") || !strings.Contains(r.stdout, id) {
		t.Errorf("volume watch:\n%s", r.stdout)
	}
	r = ok(t, addr, "volume", "get", "data")
	for _, want := range []string{id, "active", "2 GiB", "local-1b", "app=db"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("volume get does not show %q:\n%s", want, r.stdout)
		}
	}
	r = ok(t, addr, "volume", "list")
	if row := tableRow(r.stdout, id, "data", "active", "2 GiB", "local"); row == "" {
		t.Errorf("volume list:\n%s", r.stdout)
	}

	// With --wait: the resource.
	ok(t, addr, "server", "create", "web", "--flavor", "m1.tiny", "--image", "cirros-0.6.2", "--zone", "local-1b", "--wait")
	r = ok(t, addr, "volume", "attach", "data", "--server", "web", "--wait")
	if !strings.Contains(r.stdout, "/dev/vdb") {
		t.Errorf("attach --wait:\n%s", r.stdout)
	}
	ok(t, addr, "volume", "extend", "data", "--size", "4", "--wait")
	ok(t, addr, "volume", "detach", "data", "--wait")
	r = ok(t, addr, "snapshot", "create", "snap", "--volume", "data", "--wait")
	if !strings.Contains(r.stdout, "4 GiB") || !strings.Contains(r.stdout, id) {
		t.Errorf("snapshot create --wait:\n%s", r.stdout)
	}
	r = ok(t, addr, "snapshot", "list", "--volume", id)
	if tableRow(r.stdout, "snap", "active", id) == "" {
		t.Errorf("snapshot list:\n%s", r.stdout)
	}
	ok(t, addr, "snapshot", "get", "snap")
	ok(t, addr, "backup", "create", "bak", "--volume", "data", "--wait")
	r = ok(t, addr, "backup", "restore", "bak", "--name", "restored", "--wait", "-o", "json")
	if resp, _ := jsonOf(t, r)["response"].(map[string]any); resp["name"] != "restored" || resp["size_gib"] != "4" {
		t.Errorf("restore printed %s", r.stdout)
	}
	r = ok(t, addr, "backup", "list")
	if tableRow(r.stdout, "bak", "active", "no") == "" {
		t.Errorf("backup list:\n%s", r.stdout)
	}
	r = ok(t, addr, "operation", "list", "--kind", "volume.create")
	if tableRow(r.stdout, "volume.create", id, "done") == "" {
		t.Errorf("operation list:\n%s", r.stdout)
	}
	ok(t, addr, "volume", "delete", "restored", "--wait")
	ok(t, addr, "backup", "delete", "bak", "--wait")
	ok(t, addr, "snapshot", "delete", "snap", "--wait")
	ok(t, addr, "volume", "delete", "data", "--wait")
	r = ok(t, addr, "volume", "list", "-o", "json")
	if vols, _ := jsonOf(t, r)["volumes"].([]any); len(vols) != 0 {
		t.Errorf("volumes left: %s", r.stdout)
	}

	// Errors: a name that matches nothing; a capability the cloud lacks and
	// canopy cannot emulate; usage.
	fails(t, addr, 1, []string{"volume", "get", "ghost"}, "NOT_FOUND", "ghost")
	ok(t, addr, "volume", "create", "plain", "--size", "1", "--cloud", "bare", "--wait")
	fails(t, addr, 1, []string{"snapshot", "create", "s", "--volume", "plain"}, "FAILED_PRECONDITION", `"bare"`, "snapshots")
	fails(t, addr, 1, []string{"volume", "create", "x", "--cloud", "local"}, "INVALID_ARGUMENT", "field size_gib")
	fails(t, addr, 2, []string{"volume", "extend", "plain"}, "size")
	fails(t, addr, 2, []string{"server", "create", "s", "--flavor", "m1.tiny"}, "--image or --boot-volume")

	// A deferred volume (this cloud cannot make one from an image) is made
	// when a server boots from it.
	r = ok(t, addr, "volume", "create", "root", "--image", "cirros-0.6.2", "--cloud", "bare", "--wait")
	if !strings.Contains(r.stdout, "pending") || !strings.Contains(r.stdout, "Emulated:") {
		t.Errorf("deferred volume:\n%s", r.stdout)
	}
	ok(t, addr, "server", "create", "booted", "--flavor", "m1.tiny", "--boot-volume", "root", "--cloud", "bare", "--wait")
	r = ok(t, addr, "volume", "get", "root")
	if !strings.Contains(r.stdout, "active") || !strings.Contains(r.stdout, "/dev/vda") {
		t.Errorf("volume after the boot:\n%s", r.stdout)
	}
}
