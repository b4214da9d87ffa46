package openstack

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// TestCapabilities pins the providers interfaces the adapter's type
// implements (openstack.go asserts each at compile time; this catches one
// dropped together with its assertion) and what an opened adapter says it
// offers. Opening reads clouds.yaml only, so no cloud is needed.
func TestCapabilities(t *testing.T) {
	wantIfaces := []string{"Compute", "FloatingIPs", "ImageTransfer", "Networks", "Objects", "Provider", "Routers", "SecurityGroups", "Snapshots", "URLSigner", "Volumes"}
	if got := providertest.Interfaces((*Cloud)(nil)); !slices.Equal(got, wantIfaces) {
		t.Errorf("*openstack.Cloud implements %v, want %v", got, wantIfaces)
	}

	isolate(t)
	path := write(t, filepath.Join(t.TempDir(), "clouds.yaml"),
		"clouds: {down: {auth: {auth_url: 'http://127.0.0.1:1/v3', username: u, password: p, project_name: p}, region_name: R}}")
	p, err := providers.Open(t.Context(), Kind, providers.Config{Name: "os", Options: map[string]any{"clouds_yaml": path, "cloud": "down"}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer p.Close()
	if _, ok := p.(*Cloud); !ok {
		t.Fatalf("Open returned a %T, want *openstack.Cloud", p)
	}
	// Cinder has no volume-data access and the adapter does not drive
	// cinder-backup: canopy emulates neither for OpenStack.
	want := []string{"compute", "floating-ips", "image-transfer", "keypairs", "networks", "objects", "presigned-urls", "routers", "security-groups", "snapshots", "volume-from-image", "volumes"}
	if got := providers.Capabilities(p); !slices.Equal(got, want) {
		t.Errorf("Capabilities = %v, want %v", got, want)
	}
}
