package main

import (
	"strings"
	"testing"
)

// --version prints the build and exits 0 without reaching canopyd.
func TestVersion(t *testing.T) {
	r := cli(t, "", "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "canopy ") || !strings.Contains(r.stdout, " go1.") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("canopy --version: exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
	}
}
