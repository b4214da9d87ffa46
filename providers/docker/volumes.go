package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/canopy-cloud/canopy/providers"
)

// Volumes: a canopy volume on a Docker cloud is a Docker named volume of
// the local driver. Its native id is the volume's name (host-qualified,
// "<host>/<name>", on a cloud of several hosts, as for containers). A
// create with an idempotency token names the volume after the token, so a
// replayed create finds the volume the first attempt made (Docker answers
// a create of an existing name with that volume). canopy's own facts
// (name, size, description, token) are labels under "canopy.", hidden
// from Volume.Labels.
//
// Docker's local driver has no size: a volume grows into its host's free
// space. SizeGiB is the size asked for at create, recorded in a label and
// enforced where canopy writes (WriteVolumeData refuses more bytes than
// it); volumes made outside canopy report 0. Docker labels cannot change,
// so ExtendVolume is ErrUnsupported, saying so.
//
// A volume is attached to every container that mounts it (Attachment's
// Device is the mount path). Mounts are fixed when Docker creates a
// container, so AttachVolume and DetachVolume recreate a stopped
// container with the mount added or removed (recreate.go).

// The capability, checked by the compiler.
var _ providers.Volumes = (*Cloud)(nil)

// Has implements providers.Limited: every capability the type implements
// but volume-from-image, which Docker volumes lack (CreateVolume refuses
// an image source with ErrUnsupported; canopy does not emulate it
// without Compute).
func (c *Cloud) Has(capability string) bool { return capability != providers.CapVolumeFromImage }

// Labels of canopy's volumes (the token label is shared with containers).
const (
	labelVolName = labelPrefix + "name"
	labelVolSize = labelPrefix + "size_gib"
	labelVolDesc = labelPrefix + "description"
	// labelHelper marks the short-lived containers VolumeData makes.
	labelHelper = labelPrefix + "helper"
)

// Docker's rule for volume names.
var dockerVolumeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]+$`)

// volumeNameFor is the Docker volume name of a new volume: from the token
// when there is one (so a replay finds it), else the name asked for.
func volumeNameFor(spec providers.VolumeSpec) (string, error) {
	if spec.IdempotencyToken != "" {
		if dockerVolumeName.MatchString(spec.IdempotencyToken) && len(spec.IdempotencyToken) <= 120 {
			return "canopy-" + spec.IdempotencyToken, nil
		}
		sum := sha256.Sum256([]byte(spec.IdempotencyToken))
		return "canopy-" + hex.EncodeToString(sum[:16]), nil
	}
	if !dockerVolumeName.MatchString(spec.Name) {
		return "", fmt.Errorf("docker: volume name %q: letters, digits, _ . - (at least 2, the first a letter or digit): %w", spec.Name, providers.ErrInvalid)
	}
	return spec.Name, nil
}

// locateVolume finds the host of a volume's native id (as locate does
// for containers: a bare name on several hosts costs an inspect per host).
func (c *Cloud) locateVolume(ctx context.Context, id string) (*host, volume.Volume, error) {
	hostName, name := splitID(id)
	if !dockerVolumeName.MatchString(name) {
		return nil, volume.Volume{}, fmt.Errorf("docker: volume %q: %w", id, providers.ErrNotFound)
	}
	hosts := c.hosts
	if hostName != "" {
		h, ok := c.byName[hostName]
		if !ok {
			return nil, volume.Volume{}, fmt.Errorf("docker: volume %q: no host named %q in cloud %s: %w", id, hostName, c.name, providers.ErrNotFound)
		}
		hosts = []*host{h}
	}
	for _, h := range hosts {
		v, err := h.cli.VolumeInspect(ctx, name)
		if err == nil {
			return h, v, nil
		}
		if !cerrdefs.IsNotFound(err) {
			return nil, v, mapErr(err, h, "inspect volume", name)
		}
	}
	return nil, volume.Volume{}, fmt.Errorf("docker: volume %q: %w", id, providers.ErrNotFound)
}

// ListVolumes lists every volume of every host, those canopy did not
// make included (adopted, size 0).
func (c *Cloud) ListVolumes(ctx context.Context) ([]providers.Volume, error) {
	var mu sync.Mutex
	var out []providers.Volume
	err := c.hostsDo(ctx, func(ctx context.Context, h *host) error {
		resp, err := h.cli.VolumeList(ctx, volume.ListOptions{})
		if err != nil {
			return mapErr(err, h, "list volumes", "")
		}
		att, err := c.attachments(ctx, h, "")
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, v := range resp.Volumes {
			if v != nil {
				out = append(out, c.toVolume(h, *v, att[v.Name]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

// GetVolume inspects one volume and the containers that mount it.
func (c *Cloud) GetVolume(ctx context.Context, id string) (providers.Volume, error) {
	h, v, err := c.locateVolume(ctx, id)
	if err != nil {
		return providers.Volume{}, err
	}
	att, err := c.attachments(ctx, h, v.Name)
	if err != nil {
		return providers.Volume{}, err
	}
	return c.toVolume(h, v, att[v.Name]), nil
}

// attachments maps volume names to the containers of h that mount them
// (only volume's, when it is set). VolumeData's helpers are left out.
func (c *Cloud) attachments(ctx context.Context, h *host, name string) (map[string][]providers.Attachment, error) {
	opts := container.ListOptions{All: true}
	if name != "" {
		opts.Filters = filters.NewArgs(filters.Arg("volume", name))
	}
	sums, err := h.cli.ContainerList(ctx, opts)
	if err != nil {
		return nil, mapErr(err, h, "list containers", "")
	}
	out := map[string][]providers.Attachment{}
	for _, s := range sums {
		if s.Labels[labelHelper] != "" {
			continue
		}
		id := s.ID
		if orig := s.Labels[labelID]; orig != "" {
			id = orig
		}
		for _, m := range s.Mounts {
			if m.Type == "volume" && (name == "" || m.Name == name) {
				out[m.Name] = append(out[m.Name], providers.Attachment{ServerID: c.nativeID(h, id), Device: m.Destination})
			}
		}
	}
	return out, nil
}

// toVolume is canopy's view of a Docker volume.
func (c *Cloud) toVolume(h *host, v volume.Volume, att []providers.Attachment) providers.Volume {
	out := providers.Volume{Common: providers.Common{NativeID: c.nativeID(h, v.Name), Name: v.Name, Region: c.opts.Region, Zone: c.opts.Zone,
		Status: providers.StatusActive, ProviderStatus: "available",
		Properties: map[string]string{"driver": v.Driver, "host": h.name}}, Attachments: att}
	if len(att) > 0 {
		out.ProviderStatus = "in-use"
	}
	if t, err := time.Parse(time.RFC3339, v.CreatedAt); err == nil {
		out.Created = t
	}
	for k, val := range v.Labels {
		switch k {
		case labelVolName:
			out.Name = val
		case labelVolSize:
			out.SizeGiB, _ = strconv.ParseInt(val, 10, 64)
		case labelVolDesc:
			out.Properties["description"] = val
		case labelToken:
			out.Properties[providers.PropToken] = val
		default:
			if !strings.HasPrefix(k, labelPrefix) {
				if out.Labels == nil {
					out.Labels = map[string]string{}
				}
				out.Labels[k] = val
			}
		}
	}
	return out
}

// CreateVolume makes a Docker volume of the local driver. An image or
// snapshot source is ErrUnsupported (canopy emulates snapshots over
// VolumeData; Docker has no volume-from-image).
func (c *Cloud) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (providers.Volume, error) {
	switch {
	case spec.SizeGiB < 0:
		return providers.Volume{}, fmt.Errorf("docker: create volume %q: size %d GiB is negative: %w", spec.Name, spec.SizeGiB, providers.ErrInvalid)
	case spec.ImageID != "":
		return providers.Volume{}, fmt.Errorf("docker: create volume %q from image %s: Docker volumes cannot be made from an image: %w", spec.Name, spec.ImageID, providers.ErrUnsupported)
	case spec.SnapshotID != "":
		return providers.Volume{}, fmt.Errorf("docker: create volume %q from snapshot %s: Docker has no snapshots: %w", spec.Name, spec.SnapshotID, providers.ErrUnsupported)
	}
	name, err := volumeNameFor(spec)
	if err != nil {
		return providers.Volume{}, err
	}
	// A volume of that name on any host: the token's (a replay), or, for
	// a create without one, someone else's.
	if h, v, err := c.locateVolume(ctx, name); err == nil {
		if spec.IdempotencyToken != "" && v.Labels[labelToken] == spec.IdempotencyToken {
			return c.GetVolume(ctx, c.nativeID(h, v.Name))
		}
		return providers.Volume{}, fmt.Errorf("docker: create volume %q: host %s already has a volume named %s: %w", spec.Name, h.name, name, providers.ErrAlreadyExists)
	} else if !isNotFound(err) {
		return providers.Volume{}, err
	}
	h, err := c.hostFor(ctx, "")
	if err != nil {
		return providers.Volume{}, err
	}
	labels := map[string]string{labelVolName: spec.Name, labelVolSize: strconv.FormatInt(spec.SizeGiB, 10)}
	for k, v := range spec.Labels {
		if strings.HasPrefix(k, labelPrefix) {
			return providers.Volume{}, fmt.Errorf("docker: create volume %q: label %q: the %q prefix is canopy's: %w", spec.Name, k, labelPrefix, providers.ErrInvalid)
		}
		labels[k] = v
	}
	if spec.Description != "" {
		labels[labelVolDesc] = spec.Description
	}
	if spec.IdempotencyToken != "" {
		labels[labelToken] = spec.IdempotencyToken
	}
	v, err := h.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name, Driver: "local", Labels: labels})
	if err != nil {
		return providers.Volume{}, mapErr(err, h, "create volume", name)
	}
	return c.toVolume(h, v, nil), nil
}

// DeleteVolume removes a volume no container mounts; one that some do is
// ErrConflict naming them (Docker would refuse too, less clearly).
func (c *Cloud) DeleteVolume(ctx context.Context, id string) error {
	h, v, err := c.locateVolume(ctx, id)
	if err != nil {
		return err
	}
	if err := c.notInUse(ctx, h, v.Name, "delete"); err != nil {
		return err
	}
	if err := h.cli.VolumeRemove(ctx, v.Name, false); err != nil {
		return mapErr(err, h, "remove volume", v.Name)
	}
	return nil
}

// notInUse is ErrConflict naming the containers that mount a volume.
func (c *Cloud) notInUse(ctx context.Context, h *host, name, what string) error {
	att, err := c.attachments(ctx, h, name)
	if err != nil {
		return err
	}
	if users := att[name]; len(users) > 0 {
		ids := make([]string, len(users))
		for i, a := range users {
			ids[i] = a.ServerID + " (at " + a.Device + ")"
		}
		return fmt.Errorf("docker: %s volume %s: in use by container %s: detach it or delete the container first: %w", what, name, strings.Join(ids, ", "), providers.ErrConflict)
	}
	return nil
}

// ExtendVolume: Docker volumes have no size to change (see above). A
// smaller size is ErrInvalid as on every cloud.
func (c *Cloud) ExtendVolume(ctx context.Context, id string, sizeGiB int64) error {
	_, v, err := c.locateVolume(ctx, id)
	if err != nil {
		return err
	}
	if cur, _ := strconv.ParseInt(v.Labels[labelVolSize], 10, 64); sizeGiB < cur {
		return fmt.Errorf("docker: extend volume %s to %d GiB: it has %d GiB, and volumes only grow: %w", id, sizeGiB, cur, providers.ErrInvalid)
	}
	return fmt.Errorf("docker: extend volume %s: a Docker volume of the local driver has no size (it grows into the host's free space) and its recorded size cannot change: %w", id, providers.ErrUnsupported)
}

func isNotFound(err error) bool { return errors.Is(err, providers.ErrNotFound) }

// placeByVolumes puts a container on the host of the volumes it mounts
// by native id ("<host>/<name>" on a cloud of several hosts: a Docker
// volume lives on one host) and gives Docker the bare names. Volumes on
// different hosts, or on another host than the one the spec names, are
// ErrInvalid.
func (c *Cloud) placeByVolumes(spec providers.ContainerSpec) (providers.ContainerSpec, error) {
	var mounts []providers.Mount
	for i, m := range spec.Mounts {
		hostName, name := splitID(m.Source)
		if m.Type != "volume" || hostName == "" {
			continue
		}
		if _, ok := c.byName[hostName]; !ok {
			return spec, fmt.Errorf("mounts[%d]: volume %q: no host named %q in cloud %s: %w", i, m.Source, hostName, c.name, providers.ErrInvalid)
		}
		if spec.Host != "" && spec.Host != hostName {
			return spec, fmt.Errorf("mounts[%d]: volume %q is on host %s, the container is to run on host %s: %w", i, m.Source, hostName, spec.Host, providers.ErrInvalid)
		}
		if mounts == nil {
			mounts = append([]providers.Mount(nil), spec.Mounts...)
		}
		spec.Host, mounts[i].Source = hostName, name
	}
	if mounts != nil {
		spec.Mounts = mounts
	}
	return spec, nil
}
