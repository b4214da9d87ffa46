package openstack

import (
	"errors"
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
	wantIfaces := []string{"Backups", "ChangeFeed", "Compute", "FloatingIPs", "IdentityService", "ImageDeleter", "ImageTransfer", "Limited", "Networks", "Objects", "Provider", "Routers", "SecurityGroups", "Snapshots", "URLSigner", "VolumeData", "Volumes"}
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
	// Backups (cinder-backup) by default; volume data through Glance.
	want := []string{"backups", "compute", "floating-ips", "image-transfer", "keypairs", "networks", "objects", "presigned-urls", "routers", "security-groups", "snapshots", "volume-data", "volume-from-image", "volumes"}
	if got := providers.Capabilities(p); !slices.Equal(got, want) {
		t.Errorf("Capabilities = %v, want %v", got, want)
	}
	// A cloud whose config says it runs no cinder-backup has no backups
	// (canopy emulates them over volume data).
	nb, err := providers.Open(t.Context(), Kind, providers.Config{Name: "os", Options: map[string]any{"clouds_yaml": path, "cloud": "down", "volume_backups": false}})
	if err != nil {
		t.Fatalf("Open(volume_backups: false): %v", err)
	}
	defer nb.Close()
	if providers.Has(nb, providers.CapBackups) || !providers.Has(nb, providers.CapVolumeData) {
		t.Errorf("volume_backups: false: Has(backups) = %v, Has(volume-data) = %v; want false, true", providers.Has(nb, providers.CapBackups), providers.Has(nb, providers.CapVolumeData))
	}
	if _, err := nb.(providers.Backups).ListBackups(t.Context()); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("ListBackups with volume_backups: false: err = %v, want ErrUnsupported", err)
	}
	if _, err := ParseOptions(map[string]any{"volume_backups": "yes"}); err == nil {
		t.Errorf("volume_backups: \"yes\" parsed; want an error naming the option")
	}
}
