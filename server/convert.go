package server

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

// The adapters' normalized status and the API's enum are the same list.
func statusPB(s providers.Status) canopyv1.Status { return canopyv1.Status(s) }

func statusFromPB(s canopyv1.Status) providers.Status { return providers.Status(s) }

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func location(cloud string, c providers.Common) *canopyv1.Location {
	return &canopyv1.Location{Cloud: cloud, Region: c.Region, Zone: c.Zone}
}

func flavorPB(cloud, id string, f providers.Flavor) *canopyv1.Flavor {
	return &canopyv1.Flavor{
		Id: id, NativeId: f.NativeID, Location: location(cloud, f.Common), Name: f.Name,
		Status: statusPB(f.Status), ProviderStatus: f.ProviderStatus,
		CreateTime: ts(f.Created), UpdateTime: ts(f.Updated), Labels: f.Labels, Properties: f.Properties,
		Vcpus: f.VCPUs, RamMib: f.RAMMiB, DiskGib: f.DiskGiB, Gpus: f.GPUs,
	}
}

func imagePB(cloud, id string, im providers.Image) *canopyv1.Image {
	return &canopyv1.Image{
		Id: id, NativeId: im.NativeID, Location: location(cloud, im.Common), Name: im.Name,
		Status: statusPB(im.Status), ProviderStatus: im.ProviderStatus,
		CreateTime: ts(im.Created), UpdateTime: ts(im.Updated), Labels: im.Labels, Properties: im.Properties,
		SizeBytes: im.SizeBytes, DiskFormat: im.DiskFormat, ContainerFormat: im.ContainerFormat,
		MinDiskGib: im.MinDiskGiB, MinRamMib: im.MinRAMMiB,
	}
}

// serverPB converts a server; ids maps the native flavor and image ids to
// canopy ids.
func serverPB(cloud, id string, s providers.Server, flavorID, imageID string) *canopyv1.Server {
	out := &canopyv1.Server{
		Id: id, NativeId: s.NativeID, Location: location(cloud, s.Common), Name: s.Name,
		Status: statusPB(s.Status), ProviderStatus: s.ProviderStatus, StatusMessage: s.StatusMessage,
		CreateTime: ts(s.Created), UpdateTime: ts(s.Updated), Labels: s.Labels, Properties: s.Properties,
		FlavorId: flavorID, ImageId: imageID, Keypair: s.Keypair, Kind: serverKind(s),
	}
	for _, a := range s.Addresses {
		out.Addresses = append(out.Addresses, &canopyv1.Address{Network: a.Network, Ip: a.IP, Version: a.Version, Type: a.Type})
	}
	return out
}

func keypairPB(cloud, id string, k providers.Keypair) *canopyv1.Keypair {
	return &canopyv1.Keypair{
		Id: id, NativeId: k.NativeID, Location: location(cloud, k.Common), Name: k.Name,
		Status: statusPB(k.Status), ProviderStatus: k.ProviderStatus,
		CreateTime: ts(k.Created), UpdateTime: ts(k.Updated), Labels: k.Labels, Properties: k.Properties,
		PublicKey: k.PublicKey, Fingerprint: k.Fingerprint, Type: k.Type,
	}
}
