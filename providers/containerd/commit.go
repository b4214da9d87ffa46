package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/diff"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/platforms"
	"github.com/containerd/containerd/rootfs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/canopy-cloud/canopy/providers"
)

// CommitContainer makes an image of a container, Docker's commit over
// containerd's parts: the diff service turns the container's snapshot
// (its changes over the image) into a gzipped layer in the content store;
// a new config (the image's, plus that layer's diff id, a history entry
// and the container's command, env, workdir and user) and a new manifest
// (the image's layers plus the new one) are written beside it, and the
// image store names the manifest Reference. The image is unpacked into
// the snapshotter so containers can be made from it at once. A lease
// keeps the new blobs from the garbage collector until the image holds
// them.
func (a *Adapter) CommitContainer(ctx context.Context, id string, spec providers.CommitSpec) (providers.Image, error) {
	ctx = a.ns(ctx)
	if spec.Reference == "" {
		return providers.Image{}, errorf(providers.ErrInvalid, "commit without a reference")
	}
	if _, err := normalizeRef(spec.Reference); err != nil {
		return providers.Image{}, errorf(providers.ErrInvalid, "reference %q: %v", spec.Reference, err)
	}
	unlock := a.locks.lock(id)
	defer unlock()
	info, _, state, err := a.currentFor(ctx, id, providers.ActCommit)
	if err != nil {
		return providers.Image{}, err
	}
	ctx, done, err := a.client.WithLease(ctx)
	if err != nil {
		return providers.Image{}, wrap(err, "lease")
	}
	defer func() { _ = done(a.ns(context.Background())) }()

	if spec.Pause && state == providers.ContainerRunning {
		c, err := a.client.LoadContainer(ctx, id)
		if err != nil {
			return providers.Image{}, wrap(err, "load container %s", id)
		}
		task, err := c.Task(ctx, nil)
		if err != nil {
			return providers.Image{}, wrap(err, "load task %s", id)
		}
		if err := task.Pause(ctx); err != nil {
			return providers.Image{}, wrap(err, "pause %s", id)
		}
		defer func() { _ = task.Resume(a.ns(context.Background())) }()
	}

	cs := a.client.ContentStore()
	base, err := a.client.ImageService().Get(ctx, info.Image)
	if err != nil {
		return providers.Image{}, wrap(err, "image %s of %s", info.Image, id)
	}
	manifest, err := images.Manifest(ctx, cs, base.Target, platforms.Default())
	if err != nil {
		return providers.Image{}, wrap(err, "manifest of %s", info.Image)
	}
	var cfg ocispec.Image
	if err := readJSON(ctx, cs, manifest.Config, &cfg); err != nil {
		return providers.Image{}, wrap(err, "config of %s", info.Image)
	}
	layerType := ocispec.MediaTypeImageLayerGzip
	if manifest.MediaType == images.MediaTypeDockerSchema2Manifest || manifest.Config.MediaType == images.MediaTypeDockerSchema2Config {
		layerType = images.MediaTypeDockerSchema2LayerGzip
	}
	layer, err := rootfs.CreateDiff(ctx, info.SnapshotKey, a.client.SnapshotService(info.Snapshotter), a.client.DiffService(),
		diff.WithMediaType(layerType), diff.WithReference("canopy-commit-"+id))
	if err != nil {
		return providers.Image{}, wrap(err, "diff of %s", id)
	}
	linfo, err := cs.Info(ctx, layer.Digest)
	if err != nil {
		return providers.Image{}, wrap(err, "layer of %s", id)
	}
	diffID, err := digest.Parse(linfo.Labels["containerd.io/uncompressed"])
	if err != nil {
		return providers.Image{}, fmt.Errorf("containerd: layer of %s has no uncompressed digest: %w", id, err)
	}

	now := time.Now().UTC()
	if c, err := a.GetContainer(ctx, id); err == nil {
		cfg.Config.Entrypoint, cfg.Config.Cmd = c.Entrypoint, c.Command
		cfg.Config.Env = envList(c.Env)
		cfg.Config.WorkingDir = c.Workdir
		cfg.Config.User = c.User
	}
	cfg.Created = &now
	cfg.Author = spec.Author
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	cfg.History = append(cfg.History, ocispec.History{Created: &now, CreatedBy: "canopy commit " + id, Author: spec.Author, Comment: spec.Message})
	cfgDesc, err := writeJSON(ctx, cs, manifest.Config.MediaType, "canopy-commit-config-"+id, cfg, nil)
	if err != nil {
		return providers.Image{}, err
	}
	manifest.Config = cfgDesc
	manifest.Layers = append(manifest.Layers, layer)
	gc := map[string]string{"containerd.io/gc.ref.content.config": cfgDesc.Digest.String()}
	var size int64
	for i, l := range manifest.Layers {
		gc[fmt.Sprintf("containerd.io/gc.ref.content.l.%d", i)] = l.Digest.String()
		size += l.Size
	}
	mediaType := manifest.MediaType
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageManifest
	}
	mDesc, err := writeJSON(ctx, cs, mediaType, "canopy-commit-manifest-"+id, manifest, gc)
	if err != nil {
		return providers.Image{}, err
	}

	img := images.Image{Name: spec.Reference, Target: mDesc, CreatedAt: now, UpdatedAt: now}
	is := a.client.ImageService()
	if _, err := is.Create(ctx, img); errdefs.IsAlreadyExists(err) {
		_, err = is.Update(ctx, img, "target")
		if err != nil {
			return providers.Image{}, wrap(err, "image %s", spec.Reference)
		}
	} else if err != nil {
		return providers.Image{}, wrap(err, "image %s", spec.Reference)
	}
	if err := containerd.NewImageWithPlatform(a.client, img, platforms.Default()).Unpack(ctx, a.opts.Snapshotter); err != nil {
		return providers.Image{}, wrap(err, "unpack %s", spec.Reference)
	}
	return providers.Image{
		Common: providers.Common{
			NativeID: spec.Reference, Name: spec.Reference, Region: a.opts.Region, Zone: a.opts.Zone,
			Status: providers.StatusActive, ProviderStatus: "active", Created: now, Updated: now,
			Properties: map[string]string{"digest": mDesc.Digest.String(), "container": id},
		},
		SizeBytes: size, DiskFormat: "raw", ContainerFormat: "oci",
	}, nil
}

func readJSON(ctx context.Context, cs content.Store, desc ocispec.Descriptor, v any) error {
	b, err := content.ReadBlob(ctx, cs, desc)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSON stores v as a blob and returns its descriptor.
func writeJSON(ctx context.Context, cs content.Store, mediaType, ref string, v any, labels map[string]string) (ocispec.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("containerd: encode %s: %w", mediaType, err)
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := content.WriteBlob(ctx, cs, ref, bytes.NewReader(b), desc, content.WithLabels(labels)); err != nil {
		return ocispec.Descriptor{}, wrap(err, "write %s", mediaType)
	}
	return desc, nil
}
