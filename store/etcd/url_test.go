package etcd

import (
	"slices"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in     string
		eps    []string
		prefix string
		err    string
	}{
		{"etcd://127.0.0.1:2379", []string{"http://127.0.0.1:2379"}, "/canopy", ""},
		{"etcd://a:1,b:2,[::1]:3", []string{"http://a:1", "http://b:2", "http://[::1]:3"}, "/canopy", ""},
		{"etcd://a:1/", []string{"http://a:1"}, "/canopy", ""},
		{"etcd://a:1/team-a", []string{"http://a:1"}, "/team-a", ""},
		{"etcd://a:1,b:2/x/y/", []string{"http://a:1", "http://b:2"}, "/x/y", ""},
		{"etcd://", nil, "", `endpoint ""`},
		{"etcd://a", nil, "", `endpoint "a"`},
		{"etcd://a:1,", nil, "", `endpoint ""`},
		{"etcd://a:0", nil, "", "port in 1-65535"},
		{"etcd://a:http", nil, "", "port in 1-65535"},
		{"etcd://:2379", nil, "", "port in 1-65535"},
		{"etcd://u:p@a:1", nil, "", "credentials"},
		{"etcd://a:1?x=y", nil, "", "queries"},
		{"bolt:///tmp/x", nil, "", "not an etcd://"},
		{"http://a:1", nil, "", "not an etcd://"},
	} {
		eps, prefix, err := ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q) = %v, %q, %v; want an error containing %q", tc.in, eps, prefix, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(eps, tc.eps) || prefix != tc.prefix {
			t.Errorf("ParseURL(%q) = %v, %q, %v; want %v, %q", tc.in, eps, prefix, err, tc.eps, tc.prefix)
		}
	}
}

// Escaped components never contain "/", and escaping is one-to-one, so the
// prefix of one (cloud, kind) never matches another's keys.
func TestKeysAreUnambiguous(t *testing.T) {
	k := keys{root: "/r/v1/"}
	pairs := [][2]string{{"c1", "server"}, {"c1", "servers"}, {"c1/", "server"}, {"c1", "/server"}, {"c1%2F", "server"},
		{"c1%", "2Fserver"}, {"", "c1/server"}, {"c1/server", ""}, {"c", "1server"}}
	for i, a := range pairs {
		for j, b := range pairs {
			if i != j && strings.HasPrefix(k.list(b[0], b[1])+"id", k.list(a[0], a[1])) {
				t.Errorf("list prefix of %q matches a key of %q", a, b)
			}
			if i != j && k.native(a[0], a[1], "n") == k.native(b[0], b[1], "n") {
				t.Errorf("native keys of %q and %q collide", a, b)
			}
		}
	}
	if got := k.record("a/b", "c/d"); got != "/r/v1/rec/a%2Fb/c/d" {
		t.Errorf("record key = %q", got)
	}
}
