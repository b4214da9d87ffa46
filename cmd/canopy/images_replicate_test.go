package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const twoSims = `
clouds:
  - name: a
    kind: sim
    zones: [a-1]
  - name: b
    kind: sim
    zones: [b-1]
    disk_formats: {preferred: qcow2, accepted: [qcow2]}
`

func TestImageReplicate(t *testing.T) {
	addr := startCanopyd(t, twoSims)
	src := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(src, []byte(strings.Repeat("disk", 1<<14)), 0o600); err != nil {
		t.Fatal(err)
	}
	ok(t, addr, "image", "upload", src, "mine", "--cloud", "a", "--disk-format", "raw", "--progress=false")
	r := ok(t, addr, "image", "replicate", "mine", "--cloud", "b", "--wait")
	if row := tableRow(r.stdout, "b", "qcow2", "replica"); row == "" {
		t.Errorf("image replicate --wait shows no qcow2 replica in b:\n%s", r.stdout)
	}
	r = ok(t, addr, "image", "placements", "mine")
	if tableRow(r.stdout, "a", "raw", "origin") == "" || tableRow(r.stdout, "b", "qcow2", "replica") == "" {
		t.Errorf("image placements:\n%s", r.stdout)
	}
	if pl, _ := jsonOf(t, ok(t, addr, "image", "placements", "mine", "-o", "json"))["placements"].([]any); len(pl) != 2 {
		t.Errorf("image placements -o json: %v", pl)
	}
	if r = ok(t, addr, "image", "get", "mine"); !strings.Contains(r.stdout, "b=") {
		t.Errorf("image get shows no placements:\n%s", r.stdout)
	}
	fails(t, addr, 2, []string{"image", "replicate", "mine"}, "--cloud")
	fails(t, addr, 1, []string{"image", "replicate", "mine", "--cloud", "nowhere"}, "INVALID_ARGUMENT", "nowhere")
	fails(t, addr, 1, []string{"image", "upload", src, "other", "--cloud", "a", "--disk-format", "raw", "--progress=false", "--place", "nowhere"}, "INVALID_ARGUMENT", "placements[0]")
}
