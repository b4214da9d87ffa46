package docker

import "testing"

// The upload path finds the image it loaded and tagged by the name it was
// given, which Docker lists in full (name → name:latest): the render's
// upload of "app" failed NOT_FOUND before references were normalised.
func TestNormRef(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"canopy-render-test-oci", "canopy-render-test-oci:latest"},
		{"busybox", "docker.io/library/busybox:latest"},
		{"app:abc123", "docker.io/library/app:abc123"},
		{"example.org/team/app:v1", "example.org/team/app:v1"},
	} {
		if normRef(tc.a) != normRef(tc.b) {
			t.Errorf("%q and %q are one image: %q vs %q", tc.a, tc.b, normRef(tc.a), normRef(tc.b))
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"app:v1", "app:v2"},
		{"app", "other"},
		{"example.org/app", "app"},
	} {
		if normRef(tc.a) == normRef(tc.b) {
			t.Errorf("%q and %q are different images, both %q", tc.a, tc.b, normRef(tc.a))
		}
	}
	if got := normRef("sha256:4cda71102cd4"); got != "sha256:4cda71102cd4" {
		t.Errorf("an id that is no reference changed: %q", got)
	}
}
