package cache

import (
	"context"
	"fmt"
	"io"

	"github.com/canopy-cloud/canopy/internal/ttllru"
	"github.com/canopy-cloud/canopy/providers"
)

// Kinds of cached block-storage reads; they match config.CacheKinds.
const (
	Volumes   = "volumes"
	Snapshots = "snapshots"
	Backups   = "backups"
)

// Storage wraps a cloud's block-storage drivers the way Compute wraps its
// compute driver: identical concurrent reads share one upstream call, reads
// are reused while fresh, a Get is answered from a fresh or in-flight list,
// writes invalidate what they change, and every upstream call goes through
// the cloud's rate limiter. Methods of a capability the adapter lacks
// return providers.ErrUnsupported (callers check providers.Has first).
type Storage struct {
	c       *Compute // the shared machinery (cache, flights, limiter)
	vol     providers.Volumes
	snaps   providers.Snapshots
	jobs    providers.SnapshotJobs
	backups providers.Backups
	data    providers.VolumeData
	creator providers.VolumeDataCreator
}

// NewStorage wraps the block-storage capabilities of p. It shares the
// cloud's limiter (and the metrics the limiter reports to) with Compute.
func NewStorage(cloud string, p providers.Provider, lim *Limiter, opts Options) *Storage {
	if opts.Size <= 0 {
		opts.Size = 4096
	}
	c := &Compute{cloud: cloud, lim: lim, m: lim.m, opts: opts,
		gen: map[string]uint64{}, listing: map[string]string{}, lru: map[string]*ttllru.LRU[string, entry]{},
		purged: map[string]bool{}, filled: map[string]bool{}}
	if c.opts.Poll <= 0 {
		c.opts.Poll = 1e9
	}
	for _, kind := range []string{Volumes, Snapshots, Backups} {
		if ttl := opts.TTL[kind]; ttl > 0 {
			c.lru[kind] = ttllru.New[string, entry](opts.Size, ttl)
		}
	}
	s := &Storage{c: c}
	s.vol, _ = p.(providers.Volumes)
	s.snaps, _ = p.(providers.Snapshots)
	s.jobs, _ = p.(providers.SnapshotJobs)
	s.backups, _ = p.(providers.Backups)
	s.data, _ = p.(providers.VolumeData)
	s.creator, _ = p.(providers.VolumeDataCreator)
	return s
}

func unsupported(what string) error {
	return &unsupportedErr{what}
}

type unsupportedErr struct{ what string }

func (e *unsupportedErr) Error() string {
	return "the adapter has no " + e.what + ": " + providers.ErrUnsupported.Error()
}
func (e *unsupportedErr) Unwrap() error { return providers.ErrUnsupported }

func volMoving(v providers.Volume) bool    { return v.Status.Transitional() }
func snapMoving(s providers.Snapshot) bool { return s.Status.Transitional() }
func bakMoving(b providers.Backup) bool    { return b.Status.Transitional() }

// ListVolumes lists volumes, from the cache while fresh.
func (s *Storage) ListVolumes(ctx context.Context) ([]providers.Volume, error) {
	return s.listVolumes(ctx, false)
}

// ListVolumesFresh lists volumes from the cloud (coalesced with any list
// in flight) and refreshes the cache: the batched poller's read.
func (s *Storage) ListVolumesFresh(ctx context.Context) ([]providers.Volume, error) {
	return s.listVolumes(ctx, true)
}

func (s *Storage) listVolumes(ctx context.Context, fresh bool) ([]providers.Volume, error) {
	if s.vol == nil {
		return nil, unsupported("volumes")
	}
	return list(s.c, ctx, Volumes, "ListVolumes", fresh, s.vol.ListVolumes, volMoving)
}

// GetVolume gets a volume.
func (s *Storage) GetVolume(ctx context.Context, id string) (providers.Volume, error) {
	if s.vol == nil {
		return providers.Volume{}, unsupported("volumes")
	}
	return get(s.c, ctx, Volumes, "GetVolume", id, s.ListVolumes, func(v providers.Volume) string { return v.NativeID }, volMoving, s.vol.GetVolume)
}

// CreateVolume creates a volume.
func (s *Storage) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (v providers.Volume, err error) {
	if s.vol == nil {
		return v, unsupported("volumes")
	}
	err = s.c.write(ctx, Volumes, "CreateVolume", func(ctx context.Context) error {
		v, err = s.vol.CreateVolume(ctx, spec)
		return err
	})
	return v, err
}

// DeleteVolume deletes a volume.
func (s *Storage) DeleteVolume(ctx context.Context, id string) error {
	if s.vol == nil {
		return unsupported("volumes")
	}
	return s.c.write(ctx, Volumes, "DeleteVolume", func(ctx context.Context) error { return s.vol.DeleteVolume(ctx, id) })
}

// ExtendVolume grows a volume.
func (s *Storage) ExtendVolume(ctx context.Context, id string, sizeGiB int64) error {
	if s.vol == nil {
		return unsupported("volumes")
	}
	return s.c.write(ctx, Volumes, "ExtendVolume", func(ctx context.Context) error { return s.vol.ExtendVolume(ctx, id, sizeGiB) })
}

// AttachVolume attaches a volume to a server.
func (s *Storage) AttachVolume(ctx context.Context, volumeID, serverID string) error {
	if s.vol == nil {
		return unsupported("volumes")
	}
	return s.c.write(ctx, Volumes, "AttachVolume", func(ctx context.Context) error { return s.vol.AttachVolume(ctx, volumeID, serverID) })
}

// DetachVolume detaches a volume.
func (s *Storage) DetachVolume(ctx context.Context, volumeID, serverID string) error {
	if s.vol == nil {
		return unsupported("volumes")
	}
	return s.c.write(ctx, Volumes, "DetachVolume", func(ctx context.Context) error { return s.vol.DetachVolume(ctx, volumeID, serverID) })
}

// ListSnapshots lists snapshots, from the cache while fresh.
func (s *Storage) ListSnapshots(ctx context.Context) ([]providers.Snapshot, error) {
	return s.listSnapshots(ctx, false)
}

// ListSnapshotsFresh lists snapshots from the cloud.
func (s *Storage) ListSnapshotsFresh(ctx context.Context) ([]providers.Snapshot, error) {
	return s.listSnapshots(ctx, true)
}

func (s *Storage) listSnapshots(ctx context.Context, fresh bool) ([]providers.Snapshot, error) {
	if s.snaps == nil {
		return nil, unsupported("snapshots")
	}
	return list(s.c, ctx, Snapshots, "ListSnapshots", fresh, s.snaps.ListSnapshots, snapMoving)
}

// GetSnapshot gets a snapshot.
func (s *Storage) GetSnapshot(ctx context.Context, id string) (providers.Snapshot, error) {
	if s.snaps == nil {
		return providers.Snapshot{}, unsupported("snapshots")
	}
	return get(s.c, ctx, Snapshots, "GetSnapshot", id, s.ListSnapshots, func(v providers.Snapshot) string { return v.NativeID }, snapMoving, s.snaps.GetSnapshot)
}

// CreateSnapshot snapshots a volume.
func (s *Storage) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (out providers.Snapshot, err error) {
	if s.snaps == nil {
		return out, unsupported("snapshots")
	}
	s.c.invalidate(Volumes)
	err = s.c.write(ctx, Snapshots, "CreateSnapshot", func(ctx context.Context) error {
		out, err = s.snaps.CreateSnapshot(ctx, spec)
		return err
	})
	return out, err
}

// DeleteSnapshot deletes a snapshot.
func (s *Storage) DeleteSnapshot(ctx context.Context, id string) error {
	if s.snaps == nil {
		return unsupported("snapshots")
	}
	return s.c.write(ctx, Snapshots, "DeleteSnapshot", func(ctx context.Context) error { return s.snaps.DeleteSnapshot(ctx, id) })
}

// SnapshotJob asks a snapshot job for its snapshot's id (never cached).
func (s *Storage) SnapshotJob(ctx context.Context, jobID string) (id string, err error) {
	if s.jobs == nil {
		return "", unsupported("snapshot jobs")
	}
	err = s.c.upstream(ctx, Snapshots, "SnapshotJob", func(ctx context.Context) error {
		id, err = s.jobs.SnapshotJob(ctx, jobID)
		return err
	})
	if err == nil && id != "" {
		s.c.invalidate(Snapshots) // the snapshot shows from now on
	}
	return id, err
}

// ListBackups lists backups, from the cache while fresh.
func (s *Storage) ListBackups(ctx context.Context) ([]providers.Backup, error) {
	return s.listBackups(ctx, false)
}

// ListBackupsFresh lists backups from the cloud.
func (s *Storage) ListBackupsFresh(ctx context.Context) ([]providers.Backup, error) {
	return s.listBackups(ctx, true)
}

func (s *Storage) listBackups(ctx context.Context, fresh bool) ([]providers.Backup, error) {
	if s.backups == nil {
		return nil, unsupported("backups")
	}
	return list(s.c, ctx, Backups, "ListBackups", fresh, s.backups.ListBackups, bakMoving)
}

// GetBackup gets a backup.
func (s *Storage) GetBackup(ctx context.Context, id string) (providers.Backup, error) {
	if s.backups == nil {
		return providers.Backup{}, unsupported("backups")
	}
	return get(s.c, ctx, Backups, "GetBackup", id, s.ListBackups, func(v providers.Backup) string { return v.NativeID }, bakMoving, s.backups.GetBackup)
}

// CreateBackup backs a volume up.
func (s *Storage) CreateBackup(ctx context.Context, spec providers.BackupSpec) (out providers.Backup, err error) {
	if s.backups == nil {
		return out, unsupported("backups")
	}
	s.c.invalidate(Volumes)
	err = s.c.write(ctx, Backups, "CreateBackup", func(ctx context.Context) error {
		out, err = s.backups.CreateBackup(ctx, spec)
		return err
	})
	return out, err
}

// DeleteBackup deletes a backup.
func (s *Storage) DeleteBackup(ctx context.Context, id string) error {
	if s.backups == nil {
		return unsupported("backups")
	}
	return s.c.write(ctx, Backups, "DeleteBackup", func(ctx context.Context) error { return s.backups.DeleteBackup(ctx, id) })
}

// RestoreBackup restores a backup into a new volume.
func (s *Storage) RestoreBackup(ctx context.Context, backupID string, spec providers.VolumeSpec) (v providers.Volume, err error) {
	if s.backups == nil {
		return v, unsupported("backups")
	}
	s.c.invalidate(Backups)
	err = s.c.write(ctx, Volumes, "RestoreBackup", func(ctx context.Context) error {
		v, err = s.backups.RestoreBackup(ctx, backupID, spec)
		return err
	})
	return v, err
}

// ReadVolumeData opens a volume's content (never cached: a stream).
func (s *Storage) ReadVolumeData(ctx context.Context, volumeID string) (r io.ReadCloser, err error) {
	var read func(context.Context, string) (io.ReadCloser, error)
	switch {
	case s.data != nil:
		read = s.data.ReadVolumeData
	case s.creator != nil:
		read = s.creator.ReadVolumeData
	default:
		return nil, unsupported("volume data")
	}
	err = s.c.upstream(ctx, Volumes, "ReadVolumeData", func(ctx context.Context) error {
		r, err = read(ctx, volumeID)
		return err
	})
	return r, err
}

// CreateVolumeFromData makes a volume holding r's bytes (a stream: sent
// once, as WriteVolumeData's).
func (s *Storage) CreateVolumeFromData(ctx context.Context, spec providers.VolumeSpec, r io.Reader) (v providers.Volume, err error) {
	if s.creator == nil {
		return v, unsupported("volume from data")
	}
	cr := &countingReader{r: r}
	err = s.c.write(ctx, Volumes, "CreateVolumeFromData", func(ctx context.Context) error {
		if cr.n > 0 {
			return fmt.Errorf("create volume %q from data: %w: the cloud asked for a retry after %d bytes of the stream were sent", spec.Name, providers.ErrUnavailable, cr.n)
		}
		v, err = s.creator.CreateVolumeFromData(ctx, spec, cr)
		return err
	})
	return v, err
}

// WriteVolumeData writes a volume's content from r. A stream is sent
// once: the cloud's retry-after is honoured only while nothing of r has
// been read, a later one is the caller's to retry from the start.
func (s *Storage) WriteVolumeData(ctx context.Context, volumeID string, r io.Reader) error {
	if s.data == nil {
		return unsupported("volume data")
	}
	cr := &countingReader{r: r}
	return s.c.write(ctx, Volumes, "WriteVolumeData", func(ctx context.Context) error {
		if cr.n > 0 {
			return fmt.Errorf("write volume %s: %w: the cloud asked for a retry after %d bytes of the stream were sent", volumeID, providers.ErrUnavailable, cr.n)
		}
		return s.data.WriteVolumeData(ctx, volumeID, cr)
	})
}

// countingReader counts what was read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// InvalidateVolumes forgets cached volume reads: a change made through
// another driver (a server booted from a volume, or with a root volume)
// changed volumes too.
func (s *Storage) InvalidateVolumes() { s.c.invalidate(Volumes) }

// VolumeChanged forgets the cached volume reads: the cloud announced a
// change (a notification) that they may not show.
func (s *Storage) VolumeChanged() { s.c.invalidate(Volumes) }

// CopyChanged forgets the cached reads of snapshots (kind
// providers.KindSnapshot) or backups (providers.KindBackup): the cloud
// announced a change to one.
func (s *Storage) CopyChanged(kind string) {
	switch kind {
	case providers.KindSnapshot:
		s.c.invalidate(Snapshots)
	case providers.KindBackup:
		s.c.invalidate(Backups)
	}
}
