package config

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
clouds:
  - name: east
    kind: sim
    zones: [e1, e2]
  - name: west
    kind: sim
    zones: [w1]
    options: {down: true}
zones:
  extra: west
wait:
  timeout: 30s
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Clouds) != 2 || c.Clouds[1].Options["down"] != true || c.Zones["extra"] != "west" {
		t.Errorf("parsed %+v", c)
	}
	if c.Wait.Timeout.Std() != 30*time.Second || c.Wait.MinInterval.Std() != 500*time.Millisecond {
		t.Errorf("wait = %+v", c.Wait)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	c, err := Parse(nil, "empty")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Clouds) != 1 || c.Clouds[0].Name != DefaultCloudName || len(c.Clouds[0].Zones) != 2 {
		t.Errorf("default = %+v", c.Clouds)
	}
	if c.Duplicates != DuplicatesDelete {
		t.Errorf("duplicates = %q, want %q by default", c.Duplicates, DuplicatesDelete)
	}
	if c, err := Parse([]byte("duplicates: report"), "report"); err != nil || c.Duplicates != DuplicatesReport {
		t.Errorf("duplicates: report = %v, %v", c, err)
	}
	if c.REST.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("rest.max_body_bytes = %d, want %d by default", c.REST.MaxBodyBytes, DefaultMaxBodyBytes)
	}
	if c, err := Parse([]byte("rest: {max_body_bytes: 1024}"), "rest"); err != nil || c.REST.MaxBodyBytes != 1024 {
		t.Errorf("rest.max_body_bytes: 1024 = %v, %v", c, err)
	}
	if c.Metrics.RequireToken {
		t.Errorf("/metrics requires a token by default")
	}
	if c, err := Parse([]byte("metrics: {require_token: true}"), "metrics"); err != nil || !c.Metrics.RequireToken || c.Metrics.TokenScope() != "canopy.admin" {
		t.Errorf("metrics: {require_token: true} = %+v, %v; want scope canopy.admin by default", c.Metrics, err)
	}
	if c, err := Parse([]byte("metrics: {require_token: true, scope: canopy.read}"), "metrics"); err != nil || c.Metrics.TokenScope() != "canopy.read" {
		t.Errorf("metrics scope canopy.read = %+v, %v", c.Metrics, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"clouds: [{name: Bad_Name, kind: sim}]", "clouds[0].name"},
		{"clouds: [{name: a, kind: sim}, {name: a, kind: sim}]", "duplicate"},
		{"clouds: [{name: a}]", "kind is required"},
		{"clouds: [{name: a, kind: sim, zones: [z]}, {name: b, kind: sim, zones: [z]}]", `zone "z" is declared by clouds "a" and "b"`},
		{"clouds: [{name: a, kind: sim}]\nzones: {z: nope}", `unknown cloud "nope"`},
		{"wait: {timeout: soon}", "invalid duration"},
		{"wait: {min_interval: 10s, max_interval: 1s}", "above wait.max_interval"},
		{"clouds: {", "config bad"},
		{"clouds: [{name: a, kind: sim, cache: {gizmos: 1s}}]", "cache.gizmos: unknown kind"},
		{"clouds: [{name: a, kind: sim, disk_formats: {accepted: [raw]}}]", `cloud "a": disk_formats.preferred: required`},
		{"clouds: [{name: a, kind: sim, disk_formats: {preferred: vdi}}]", `disk_formats.preferred: "vdi" is not one qemu-img makes`},
		{"clouds: [{name: a, kind: sim, disk_formats: {preferred: raw, accepted: [raw, floppy]}}]", `disk_formats.accepted[1]: "floppy" is not a disk format`},
		{"clouds: [{name: a, kind: sim, disk_formats: {preferred: raw, accepted: [qcow2]}}]", `disk_formats.accepted: lists qcow2 but not the preferred "raw"`},
		{"clouds: [{name: a, kind: sim, render_presets: {net-if: eth0}}]", `cloud "a": render_presets.net-if: an input name is a Go identifier`},
		{"clouds: [{name: a, kind: sim, cache: {servers: -1s}}]", "negative"},
		{"clouds: [{name: a, kind: sim, rate_limit: {rate: 1, burst: -1}}]", "rate_limit.burst"},
		{"clouds: [{name: a, kind: sim, breaker: {cooldown: -1s}}]", "breaker.cooldown"},
		{"clouds: [{name: a, kind: sim, breaker: {failure: 3}}]", `unknown key "failure"`},
		{"clouds: [{name: a, kind: docker, flavors: [{name: s, vcpus: 0, ram_mib: 64}]}]", "flavors[0] (s): vcpus"},
		{"clouds: [{name: a, kind: docker, flavors: [{name: s, vcpus: 1, ram_mib: 2}]}]", "flavors[0] (s): ram_mib"},
		{"clouds: [{name: a, kind: docker, flavors: [{name: s, vcpus: 1, ram_mib: 64}, {name: s, vcpus: 2, ram_mib: 64}]}]", "flavors[1]: a name is required, once"},
		{"clouds: [{name: a, kind: docker, flavors: [{name: s, cpus: 1}]}]", `unknown key "cpus"`},
		{"public_url: canopy.example.com", "public_url"},
		{"clouds: [{name: a, kind: sim, backup_bucket: nobucket}]", "want <cloud>/<bucket>"},
		{"clouds: [{name: a, kind: sim, backup_bucket: a/b/c}]", "want <cloud>/<bucket>"},
		{"clouds: [{name: a, kind: sim, backup_bucket: zz/b}]", `unknown cloud "zz"`},
		{"public_url: ftp://canopy.example.com", "public_url"},
		{"public_url: https://canopy.example.com/?x=1", "public_url"},
		{"public_url: https://me:pw@canopy.example.com", "public_url"},
		{"duplicates: ignore", `duplicates "ignore": want delete or report`},
		{"rest: {max_body_bytes: -1}", "rest.max_body_bytes -1: must not be negative"},
		// Unknown keys name the key, its line and the keys allowed there.
		{"wait:\n  max_intervall: 1s", `line 2: unknown key "max_intervall" (want one of: max_interval, min_interval, timeout)`},
		{"clouds: [{name: a, kind: sim, zone: [z]}]", `unknown key "zone" (want one of: backup_bucket, breaker, cache, disk_formats, flavors, keystone_auth, kind, name, options, project, rate_limit, regions, render_presets, scheduler, zones)`},
		{"cloud: []", `line 1: unknown key "cloud" (want one of: auth, clouds, duplicates, metrics, networks, public_url, render, rest, wait, zones)`},
		{"metrics: {require_tokens: true}", `unknown key "require_tokens" (want one of: require_token, scope)`},
		{"metrics: {require_token: true, scope: canopy.root}", `metrics.scope "canopy.root": want one of canopy.read, canopy.write, canopy.admin`},
		{"metrics: {scope: canopy.read}", "metrics.scope is set but metrics.require_token is not"},
		{"metrics: {require_token: yes please}", "cannot unmarshal"},
		{"auth: {issuers: [{issuer: x, jwks: y}]}", `unknown key "jwks" (want one of: audience, issuer, jwks_url, project_claim)`},
		{"rest: {max_body: 1}", `unknown key "max_body" (want one of: max_body_bytes)`},
	} {
		_, err := Parse([]byte(tc.yaml), "bad")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): err = %v, want it to mention %q", tc.yaml, err, tc.want)
		}
	}
}

func TestKeystoneAuth(t *testing.T) {
	c, err := Parse([]byte(`
clouds:
  - name: lab
    kind: openstack
    keystone_auth:
      cache_ttl: 30s
      projects: {"Default/canopy-test": team-a, 0123abcd: ops}
      roles: {member: canopy.write}
  - name: plain
    kind: openstack
    keystone_auth: {}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	ka := c.Clouds[0].KeystoneAuth
	if ka == nil || ka.CacheTTLOr(Duration(time.Minute)).Std() != 30*time.Second || ka.Projects["0123abcd"] != "ops" || ka.Roles["member"] != "canopy.write" {
		t.Errorf("keystone_auth = %+v", ka)
	}
	if c.Clouds[1].KeystoneAuth == nil || c.Clouds[1].KeystoneAuth.CacheTTLOr(Duration(time.Minute)).Std() != time.Minute {
		t.Errorf("keystone_auth {} = %+v", c.Clouds[1].KeystoneAuth)
	}
	for body, want := range map[string]string{
		`cache_tl: 30s`:                   `unknown key "cache_tl" (want one of: cache_ttl, projects, roles, timeout)`,
		`cache_ttl: -1s`:                  `cloud "lab": keystone_auth.cache_ttl -1s: must not be negative`,
		`roles: {member: canopy.root}`:    `keystone_auth.roles["member"]: unknown scope "canopy.root"`,
		`projects: {"a/b/c": x}`:          `keystone_auth.projects: keystone project "a/b/c"`,
		`projects: {"Default/x": Team-A}`: `keystone_auth.projects["Default/x"]: canopy project "Team-A"`,
		`timeout: -2s`:                    `keystone_auth.timeout -2s`,
	} {
		_, err := Parse([]byte("clouds:\n  - name: lab\n    kind: openstack\n    keystone_auth:\n      "+body+"\n"), "test")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}
