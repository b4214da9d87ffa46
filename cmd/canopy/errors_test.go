package main

import (
	"net"
	"strings"
	"testing"
)

func TestErrorExits(t *testing.T) {
	addr := startCanopyd(t, fastLocal)

	// canopyd's INVALID_ARGUMENT with its field violation: exit 1.
	r := fails(t, addr, 1, []string{"server", "create", "x", "--flavor", "m9.huge", "--image", "debian-12"},
		"canopy: INVALID_ARGUMENT:", "  field flavor: ")
	if r.stdout != "" {
		t.Errorf("stdout on error: %q", r.stdout)
	}
	fails(t, addr, 1, []string{"server", "create", "x", "--flavor", "m1.tiny", "--image", "debian-12", "--label", "Bad Key=1"},
		"field labels[Bad Key]")
	fails(t, addr, 1, []string{"server", "create", "x", "--flavor", "m1.tiny", "--image", "debian-12", "--user-data-file", "/nonexistent"},
		"--user-data-file")

	// Usage errors: exit 2 with a pointer to --help.
	for _, args := range [][]string{
		{"server", "list", "-o", "xml"},
		{"server", "list", "--output=csv"},
		{"bogus"},
		{"server", "bogus"},
		{"server", "get"},
		{"server", "get", "a", "b"},
		{"server", "create", "x", "--image", "debian-12"},
		{"server", "list", "--no-such-flag"},
		{"server", "list", "--status", "sleeping"},
		{"server", "list", "--label", "novalue"},
		{"server", "list", "--limit", "-1"},
		{"flavor", "find", "--vcpus", "two"},
		{"--timeout", "0s", "cloud", "list"},
	} {
		fails(t, addr, 2, args, "canopy: ", "--help' for usage")
	}

	// Help is not an error.
	if r := ok(t, addr, "server", "--help"); !strings.Contains(r.stdout, "create") {
		t.Errorf("server --help:\n%s", r.stdout)
	}
	if r := ok(t, addr, "server"); !strings.Contains(r.stdout, "Available Commands") {
		t.Errorf("server:\n%s", r.stdout)
	}
	if r := ok(t, addr, "--help"); !strings.Contains(r.stdout, "Exit status") {
		t.Errorf("--help does not document exit status:\n%s", r.stdout)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	fails(t, addr, 1, []string{"cloud", "list"}, "canopy: UNAVAILABLE:", "is canopyd running at "+addr)
}

func TestAddrFromEnv(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	t.Setenv("CANOPY_ADDR", addr)
	d, _ := daemons.Load(addr)
	t.Setenv("CANOPY_TOKEN", d.(daemonInfo).token)
	if r := cli(t, "", "cloud", "list"); r.code != 0 || tableRow(r.stdout, "local", "sim") == "" {
		t.Errorf("CANOPY_ADDR: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
