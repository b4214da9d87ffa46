package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageUpdateAndDelete: canopy image upload --visibility, update and
// delete, with their usage errors.
func TestImageUpdateAndDelete(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	src := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(src, []byte(strings.Repeat("disk", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ok(t, addr, "image", "upload", src, "mine", "--cloud", "local", "--disk-format", "raw", "--progress=false",
		"--visibility", "shared", "--shared-project", "team-b", "-o", "json")
	im := jsonOf(t, r)
	id, _ := im["id"].(string)
	if im["visibility"] != "VISIBILITY_SHARED" || id == "" {
		t.Fatalf("upload --visibility shared: %s", r.stdout)
	}
	if r = ok(t, addr, "image", "get", "mine"); !strings.Contains(r.stdout, "shared") || !strings.Contains(r.stdout, "team-b") {
		t.Errorf("image get shows no sharing:\n%s", r.stdout)
	}
	// The list of projects alone keeps SHARED; --visibility private drops it.
	if r = ok(t, addr, "image", "update", "mine", "--shared-project", "team-c", "-o", "json"); jsonOf(t, r)["visibility"] != "VISIBILITY_SHARED" ||
		!strings.Contains(r.stdout, "team-c") || strings.Contains(r.stdout, "team-b") {
		t.Errorf("update --shared-project team-c: %s", r.stdout)
	}
	if r = ok(t, addr, "image", "update", id, "--visibility", "private", "-o", "json"); jsonOf(t, r)["visibility"] != "VISIBILITY_PRIVATE" || strings.Contains(r.stdout, "team-c") {
		t.Errorf("update --visibility private: %s", r.stdout)
	}
	fails(t, addr, 2, []string{"image", "update", id, "--visibility", "friends"}, "--visibility", "private, shared or public")
	fails(t, addr, 2, []string{"image", "update", id}, "nothing to change")
	fails(t, addr, 1, []string{"image", "update", id, "--visibility", "private", "--shared-project", "team-b"}, "INVALID_ARGUMENT", "shared_projects")
	fails(t, addr, 1, []string{"image", "delete", "no-such-image"}, "NOT_FOUND")

	if r = ok(t, addr, "image", "delete", "mine"); !strings.Contains(r.stdout, "Deleted image "+id) {
		t.Errorf("image delete: %s", r.stdout)
	}
	fails(t, addr, 1, []string{"image", "get", id}, "NOT_FOUND")
	fails(t, addr, 1, []string{"image", "delete", id}, "NOT_FOUND")
	ok(t, addr, "image", "delete", id, "--allow-missing")
}
