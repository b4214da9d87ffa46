package server

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// WatchVolumes implements canopyv1.VolumeServiceServer, fed by each
// cloud's batched volume poller, the one the operations' waits use
// (watchstream.go). Deferred volumes are part of every batch.
func (v *volumeService) WatchVolumes(req *canopyv1.WatchVolumesRequest, stream canopyv1.VolumeService_WatchVolumesServer) error {
	ctx := stream.Context()
	keep, err := watchFilter(ctx, req, (*canopyv1.Volume).GetLabels)
	if err != nil {
		return err
	}
	if err := v.checkListCloud(req.GetLocation()); err != nil {
		return err
	}
	targets, err := v.rt.ListTargets(req.GetLocation())
	if err != nil {
		return err
	}
	return watchFeed[providers.Volume, *canopyv1.Volume]{
		what: "volumes",
		subscribe: func(ctx context.Context, cl *router.Cloud) <-chan cache.Snapshot[providers.Volume] {
			if cl.Volumes == nil {
				return nil
			}
			return cl.Volumes.Subscribe(ctx)
		},
		list: v.cloudVolumes,
		convert: func(ctx context.Context, sc *router.Cloud, snap []providers.Volume) ([]*canopyv1.Volume, error) {
			defs, err := sc.Emulation.DeferredVolumes(ctx)
			if err != nil {
				return nil, router.StoreErr("list deferred volumes", err)
			}
			return v.volumesView(ctx, sc, snap, defs)
		},
		gone: func(x *canopyv1.Volume) *canopyv1.Volume {
			last := proto.Clone(x).(*canopyv1.Volume)
			last.Status, last.ProviderStatus, last.Attachments = canopyv1.Status_STATUS_DELETED, "deleted", nil
			return last
		},
		keep: keep,
		send: func(t watchEvent, x *canopyv1.Volume, ce *canopyv1.CloudError) error {
			return stream.Send(&canopyv1.WatchVolumesResponse{Type: canopyv1.WatchVolumesResponse_EventType(t), Volume: x, CloudError: ce})
		},
	}.run(ctx, targets)
}
