package providertest

import (
	"slices"

	"github.com/canopy-cloud/canopy/providers"
)

// capabilityInterfaces are the providers interfaces an adapter type may
// implement, by name. What an adapter returns (ObjectWriter, ImageWriter,
// LogReader, Exec, and what a writer may also be: SHA256Committer) is no capability, nor is what a ChangeFeed reports to (ChangeSink) and is not listed. A new interface in
// package providers must be added here (TestCapabilityInterfacesComplete
// fails until it is).
var capabilityInterfaces = []struct {
	name       string
	implements func(v any) bool
}{
	{"Backups", is[providers.Backups]},
	{"ChangeFeed", is[providers.ChangeFeed]},
	{"Compute", is[providers.Compute]},
	{"ContainerCommitter", is[providers.ContainerCommitter]},
	{"ContainerEvents", is[providers.ContainerEvents]},
	{"ContainerIO", is[providers.ContainerIO]},
	{"ContainerImages", is[providers.ContainerImages]},
	{"Containers", is[providers.Containers]},
	{"FloatingIPs", is[providers.FloatingIPs]},
	{"HostReporter", is[providers.HostReporter]},
	{"IdentityService", is[providers.IdentityService]},
	{"ImageDeleter", is[providers.ImageDeleter]},
	{"ImageTransfer", is[providers.ImageTransfer]},
	{"Limited", is[providers.Limited]},
	{"Networks", is[providers.Networks]},
	{"Objects", is[providers.Objects]},
	{"Provider", is[providers.Provider]},
	{"Routers", is[providers.Routers]},
	{"SecurityGroups", is[providers.SecurityGroups]},
	{"SignedURLServer", is[providers.SignedURLServer]},
	{"SnapshotJobs", is[providers.SnapshotJobs]},
	{"Snapshots", is[providers.Snapshots]},
	{"URLSigner", is[providers.URLSigner]},
	{"VolumeData", is[providers.VolumeData]},
	{"VolumeDataCreator", is[providers.VolumeDataCreator]},
	{"VolumeMounter", is[providers.VolumeMounter]},
	{"Volumes", is[providers.Volumes]},
}

func is[I any](v any) bool {
	_, ok := v.(I)
	return ok
}

// Interfaces returns the names of the providers interfaces v implements,
// sorted: an adapter's capabilities test compares them with the set it
// declares, so a changed signature cannot silently drop a capability. v is
// usually a typed nil pointer of the adapter's type; no cloud is needed.
func Interfaces(v any) []string {
	var out []string
	for _, c := range capabilityInterfaces {
		if c.implements(v) {
			out = append(out, c.name)
		}
	}
	slices.Sort(out)
	return out
}
