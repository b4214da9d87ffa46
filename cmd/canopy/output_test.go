package main

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func TestParseMiB(t *testing.T) {
	for in, want := range map[string]int64{
		"4GiB": 4096, "4G": 4096, "4gb": 4096, "4 Gi": 4096, "512MiB": 512, "512": 512, "512M": 512,
		"1.5GiB": 1536, "1TiB": 1 << 20, "1536KiB": 2, "0": 0,
	} {
		if got, err := parseMiB(in); err != nil || got != want {
			t.Errorf("parseMiB(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "4 PB", "-1G", "four", "1.2.3G"} {
		if got, err := parseMiB(in); err == nil {
			t.Errorf("parseMiB(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for _, in := range []string{"active", "ACTIVE", "STATUS_ACTIVE", "Active"} {
		if s, err := parseStatus(in); err != nil || s != canopyv1.Status_STATUS_ACTIVE {
			t.Errorf("parseStatus(%q) = %v, %v", in, s, err)
		}
	}
	for _, in := range []string{"unspecified", "STATUS_UNSPECIFIED", "on"} {
		if _, err := parseStatus(in); err == nil {
			t.Errorf("parseStatus(%q) accepted", in)
		}
	}
}

func TestJSONToYAMLKeepsTypesAndOrder(t *testing.T) {
	in := `{"id":"x","ram_mib":"4096","vcpus":2,"ok":true,"flag":"true","when":"2024-01-01T00:00:00Z","key":"line1\nline2\n","empty":{},"list":[],"none":null}`
	out, err := jsonToYAML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"id": "x", "ram_mib": "4096", "vcpus": 2, "ok": true, "flag": "true",
		"when": "2024-01-01T00:00:00Z", "key": "line1\nline2\n"} {
		if back[k] != want {
			t.Errorf("%s = %#v (%T), want %#v\n%s", k, back[k], back[k], want, out)
		}
	}
	if strings.Index(string(out), "id:") > strings.Index(string(out), "vcpus:") {
		t.Errorf("key order lost:\n%s", out)
	}
	if strings.ContainsAny(string(out), "{[") && !strings.Contains(string(out), "empty: {}") {
		t.Errorf("flow style left:\n%s", out)
	}
}

func TestServerTableFormatting(t *testing.T) {
	sv := &canopyv1.Server{
		Id: "id-1", Name: "web", Status: canopyv1.Status_STATUS_UPDATING, FlavorId: "f-1",
		Location: &canopyv1.Location{Cloud: "c", Zone: "z"},
		Addresses: []*canopyv1.Address{
			{Network: "private", Ip: "10.0.0.5"}, {Network: "public", Ip: "203.0.113.7"}, {Network: "private", Ip: "fd00::5"},
		},
	}
	if got, want := addresses(sv), "private=10.0.0.5, fd00::5; public=203.0.113.7"; got != want {
		t.Errorf("addresses = %q, want %q", got, want)
	}
	var b strings.Builder
	serverRows(&b, []*canopyv1.Server{sv, {Id: "id-2", Name: "db", FlavorId: "f-2"}}, map[string]string{"f-1": "m1.small"})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || tableRow(b.String(), "id-1", "web", "updating", "c", "z", "m1.small") == "" ||
		tableRow(b.String(), "id-2", "db", "unspecified", "f-2") == "" {
		t.Errorf("rows:\n%s", b.String())
	}
}
