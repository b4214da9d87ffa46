package providers

import (
	"os"
	"strings"
	"testing"
)

// TestStateTableDocumented keeps docs/containers.md's table equal to
// ContainerActions, the table canopy enforces.
func TestStateTableDocumented(t *testing.T) {
	raw, err := os.ReadFile("../docs/containers.md")
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	rows := map[string][]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if cells[0] == "action" {
			header = cells[1:]
			continue
		}
		if header != nil && len(cells) == len(header)+1 {
			rows[cells[0]] = cells[1:]
		}
	}
	if len(header) == 0 {
		t.Fatal("docs/containers.md has no state table")
	}
	for action, allowed := range ContainerActions {
		cells, ok := rows[action]
		if !ok {
			t.Errorf("action %q is not in docs/containers.md", action)
			continue
		}
		for i, st := range header {
			want := false
			for _, a := range allowed {
				want = want || a.String() == st
			}
			if got := cells[i] == "✓"; got != want {
				t.Errorf("docs/containers.md: %s in %s is %v, the table enforced says %v", action, st, got, want)
			}
		}
	}
	if len(rows) != len(ContainerActions) {
		t.Errorf("docs/containers.md lists %d actions, ContainerActions %d", len(rows), len(ContainerActions))
	}
	for _, a := range []string{ActStart, ActPause} {
		if ContainerAllowed(a, ContainerRunning) == nil && ContainerAllowed(a, ContainerStopped) == nil {
			t.Errorf("%s allowed both running and stopped", a)
		}
	}
}
