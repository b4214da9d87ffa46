package server

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// WatchServers implements canopyv1.ComputeServiceServer, fed by each
// cloud's batched server poller (watchstream.go).
func (s *computeService) WatchServers(req *canopyv1.WatchServersRequest, stream canopyv1.ComputeService_WatchServersServer) error {
	ctx := stream.Context()
	keep, err := watchFilter(ctx, req, (*canopyv1.Server).GetLabels)
	if err != nil {
		return err
	}
	targets, err := s.rt.ListTargets(req.GetLocation())
	if err != nil {
		return err
	}
	return watchFeed[providers.Server, *canopyv1.Server]{
		what: "servers",
		subscribe: func(ctx context.Context, cl *router.Cloud) <-chan cache.Snapshot[providers.Server] {
			if cl.Servers == nil {
				return nil
			}
			return cl.Servers.Subscribe(ctx)
		},
		list: s.cloudServers,
		convert: func(ctx context.Context, cl *router.Cloud, snap []providers.Server) ([]*canopyv1.Server, error) {
			return s.serversPB(ctx, cl, snap)
		},
		gone: func(sv *canopyv1.Server) *canopyv1.Server {
			last := proto.Clone(sv).(*canopyv1.Server)
			last.Status, last.ProviderStatus = canopyv1.Status_STATUS_DELETED, "DELETED"
			return last
		},
		keep: keep,
		send: func(t watchEvent, sv *canopyv1.Server, ce *canopyv1.CloudError) error {
			return stream.Send(&canopyv1.WatchServersResponse{Type: canopyv1.WatchServersResponse_EventType(t), Server: sv, CloudError: ce})
		},
	}.run(ctx, targets)
}
