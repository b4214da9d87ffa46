package main

import (
	"testing"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func TestParseServerKind(t *testing.T) {
	for in, want := range map[string]canopyv1.ServerKind{
		"": canopyv1.ServerKind_SERVER_KIND_UNSPECIFIED, "vm": canopyv1.ServerKind_SERVER_KIND_VM, "Container": canopyv1.ServerKind_SERVER_KIND_CONTAINER,
		"SERVER_KIND_CONTAINER": canopyv1.ServerKind_SERVER_KIND_CONTAINER,
	} {
		if got, err := parseServerKind(in); err != nil || got != want {
			t.Errorf("parseServerKind(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"unspecified", "pod", "SERVER_KIND_"} {
		if _, err := parseServerKind(bad); err == nil {
			t.Errorf("parseServerKind(%q) accepted", bad)
		}
	}
	if w := serverKindWord(canopyv1.ServerKind_SERVER_KIND_CONTAINER); w != "container" {
		t.Errorf("serverKindWord(CONTAINER) = %q", w)
	}
}
