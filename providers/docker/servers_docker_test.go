//go:build docker

package docker_test

import (
	"context"
	"testing"

	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// serversHarness runs the Compute section against a Docker cloud's servers
// view: emulate.ContainerServers over the adapter, as router.openCloud
// builds it, with the flavors a cloud's config would give.
type serversHarness struct{ harness }

// serversView is the adapter (Info, Close) answering Compute through its
// containers.
type serversView struct {
	providers.Provider
	*emulate.ContainerServers
}

// testFlavors are two sizes, as a container cloud's flavors: config would list them.
var testFlavors = []providers.Flavor{
	{Common: providers.Common{NativeID: "ct.small", Name: "ct.small", Status: providers.StatusActive}, VCPUs: 1, RAMMiB: 128},
	{Common: providers.Common{NativeID: "ct.medium", Name: "ct.medium", Status: providers.StatusActive}, VCPUs: 2, RAMMiB: 256},
}

func (h serversHarness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	p := h.harness.MakeProvider(ctx, t)
	return serversView{Provider: p, ContainerServers: emulate.NewContainerServers(p.(providers.Containers), p.(providers.ContainerImages), testFlavors, "lab", emulate.StopGrace)}
}

func (h serversHarness) Fixture() providertest.Fixture {
	fx := h.harness.Fixture()
	fx.ImageName, fx.Prefix = testImage, "ptest-dsrv"
	fx.KeypairsUnsupported = "a container cloud's servers take no keypair"
	// The image has no command: user data is the server's program, and it
	// leaves on SIGTERM as a service should (a stop is then no 10 s wait).
	fx.ServerUserData = []byte("trap 'exit 0' TERM; while :; do sleep 1; done")
	return fx
}

// TestServersConformance: a Docker cloud seen as servers passes the same
// Compute section as a cloud of virtual machines.
func TestServersConformance(t *testing.T) {
	providertest.RunComputeTests(t, serversHarness{harness{host: dockerHost(t)}})
}
