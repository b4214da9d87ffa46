package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestServerLifecycle(t *testing.T) {
	addr := startCanopyd(t, fastLocal)

	r := ok(t, addr, "server", "create", "web-1", "--flavor", "m1.tiny", "--image", "cirros-0.6.2",
		"--zone", "local-1b", "--label", "app=web", "--wait", "-o", "json")
	sv := jsonOf(t, r)
	id, _ := sv["id"].(string)
	if sv["status"] != "STATUS_ACTIVE" || id == "" || sv["name"] != "web-1" {
		t.Fatalf("created: %s", r.stdout)
	}
	if labels, _ := sv["labels"].(map[string]any); labels["app"] != "web" {
		t.Errorf("labels = %v", sv["labels"])
	}

	// get by name and by id, table form names flavor and image.
	for _, ref := range []string{"web-1", id} {
		r = ok(t, addr, "server", "get", ref)
		for _, want := range []string{id, "active", "m1.tiny", "cirros-0.6.2", "local-1b", "app=web"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("server get %s does not show %q:\n%s", ref, want, r.stdout)
			}
		}
	}

	// list: one aligned row with the flavor's name.
	r = ok(t, addr, "server", "list")
	if !strings.HasPrefix(r.stdout, "ID ") || !strings.Contains(r.stdout, "ADDRESSES") {
		t.Errorf("no header:\n%s", r.stdout)
	}
	if tableRow(r.stdout, id, "web-1", "active", "local", "local-1b", "m1.tiny", "private=") == "" {
		t.Errorf("server list has no row for web-1:\n%s", r.stdout)
	}
	r = ok(t, addr, "server", "list", "--status", "ACTIVE", "--label", "app=web", "--cloud", "local", "-o", "yaml")
	var list struct {
		Servers []struct{ ID, Name, Status string } `yaml:"servers"`
	}
	if err := yaml.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("yaml: %v\n%s", err, r.stdout)
	}
	if len(list.Servers) != 1 || list.Servers[0].ID != id || list.Servers[0].Status != "STATUS_ACTIVE" {
		t.Errorf("filtered list = %+v\n%s", list.Servers, r.stdout)
	}
	if r = ok(t, addr, "server", "list", "--status", "stopped"); tableRow(r.stdout, "web-1") != "" {
		t.Errorf("--status stopped lists web-1:\n%s", r.stdout)
	}

	r = ok(t, addr, "server", "stop", "web-1", "--wait")
	if tableRow(r.stdout, id, "stopped") == "" {
		t.Errorf("stop --wait:\n%s", r.stdout)
	}
	if r = ok(t, addr, "server", "get", id, "-o", "json"); jsonOf(t, r)["status"] != "STATUS_STOPPED" {
		t.Errorf("after stop: %s", r.stdout)
	}
	r = ok(t, addr, "server", "start", id, "--wait")
	if tableRow(r.stdout, id, "active") == "" {
		t.Errorf("start --wait:\n%s", r.stdout)
	}
	r = ok(t, addr, "server", "reboot", "--hard", "web-1", "--wait", "--wait-timeout", "1m")
	if tableRow(r.stdout, id, "active") == "" {
		t.Errorf("reboot --hard --wait:\n%s", r.stdout)
	}

	r = ok(t, addr, "server", "delete", "web-1", "--wait", "-o", "json")
	if jsonOf(t, r)["status"] != "STATUS_DELETED" {
		t.Errorf("delete --wait: %s", r.stdout)
	}
	fails(t, addr, 1, []string{"server", "get", id}, "canopy: NOT_FOUND:")
	if r = ok(t, addr, "server", "list"); tableRow(r.stdout, id) != "" {
		t.Errorf("deleted server still listed:\n%s", r.stdout)
	}
}

func TestServerCreateOptionsAndMultiDelete(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	ud := filepath.Join(t.TempDir(), "user-data")
	if err := os.WriteFile(ud, []byte("#cloud-config\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, addr, "keypair", "create", "me", "--private-key-file", filepath.Join(t.TempDir(), "me.pem"))
	r := ok(t, addr, "server", "create", "a", "--flavor", "m1.small", "--image", "debian-12", "--keypair", "me",
		"--user-data-file", ud, "--request-id", "req-a", "--cloud", "local", "--wait", "-o", "json")
	a := jsonOf(t, r)
	if a["keypair"] != "me" {
		t.Errorf("keypair = %v", a["keypair"])
	}
	// The same request id returns the same server.
	if again := jsonOf(t, ok(t, addr, "server", "create", "a", "--flavor", "m1.small", "--image", "debian-12",
		"--request-id", "req-a", "-o", "json")); again["id"] != a["id"] {
		t.Errorf("retry with the same --request-id made %v, first was %v", again["id"], a["id"])
	}
	// user data from stdin
	if r := cliIn(t, addr, "#cloud-config\n", "server", "create", "b", "--flavor", "m1.small", "--image", "debian-12",
		"--user-data-file", "-", "--wait"); r.code != 0 {
		t.Fatalf("create b: %d %s", r.code, r.stderr)
	}
	if r := ok(t, addr, "server", "list", "--limit", "1", "-o", "json"); len(jsonOf(t, r)["servers"].([]any)) != 1 {
		t.Errorf("--limit 1: %s", r.stdout)
	}

	// Several at once: the good ones are deleted, the bad one reported, exit 1.
	r = fails(t, addr, 1, []string{"server", "delete", "a", "nope", "b", "--wait", "-o", "json"},
		`canopy: nope: NOT_FOUND: server "nope" not found`)
	servers, _ := jsonOf(t, r)["servers"].([]any)
	if len(servers) != 2 {
		t.Fatalf("deleted %d servers, want 2: %s", len(servers), r.stdout)
	}
	for _, s := range servers {
		if s.(map[string]any)["status"] != "STATUS_DELETED" {
			t.Errorf("not deleted: %v", s)
		}
	}
	if r = ok(t, addr, "server", "list"); strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Errorf("servers left:\n%s", r.stdout)
	}
}

// A cloud whose servers fail to boot, and a cloud that is down.
const troubledClouds = `
clouds:
  - name: flaky
    kind: sim
    zones: [f1]
    options: {boot_delay: 30ms, fail_boots: true}
  - name: gone
    kind: sim
    zones: [g1]
    options: {down: true}
`

func TestServerErrorAndPartialList(t *testing.T) {
	addr := startCanopyd(t, troubledClouds)

	r := fails(t, addr, 1, []string{"server", "create", "doomed", "--flavor", "m1.tiny", "--image", "cirros-0.6.2", "--cloud", "flaky", "--wait"},
		"is in ERROR")
	if !strings.Contains(r.stdout, "error") || !strings.Contains(r.stdout, "doomed") {
		t.Errorf("the failed server is not printed:\n%s", r.stdout)
	}

	// A list with a cloud down still succeeds, warning about that cloud.
	r = ok(t, addr, "server", "list")
	if tableRow(r.stdout, "doomed", "error", "flaky") == "" {
		t.Errorf("list:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, `warning: cloud "gone" did not answer`) {
		t.Errorf("no warning for the down cloud:\n%s", r.stderr)
	}
	r = ok(t, addr, "flavor", "list", "-o", "json")
	errs, _ := jsonOf(t, r)["cloud_errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["cloud"] != "gone" {
		t.Errorf("cloud_errors = %v", errs)
	}
}
