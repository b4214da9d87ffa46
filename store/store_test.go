package store_test

import (
	"testing"

	"github.com/canopy-cloud/canopy/store"
)

// AdoptedID promises ids stable forever: a resource adopted by one release
// keeps its id in every later one, on every replica. These values are
// fixed (checked against Python's uuid.uuid5 over the same namespace and
// "cloud\x00kind\x00native" name); a change to the namespace, the hash or
// the way the name is built breaks them, and must not happen.
func TestAdoptedIDGolden(t *testing.T) {
	for _, tc := range []struct{ cloud, kind, native, want string }{
		{"local", "server", "srv-1", "751f9d26-aa6f-535f-9420-294c4cc7bf61"},
		{"aws", "server", "i-0123456789abcdef0", "ff0e1539-df0c-550e-b32f-c352e511f182"},
		{"aws", "volume", "i-0123456789abcdef0", "7dd56c3d-1090-5db4-a2f1-774c674d3532"},
		{"os-prod", "volume", "5f8c0f7e-3b1a-4c7e-9f0a-1d2e3f4a5b6c", "5ba07338-14ee-59a6-8ce2-7015ed40c751"},
		{"", "", "", "79b81ded-b9fe-5e60-afee-316d65a7ca6c"},
	} {
		if got := store.AdoptedID(tc.cloud, tc.kind, tc.native); got != tc.want {
			t.Errorf("AdoptedID(%q, %q, %q) = %s, want %s (ids of adopted resources must never change)", tc.cloud, tc.kind, tc.native, got, tc.want)
		}
	}
}
