package server

import (
	"context"

	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// volumesPB converts one cloud's volumes, mapping every native id (volume,
// image, snapshot, backup, attached servers) to its canopy id in one
// batched store call per kind; crash duplicates are left out
// (router.Claimed).
func (v *storageViews) volumesPB(ctx context.Context, sc *router.Cloud, list []providers.Volume) ([]*canopyv1.Volume, error) {
	var del func(context.Context, string) error
	if sc.Storage != nil {
		del = sc.Storage.DeleteVolume
	}
	list, vids, err := router.Claimed(ctx, v.rt, sc, providers.KindVolume, list, func(x providers.Volume) providers.Common { return x.Common }, del)
	if err != nil {
		return nil, err
	}
	var imgs, snaps, baks, srvs []string
	for _, x := range list {
		imgs, snaps, baks = append(imgs, x.ImageID), append(snaps, x.SnapshotID), append(baks, x.BackupID)
		for _, a := range x.Attachments {
			srvs = append(srvs, a.ServerID)
		}
	}
	ids := map[string]map[string]store.Mapping{providers.KindVolume: vids}
	for kind, natives := range map[string][]string{providers.KindImage: imgs, providers.KindSnapshot: snaps,
		providers.KindBackup: baks, providers.KindServer: srvs} {
		m, err := v.rt.Adopt(ctx, sc, kind, natives)
		if err != nil {
			return nil, err
		}
		ids[kind] = m
	}
	out := make([]*canopyv1.Volume, len(list))
	for i, x := range list {
		out[i] = volumePB(sc.Name, ids[providers.KindVolume][x.NativeID], x)
		out[i].ImageId = ids[providers.KindImage][x.ImageID].ID
		out[i].SnapshotId = ids[providers.KindSnapshot][x.SnapshotID].ID
		out[i].BackupId = ids[providers.KindBackup][x.BackupID].ID
		for _, a := range x.Attachments {
			out[i].Attachments = append(out[i].Attachments, &canopyv1.VolumeAttachment{ServerId: ids[providers.KindServer][a.ServerID].ID, Device: a.Device})
		}
	}
	return out, nil
}

// volumePB converts a volume whose mapping is known; source and attachment
// ids are the caller's to fill.
func volumePB(cloud string, m store.Mapping, x providers.Volume) *canopyv1.Volume {
	loc := location(cloud, x.Common)
	loc.Project = m.Project
	return &canopyv1.Volume{
		Id: m.ID, NativeId: x.NativeID, Location: loc, Name: x.Name,
		Status: statusPB(x.Status), ProviderStatus: x.ProviderStatus, StatusMessage: x.StatusMessage,
		CreateTime: ts(x.Created), UpdateTime: ts(x.Updated), Labels: x.Labels, Properties: x.Properties,
		SizeGib: x.SizeGiB, VolumeType: x.Type, Description: x.Properties["description"], Bootable: x.Bootable, Emulated: x.Emulated,
	}
}

// deferredPB converts a deferred volume (emulated volume-from-image).
func (v *storageViews) deferredPB(ctx context.Context, sc *router.Cloud, r emulate.Record, m store.Mapping) (*canopyv1.Volume, error) {
	img, err := v.rt.Adopt(ctx, sc, providers.KindImage, []string{r.ImageID})
	if err != nil {
		return nil, err
	}
	out := volumePB(sc.Name, m, r.DeferredVolume())
	out.Id, out.ImageId, out.Description = r.ID, img[r.ImageID].ID, r.Description
	return out, nil
}
