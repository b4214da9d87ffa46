package server

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/failpoint"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Booting a server from a volume (CreateServerRequest.boot_volume), and
// the emulation half of it: a deferred volume (volume-from-image on a cloud
// that cannot make one) is made as the server's root volume, from its
// image, and its pending canopy id is bound to that root volume.
//
// Crash safety: before the cloud is asked, the deferred volume's record
// names the server being booted from it (begin). If canopyd dies before
// the volume id is bound (done), settleBoot finishes the job later, when
// the volume is next read or at start: it finds the server's root volume
// through the server's mapping and binds it then.

// bootPlan is how a server boots from a volume; nil means from its image.
type bootPlan struct {
	v      *storageViews
	sc     *router.Cloud
	volume string // canopy id
	native string // the volume's native id (not deferred)
	zone   string
	// deferred: made at boot from image, size.
	deferred bool
	image    string
	size     int64
}

// planBoot resolves a CreateServer's boot_volume.
func (v *volumeService) planBoot(ctx context.Context, cl *router.Cloud, req *canopyv1.CreateServerRequest) (*bootPlan, error) {
	ref := req.GetBootVolume()
	if ref == "" {
		return nil, nil
	}
	if req.GetImage() != "" {
		return nil, router.BadRequest("boot_volume", "set image or boot_volume, not both")
	}
	sc, m, cur, err := v.findVolume(ctx, "boot_volume", ref)
	if err != nil {
		return nil, err
	}
	if sc != cl {
		return nil, router.BadRequest("boot_volume", "volume %s is in cloud %q, but the server goes to cloud %q", m.ID, sc.Name, cl.Name)
	}
	p := &bootPlan{v: &v.storageViews, sc: sc, volume: m.ID, native: m.NativeID, zone: cur.Location.GetZone()}
	if z := req.GetLocation().GetZone(); z != "" && p.zone != "" && z != p.zone {
		return nil, router.BadRequest("boot_volume", "volume %s is in zone %q, the server would be in zone %q", m.ID, p.zone, z)
	}
	if !m.Pending() {
		if len(cur.Attachments) > 0 {
			if retryOf(ctx, v.store, req, cur.Attachments[0].ServerId) {
				return nil, nil // a retry of the create that booted from it: the server exists
			}
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is attached to server %s in cloud %q", m.ID, cur.Attachments[0].ServerId, cl.Name)
		}
		return p, nil
	}
	rec, err := sc.Emulation.Record(ctx, providers.KindVolume, m.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is still being created in cloud %q", m.ID, cl.Name)
	}
	if err != nil {
		return nil, router.StoreErr("deferred volume "+m.ID, err)
	}
	if rec.BootServer != "" && !retryOf(ctx, v.store, req, rec.BootServer) {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is being made as the root volume of server %s", m.ID, rec.BootServer)
	}
	p.deferred, p.image, p.size = true, rec.ImageID, rec.SizeGiB
	return p, nil
}

// retryOf reports whether server is the one a retried CreateServer (same
// request id, same project) reserved, so the retry may continue its boot.
func retryOf(ctx context.Context, st store.Store, req *canopyv1.CreateServerRequest, server string) bool {
	if req.GetRequestId() == "" {
		return false
	}
	m, err := st.Get(ctx, server)
	return err == nil && m.RequestID == req.GetRequestId() && m.Project == project(ctx)
}

// begin fills the server spec and, for a deferred volume, records which
// server it is being made for, before the cloud is asked.
func (p *bootPlan) begin(ctx context.Context, spec *providers.ServerSpec, serverID string) error {
	if p == nil {
		return nil
	}
	if spec.Zone == "" {
		spec.Zone = p.zone
	}
	if !p.deferred {
		spec.BootVolumeID = p.native
		return nil
	}
	rec, err := p.sc.Emulation.Record(ctx, providers.KindVolume, p.volume)
	if err != nil {
		return router.StoreErr("deferred volume "+p.volume, err)
	}
	spec.ImageID, spec.RootVolumeGiB, spec.RootVolumeName = p.image, p.size, rec.Name
	if rec.BootServer == serverID {
		return nil
	}
	rec.BootServer = serverID
	if err := p.sc.Emulation.PutRecord(ctx, providers.KindVolume, p.volume, rec); err != nil {
		return router.StoreErr("deferred volume "+p.volume, err)
	}
	failpoint.Hit("boot/deferred-volume:recorded")
	return nil
}

// abort forgets the server a deferred volume was being made for (the cloud
// refused the server).
func (p *bootPlan) abort(ctx context.Context) {
	if p == nil || !p.deferred {
		return
	}
	if rec, err := p.sc.Emulation.Record(ctx, providers.KindVolume, p.volume); err == nil {
		rec.BootServer = ""
		_ = p.sc.Emulation.PutRecord(ctx, providers.KindVolume, p.volume, rec)
	}
}

// done binds a deferred volume's id to the root volume the cloud made.
func (p *bootPlan) done(ctx context.Context, sv providers.Server) error {
	if p == nil {
		return nil
	}
	p.sc.StorageCache.InvalidateVolumes() // the boot volume is in use now, or made
	if !p.deferred {
		return nil
	}
	failpoint.Hit("boot/deferred-volume:server-made")
	return p.v.materialize(ctx, p.sc, p.volume, sv.RootVolumeID)
}

// materialize binds a deferred volume to its root volume and drops the
// deferred record: from now on it is an ordinary volume.
func (v *storageViews) materialize(ctx context.Context, sc *router.Cloud, id, rootNative string) error {
	if rootNative == "" {
		return status.Errorf(codes.Internal, "cloud %q made the server without a root volume for volume %s", sc.Name, id)
	}
	sc.StorageCache.InvalidateVolumes()
	if _, err := v.store.Bind(ctx, id, rootNative); err != nil {
		return router.StoreErr(fmt.Sprintf("bind volume %s to %s", id, rootNative), err)
	}
	if err := sc.Emulation.Forget(ctx, providers.KindVolume, id); err != nil {
		return router.StoreErr("forget deferred volume "+id, err)
	}
	return nil
}

// settleBoot finishes a boot canopyd did not see to the end: the deferred
// volume's record names a server, so the server may exist with the root
// volume. It reports whether the volume is no longer deferred.
func (v *storageViews) settleBoot(ctx context.Context, sc *router.Cloud, rec emulate.Record) bool {
	if rec.BootServer == "" {
		return false
	}
	m, err := v.store.Get(ctx, rec.BootServer)
	if errors.Is(err, store.ErrNotFound) {
		// The server's create was refused (its id released): the volume
		// is free to boot another server.
		rec.BootServer = ""
		_ = sc.Emulation.PutRecord(ctx, providers.KindVolume, rec.ID, rec)
		return false
	}
	if err != nil || m.Pending() || sc.Compute == nil {
		return false
	}
	sv, err := sc.Compute.GetServer(ctx, m.NativeID)
	if err != nil || sv.RootVolumeID == "" {
		return false
	}
	return v.materialize(ctx, sc, rec.ID, sv.RootVolumeID) == nil
}

// settleBoots runs settleBoot on every deferred volume of every cloud
// (at start).
func (v *storageViews) settleBoots(ctx context.Context) {
	for _, sc := range v.rt.Clouds() {
		if sc.Emulation.VolumesOrFail() != nil {
			continue
		}
		recs, err := sc.Emulation.DeferredVolumes(ctx)
		if err != nil {
			continue
		}
		for _, r := range recs {
			if r.BootServer != "" && v.settleBoot(ctx, sc, r) {
				v.log.Info("bound a volume made at a boot canopyd did not finish", "volume", r.ID, "server", r.BootServer)
			}
		}
	}
}
