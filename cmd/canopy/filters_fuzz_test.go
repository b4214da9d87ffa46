package main

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// FuzzParseFilters: the CLI's list filters (`container ls --filter`,
// `--label`, `--status`), given "\n"-separated flag values: no panic, and
// what is accepted says the same when written back as flags and parsed
// again. `go test` runs the seeds; `make fuzz` runs it for CANOPY_FUZZTIME.
func FuzzParseFilters(f *testing.F) {
	for _, s := range []string{"", "name=web", "status=running", "state=EXITED", "status=bogus", "label=env=dev", "label=env",
		"label=a=b=c", "name=", "=x", "nope=1", "name=a\nname=b", "label=k\nlabel=k=v", "label==v", "name=\xff", "status=RUNNING\nlabel=x"} {
		f.Add(s, "env=dev", "active")
	}
	f.Fuzz(func(t *testing.T, filters, label, status string) {
		vs := strings.Split(filters, "\n")
		got, err := parseFilters("filter", vs)
		if err == nil {
			var again []string
			if got.name != "" {
				again = append(again, "name="+got.name)
			}
			if got.state != 0 {
				for w, st := range containerStates {
					if st == got.state {
						again = append(again, "status="+w)
						break
					}
				}
			}
			keys := make([]string, 0, len(got.labels))
			for k := range got.labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				again = append(again, "label="+k+"="+got.labels[k])
			}
			for _, k := range got.labelKeys {
				again = append(again, "label="+k)
			}
			if len(again) == 0 {
				again = nil
			}
			back, err := parseFilters("filter", again)
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("%q parsed as %+v; written back as %q: %+v, %v", vs, got, again, back, err)
			}
		}
		labels := strings.Split(label, "\n")
		m, err := parseLabels("label", labels)
		if err == nil {
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				if k == "" {
					t.Fatalf("%q: accepted an empty key", labels)
				}
				if _, ok := m[k]; !ok {
					t.Fatalf("%q: lost %q (%q)", labels, k, v)
				}
			}
		}
		st, err := parseStatus(status)
		if err == nil && status != "" {
			if st == canopyv1.Status_STATUS_UNSPECIFIED || !strings.EqualFold(strings.TrimPrefix(st.String(), "STATUS_"), strings.TrimPrefix(strings.ToUpper(status), "STATUS_")) {
				t.Fatalf("parseStatus(%q) = %v", status, st)
			}
		}
	})
}
