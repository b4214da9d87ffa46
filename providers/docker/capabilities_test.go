package docker

import (
	"context"
	"slices"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// TestCapabilities pins what the adapter offers (docker.go asserts each
// interface at compile time; this catches one dropped with its assertion).
// New calls no daemon, so an unreachable host will do.
func TestCapabilities(t *testing.T) {
	c, err := New(context.Background(), "d", Options{Hosts: []HostOptions{{Name: "x", URL: "unix:///nonexistent.sock"}}, NetworkMode: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := []string{providers.CapContainerCommit, providers.CapContainerEvents, providers.CapContainerImages, providers.CapContainerIO, providers.CapContainers, providers.CapImageTransfer,
		providers.CapVolumeData, providers.CapVolumes}
	if got := providers.Capabilities(c); !slices.Equal(got, want) {
		t.Errorf("Capabilities = %v, want %v", got, want)
	}
	wantIfaces := []string{"ContainerCommitter", "ContainerEvents", "ContainerIO", "ContainerImages", "Containers", "HostReporter", "ImageDeleter", "ImageTransfer", "Limited", "Provider",
		"VolumeData", "VolumeMounter", "Volumes"}
	if got := providertest.Interfaces(c); !slices.Equal(got, wantIfaces) {
		t.Errorf("*docker.Cloud implements %v, want %v", got, wantIfaces)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestRegistered: the kind opens through the registry with YAML-shaped
// options, and a bad option fails the open.
func TestRegistered(t *testing.T) {
	ctx := context.Background()
	p, err := providers.Open(ctx, Kind, providers.Config{Name: "d", Regions: []string{"lab"}, Options: map[string]any{"hosts": []any{"unix:///nonexistent.sock"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := p.(*Cloud).Hosts(); !slices.Equal(got, []string{"local"}) {
		t.Errorf("hosts = %v", got)
	}
	if _, err := p.Info(ctx); err == nil {
		t.Error("Info on a socket nobody serves: no error")
	}
	if _, err := providers.Open(ctx, Kind, providers.Config{Name: "d", Options: map[string]any{"nope": 1}}); err == nil {
		t.Error("unknown option: no error")
	}
}
