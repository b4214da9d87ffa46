package server

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Volumes of container clouds (Docker, containerd): a canopy volume is a
// runtime volume that containers mount at a path. A container's `mounts`
// name a canopy volume by id or name (resolved here to the runtime's
// volume, which must be in the container's cloud), and AttachVolume
// takes a container (or its servers-view server) and an optional
// mount_path.

// checkMountPath validates AttachVolumeRequest.mount_path.
func checkMountPath(p string) error {
	switch {
	case p == "":
		return nil
	case !strings.HasPrefix(p, "/"):
		return router.BadRequest("mount_path", "an absolute path inside the container, got %q", p)
	case path.Clean(p) == "/":
		return router.BadRequest("mount_path", "a path other than /: a volume cannot replace the container's root")
	case len(p) > 4096 || strings.ContainsAny(p, "\x00\n"):
		return router.BadRequest("mount_path", "at most 4096 characters, without NUL or newline")
	}
	return nil
}

// mountsVolumes says whether a cloud mounts volumes in containers.
func mountsVolumes(cl *router.Cloud) bool {
	_, ok := cl.Provider.(providers.VolumeMounter)
	return ok
}

// attachTarget resolves AttachVolumeRequest.server in the volume's cloud:
// a server, or on a container cloud a container (canopy id or name).
func (v *volumeService) attachTarget(ctx context.Context, ref string, cl *router.Cloud) (store.Mapping, error) {
	m, err := v.findServerIn(ctx, "server", ref, cl)
	if err == nil || status.Code(err) != codes.NotFound || !mountsVolumes(cl) {
		return m, err
	}
	cv := containerViews{rt: v.rt, store: v.store, log: v.log}
	f, cerr := cv.find(ctx, "server", ref)
	if cerr != nil {
		if status.Code(cerr) == codes.NotFound {
			return m, status.Errorf(codes.NotFound, "server: no server or container %q in cloud %q", ref, cl.Name)
		}
		return m, cerr
	}
	if f.cl != cl {
		return m, router.BadRequest("server", "container %s is in cloud %q, the volume in cloud %q", f.m.ID, f.cl.Name, cl.Name)
	}
	if f.m.Pending() {
		return m, status.Errorf(codes.FailedPrecondition, "container %s is still being created in cloud %q", f.m.ID, cl.Name)
	}
	return f.m, nil
}

// sameContainer says whether an attachment's server (the servers-view id
// of a container) is the container sm, on a container cloud.
func (v *volumeService) sameContainer(ctx context.Context, cl *router.Cloud, serverID string, sm store.Mapping) bool {
	if !mountsVolumes(cl) || sm.Kind != providers.KindContainer {
		return false
	}
	m, err := v.store.Get(ctx, serverID)
	return err == nil && m.NativeID != "" && m.NativeID == sm.NativeID
}

// stepAttachAt mounts a volume at the path the request named.
func (v *changeSteps) attachAt(ctx context.Context, sc *router.Cloud, native string, spec jobSpec) error {
	if err := sc.StorageCache.AttachVolumeAt(ctx, native, spec.ServerNative, spec.MountPath, false); err != nil {
		return stepErr(sc.Name, "attach volume "+native+" at "+spec.MountPath, err)
	}
	return nil
}

// resolveVolumeMounts turns the volume mounts of a container create that
// name a canopy volume (id or name) into the runtime's volume, which must
// be in the container's cloud; a source that names none stays as given
// (a runtime volume made on first use, as `docker run -v name:/path`).
func resolveVolumeMounts(ctx context.Context, rt router.Resolver, st store.Store, cl *router.Cloud, mounts []providers.Mount) error {
	for i := range mounts {
		m := &mounts[i]
		if m.Type != "volume" {
			continue
		}
		field := fmt.Sprintf("mounts[%d].source", i)
		id, isID, err := router.IDOrName(field, m.Source)
		if err != nil {
			return err
		}
		var vm store.Mapping
		if isID {
			if vm, err = st.Get(ctx, id); err != nil || vm.Kind != providers.KindVolume {
				return router.BadRequest(field, "no volume with id %s", id)
			}
			if vm.Project != router.Project(ctx) {
				return router.BadRequest(field, "no volume with id %s", id) // another project's
			}
		} else {
			if cl.Storage == nil {
				continue
			}
			list, err := cl.Storage.ListVolumes(ctx)
			if err != nil {
				return router.CloudErr(cl.Name, "list volumes", err)
			}
			native := ""
			for _, x := range list {
				if x.Name == m.Source && x.NativeID != m.Source && ownVolume(ctx, st, cl, x.NativeID) {
					if native != "" {
						return router.BadRequest(field, "several volumes are named %q in cloud %q: name one by its id", m.Source, cl.Name)
					}
					native = x.NativeID
				}
			}
			if native != "" {
				m.Source = native
			}
			continue
		}
		switch {
		case vm.Cloud != cl.Name:
			return router.BadRequest(field, "volume %s is in cloud %q, the container in cloud %q", vm.ID, vm.Cloud, cl.Name)
		case vm.Pending():
			return status.Errorf(codes.FailedPrecondition, "%s: volume %s is still being created in cloud %q", field, vm.ID, cl.Name)
		}
		m.Source = vm.NativeID
	}
	return nil
}

// inUse is the FAILED_PRECONDITION of a delete of a volume a container
// mounts, naming the container (its canopy container id when canopy knows
// one, and its native id) and the path.
func (v *volumeService) inUse(ctx context.Context, sc *router.Cloud, volume string, a *canopyv1.VolumeAttachment) error {
	who := "server " + a.GetServerId()
	if sm, err := v.store.Get(ctx, a.GetServerId()); err == nil && sm.NativeID != "" {
		who = "container " + sm.NativeID
		if cm, err := v.store.Lookup(ctx, sc.Name, providers.KindContainer, sm.NativeID); err == nil {
			who = "container " + cm.ID + " (" + sm.NativeID + ")"
		}
	}
	return status.Errorf(codes.FailedPrecondition, "volume %s is mounted at %s in %s in cloud %q: detach it or delete the container first", volume, a.GetDevice(), who, sc.Name)
}

// mountsChanged is called when a container of cl was made or removed: on
// a container cloud the volumes' attachments (the containers that mount
// them) changed, so the cached volumes are dropped.
func mountsChanged(cl *router.Cloud) {
	if cl.StorageCache != nil && mountsVolumes(cl) {
		cl.StorageCache.InvalidateVolumes()
	}
}

// ownVolume says whether the caller's project may mount a volume of cl:
// its own, or one canopy has not mapped yet (the cloud's own, as
// router.ResolveIn has it). Volumes shared with the project are not
// mounted by name (nor by id): a mount writes.
func ownVolume(ctx context.Context, st store.Store, cl *router.Cloud, native string) bool {
	m, err := st.Lookup(ctx, cl.Name, providers.KindVolume, native)
	if errors.Is(err, store.ErrNotFound) {
		return true
	}
	return err == nil && m.Project == router.Project(ctx)
}
