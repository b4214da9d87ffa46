package server

import (
	"context"

	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// computeService implements canopyv1.ComputeServiceServer: servers
// (servers.go, watch.go, wait.go), flavors and images (catalog.go) and
// keypairs (keypairs.go), over the router.
type computeService struct {
	canopyv1.UnimplementedComputeServiceServer
	serverViews

	rt      router.Resolver
	store   store.Store
	cfg     *config.Config // wait bounds
	metrics *metrics       // wake-up delays of waits
	// boot resolves a CreateServer's boot_volume (the block-storage side).
	boot bootPlanner
	// net resolves a CreateServer's ports and security groups, and gives
	// it a floating IP for auto_ip (the networking side).
	net serverNetworking
	// places are the images' placements per cloud (GetImage, ListImages
	// show them; DeleteImage forgets a deleted one); repl places an image
	// a server needs in its cloud (CreateServer).
	places *placements
	repl   *replicator
}

// bootPlanner is what booting a server from a volume needs of the block
// storage side (emulate_boot.go).
type bootPlanner interface {
	planBoot(ctx context.Context, cl *router.Cloud, req *canopyv1.CreateServerRequest) (*bootPlan, error)
}

// serverViews converts a cloud's servers to the API's messages, with their
// canopy ids; the compute and volume services both read servers through it.
type serverViews struct {
	rt router.Resolver
}
