package docker

import (
	"errors"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

func TestParseOptionsDefaults(t *testing.T) {
	o, err := ParseOptions(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.NetworkMode != "none" || o.Region != "local" || o.Zone != "local" || len(o.Hosts) != 0 || o.CreateWindow != DefaultCreateWindow {
		t.Errorf("defaults = %+v", o)
	}
	o, err = ParseOptions(nil, []string{"lab", "other"}, []string{"lab-a"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Region != "lab" || o.Zone != "lab-a" {
		t.Errorf("region/zone from the config = %q/%q, want lab/lab-a", o.Region, o.Zone)
	}
}

func TestParseOptionsHosts(t *testing.T) {
	o, err := ParseOptions(map[string]any{
		"hosts": []any{
			"unix:///run/docker.sock",
			"tcp://10.0.0.7:2376",
			map[string]any{"name": "gpu", "url": "tcp://10.0.0.8:2376", "tls_ca": "ca.pem", "tls_cert": "c.pem", "tls_key": "k.pem"},
		},
		"network_mode":  "host",
		"region":        "r1",
		"create_window": "500ms",
	}, []string{"ignored"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []HostOptions{
		{Name: "local", URL: "unix:///run/docker.sock"},
		{Name: "10.0.0.7:2376", URL: "tcp://10.0.0.7:2376"},
		{Name: "gpu", URL: "tcp://10.0.0.8:2376", TLSCA: "ca.pem", TLSCert: "c.pem", TLSKey: "k.pem"},
	}
	if len(o.Hosts) != len(want) {
		t.Fatalf("hosts = %+v", o.Hosts)
	}
	for i := range want {
		if o.Hosts[i] != want[i] {
			t.Errorf("hosts[%d] = %+v, want %+v", i, o.Hosts[i], want[i])
		}
	}
	if o.NetworkMode != "host" || o.Region != "r1" || o.Zone != "r1" || o.CreateWindow != 500*time.Millisecond {
		t.Errorf("options = %+v", o)
	}
	// One URL alone is a list of one.
	o, err = ParseOptions(map[string]any{"hosts": "unix:///x.sock"}, nil, nil)
	if err != nil || len(o.Hosts) != 1 || o.Hosts[0].Name != "local" {
		t.Errorf("hosts as one string = %+v, %v", o.Hosts, err)
	}
}

func TestParseOptionsErrors(t *testing.T) {
	for name, m := range map[string]map[string]any{
		"unknown option":     {"hostz": "x"},
		"unknown host key":   {"hosts": []any{map[string]any{"url": "unix:///a", "port": "1"}}},
		"bad scheme":         {"hosts": []any{"ssh://me@box"}},
		"no url":             {"hosts": []any{map[string]any{"name": "a"}}},
		"duplicate name":     {"hosts": []any{"unix:///a.sock", "unix:///b.sock"}},
		"slash in name":      {"hosts": []any{map[string]any{"name": "a/b", "url": "unix:///a"}}},
		"cert without key":   {"hosts": []any{map[string]any{"url": "tcp://h:1", "tls_cert": "c"}}},
		"hosts not a list":   {"hosts": 3},
		"empty network_mode": {"network_mode": ""},
		"bad create_window":  {"create_window": "soon"},
	} {
		if _, err := ParseOptions(m, nil, nil); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}
