package main

import (
	"strings"
	"testing"
)

func TestFlavorFind(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	r := ok(t, addr, "flavor", "find", "--vcpus", "2", "--ram", "4GiB")
	if tableRow(r.stdout, "m1.medium", "2", "4 GiB", "40 GiB", "local") == "" {
		t.Errorf("flavor find --vcpus 2 --ram 4GiB:\n%s", r.stdout)
	}
	for _, args := range [][]string{
		{"--vcpus", "2", "--ram-mib", "4096"},
		{"--vcpus", "2", "--ram", "4G", "--cloud", "local"},
		{"--ram", "3.5GiB"},
	} {
		r := ok(t, addr, append([]string{"flavor", "find", "-o", "json"}, args...)...)
		if got := jsonOf(t, r)["name"]; got != "m1.medium" {
			t.Errorf("flavor find %v = %v, want m1.medium", args, got)
		}
	}
	if r := ok(t, addr, "flavor", "find", "--gpus", "1", "-o", "json"); jsonOf(t, r)["name"] != "g1.large" {
		t.Errorf("--gpus 1: %s", r.stdout)
	}
	fails(t, addr, 1, []string{"flavor", "find", "--vcpus", "64"}, "canopy: NOT_FOUND:")
	fails(t, addr, 2, []string{"flavor", "find", "--ram", "lots"}, `--ram "lots"`)
	fails(t, addr, 2, []string{"flavor", "find", "--ram", "4GiB", "--ram-mib", "4096"}, "ram")
}

func TestFlavorListGet(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	r := ok(t, addr, "flavor", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("want a header and 6 flavors:\n%s", r.stdout)
	}
	// Columns are aligned: every row has NAME where the header has it.
	col := strings.Index(lines[0], "NAME")
	for _, l := range lines[1:] {
		if l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("misaligned row %q (NAME at %d)", l, col)
		}
	}
	if tableRow(r.stdout, "m1.tiny", "512 MiB", "1 GiB") == "" {
		t.Errorf("m1.tiny row:\n%s", r.stdout)
	}
	r = ok(t, addr, "flavor", "list", "--name", "m1.large", "-o", "json")
	fl, _ := jsonOf(t, r)["flavors"].([]any)
	if len(fl) != 1 {
		t.Fatalf("--name m1.large: %s", r.stdout)
	}
	id := fl[0].(map[string]any)["id"].(string)
	if r = ok(t, addr, "flavor", "get", id); !strings.Contains(r.stdout, "m1.large") || !strings.Contains(r.stdout, "8 GiB") {
		t.Errorf("flavor get %s:\n%s", id, r.stdout)
	}
	fails(t, addr, 1, []string{"flavor", "get", "m9.huge"}, "NOT_FOUND")
}

func TestImagesAndClouds(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	r := ok(t, addr, "image", "list", "--status", "active")
	for _, name := range []string{"cirros-0.6.2", "debian-12", "ubuntu-24.04"} {
		if tableRow(r.stdout, name, "active", "qcow2") == "" {
			t.Errorf("image list has no %s:\n%s", name, r.stdout)
		}
	}
	if r = ok(t, addr, "image", "get", "debian-12", "-o", "json"); jsonOf(t, r)["name"] != "debian-12" {
		t.Errorf("image get: %s", r.stdout)
	}
	r = ok(t, addr, "cloud", "list")
	if tableRow(r.stdout, "local", "sim", "local-1a, local-1b") == "" {
		t.Errorf("cloud list:\n%s", r.stdout)
	}
	if r = ok(t, addr, "cloud", "get", "local"); !strings.Contains(r.stdout, "compute") {
		t.Errorf("cloud get:\n%s", r.stdout)
	}
	fails(t, addr, 1, []string{"cloud", "get", "mars"}, "canopy: NOT_FOUND")
}
