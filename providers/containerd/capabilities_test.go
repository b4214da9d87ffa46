package containerd

import (
	"slices"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// TestCapabilities pins what the adapter offers (containerd.go and
// volumes.go assert each interface at compile time; this catches one
// dropped with its assertion). A typed nil will do: no daemon is asked.
func TestCapabilities(t *testing.T) {
	var a *Adapter
	want := []string{providers.CapContainerCommit, providers.CapContainerEvents, providers.CapContainerImages, providers.CapContainerIO, providers.CapContainers, providers.CapImageTransfer,
		providers.CapVolumeData, providers.CapVolumes}
	if got := providers.Capabilities(a); !slices.Equal(got, want) {
		t.Errorf("Capabilities = %v, want %v", got, want)
	}
	wantIfaces := []string{"ContainerCommitter", "ContainerEvents", "ContainerIO", "ContainerImages", "Containers", "HostReporter", "ImageTransfer", "Limited", "Provider",
		"VolumeData", "VolumeMounter", "Volumes"}
	if got := providertest.Interfaces(a); !slices.Equal(got, wantIfaces) {
		t.Errorf("*containerd.Adapter implements %v, want %v", got, wantIfaces)
	}
}
