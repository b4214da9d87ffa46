package config

import (
	"reflect"
	"testing"
)

// FuzzParse: config.Parse, given any bytes, refuses them with an error or
// returns a config that is valid by its own rules — named clouds of a
// kind, no negative cache TTL, positive wait durations with min ≤ max (a
// negative poll interval would poll a cloud in a busy loop), a positive
// body limit — and that parses the same again. `go test` runs the seeds;
// `make fuzz` runs it for CANOPY_FUZZTIME.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "clouds: []", "clouds:\n  - {name: east, kind: sim, zones: [e1]}\nzones: {x: east}\nwait: {timeout: 30s}",
		"clouds:\n  - {name: a, kind: sim}\n  - {name: a, kind: sim}", "clouds:\n  - {name: A, kind: sim}", "clouds:\n  - {name: a}",
		"clouds:\n  - {name: a, kind: sim, cache: {servers: -1s}}", "clouds:\n  - {name: a, kind: sim, cache: {bogus: 1s}}",
		"wait: {min_interval: -1s}", "wait: {timeout: -5m}", "wait: {max_interval: -1ns, min_interval: -2ns}", "wait: {min_interval: 10s}",
		"rest: {max_body_bytes: -1}", "public_url: http://x/y", "public_url: 'ftp://x'", "duplicates: report", "duplicates: x",
		"clouds:\n  - {name: a, kind: sim, backup_bucket: a/b}", "clouds:\n  - {name: a, kind: sim, backup_bucket: b/c}",
		"clouds:\n  - {name: a, kind: sim, flavors: [{name: f, vcpus: 1, ram_mib: 6}]}", "clouds: {a: b}", "clouds: [", "\t",
		"a: &a [*a, *a]", "wait: {timeout: 1e300h}", "wait: {timeout: [1]}", "unknown_key: 1", "clouds:\n  - {name: a, kind: sim, rate_limit: {burst: -1}}",
		"clouds:\n  - {name: a, kind: sim, zones: [z]}\n  - {name: b, kind: sim, zones: [z]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw, "fuzz")
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted what Validate refuses: %v", err)
		}
		if len(c.Clouds) == 0 {
			t.Fatal("no clouds")
		}
		for _, cl := range c.Clouds {
			if !cloudName.MatchString(cl.Name) || cl.Kind == "" || cl.Project == "" {
				t.Fatalf("cloud %+v", cl)
			}
			for kind, ttl := range cl.Cache {
				if ttl < 0 {
					t.Fatalf("cache.%s %v", kind, ttl)
				}
			}
		}
		w := c.Wait
		if w.Timeout <= 0 || w.MinInterval <= 0 || w.MaxInterval <= 0 || w.MinInterval > w.MaxInterval {
			t.Fatalf("wait %+v", w)
		}
		if c.REST.MaxBodyBytes <= 0 {
			t.Fatalf("rest.max_body_bytes %d", c.REST.MaxBodyBytes)
		}
		again, err := Parse(raw, "fuzz")
		if err != nil || !reflect.DeepEqual(c, again) {
			t.Fatalf("parsed twice: %+v, then %+v, %v", c, again, err)
		}
	})
}
