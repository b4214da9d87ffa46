package emulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// Storage is a cloud's block storage with what it lacks filled in, as the
// provider interfaces themselves (Volumes, Snapshots, Backups, VolumeData,
// SnapshotJobs, Limited): a decorator over the cloud's cached driver whose
// methods choose, from the cloud's capabilities, between the cloud and the
// emulation, and fail with provider sentinels. It is what the conformance
// suite (providers/providertest) runs against, stacked on a simulator with
// its features switched off, so the same suite that checks adapters checks
// the emulation.
//
// What it covers is what the Layer emulates, through the same records and
// bytes:
//
//   - CreateSnapshot and CreateBackup on a cloud without them make a data
//     copy (Layer.MakeCopy) whose native id is derived from the request's
//     IdempotencyToken (EmulatedID), so the same token is the same copy.
//   - CreateVolume from an emulated snapshot and RestoreBackup of an
//     emulated backup make an empty volume and record that it is to be
//     filled; the volume reads PENDING until a read finds the cloud's
//     volume ready and writes the copy's bytes in (Layer.CopyIn). The
//     volume then tells its source (SnapshotID, BackupID) like a native
//     restore.
//
// Volume-from-image is not filled in here: canopy makes it as a deferred
// volume that exists only under its canopy id until a server boots from it
// (server/emulate_boot.go), which the provider contract — a volume with a
// native id that becomes available — cannot express. Has says the cloud's
// own answer for it.
//
// The operation steps and handlers in server/ call Storage
// (router.Cloud.Storage) for volumes, snapshots, backups and restores,
// whatever the cloud; a step replayed after a crash passes the same
// idempotency token, so it finds the same copy or volume
// (docs/architecture.md).
type Storage struct{ e *Layer }

// Storage is the layer's block storage as provider interfaces; nil when
// the cloud has no block-storage driver.
func (e *Layer) Storage() *Storage {
	if e.drv == nil {
		return nil
	}
	return &Storage{e: e}
}

var (
	_ providers.Volumes      = (*Storage)(nil)
	_ providers.Snapshots    = (*Storage)(nil)
	_ providers.Backups      = (*Storage)(nil)
	_ providers.VolumeData   = (*Storage)(nil)
	_ providers.SnapshotJobs = (*Storage)(nil)
	_ providers.Limited      = (*Storage)(nil)
)

// Has implements providers.Limited for block storage: snapshots and
// backups when the cloud has them or the layer can emulate them; volumes,
// volume data and volume-from-image as the cloud has them. It knows
// nothing of other capabilities (false).
func (s *Storage) Has(capability string) bool {
	e := s.e
	switch capability {
	case providers.CapSnapshots:
		_, err := e.SnapshotMode()
		return err == nil
	case providers.CapBackups:
		_, err := e.BackupMode()
		return err == nil
	case providers.CapVolumes, providers.CapVolumeData, providers.CapVolumeFromImage:
		return e.has[capability]
	}
	return false
}

// kindRestored keys the records of volumes made from emulated copies.
const kindRestored = "restored"

// restoreRecord says a volume was made from an emulated copy and whether
// the copy's bytes are in it yet.
type restoreRecord struct {
	Volume   string `json:"volume"`    // the volume's native id
	FromKind string `json:"from_kind"` // providers.KindSnapshot, KindBackup
	From     string `json:"from"`      // the emulated copy's native id
	Filled   bool   `json:"filled,omitempty"`
}

func (s *Storage) putRestore(ctx context.Context, r restoreRecord) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.e.st.PutRecord(ctx, NSRecords, s.e.key(kindRestored, r.Volume), raw)
}

func (s *Storage) restores(ctx context.Context) (map[string]restoreRecord, error) {
	rs, err := s.e.st.ListRecords(ctx, NSRecords, s.e.cloud+"/"+kindRestored+"/")
	if err != nil {
		return nil, err
	}
	out := make(map[string]restoreRecord, len(rs))
	for _, r := range rs {
		var rec restoreRecord
		if err := json.Unmarshal(r.Value, &rec); err != nil {
			return nil, &Error{Cloud: s.e.cloud, Err: errCorrupt, Msg: fmt.Sprintf("cloud %q: emulation record %s: %v", s.e.cloud, r.Key, err)}
		}
		out[rec.Volume] = rec
	}
	return out, nil
}

// settle finishes a volume made from an emulated copy: once the cloud's
// volume is ready its bytes are written in (idempotently: a fill repeated
// after a crash writes the same bytes); until then it reads PENDING.
func (s *Storage) settle(ctx context.Context, v providers.Volume, r restoreRecord) (providers.Volume, error) {
	if r.FromKind == providers.KindBackup {
		v.BackupID = r.From
	} else {
		v.SnapshotID = r.From
	}
	if r.Filled {
		return v, nil
	}
	if v.Status != providers.StatusActive || len(v.Attachments) > 0 {
		if !v.Status.Transitional() && v.Status != providers.StatusError {
			v.Status = providers.StatusPending
		}
		v.StatusMessage = "canopy writes the emulated " + r.FromKind + "'s data into it once the cloud has made it"
		return v, nil
	}
	if err := s.e.CopyIn(ctx, r.FromKind, r.From, v.NativeID); err != nil {
		return providers.Volume{}, err
	}
	r.Filled = true
	if err := s.putRestore(ctx, r); err != nil {
		return providers.Volume{}, err
	}
	return v, nil
}

// ListVolumes implements providers.Volumes.
func (s *Storage) ListVolumes(ctx context.Context) ([]providers.Volume, error) {
	list, err := s.e.drv.ListVolumes(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.restores(ctx)
	if err != nil || len(rs) == 0 {
		return list, err
	}
	out := make([]providers.Volume, len(list)) // the cached slice is shared
	for i, v := range list {
		if r, ok := rs[v.NativeID]; ok {
			if v, err = s.settle(ctx, v, r); err != nil {
				return nil, err
			}
		}
		out[i] = v
	}
	return out, nil
}

// GetVolume implements providers.Volumes.
func (s *Storage) GetVolume(ctx context.Context, id string) (providers.Volume, error) {
	v, err := s.e.drv.GetVolume(ctx, id)
	if err != nil {
		return v, err
	}
	r, ok, err := s.restoreOf(ctx, id)
	if err != nil || !ok {
		return v, err
	}
	return s.settle(ctx, v, r)
}

// restoreOf is the record of a volume made from an emulated copy, if it is
// one.
func (s *Storage) restoreOf(ctx context.Context, volume string) (restoreRecord, bool, error) {
	raw, err := s.e.st.GetRecord(ctx, NSRecords, s.e.key(kindRestored, volume))
	if errors.Is(err, store.ErrNotFound) {
		return restoreRecord{}, false, nil
	}
	if err != nil {
		return restoreRecord{}, false, err
	}
	var r restoreRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return restoreRecord{}, false, &Error{Cloud: s.e.cloud, Err: errCorrupt, Msg: fmt.Sprintf("cloud %q: emulation record of volume %s: %v", s.e.cloud, volume, err)}
	}
	return r, true, nil
}

// CreateVolume implements providers.Volumes: from an emulated snapshot it
// makes an empty volume the snapshot's bytes are written into when ready.
func (s *Storage) CreateVolume(ctx context.Context, spec providers.VolumeSpec) (providers.Volume, error) {
	if IsEmulated(spec.SnapshotID) {
		if spec.ImageID != "" {
			return providers.Volume{}, fmt.Errorf("create volume: %w: both an image and a snapshot", providers.ErrInvalid)
		}
		return s.restore(ctx, providers.KindSnapshot, spec.SnapshotID, spec, providers.ErrInvalid)
	}
	return s.e.drv.CreateVolume(ctx, spec)
}

// restore makes a volume from an emulated copy; missing is what a copy
// that does not exist is (ErrInvalid for a volume's source, ErrNotFound
// for the backup restored).
func (s *Storage) restore(ctx context.Context, kind, from string, spec providers.VolumeSpec, missing error) (providers.Volume, error) {
	if err := s.e.RestoreMode(kind + "s"); err != nil {
		return providers.Volume{}, err
	}
	rec, err := s.e.Record(ctx, kind, from)
	if errors.Is(err, store.ErrNotFound) {
		return providers.Volume{}, fmt.Errorf("emulated %s %s: %w", kind, from, missing)
	}
	if err != nil {
		return providers.Volume{}, err
	}
	if spec.SizeGiB == 0 {
		spec.SizeGiB = rec.SizeGiB
	}
	if spec.SizeGiB < rec.SizeGiB {
		return providers.Volume{}, fmt.Errorf("create volume: %w: %d GiB is smaller than %s %s (%d GiB)", providers.ErrInvalid, spec.SizeGiB, kind, from, rec.SizeGiB)
	}
	spec.ImageID, spec.SnapshotID = "", ""
	if !s.e.has[providers.CapVolumeData] {
		return s.restoreAsNew(ctx, kind, from, spec)
	}
	v, err := s.e.drv.CreateVolume(ctx, spec) // the same token is the same volume
	if err != nil {
		return providers.Volume{}, err
	}
	r, ok, err := s.restoreOf(ctx, v.NativeID)
	if err != nil {
		return providers.Volume{}, err
	}
	if !ok || r.From != from { // not a replay, which keeps what is recorded (filled or not)
		r = restoreRecord{Volume: v.NativeID, FromKind: kind, From: from}
		if err := s.putRestore(ctx, r); err != nil {
			return providers.Volume{}, err
		}
	}
	return s.settle(ctx, v, r)
}

// restoreAsNew makes a volume from an emulated copy on a cloud that can
// only write bytes into a new volume (providers.VolumeDataCreator): the
// copy streams into the cloud as the volume is made, so it is filled from
// the start. A replay (the same token) gets the volume made before, and
// the cloud reads nothing of the copy.
func (s *Storage) restoreAsNew(ctx context.Context, kind, from string, spec providers.VolumeSpec) (providers.Volume, error) {
	src, err := s.e.openCopy(ctx, kind, from)
	if err != nil {
		return providers.Volume{}, err
	}
	defer src.Close()
	v, err := s.e.drv.CreateVolumeFromData(ctx, spec, src)
	if err != nil {
		return providers.Volume{}, err
	}
	if src.n > 0 {
		if err := src.check(v.NativeID); err != nil {
			return providers.Volume{}, err
		}
	}
	r := restoreRecord{Volume: v.NativeID, FromKind: kind, From: from, Filled: true}
	if err := s.putRestore(ctx, r); err != nil {
		return providers.Volume{}, err
	}
	return s.settle(ctx, v, r)
}

// Restored records that volume was made, empty, from the emulated copy
// from (a providers.KindSnapshot or KindBackup) by a caller that did not
// ask through CreateVolume or RestoreBackup — an operation a canopyd
// before Storage recorded, whose step made the empty volume itself — so
// its reads fill it like any other. A volume already recorded keeps its
// record (filled or not).
func (s *Storage) Restored(ctx context.Context, volume, kind, from string) error {
	r, ok, err := s.restoreOf(ctx, volume)
	if err != nil || (ok && r.From == from) {
		return err
	}
	return s.putRestore(ctx, restoreRecord{Volume: volume, FromKind: kind, From: from})
}

// DeleteVolume implements providers.Volumes; the record of a volume made
// from an emulated copy goes with it.
func (s *Storage) DeleteVolume(ctx context.Context, id string) error {
	err := s.e.drv.DeleteVolume(ctx, id)
	if err == nil || errors.Is(err, providers.ErrNotFound) {
		if derr := s.e.st.DeleteRecord(ctx, NSRecords, s.e.key(kindRestored, id)); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			return derr
		}
	}
	return err
}

// ExtendVolume implements providers.Volumes.
func (s *Storage) ExtendVolume(ctx context.Context, id string, sizeGiB int64) error {
	return s.e.drv.ExtendVolume(ctx, id, sizeGiB)
}

// AttachVolume implements providers.Volumes.
func (s *Storage) AttachVolume(ctx context.Context, volumeID, serverID string) error {
	return s.e.drv.AttachVolume(ctx, volumeID, serverID)
}

// DetachVolume implements providers.Volumes.
func (s *Storage) DetachVolume(ctx context.Context, volumeID, serverID string) error {
	return s.e.drv.DetachVolume(ctx, volumeID, serverID)
}

// ReadVolumeData implements providers.VolumeData.
func (s *Storage) ReadVolumeData(ctx context.Context, volumeID string) (io.ReadCloser, error) {
	return s.e.drv.ReadVolumeData(ctx, volumeID)
}

// WriteVolumeData implements providers.VolumeData.
func (s *Storage) WriteVolumeData(ctx context.Context, volumeID string, r io.Reader) error {
	return s.e.drv.WriteVolumeData(ctx, volumeID, r)
}

// ListSnapshots implements providers.Snapshots: the cloud's and the
// emulated ones.
func (s *Storage) ListSnapshots(ctx context.Context) ([]providers.Snapshot, error) {
	return s.e.ListSnapshots(ctx, false)
}

// GetSnapshot implements providers.Snapshots.
func (s *Storage) GetSnapshot(ctx context.Context, id string) (providers.Snapshot, error) {
	return s.e.GetSnapshot(ctx, id)
}

// CreateSnapshot implements providers.Snapshots: the cloud's snapshot when
// it has them, else a data copy named by the idempotency token.
func (s *Storage) CreateSnapshot(ctx context.Context, spec providers.SnapshotSpec) (providers.Snapshot, error) {
	mode, err := s.e.SnapshotMode()
	if err != nil {
		return providers.Snapshot{}, err
	}
	if mode == ModeNative {
		return s.e.drv.CreateSnapshot(ctx, spec)
	}
	r, err := s.copy(ctx, providers.KindSnapshot, spec.IdempotencyToken, spec.VolumeID, spec.Name, spec.Description, spec.Labels)
	if err != nil {
		return providers.Snapshot{}, err
	}
	return r.Snapshot(), nil
}

// DeleteSnapshot implements providers.Snapshots; gone is fine.
func (s *Storage) DeleteSnapshot(ctx context.Context, id string) error {
	return s.e.DeleteSnapshot(ctx, id)
}

// SnapshotJob implements providers.SnapshotJobs (the cloud's; emulated
// snapshots never answer with a job).
func (s *Storage) SnapshotJob(ctx context.Context, jobID string) (string, error) {
	return s.e.drv.SnapshotJob(ctx, jobID)
}

// ListBackups implements providers.Backups: the cloud's and the emulated
// ones.
func (s *Storage) ListBackups(ctx context.Context) ([]providers.Backup, error) {
	return s.e.ListBackups(ctx, false)
}

// GetBackup implements providers.Backups.
func (s *Storage) GetBackup(ctx context.Context, id string) (providers.Backup, error) {
	return s.e.GetBackup(ctx, id)
}

// CreateBackup implements providers.Backups: the cloud's backup when it
// has them, else a data copy named by the idempotency token.
func (s *Storage) CreateBackup(ctx context.Context, spec providers.BackupSpec) (providers.Backup, error) {
	mode, err := s.e.BackupMode()
	if err != nil {
		return providers.Backup{}, err
	}
	if mode == ModeNative {
		return s.e.drv.CreateBackup(ctx, spec)
	}
	r, err := s.copy(ctx, providers.KindBackup, spec.IdempotencyToken, spec.VolumeID, spec.Name, spec.Description, spec.Labels)
	if err != nil {
		return providers.Backup{}, err
	}
	return r.Backup(), nil
}

// DeleteBackup implements providers.Backups; gone is fine.
func (s *Storage) DeleteBackup(ctx context.Context, id string) error {
	return s.e.DeleteBackup(ctx, id)
}

// RestoreBackup implements providers.Backups: an emulated backup is
// written into an empty volume once the cloud has made it.
func (s *Storage) RestoreBackup(ctx context.Context, backupID string, spec providers.VolumeSpec) (providers.Volume, error) {
	if IsEmulated(backupID) {
		return s.restore(ctx, providers.KindBackup, backupID, spec, providers.ErrNotFound)
	}
	return s.e.drv.RestoreBackup(ctx, backupID, spec)
}

// copy makes (or, for a token already used, finds) an emulated copy of a
// volume.
func (s *Storage) copy(ctx context.Context, kind, token, volume, name, description string, labels map[string]string) (Record, error) {
	if token == "" {
		return Record{}, fmt.Errorf("emulated %s: %w: an idempotency token is required (it names the copy)", kind, providers.ErrInvalid)
	}
	native := EmulatedID(kind, token)
	if r, err := s.e.Record(ctx, kind, native); err == nil {
		return r, nil // the same token is the same copy
	} else if !errors.Is(err, store.ErrNotFound) {
		return Record{}, err
	}
	src, err := s.e.GetVolume(ctx, volume)
	if err != nil {
		return Record{}, err
	}
	if err := s.e.MakeCopy(ctx, kind, native, src, name, description, labels); err != nil {
		return Record{}, err
	}
	return s.e.Record(ctx, kind, native)
}
