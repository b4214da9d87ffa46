//go:build containerd

package containerd_test

import (
	"context"
	"testing"

	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// serversHarness runs the Compute section against a containerd cloud's
// servers view: emulate.ContainerServers over the adapter, as
// router.openCloud builds it, with the flavors a cloud's config would give.
type serversHarness struct{}

// serversView is the adapter (Info, Close) answering Compute through its
// containers.
type serversView struct {
	providers.Provider
	*emulate.ContainerServers
}

// testFlavors are two sizes, as a container cloud's flavors: config would
// list them.
var testFlavors = []providers.Flavor{
	{Common: providers.Common{NativeID: "ct.small", Name: "ct.small", Status: providers.StatusActive}, VCPUs: 1, RAMMiB: 128},
	{Common: providers.Common{NativeID: "ct.medium", Name: "ct.medium", Status: providers.StatusActive}, VCPUs: 2, RAMMiB: 256},
}

func (serversHarness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	a := open(ctx, t)
	return serversView{Provider: a, ContainerServers: emulate.NewContainerServers(a, a, testFlavors, "lab", emulate.StopGrace)}
}

func (serversHarness) Fixture() providertest.Fixture {
	return providertest.Fixture{
		ImageName: "canopy-test/busybox:latest", Prefix: "ptest-csrv",
		KeypairsUnsupported: "a container cloud's servers take no keypair",
		// The image has no command: user data is the server's program,
		// and it leaves on SIGTERM as a service should.
		ServerUserData: []byte("trap 'exit 0' TERM; while :; do sleep 1; done"),
	}
}

// TestServersConformance: a containerd cloud seen as servers passes the
// same Compute section as a cloud of virtual machines.
func TestServersConformance(t *testing.T) {
	address(t)
	providertest.RunComputeTests(t, serversHarness{})
}
