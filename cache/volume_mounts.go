package cache

import (
	"context"

	"github.com/canopy-cloud/canopy/providers"
)

// AttachVolumeAt mounts a volume in a container at a path, on clouds whose
// adapter is a providers.VolumeMounter (container clouds); others are
// ErrUnsupported. Like every write it goes through the limiter and
// invalidates the volumes it changes.
func (s *Storage) AttachVolumeAt(ctx context.Context, volumeID, serverID, target string, readOnly bool) error {
	m, ok := s.vol.(providers.VolumeMounter)
	if !ok {
		return unsupported("volume mounts")
	}
	return s.c.write(ctx, Volumes, "AttachVolumeAt", func(ctx context.Context) error { return m.AttachVolumeAt(ctx, volumeID, serverID, target, readOnly) })
}
