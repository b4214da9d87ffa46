package sim

import (
	"fmt"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// ---------------------------------------------------------------- boot

// prepareBoot checks a server's boot volume before CreateServer records the
// server, and makes its image the server's. Callers hold c.mu.
func (c *Cloud) prepareBoot(spec *providers.ServerSpec) error {
	if spec.BootVolumeID == "" {
		return nil
	}
	if c.opts.NoVolumes {
		return fmt.Errorf("sim: create server: %w: this cloud has no volumes", providers.ErrUnsupported)
	}
	v, ok := c.volView(spec.BootVolumeID, time.Now())
	if !ok {
		return fmt.Errorf("sim: create server: %w: boot volume %q does not exist", providers.ErrInvalid, spec.BootVolumeID)
	}
	if v.ProviderStatus != "available" {
		return fmt.Errorf("sim: create server: boot volume %q is %s: %w", spec.BootVolumeID, v.ProviderStatus, providers.ErrConflict)
	}
	if !v.Bootable || v.ImageID == "" {
		return fmt.Errorf("sim: create server: %w: volume %q is not bootable", providers.ErrInvalid, spec.BootVolumeID)
	}
	spec.ImageID = v.ImageID
	return nil
}

// finishBoot attaches the boot volume, or makes the root volume the spec
// asks for, to a server CreateServer just recorded. Callers hold c.mu.
func (c *Cloud) finishBoot(spec providers.ServerSpec, s *providers.Server, now time.Time) {
	switch {
	case spec.BootVolumeID != "":
		r := c.vol.Volumes[spec.BootVolumeID]
		r.V.Attachments = []providers.Attachment{{ServerID: s.NativeID, Device: "/dev/vda"}}
		r.T = transition{Raw: "attaching", To: "in-use", Until: now.Add(c.opts.VolumeDelay)}
		s.RootVolumeID = spec.BootVolumeID
	case spec.RootVolumeGiB > 0 && !c.opts.NoVolumes:
		im, _ := c.image(spec.ImageID)
		token := ""
		if spec.IdempotencyToken != "" {
			token = "root:" + spec.IdempotencyToken
		}
		name := spec.RootVolumeName
		if name == "" {
			name = spec.Name + "-root"
		}
		v := c.newVolume(providers.VolumeSpec{Name: name, SizeGiB: spec.RootVolumeGiB, IdempotencyToken: token}, s.Zone, now, imageData(im))
		r := c.vol.Volumes[v.NativeID]
		r.V.ImageID, r.V.Bootable = spec.ImageID, true
		r.V.Attachments = []providers.Attachment{{ServerID: s.NativeID, Device: "/dev/vda"}}
		r.T.To = "in-use"
		s.RootVolumeID = v.NativeID
	}
}

// VolumeCount, SnapshotCount and BackupCount say how many of each the
// cloud holds now, deleting ones included (tests count leaks with them).
func (c *Cloud) VolumeCount() int { return c.count(func() int { return len(c.vol.Volumes) }) }

// SnapshotCount counts snapshots, hidden ones (pending jobs) included.
func (c *Cloud) SnapshotCount() int { return c.count(func() int { return len(c.vol.Snapshots) }) }

// BackupCount counts backups.
func (c *Cloud) BackupCount() int { return c.count(func() int { return len(c.vol.Backups) }) }

func (c *Cloud) count(n func() int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for id := range c.vol.Volumes {
		c.volView(id, now)
	}
	for _, m := range []map[string]*snapRec{c.vol.Snapshots, c.vol.Backups} {
		for id, r := range m {
			if r.T.now(now) == deleted {
				delete(m, id)
			}
		}
	}
	return n()
}

var (
	_ providers.Volumes      = (*Cloud)(nil)
	_ providers.Snapshots    = (*Cloud)(nil)
	_ providers.SnapshotJobs = (*Cloud)(nil)
	_ providers.Backups      = (*Cloud)(nil)
	_ providers.VolumeData   = (*Cloud)(nil)
	_ providers.Limited      = (*Cloud)(nil)
)
