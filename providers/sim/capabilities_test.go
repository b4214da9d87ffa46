package sim_test

import (
	"slices"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// TestInterfaces pins the providers interfaces the simulator's type
// implements (sim.go asserts each at compile time; this catches one
// dropped together with its assertion).
func TestInterfaces(t *testing.T) {
	want := []string{"Backups", "Compute", "ContainerCommitter", "ContainerEvents", "ContainerIO", "ContainerImages",
		"Containers", "FloatingIPs", "ImageDeleter", "ImageTransfer", "Limited", "Networks", "Objects", "Provider", "Routers", "SecurityGroups",
		"SignedURLServer", "SnapshotJobs", "Snapshots", "URLSigner", "VolumeData", "Volumes"}
	if got := providertest.Interfaces((*sim.Cloud)(nil)); !slices.Equal(got, want) {
		t.Errorf("*sim.Cloud implements %v, want %v", got, want)
	}
}

// TestCapabilities pins what a simulated cloud says it offers, with every
// feature and with each switch that takes one away.
func TestCapabilities(t *testing.T) {
	all := []string{"backups", "compute", "container_commit", "container_events", "container_images", "container_io", "containers",
		"floating-ips", "image-transfer", "keypairs", "networks", "objects", "presigned-urls", "routers", "security-groups",
		"snapshots", "volume-data", "volume-from-image", "volumes"}
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(c string) bool { return slices.Contains(drop, c) })
	}
	for _, tc := range []struct {
		name string
		opts sim.VolumeOptions
		want []string
	}{
		{"default", sim.VolumeOptions{}, all},
		{"async snapshot ids", sim.VolumeOptions{AsyncSnapshotIDs: true}, all},
		{"no snapshots", sim.VolumeOptions{NoSnapshots: true}, without("snapshots")},
		{"no backups", sim.VolumeOptions{NoBackups: true}, without("backups")},
		{"no volume from image", sim.VolumeOptions{NoVolumeFromImage: true}, without("volume-from-image")},
		{"no volume data", sim.VolumeOptions{NoVolumeData: true}, without("volume-data")},
		{"EBS-like", sim.VolumeOptions{NoBackups: true, NoVolumeFromImage: true, NoVolumeData: true}, without("backups", "volume-from-image", "volume-data")},
		{"no volumes", sim.VolumeOptions{NoVolumes: true}, without("volumes", "snapshots", "backups", "volume-from-image", "volume-data")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sim.New(sim.Options{Seed: 1, VolumeOptions: tc.opts})
			defer c.Close()
			if got := providers.Capabilities(c); !slices.Equal(got, tc.want) {
				t.Errorf("Capabilities = %v, want %v", got, tc.want)
			}
			for _, capability := range all {
				if got, want := providers.Has(c, capability), slices.Contains(tc.want, capability); got != want {
					t.Errorf("Has(%s) = %v, want %v", capability, got, want)
				}
			}
		})
	}
}
