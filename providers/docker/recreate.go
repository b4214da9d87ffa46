package docker

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"

	"github.com/canopy-cloud/canopy/providers"
)

// Attaching a volume to a container, and detaching it.
//
// Docker fixes a container's mounts when it creates the container, and
// has no call that changes them. So AttachVolume and DetachVolume work on
// stopped containers (CREATED, STOPPED, DEAD; a running one is
// ErrConflict: stop it first) and recreate the container: the same config,
// name, labels and host config, with every mount it had kept by name (its
// anonymous volumes too, so no data is left behind), plus or minus the
// volume. The new container is CREATED (Docker forgets the old one's exit
// code and start times with it).
//
// The container keeps canopy's native id: the new one carries the label
// canopy.id = the id the container had first, containers report that id
// (stableID), events say it (eventID), and an inspect of the old id that
// Docker no longer knows finds the container carrying it
// (inspectRecreated). Every later call goes through that inspect, so the
// id canopy handed out keeps working.
//
// The swap is: rename the old container aside, create the new one under
// the name, remove the old one (never its volumes). A failure before the
// create renames the old one back; after it, the old one is removed.

// labelID is the native id a recreated container keeps.
const labelID = labelPrefix + "id"

// stableID is a container's native id: the first id it had.
func stableID(dockerID string, cfg *container.Config) string {
	if cfg != nil {
		if id := cfg.Labels[labelID]; id != "" {
			return id
		}
	}
	return dockerID
}

// eventID is the native id an event is about.
func eventID(m events.Message) string {
	if id := m.Actor.Attributes[labelID]; id != "" {
		return id
	}
	return m.Actor.ID
}

// inspectRecreated inspects the container that replaced did, if any;
// notFound (Docker's answer for did) otherwise.
func (c *Cloud) inspectRecreated(ctx context.Context, h *host, did string, notFound error) (container.InspectResponse, error) {
	sums, err := h.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", labelID+"="+did))})
	if err != nil || len(sums) == 0 {
		return container.InspectResponse{}, notFound
	}
	return h.cli.ContainerInspect(ctx, sums[0].ID)
}

// The capability of mounting at a path, checked by the compiler.
var _ providers.VolumeMounter = (*Cloud)(nil)

// DefaultMountPath is where AttachVolume mounts a volume that no path was
// asked for: /mnt/<the volume's name>.
func DefaultMountPath(volumeName string) string {
	if !pathElement.MatchString(volumeName) {
		volumeName = "volume"
	}
	return "/mnt/" + volumeName
}

var pathElement = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// AttachVolume mounts a volume in a stopped container at
// DefaultMountPath of the volume's name.
func (c *Cloud) AttachVolume(ctx context.Context, volumeID, serverID string) error {
	v, err := c.GetVolume(ctx, volumeID)
	if err != nil {
		return err
	}
	return c.AttachVolumeAt(ctx, volumeID, serverID, DefaultMountPath(v.Name), false)
}

// AttachVolumeAt mounts a volume in a stopped container at target
// (absolute, not /, not a path the container already mounts something
// at). A volume may be mounted in several containers, as Docker allows;
// one already mounted in this container is ErrConflict.
func (c *Cloud) AttachVolumeAt(ctx context.Context, volumeID, serverID, target string, readOnly bool) error {
	if !path.IsAbs(target) || path.Clean(target) == "/" {
		return fmt.Errorf("docker: attach volume %s: mount path %q must be an absolute path other than /: %w", volumeID, target, providers.ErrInvalid)
	}
	target = path.Clean(target)
	hv, v, err := c.locateVolume(ctx, volumeID)
	if err != nil {
		return err
	}
	h, in, err := c.stopped(ctx, serverID, "attach a volume to")
	if err != nil {
		return err
	}
	if h != hv {
		return fmt.Errorf("docker: attach volume %s to container %s: the volume is on host %s, the container on host %s: %w", volumeID, serverID, hv.name, h.name, providers.ErrInvalid)
	}
	mounts := keptMounts(in)
	for _, m := range mounts {
		if m.Type == mount.TypeVolume && m.Source == v.Name {
			return fmt.Errorf("docker: attach volume %s to container %s: already mounted there at %s: %w", volumeID, serverID, m.Target, providers.ErrConflict)
		}
		if path.Clean(m.Target) == target {
			return fmt.Errorf("docker: attach volume %s to container %s: the container already mounts %s at %s: %w", volumeID, serverID, m.Source, target, providers.ErrConflict)
		}
	}
	mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: v.Name, Target: target, ReadOnly: readOnly})
	return c.recreate(ctx, h, in, mounts)
}

// DetachVolume unmounts a volume from a stopped container; a volume the
// container does not mount is ErrConflict.
func (c *Cloud) DetachVolume(ctx context.Context, volumeID, serverID string) error {
	hv, v, err := c.locateVolume(ctx, volumeID)
	if err != nil {
		return err
	}
	h, in, err := c.stopped(ctx, serverID, "detach a volume from")
	if err != nil {
		return err
	}
	var kept []mount.Mount
	found := false
	for _, m := range keptMounts(in) {
		if h == hv && m.Type == mount.TypeVolume && m.Source == v.Name {
			found = true
			continue
		}
		kept = append(kept, m)
	}
	if !found {
		return fmt.Errorf("docker: detach volume %s from container %s: the container does not mount it: %w", volumeID, serverID, providers.ErrConflict)
	}
	return c.recreate(ctx, h, in, kept)
}

// stopped inspects a container that attach or detach may recreate.
func (c *Cloud) stopped(ctx context.Context, id, what string) (*host, container.InspectResponse, error) {
	h, _, in, err := c.inspect(ctx, id)
	if err != nil {
		return nil, in, err
	}
	st := providers.ContainerUnknown
	if in.State != nil {
		st = stateOf(in.State.Status)
	}
	switch st {
	case providers.ContainerCreated, providers.ContainerStopped, providers.ContainerDead:
		return h, in, nil
	}
	return nil, in, fmt.Errorf("docker: cannot %s container %s while it is %s: Docker fixes a container's mounts when it creates it, so canopy recreates the container to change them, which it does only to stopped containers: stop it first: %w",
		what, id, st, providers.ErrConflict)
}

// keptMounts is every mount a container has, as explicit mounts: volumes
// (anonymous ones too) by name, binds by source, tmpfs as they were.
func keptMounts(in container.InspectResponse) []mount.Mount {
	var out []mount.Mount
	for _, mp := range in.Mounts {
		switch mp.Type {
		case mount.TypeVolume:
			out = append(out, mount.Mount{Type: mount.TypeVolume, Source: mp.Name, Target: mp.Destination, ReadOnly: !mp.RW})
		case mount.TypeBind:
			out = append(out, mount.Mount{Type: mount.TypeBind, Source: mp.Source, Target: mp.Destination, ReadOnly: !mp.RW})
		}
	}
	if in.HostConfig != nil {
		for _, m := range in.HostConfig.Mounts {
			if m.Type == mount.TypeTmpfs {
				out = append(out, m)
			}
		}
	}
	return out
}

// recreate replaces a stopped container by one of the same config with
// mounts (see the top of this file).
func (c *Cloud) recreate(ctx context.Context, h *host, in container.InspectResponse, mounts []mount.Mount) error {
	if in.Config == nil || in.HostConfig == nil {
		return fmt.Errorf("docker: recreate container %s: inspect gave no config: %w", in.ID, providers.ErrUnavailable)
	}
	cfg := *in.Config
	cfg.Labels = make(map[string]string, len(in.Config.Labels)+1)
	for k, v := range in.Config.Labels {
		cfg.Labels[k] = v
	}
	cfg.Labels[labelID] = stableID(in.ID, in.Config)
	cfg.Volumes = nil // kept by name in mounts
	hc := *in.HostConfig
	hc.Binds, hc.Mounts = nil, mounts
	name := strings.TrimPrefix(in.Name, "/")
	aside := name + "-canopy-recreating-" + in.ID[:12]
	if err := h.cli.ContainerRename(ctx, in.ID, aside); err != nil {
		return mapErr(err, h, "rename container aside", in.ID)
	}
	resp, err := h.cli.ContainerCreate(ctx, &cfg, &hc, &network.NetworkingConfig{}, nil, name)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if rerr := h.cli.ContainerRename(rctx, in.ID, name); rerr != nil {
			return fmt.Errorf("docker: recreate container %s: %w (and renaming it back from %s failed: %v)", in.ID, mapErr(err, h, "create", name), aside, rerr)
		}
		return mapErr(err, h, "recreate container", name)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := h.cli.ContainerRemove(rctx, in.ID, container.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker: recreated container %s as %s, but the old one (now %s) remains: %w", in.ID, resp.ID, aside, mapErr(err, h, "remove", in.ID))
	}
	return nil
}
