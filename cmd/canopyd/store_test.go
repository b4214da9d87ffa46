package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseStore(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want storeSpec
		err  string
	}{
		{"", storeSpec{Path: "/data/canopy.db"}, ""},
		{"/var/lib/canopy/x.db", storeSpec{Path: "/var/lib/canopy/x.db"}, ""},
		{"rel/x.db", storeSpec{Path: "rel/x.db"}, ""},
		{"bolt:///srv/c.db", storeSpec{Path: "/srv/c.db"}, ""},
		{"bolt://", storeSpec{Path: "/data/canopy.db"}, ""},
		{"etcd://127.0.0.1:2379", storeSpec{Endpoints: []string{"http://127.0.0.1:2379"}, Prefix: "/canopy"}, ""},
		{"etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379/prod", storeSpec{
			Endpoints: []string{"http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"}, Prefix: "/prod"}, ""},
		{"etcd://", storeSpec{}, "HOST:PORT"},
		{"etcd://h:99999", storeSpec{}, "port in 1-65535"},
		{"etcd://h:1,,h:2", storeSpec{}, `endpoint ""`},
		{"postgres://x", storeSpec{}, "unsupported scheme"},
	} {
		got, err := parseStore(tc.in, "/data")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "--store") {
				t.Errorf("parseStore(%q) = %+v, %v; want an error about --store containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.Path != tc.want.Path || got.Prefix != tc.want.Prefix || !slices.Equal(got.Endpoints, tc.want.Endpoints) {
			t.Errorf("parseStore(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if s := (storeSpec{Endpoints: []string{"http://a:1", "http://b:2"}, Prefix: "/p"}).String(); s != "etcd://a:1,b:2/p" {
		t.Errorf("etcd spec prints as %s, want etcd://a:1,b:2/p", s)
	}
}
