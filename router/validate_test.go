package router

import (
	"strings"
	"testing"
)

func TestIDOrName(t *testing.T) {
	for _, tc := range []struct {
		in     string
		isID   bool
		errHas string
	}{
		{"123e4567-e89b-12d3-a456-426614174000", true, ""},
		{"debian-12", false, ""},
		// A reference is a name as its cloud has it: AMI names hold '/'.
		{"ubuntu/images/hvm-ssd/ubuntu-noble-24.04-amd64-server-20240423", false, ""},
		{"a b", false, ""},
		{"", false, "required"},
		{"123e4567-e89b-12d3-a456-42661417zzzz", false, "malformed id"},
		{strings.Repeat("x", 256), false, "longer than"},
		{"tab\there", false, "non-printable"},
	} {
		_, isID, err := IDOrName("image", tc.in)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("IDOrName(%q) = %v, want an error with %q", tc.in, err, tc.errHas)
			}
			continue
		}
		if err != nil || isID != tc.isID {
			t.Errorf("IDOrName(%q) = %v, %v; want isID %v", tc.in, isID, err, tc.isID)
		}
	}
	// The names canopy gives stay one path segment.
	if err := CheckName("name", "a/b"); err == nil {
		t.Error("CheckName accepted a '/'")
	}
}

func TestWrapToken(t *testing.T) {
	tok := WrapToken("native/marker", "f1")
	if got, err := UnwrapToken(tok, "f1"); err != nil || got != "native/marker" {
		t.Errorf("round trip: %q, %v", got, err)
	}
	if WrapToken("", "f1") != "" {
		t.Error("no native token must stay no token")
	}
	for name, tc := range map[string]struct{ tok, filter string }{
		"other filters": {tok, "f2"},
		"not base64":    {"%%%", "f1"},
		"not JSON":      {"YWJj", "f1"},
		"empty marker":  {"e30", "f1"},
	} {
		if _, err := UnwrapToken(tc.tok, tc.filter); err == nil || !strings.Contains(err.Error(), "page_token") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
