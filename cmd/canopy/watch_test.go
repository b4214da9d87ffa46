package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestServerWatch(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	ok(t, addr, "server", "create", "w-1", "--flavor", "m1.tiny", "--image", "cirros-0.6.2", "--wait")
	ok(t, addr, "server", "create", "w-2", "--flavor", "m1.tiny", "--image", "cirros-0.6.2", "--wait")

	// Table: the two servers, then "synced".
	r := ok(t, addr, "server", "watch", "--count", "3")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "added") || !strings.Contains(lines[1], "w-1") ||
		!strings.Contains(lines[2], "w-2") || !strings.Contains(lines[3], "synced") {
		t.Fatalf("watch table:\n%s", r.stdout)
	}
	// JSON lines, filtered by name.
	r = ok(t, addr, "server", "watch", "--name", "w-2", "--count", "2", "-o", "json")
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		types = append(types, ev["type"].(string))
	}
	if strings.Join(types, ",") != "EVENT_TYPE_ADDED,EVENT_TYPE_SYNCED" {
		t.Errorf("json events %v", types)
	}
	fails(t, addr, 2, []string{"server", "watch", "--count", "-1"}, "--count")
	fails(t, addr, 1, []string{"server", "watch", "--id", "nope", "--count", "1"}, "ids")
}
