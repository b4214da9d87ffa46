package containerd

import (
	"context"
	"path"
	"regexp"

	containerd "github.com/containerd/containerd"

	"github.com/canopy-cloud/canopy/providers"
)

// Attaching a volume to a container: containerd keeps a container's OCI
// spec and makes a task from it at each start, so a volume attaches to a
// container with no running task (CREATED, STOPPED, DEAD) by adding the
// mount to its spec and record, and detaches by taking it out; the
// container keeps its id, and the next start sees the change. A running
// container is ErrConflict naming its state: its mounts are those its
// task was made with.

var pathElement = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// DefaultMountPath is where AttachVolume mounts a volume no path was
// asked for: /mnt/<the volume's name>.
func DefaultMountPath(volumeName string) string {
	if !pathElement.MatchString(volumeName) {
		volumeName = "volume"
	}
	return "/mnt/" + volumeName
}

// AttachVolume mounts a volume in a stopped container at DefaultMountPath
// of the volume's name.
func (a *Adapter) AttachVolume(ctx context.Context, volumeID, serverID string) error {
	m, err := a.readMeta(volumeID)
	if err != nil {
		return err
	}
	return a.AttachVolumeAt(ctx, volumeID, serverID, DefaultMountPath(m.Name), false)
}

// AttachVolumeAt mounts a volume in a stopped container at target.
func (a *Adapter) AttachVolumeAt(ctx context.Context, volumeID, serverID, target string, readOnly bool) error {
	if !path.IsAbs(target) || path.Clean(target) == "/" {
		return errorf(providers.ErrInvalid, "attach volume %s: mount path %q must be an absolute path other than /", volumeID, target)
	}
	target = path.Clean(target)
	if _, err := a.readMeta(volumeID); err != nil {
		return err
	}
	return a.changeMounts(ctx, serverID, "attach a volume to", func(rec *record) error {
		for _, m := range rec.Mounts {
			if m.Type == "volume" && m.Source == volumeID {
				return errorf(providers.ErrConflict, "attach volume %s to container %s: already mounted there at %s", volumeID, serverID, m.Target)
			}
			if path.Clean(m.Target) == target {
				return errorf(providers.ErrConflict, "attach volume %s to container %s: the container already mounts %s at %s", volumeID, serverID, m.Source, target)
			}
		}
		rec.Mounts = append(rec.Mounts, providers.Mount{Type: "volume", Source: volumeID, Target: target, ReadOnly: readOnly})
		return nil
	})
}

// DetachVolume takes a volume's mount out of a stopped container; a
// volume it does not mount is ErrConflict.
func (a *Adapter) DetachVolume(ctx context.Context, volumeID, serverID string) error {
	if _, err := a.readMeta(volumeID); err != nil {
		return err
	}
	return a.changeMounts(ctx, serverID, "detach a volume from", func(rec *record) error {
		kept := rec.Mounts[:0:0]
		for _, m := range rec.Mounts {
			if !(m.Type == "volume" && m.Source == volumeID) {
				kept = append(kept, m)
			}
		}
		if len(kept) == len(rec.Mounts) {
			return errorf(providers.ErrConflict, "detach volume %s from container %s: the container does not mount it", volumeID, serverID)
		}
		rec.Mounts = kept
		return nil
	})
}

// changeMounts applies change to a stopped container's record and makes
// its spec's mounts match: the image's and runtime's mounts stay, canopy's
// are made again from the record.
func (a *Adapter) changeMounts(ctx context.Context, id, what string, change func(*record) error) error {
	ctx = a.ns(ctx)
	unlock := a.locks.lock(id)
	defer unlock()
	info, _, state, err := a.current(ctx, id)
	if err != nil {
		return err
	}
	switch state {
	case providers.ContainerCreated, providers.ContainerStopped, providers.ContainerDead:
	default:
		return errorf(providers.ErrConflict, "cannot %s container %s while it is %s: its mounts are those its task was made with: stop it first", what, id, state)
	}
	rec := recordOf(info)
	old, err := ociMounts(volumesRoot(a.dataDir), rec.Mounts)
	if err != nil {
		return err
	}
	if err := change(&rec); err != nil {
		return err
	}
	mounts, err := ociMounts(volumesRoot(a.dataDir), rec.Mounts)
	if err != nil {
		return err
	}
	c, err := a.client.LoadContainer(ctx, id)
	if err != nil {
		return wrap(err, "load container %s", id)
	}
	spec, err := c.Spec(ctx)
	if err != nil {
		return wrap(err, "spec of %s", id)
	}
	canopy := map[string]bool{}
	for _, m := range old {
		canopy[m.Destination] = true
	}
	kept := spec.Mounts[:0:0]
	for _, m := range spec.Mounts {
		if !canopy[m.Destination] {
			kept = append(kept, m)
		}
	}
	spec.Mounts = append(kept, mounts...)
	if err := c.Update(ctx, containerd.UpdateContainerOpts(containerd.WithSpec(spec)),
		containerd.UpdateContainerOpts(containerd.WithContainerExtension(recordExtension, &rec))); err != nil {
		return wrap(err, "update the mounts of container %s", id)
	}
	return nil
}
