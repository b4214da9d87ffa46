package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/typeurl/v2"

	"github.com/canopy-cloud/canopy/providers"
)

// Volumes: containerd has none of its own, so a canopy volume on a
// containerd cloud is a directory the adapter keeps, <data>/volumes/<name>
// — the same directory a container's `volume` mount of that name binds
// (spec.go), so volumes made by a mount are listed (adopted, size 0) and
// a canopy volume is mounted by naming it. Its native id is that name; a
// create with an idempotency token names it after the token, so a replay
// finds it. What canopy knows of a volume (its name, size, description,
// labels, token) is a JSON file beside it, <data>/volume-meta/<name>.json,
// replaced atomically (rename), so the size can grow (ExtendVolume).
//
// A directory has no size of its own: SizeGiB is a quota canopy records
// and enforces where it writes (WriteVolumeData), not one the filesystem
// enforces on the containers that mount it.
//
// A volume is attached to every container whose record mounts it
// (Attachment.Device is the mount path). containerd keeps a container's
// OCI spec and makes the task from it at start, so attach and detach
// rewrite the spec and record of a container that has no running task,
// keeping its id (mounts.go).

// The capabilities, checked by the compiler.
var (
	_ providers.Volumes       = (*Adapter)(nil)
	_ providers.VolumeData    = (*Adapter)(nil)
	_ providers.VolumeMounter = (*Adapter)(nil)
)

// Has implements providers.Limited: every capability the type implements
// but volume-from-image, which directories lack (CreateVolume refuses an
// image source with ErrUnsupported).
func (a *Adapter) Has(capability string) bool { return capability != providers.CapVolumeFromImage }

// volumeMeta is what canopy records of a volume.
type volumeMeta struct {
	Name        string            `json:"name"`
	SizeGiB     int64             `json:"size_gib"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Token       string            `json:"token,omitempty"`
	Created     time.Time         `json:"created"`
}

func metaRoot(dataDir string) string { return filepath.Join(dataDir, "volume-meta") }

func (a *Adapter) volumeDir(name string) string { return filepath.Join(volumesRoot(a.dataDir), name) }
func (a *Adapter) metaPath(name string) string {
	return filepath.Join(metaRoot(a.dataDir), name+".json")
}

// readMeta reads a volume's record; a directory without one (made by a
// mount) gets a record of its name and time. A missing directory is
// ErrNotFound.
func (a *Adapter) readMeta(name string) (volumeMeta, error) {
	if !volumeName.MatchString(name) {
		return volumeMeta{}, errorf(providers.ErrNotFound, "volume %q", name)
	}
	st, err := os.Stat(a.volumeDir(name))
	if errors.Is(err, os.ErrNotExist) {
		return volumeMeta{}, errorf(providers.ErrNotFound, "volume %q", name)
	}
	if err != nil {
		return volumeMeta{}, fmt.Errorf("containerd: volume %s: %w", name, err)
	}
	m := volumeMeta{Name: name, Created: st.ModTime()}
	b, err := os.ReadFile(a.metaPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("containerd: volume %s: record: %w", name, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("containerd: volume %s: record: %w", name, err)
	}
	return m, nil
}

// writeMeta replaces a volume's record atomically.
func (a *Adapter) writeMeta(name string, m volumeMeta) error {
	if err := os.MkdirAll(metaRoot(a.dataDir), 0o700); err != nil {
		return fmt.Errorf("containerd: volume records: %w", err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := a.metaPath(name) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("containerd: volume %s: record: %w", name, err)
	}
	if err := os.Rename(tmp, a.metaPath(name)); err != nil {
		return fmt.Errorf("containerd: volume %s: record: %w", name, err)
	}
	return nil
}

// toVolume is canopy's view of a volume and its users.
func (a *Adapter) toVolume(id string, m volumeMeta, att []providers.Attachment) providers.Volume {
	v := providers.Volume{Common: providers.Common{NativeID: id, Name: m.Name, Region: a.opts.Region, Zone: a.opts.Zone,
		Status: providers.StatusActive, ProviderStatus: "available", Created: m.Created, Labels: m.Labels,
		Properties: map[string]string{"host": a.opts.Host}}, SizeGiB: m.SizeGiB, Attachments: att}
	if len(att) > 0 {
		v.ProviderStatus = "in-use"
	}
	if m.Description != "" {
		v.Properties["description"] = m.Description
	}
	if m.Token != "" {
		v.Properties[providers.PropToken] = m.Token
	}
	return v
}

// attachments maps volume names to the containers that mount them.
func (a *Adapter) attachments(ctx context.Context) (map[string][]providers.Attachment, error) {
	cs, err := a.client.ContainerService().List(a.ns(ctx))
	if err != nil {
		return nil, wrap(err, "list containers")
	}
	out := map[string][]providers.Attachment{}
	for _, c := range cs {
		for _, m := range recordOf(c).Mounts {
			if m.Type == "volume" {
				out[m.Source] = append(out[m.Source], providers.Attachment{ServerID: c.ID, Device: m.Target})
			}
		}
	}
	return out, nil
}

// recordOf is a container's create record (zero when it has none).
func recordOf(c containers.Container) record {
	if any, ok := c.Extensions[recordExtension]; ok && any != nil {
		if v, err := typeurl.UnmarshalAny(any); err == nil {
			if r, ok := v.(*record); ok {
				return *r
			}
		}
	}
	return record{}
}

// ListVolumes lists every volume directory.
func (a *Adapter) ListVolumes(ctx context.Context) ([]providers.Volume, error) {
	ents, err := os.ReadDir(volumesRoot(a.dataDir))
	if err != nil {
		return nil, fmt.Errorf("containerd: list volumes: %w", err)
	}
	att, err := a.attachments(ctx)
	if err != nil {
		return nil, err
	}
	var out []providers.Volume
	for _, e := range ents {
		if !e.IsDir() || !volumeName.MatchString(e.Name()) {
			continue // a volume being deleted (".deleting-…")
		}
		m, err := a.readMeta(e.Name())
		if errors.Is(err, providers.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a.toVolume(e.Name(), m, att[e.Name()]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

// GetVolume returns one volume.
func (a *Adapter) GetVolume(ctx context.Context, id string) (providers.Volume, error) {
	m, err := a.readMeta(id)
	if err != nil {
		return providers.Volume{}, err
	}
	att, err := a.attachments(ctx)
	if err != nil {
		return providers.Volume{}, err
	}
	return a.toVolume(id, m, att[id]), nil
}

// CreateVolume makes the directory and its record. An image or snapshot
// source is ErrUnsupported (canopy emulates snapshots over VolumeData).
func (a *Adapter) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (providers.Volume, error) {
	switch {
	case spec.SizeGiB < 0:
		return providers.Volume{}, errorf(providers.ErrInvalid, "create volume %q: size %d GiB is negative", spec.Name, spec.SizeGiB)
	case spec.ImageID != "":
		return providers.Volume{}, errorf(providers.ErrUnsupported, "create volume %q from image %s: containerd volumes are directories and cannot be made from an image", spec.Name, spec.ImageID)
	case spec.SnapshotID != "":
		return providers.Volume{}, errorf(providers.ErrUnsupported, "create volume %q from snapshot %s: containerd has no volume snapshots", spec.Name, spec.SnapshotID)
	}
	name := spec.Name
	if spec.IdempotencyToken != "" {
		name = "canopy-" + nativeID(spec.IdempotencyToken)
	} else if !volumeName.MatchString(name) {
		return providers.Volume{}, errorf(providers.ErrInvalid, "volume name %q: letters, digits, _ . - (the first a letter or digit)", name)
	}
	a.volMu.Lock()
	defer a.volMu.Unlock()
	if m, err := a.readMeta(name); err == nil {
		if spec.IdempotencyToken != "" && m.Token == spec.IdempotencyToken {
			return a.GetVolume(ctx, name)
		}
		return providers.Volume{}, errorf(providers.ErrAlreadyExists, "create volume %q: a volume named %s exists", spec.Name, name)
	} else if !errors.Is(err, providers.ErrNotFound) {
		return providers.Volume{}, err
	}
	m := volumeMeta{Name: spec.Name, SizeGiB: spec.SizeGiB, Description: spec.Description, Labels: spec.Labels, Token: spec.IdempotencyToken, Created: time.Now().UTC()}
	// The record first: a directory without one would be adopted as a
	// volume made by a mount, its token lost.
	if err := a.writeMeta(name, m); err != nil {
		return providers.Volume{}, err
	}
	if err := os.Mkdir(a.volumeDir(name), 0o755); err != nil {
		_ = os.Remove(a.metaPath(name))
		return providers.Volume{}, fmt.Errorf("containerd: create volume %s: %w", name, err)
	}
	return a.toVolume(name, m, nil), nil
}

// DeleteVolume removes a volume no container mounts; one that some do is
// ErrConflict naming them. The directory is renamed aside first, so a
// delete cut short never leaves half a volume listed.
func (a *Adapter) DeleteVolume(ctx context.Context, id string) error {
	a.volMu.Lock()
	defer a.volMu.Unlock()
	if _, err := a.readMeta(id); err != nil {
		return err
	}
	att, err := a.attachments(ctx)
	if err != nil {
		return err
	}
	if users := att[id]; len(users) > 0 {
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ServerID + " (at " + u.Device + ")"
		}
		return errorf(providers.ErrConflict, "delete volume %s: in use by container %s: detach it or delete the container first", id, strings.Join(ids, ", "))
	}
	aside := filepath.Join(volumesRoot(a.dataDir), fmt.Sprintf(".deleting-%s-%d", id, time.Now().UnixNano()))
	if err := os.Rename(a.volumeDir(id), aside); err != nil {
		return fmt.Errorf("containerd: delete volume %s: %w", id, err)
	}
	if err := os.Remove(a.metaPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("containerd: delete volume %s: record: %w", id, err)
	}
	if err := os.RemoveAll(aside); err != nil {
		return fmt.Errorf("containerd: delete volume %s: %w", id, err)
	}
	return nil
}

// ExtendVolume raises the recorded size; a smaller one is ErrInvalid.
func (a *Adapter) ExtendVolume(ctx context.Context, id string, sizeGiB int64) error {
	a.volMu.Lock()
	defer a.volMu.Unlock()
	m, err := a.readMeta(id)
	if err != nil {
		return err
	}
	if sizeGiB < m.SizeGiB {
		return errorf(providers.ErrInvalid, "extend volume %s to %d GiB: it has %d GiB, and volumes only grow", id, sizeGiB, m.SizeGiB)
	}
	m.SizeGiB = sizeGiB
	return a.writeMeta(id, m)
}
