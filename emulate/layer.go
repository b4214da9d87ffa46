// Package emulate is the one place where canopy fills in block-storage
// capabilities a cloud lacks. A Layer sits over a cloud's cached drivers
// (package cache), is built by the router with the rest of the cloud's
// stack, speaks native ids like a provider, marks what it makes Emulated
// and fails with provider sentinels (CapabilityError, Error) that the
// router maps to gRPC codes.
//
//   - Snapshots and backups of a cloud without them are copies of the
//     volume's data (providers.VolumeData): a record in canopy's store
//     describing the copy, and its bytes, kept as an object in the bucket
//     the cloud's `backup_bucket` names (a bucket of any cloud), or in
//     canopy's own store when none is configured (data.go). Their
//     native ids are canopy-made ("canopy-emu-…"), so the id map treats them
//     like any other. Bytes stream (never a whole volume in memory), with
//     their sha256 recorded and checked on the way back. A restore creates
//     an empty volume and writes the bytes back — or, on a cloud that
//     writes bytes only into new volumes (providers.VolumeDataCreator:
//     EBS), makes the volume from them in one call.
//   - A volume from an image on a cloud that cannot make one (EBS) is
//     recorded at once under its canopy id, with a pending id mapping, and
//     made when a server boots from it: the server gets a root volume made
//     from the image (ServerSpec.RootVolumeGiB), whose native id is then
//     bound to the waiting canopy id.
//   - A cloud that answers a snapshot with a job (SnapshotJobs) gets
//     canopy's id at once; the mapping stays pending until the job tells the
//     native id. Nothing is faked there, so the snapshot is not Emulated.
//
// What cannot be emulated on a cloud (volumes themselves; snapshots or
// backups without VolumeData; a deferred volume without compute) is
// FAILED_PRECONDITION naming the cloud and the capability (CapabilityError).
//
// Storage (storage.go) is the same layer as the provider interfaces
// themselves, reads and writes alike; the conformance suite runs against
// it on a simulator with its features switched off. It is what server/'s
// handlers and operation steps call for volumes, snapshots, backups and
// restores (router.Cloud.Storage). The Layer's own methods remain for
// what Storage cannot express — deferred volumes (PutRecord, Record,
// Forget), the capability checks that name what is missing (*Mode) —
// and for operations recorded before the steps called Storage, which
// recorded ModeEmulated and resume as they began (MakeCopy; Storage.Restored).
package emulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// The store namespaces of emulation records and of the bytes of copies kept
// in canopy's store, and the prefix of emulated native ids.
const (
	NSRecords = "emulated"      // cloud/kind/id → Record
	NSData    = "emulated-data" // cloud/kind/native → the volume's bytes
	emuPrefix = "canopy-emu-"
)

// Strategies: what the Layer would do for a write. An operation records
// ModeDeferred in its spec (a deferred volume is not Storage's); operations
// recorded before server/'s steps called Storage also recorded
// ModeEmulated, and resume by it.
const (
	ModeNative   = ""
	ModeEmulated = "emulated" // data copy in canopy's store
	ModeDeferred = "deferred" // volume from image, made at boot
)

// Layer is one cloud's block storage with what the cloud lacks filled in.
// The router builds one per cloud with the cloud's stack, from the
// adapter's capabilities. Storage returns it as the provider interfaces,
// which is what handlers and operation steps call; the pollers list
// through the Layer itself, and deferred volumes are its records.
type Layer struct {
	cloud string
	has   map[string]bool // native capabilities
	drv   *cache.Storage
	st    store.RecordStore
	// compute is whether the cloud can boot servers (deferred volumes).
	compute bool
	// bucket keeps the bytes of emulated copies (nil: canopy's store);
	// objectsOf finds other clouds' object stores for copies made while
	// the config named another bucket (data.go).
	bucket    *Bucket
	objectsOf func(cloud string) *cache.Objects
}

// Options are what a Layer needs beyond the cloud's own drivers.
type Options struct {
	// Records keeps emulation records (and, without Bucket, the bytes of
	// emulated copies).
	Records store.RecordStore
	// Bucket keeps the bytes of emulated copies (nil: Records).
	Bucket *Bucket
	// ObjectsOf finds another configured cloud's object store, for copies
	// made while the config named another bucket; nil when it has none.
	ObjectsOf func(cloud string) *cache.Objects
}

// New builds the emulation layer of a cloud over its adapter p (asked for
// its capabilities) and its cached block-storage driver drv (nil when the
// cloud has no volumes).
func New(cloud string, p providers.Provider, drv *cache.Storage, opts Options) *Layer {
	e := &Layer{cloud: cloud, drv: drv, st: opts.Records, bucket: opts.Bucket, objectsOf: opts.ObjectsOf, has: map[string]bool{}, compute: providers.Has(p, providers.CapCompute)}
	for _, c := range []string{providers.CapVolumes, providers.CapSnapshots, providers.CapBackups, providers.CapVolumeFromImage, providers.CapVolumeData, providers.CapVolumeDataCreate} {
		e.has[c] = providers.Has(p, c)
	}
	return e
}

// capabilities lists what the cloud offers natively or through emulation.
func (e *Layer) Capabilities() []string {
	if !e.has[providers.CapVolumes] {
		return nil
	}
	out := []string{providers.CapVolumes}
	if _, err := e.SnapshotMode(); err == nil {
		out = append(out, providers.CapSnapshots)
	}
	if _, err := e.BackupMode(); err == nil {
		out = append(out, providers.CapBackups)
	}
	if _, err := e.FromImageMode(); err == nil {
		out = append(out, providers.CapVolumeFromImage)
	}
	return out
}

// volumesOrFail is FAILED_PRECONDITION unless the cloud has volumes, which
// canopy cannot emulate.
func (e *Layer) VolumesOrFail() error {
	if !e.has[providers.CapVolumes] {
		return &CapabilityError{Cloud: e.cloud, Capability: providers.CapVolumes}
	}
	return nil
}

func (e *Layer) SnapshotMode() (string, error) {
	if err := e.VolumesOrFail(); err != nil {
		return "", err
	}
	switch {
	case e.has[providers.CapSnapshots]:
		return ModeNative, nil
	case e.canCopy():
		return ModeEmulated, nil
	}
	return "", &CapabilityError{Cloud: e.cloud, Capability: providers.CapSnapshots}
}

func (e *Layer) BackupMode() (string, error) {
	if err := e.VolumesOrFail(); err != nil {
		return "", err
	}
	switch {
	case e.has[providers.CapBackups]:
		return ModeNative, nil
	case e.canCopy():
		return ModeEmulated, nil
	}
	return "", &CapabilityError{Cloud: e.cloud, Capability: providers.CapBackups}
}

func (e *Layer) FromImageMode() (string, error) {
	if err := e.VolumesOrFail(); err != nil {
		return "", err
	}
	switch {
	case e.has[providers.CapVolumeFromImage]:
		return ModeNative, nil
	case e.compute:
		return ModeDeferred, nil
	}
	return "", &CapabilityError{Cloud: e.cloud, Capability: providers.CapVolumeFromImage}
}

// restoreMode says how a volume is made from an emulated copy: it needs to
// write the data in.
func (e *Layer) RestoreMode(capability string) error {
	if err := e.VolumesOrFail(); err != nil {
		return err
	}
	if !e.canCopy() {
		return &CapabilityError{Cloud: e.cloud, Capability: capability}
	}
	return nil
}

// canCopy: the cloud's volume bytes can be read and written back, into a
// volume (VolumeData) or as a new one (VolumeDataCreator).
func (e *Layer) canCopy() bool {
	return e.has[providers.CapVolumeData] || e.has[providers.CapVolumeDataCreate]
}

// emulatedID is the native id an emulated copy gets: derived from the
// canopy id, so a retried step writes the same records.
func EmulatedID(kind, canopyID string) string { return emuPrefix + kind + "-" + canopyID }

func IsEmulated(native string) bool { return strings.HasPrefix(native, emuPrefix) }

// Record describes an emulated snapshot or backup, or a deferred volume.
type Record struct {
	Kind        string            `json:"kind"`
	NativeID    string            `json:"native,omitempty"` // emulated copies
	ID          string            `json:"id,omitempty"`     // deferred volumes: the canopy id
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Region      string            `json:"region,omitempty"`
	Zone        string            `json:"zone,omitempty"`
	SizeGiB     int64             `json:"size_gib"`
	Type        string            `json:"type,omitempty"`
	// VolumeID is the native id of the source volume (copies).
	VolumeID string `json:"volume,omitempty"`
	// ImageID is the native image of a deferred volume.
	ImageID string `json:"image,omitempty"`
	// BootServer is the canopy id of the server a deferred volume is being
	// made for (server/emulate_boot.go).
	BootServer string    `json:"boot_server,omitempty"`
	Bytes      int64     `json:"bytes,omitempty"`
	Created    time.Time `json:"created"`
	// DataAt is where a copy's bytes are (data.go): "" canopy's
	// store, else "<cloud>/<bucket>/<key>".
	DataAt string `json:"data_at,omitempty"`
	// Chunks is how many records of canopy's store hold a copy's bytes
	// (data_chunks.go); 0 for copies in a bucket or made before chunking.
	Chunks int `json:"chunks,omitempty"`
	// SHA256 (hex) of a copy's bytes, checked when they are written back.
	SHA256 string `json:"sha256,omitempty"`
}

func (e *Layer) key(kind, id string) string { return e.cloud + "/" + kind + "/" + id }

func (e *Layer) PutRecord(ctx context.Context, kind, id string, r Record) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return e.st.PutRecord(ctx, NSRecords, e.key(kind, id), raw)
}

func (e *Layer) Record(ctx context.Context, kind, id string) (Record, error) {
	raw, err := e.st.GetRecord(ctx, NSRecords, e.key(kind, id))
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return Record{}, fmt.Errorf("emulated %s %s: corrupt record: %w", kind, id, err)
	}
	return r, nil
}

func (e *Layer) records(ctx context.Context, kind string) ([]Record, error) {
	rs, err := e.st.ListRecords(ctx, NSRecords, e.cloud+"/"+kind+"/")
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(rs))
	for _, r := range rs {
		var rec Record
		if err := json.Unmarshal(r.Value, &rec); err != nil {
			return nil, fmt.Errorf("emulated %s: corrupt record: %w", r.Key, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func (r Record) common(status providers.Status, raw string) providers.Common {
	props := map[string]string{"canopy.emulated": "data copy kept by canopy"}
	if tok := strings.TrimPrefix(r.NativeID, emuPrefix+r.Kind+"-"); tok != r.NativeID {
		props[providers.PropToken] = tok // the canopy id it was made for
	}
	return providers.Common{NativeID: r.NativeID, Name: r.Name, Region: r.Region, Zone: r.Zone, Status: status, ProviderStatus: raw,
		Created: r.Created, Updated: r.Created, Labels: r.Labels, Properties: props}
}

func (r Record) Snapshot() providers.Snapshot {
	return providers.Snapshot{Common: r.common(providers.StatusActive, "available"), VolumeID: r.VolumeID, SizeGiB: r.SizeGiB, Description: r.Description, Emulated: true}
}

func (r Record) Backup() providers.Backup {
	return providers.Backup{Common: r.common(providers.StatusActive, "available"), VolumeID: r.VolumeID, SizeGiB: r.SizeGiB, Description: r.Description, Emulated: true}
}

// deferredVolume is what a deferred volume looks like until a server
// boots from it.
func (r Record) DeferredVolume() providers.Volume {
	c := r.common(providers.StatusPending, "deferred")
	c.Properties = map[string]string{"canopy.emulated": "created when a server boots from it"}
	c.StatusMessage = "this cloud cannot make a volume from an image: canopy makes it when a server boots from it (CreateServer boot_volume)"
	return providers.Volume{Common: c, SizeGiB: r.SizeGiB, Type: r.Type, ImageID: r.ImageID, Bootable: true, Emulated: true}
}

// ---------------------------------------------------------------- reads

// listVolumes lists the cloud's volumes (deferred ones are listed by the
// router, which knows their canopy ids).
func (e *Layer) ListVolumes(ctx context.Context, fresh bool) ([]providers.Volume, error) {
	if !e.has[providers.CapVolumes] {
		return nil, nil
	}
	if fresh {
		return e.drv.ListVolumesFresh(ctx)
	}
	return e.drv.ListVolumes(ctx)
}

func (e *Layer) GetVolume(ctx context.Context, native string) (providers.Volume, error) {
	return e.drv.GetVolume(ctx, native)
}

// deferredVolumes lists the deferred volumes of the cloud.
func (e *Layer) DeferredVolumes(ctx context.Context) ([]Record, error) {
	return e.records(ctx, providers.KindVolume)
}

// listSnapshots merges the cloud's snapshots and the emulated ones.
func (e *Layer) ListSnapshots(ctx context.Context, fresh bool) ([]providers.Snapshot, error) {
	var out []providers.Snapshot
	if e.has[providers.CapSnapshots] {
		var err error
		if fresh {
			out, err = e.drv.ListSnapshotsFresh(ctx)
		} else {
			out, err = e.drv.ListSnapshots(ctx)
		}
		if err != nil {
			return nil, err
		}
		out = append([]providers.Snapshot(nil), out...) // the cached slice is shared
	}
	recs, err := e.records(ctx, providers.KindSnapshot)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		out = append(out, r.Snapshot())
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

func (e *Layer) GetSnapshot(ctx context.Context, native string) (providers.Snapshot, error) {
	if IsEmulated(native) {
		r, err := e.Record(ctx, providers.KindSnapshot, native)
		if errors.Is(err, store.ErrNotFound) {
			return providers.Snapshot{}, fmt.Errorf("emulated snapshot %s: %w", native, providers.ErrNotFound)
		}
		return r.Snapshot(), err
	}
	return e.drv.GetSnapshot(ctx, native)
}

// listBackups merges the cloud's backups and the emulated ones.
func (e *Layer) ListBackups(ctx context.Context, fresh bool) ([]providers.Backup, error) {
	var out []providers.Backup
	if e.has[providers.CapBackups] {
		var err error
		if fresh {
			out, err = e.drv.ListBackupsFresh(ctx)
		} else {
			out, err = e.drv.ListBackups(ctx)
		}
		if err != nil {
			return nil, err
		}
		out = append([]providers.Backup(nil), out...)
	}
	recs, err := e.records(ctx, providers.KindBackup)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		out = append(out, r.Backup())
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

func (e *Layer) GetBackup(ctx context.Context, native string) (providers.Backup, error) {
	if IsEmulated(native) {
		r, err := e.Record(ctx, providers.KindBackup, native)
		if errors.Is(err, store.ErrNotFound) {
			return providers.Backup{}, fmt.Errorf("emulated backup %s: %w", native, providers.ErrNotFound)
		}
		return r.Backup(), err
	}
	return e.drv.GetBackup(ctx, native)
}

// ---------------------------------------------------------------- writes

// makeCopy makes an emulated snapshot or backup of a volume: the data
// first, then the record that makes it visible. Both writes are idempotent.
func (e *Layer) MakeCopy(ctx context.Context, kind, native string, src providers.Volume, name, description string, labels map[string]string) error {
	c, err := e.copyOut(ctx, kind, native, src.NativeID)
	if err != nil {
		return err
	}
	return e.PutRecord(ctx, kind, native, Record{Kind: kind, NativeID: native, Name: name, Description: description, Labels: labels,
		Region: src.Region, Zone: src.Zone, SizeGiB: src.SizeGiB, VolumeID: src.NativeID, Bytes: c.bytes, Created: time.Now().UTC(),
		DataAt: c.at, Chunks: c.chunks, SHA256: c.sha256})
}

// deleteSnapshot deletes a snapshot, emulated or not; gone is fine.
func (e *Layer) DeleteSnapshot(ctx context.Context, native string) error {
	if IsEmulated(native) {
		return e.Forget(ctx, providers.KindSnapshot, native)
	}
	if err := e.drv.DeleteSnapshot(ctx, native); err != nil && !errors.Is(err, providers.ErrNotFound) {
		return err
	}
	return nil
}

// deleteBackup deletes a backup, emulated or not; gone is fine.
func (e *Layer) DeleteBackup(ctx context.Context, native string) error {
	if IsEmulated(native) {
		return e.Forget(ctx, providers.KindBackup, native)
	}
	if err := e.drv.DeleteBackup(ctx, native); err != nil && !errors.Is(err, providers.ErrNotFound) {
		return err
	}
	return nil
}

// Bucket is where the bytes of new emulated copies go (nil: canopy's
// store).
func (e *Layer) Bucket() *Bucket { return e.bucket }
