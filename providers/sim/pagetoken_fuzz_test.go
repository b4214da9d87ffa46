package sim

import (
	"errors"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// FuzzSimPageToken: the sim's ListObjects token decodes to the key it was
// made from; any other string is ErrInvalid (never a place to start
// listing from). `go test` runs the seeds; `make fuzz` runs it for
// CANOPY_FUZZTIME.
func FuzzSimPageToken(f *testing.F) {
	for _, s := range []string{"", "dir/file", "\xff", "a\x00b", simPageToken("k"), "garbage", simPageTokenPrefix, simPageTokenPrefix + "%%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s != "" {
			if k, err := parseSimPageToken(simPageToken(s)); err != nil || k != s {
				t.Fatalf("parseSimPageToken(simPageToken(%q)) = %q, %v", s, k, err)
			}
		}
		k, err := parseSimPageToken(s)
		switch {
		case err != nil && !errors.Is(err, providers.ErrInvalid):
			t.Fatalf("parseSimPageToken(%q): %v, not ErrInvalid", s, err)
		case err == nil && s != "" && (k == "" || simPageToken(k) == ""):
			t.Fatalf("parseSimPageToken(%q) = %q", s, k)
		}
	})
}
