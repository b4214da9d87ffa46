package providers

import "context"

// VolumeMounter is implemented by container clouds, whose volumes are
// mounted at a path in a container rather than attached as a device.
// AttachVolume of such a cloud mounts at a default path the adapter
// documents; AttachVolumeAt names the path. Ids are native (the server is
// a container). A target that is not an absolute path other than / is
// ErrInvalid; one the container already mounts something at, or a volume
// it already mounts, is ErrConflict; a container whose state forbids it
// (a running one, where mounts are fixed at create) is ErrConflict naming
// the state.
type VolumeMounter interface {
	AttachVolumeAt(ctx context.Context, volumeID, serverID, target string, readOnly bool) error
}
