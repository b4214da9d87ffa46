package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"

	"github.com/canopy-cloud/canopy/router"
)

// The emulation layer: the one place where canopy fills in block-storage
// capabilities a cloud lacks. It sits between the router (volumes.go, the
// operation steps in volume_jobs.go) and the cloud's cached drivers, speaks
// native ids like a provider, and marks what it makes Emulated.
//
//   - Snapshots and backups of a cloud without them are copies of the
//     volume's data (providers.VolumeData): a record in canopy's store
//     describing the copy, and its bytes, kept as an object in the bucket
//     the cloud's `backup_bucket` names (a bucket of any cloud), or in
//     canopy's own store when none is configured (emulate_data.go). Their
//     native ids are canopy-made ("canopy-emu-…"), so the id map treats them
//     like any other. A restore creates an empty volume and writes the
//     bytes back.
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
// FAILED_PRECONDITION naming the cloud and the capability.

const (
	nsEmulated     = "emulated"      // cloud/kind/id → emuRecord
	nsEmulatedData = "emulated-data" // cloud/kind/native → the volume's bytes
	emuPrefix      = "canopy-emu-"
)

// Strategies an operation records in its spec, so a resumed operation does
// what it started doing.
const (
	modeNative   = ""
	modeEmulated = "emulated" // data copy in canopy's store
	modeDeferred = "deferred" // volume from image, made at boot
)

// emulators finds a cloud's emulation layer (set while the server serves),
// so the cloud's description can list what canopy emulates on it.
var emulators sync.Map // *cloud → *emulator

// capabilitiesOf lists what a cloud offers, natively or through canopy's
// emulation (canopy.v1.Cloud.capabilities).
func capabilitiesOf(cl *cloud) []string {
	caps := providers.Capabilities(cl.p)
	if e, ok := emulators.Load(cl); ok {
		caps = union(caps, e.(*emulator).capabilities())
		sort.Strings(caps)
	}
	return caps
}

// emulator is one cloud's block storage as the router sees it.
type emulator struct {
	cloud string
	has   map[string]bool // native capabilities
	drv   *cache.Storage
	st    store.RecordStore
	// compute is whether the cloud can boot servers (deferred volumes).
	compute bool
	// bucket keeps the bytes of emulated copies (nil: canopy's store);
	// objectsOf finds other clouds' object stores for copies made while
	// the config named another bucket (emulate_data.go).
	bucket    *emuBucket
	objectsOf func(cloud string) *cache.Objects
}

func newEmulator(cloud string, p providers.Provider, drv *cache.Storage, st store.RecordStore) *emulator {
	e := &emulator{cloud: cloud, drv: drv, st: st, has: map[string]bool{}, compute: providers.Has(p, providers.CapCompute)}
	for _, c := range []string{providers.CapVolumes, providers.CapSnapshots, providers.CapBackups, providers.CapVolumeFromImage, providers.CapVolumeData} {
		e.has[c] = providers.Has(p, c)
	}
	return e
}

// capabilities lists what the cloud offers natively or through emulation.
func (e *emulator) capabilities() []string {
	if !e.has[providers.CapVolumes] {
		return nil
	}
	out := []string{providers.CapVolumes}
	if _, err := e.snapshotMode(); err == nil {
		out = append(out, providers.CapSnapshots)
	}
	if _, err := e.backupMode(); err == nil {
		out = append(out, providers.CapBackups)
	}
	if _, err := e.fromImageMode(); err == nil {
		out = append(out, providers.CapVolumeFromImage)
	}
	return out
}

// volumesOrFail is FAILED_PRECONDITION unless the cloud has volumes, which
// canopy cannot emulate.
func (e *emulator) volumesOrFail() error {
	if !e.has[providers.CapVolumes] {
		return router.CapabilityErr(e.cloud, providers.CapVolumes)
	}
	return nil
}

func (e *emulator) snapshotMode() (string, error) {
	if err := e.volumesOrFail(); err != nil {
		return "", err
	}
	switch {
	case e.has[providers.CapSnapshots]:
		return modeNative, nil
	case e.has[providers.CapVolumeData]:
		return modeEmulated, nil
	}
	return "", router.CapabilityErr(e.cloud, providers.CapSnapshots)
}

func (e *emulator) backupMode() (string, error) {
	if err := e.volumesOrFail(); err != nil {
		return "", err
	}
	switch {
	case e.has[providers.CapBackups]:
		return modeNative, nil
	case e.has[providers.CapVolumeData]:
		return modeEmulated, nil
	}
	return "", router.CapabilityErr(e.cloud, providers.CapBackups)
}

func (e *emulator) fromImageMode() (string, error) {
	if err := e.volumesOrFail(); err != nil {
		return "", err
	}
	switch {
	case e.has[providers.CapVolumeFromImage]:
		return modeNative, nil
	case e.compute:
		return modeDeferred, nil
	}
	return "", router.CapabilityErr(e.cloud, providers.CapVolumeFromImage)
}

// restoreMode says how a volume is made from an emulated copy: it needs to
// write the data in.
func (e *emulator) restoreMode(capability string) error {
	if err := e.volumesOrFail(); err != nil {
		return err
	}
	if !e.has[providers.CapVolumeData] {
		return router.CapabilityErr(e.cloud, capability)
	}
	return nil
}

// emulatedID is the native id an emulated copy gets: derived from the
// canopy id, so a retried step writes the same records.
func emulatedID(kind, canopyID string) string { return emuPrefix + kind + "-" + canopyID }

func isEmulated(native string) bool { return strings.HasPrefix(native, emuPrefix) }

// emuRecord describes an emulated snapshot or backup, or a deferred volume.
type emuRecord struct {
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
	// made for (emulate_boot.go).
	BootServer string    `json:"boot_server,omitempty"`
	Bytes      int       `json:"bytes,omitempty"`
	Created    time.Time `json:"created"`
	// DataAt is where a copy's bytes are (emulate_data.go): "" canopy's
	// store, else "<cloud>/<bucket>/<key>".
	DataAt string `json:"data_at,omitempty"`
}

func (e *emulator) key(kind, id string) string { return e.cloud + "/" + kind + "/" + id }

func (e *emulator) putRecord(ctx context.Context, kind, id string, r emuRecord) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return e.st.PutRecord(ctx, nsEmulated, e.key(kind, id), raw)
}

func (e *emulator) record(ctx context.Context, kind, id string) (emuRecord, error) {
	raw, err := e.st.GetRecord(ctx, nsEmulated, e.key(kind, id))
	if err != nil {
		return emuRecord{}, err
	}
	var r emuRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return emuRecord{}, fmt.Errorf("emulated %s %s: corrupt record: %w", kind, id, err)
	}
	return r, nil
}

func (e *emulator) records(ctx context.Context, kind string) ([]emuRecord, error) {
	rs, err := e.st.ListRecords(ctx, nsEmulated, e.cloud+"/"+kind+"/")
	if err != nil {
		return nil, err
	}
	out := make([]emuRecord, 0, len(rs))
	for _, r := range rs {
		var rec emuRecord
		if err := json.Unmarshal(r.Value, &rec); err != nil {
			return nil, fmt.Errorf("emulated %s: corrupt record: %w", r.Key, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func (r emuRecord) common(status providers.Status, raw string) providers.Common {
	props := map[string]string{"canopy.emulated": "data copy kept by canopy"}
	if tok := strings.TrimPrefix(r.NativeID, emuPrefix+r.Kind+"-"); tok != r.NativeID {
		props[providers.PropToken] = tok // the canopy id it was made for
	}
	return providers.Common{NativeID: r.NativeID, Name: r.Name, Region: r.Region, Zone: r.Zone, Status: status, ProviderStatus: raw,
		Created: r.Created, Updated: r.Created, Labels: r.Labels, Properties: props}
}

func (r emuRecord) snapshot() providers.Snapshot {
	return providers.Snapshot{Common: r.common(providers.StatusActive, "available"), VolumeID: r.VolumeID, SizeGiB: r.SizeGiB, Description: r.Description, Emulated: true}
}

func (r emuRecord) backup() providers.Backup {
	return providers.Backup{Common: r.common(providers.StatusActive, "available"), VolumeID: r.VolumeID, SizeGiB: r.SizeGiB, Description: r.Description, Emulated: true}
}

// deferredVolume is what a deferred volume looks like until a server
// boots from it.
func (r emuRecord) deferredVolume() providers.Volume {
	c := r.common(providers.StatusPending, "deferred")
	c.Properties = map[string]string{"canopy.emulated": "created when a server boots from it"}
	c.StatusMessage = "this cloud cannot make a volume from an image: canopy makes it when a server boots from it (CreateServer boot_volume)"
	return providers.Volume{Common: c, SizeGiB: r.SizeGiB, Type: r.Type, ImageID: r.ImageID, Bootable: true, Emulated: true}
}

// ---------------------------------------------------------------- reads

// listVolumes lists the cloud's volumes (deferred ones are listed by the
// router, which knows their canopy ids).
func (e *emulator) listVolumes(ctx context.Context, fresh bool) ([]providers.Volume, error) {
	if !e.has[providers.CapVolumes] {
		return nil, nil
	}
	if fresh {
		return e.drv.ListVolumesFresh(ctx)
	}
	return e.drv.ListVolumes(ctx)
}

func (e *emulator) getVolume(ctx context.Context, native string) (providers.Volume, error) {
	return e.drv.GetVolume(ctx, native)
}

// deferredVolumes lists the deferred volumes of the cloud.
func (e *emulator) deferredVolumes(ctx context.Context) ([]emuRecord, error) {
	return e.records(ctx, providers.KindVolume)
}

// listSnapshots merges the cloud's snapshots and the emulated ones.
func (e *emulator) listSnapshots(ctx context.Context, fresh bool) ([]providers.Snapshot, error) {
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
		out = append(out, r.snapshot())
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

func (e *emulator) getSnapshot(ctx context.Context, native string) (providers.Snapshot, error) {
	if isEmulated(native) {
		r, err := e.record(ctx, providers.KindSnapshot, native)
		if errors.Is(err, store.ErrNotFound) {
			return providers.Snapshot{}, fmt.Errorf("emulated snapshot %s: %w", native, providers.ErrNotFound)
		}
		return r.snapshot(), err
	}
	return e.drv.GetSnapshot(ctx, native)
}

// listBackups merges the cloud's backups and the emulated ones.
func (e *emulator) listBackups(ctx context.Context, fresh bool) ([]providers.Backup, error) {
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
		out = append(out, r.backup())
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

func (e *emulator) getBackup(ctx context.Context, native string) (providers.Backup, error) {
	if isEmulated(native) {
		r, err := e.record(ctx, providers.KindBackup, native)
		if errors.Is(err, store.ErrNotFound) {
			return providers.Backup{}, fmt.Errorf("emulated backup %s: %w", native, providers.ErrNotFound)
		}
		return r.backup(), err
	}
	return e.drv.GetBackup(ctx, native)
}

// ---------------------------------------------------------------- writes

// makeCopy makes an emulated snapshot or backup of a volume: the data
// first, then the record that makes it visible. Both writes are idempotent.
func (e *emulator) makeCopy(ctx context.Context, kind, native string, src providers.Volume, name, description string, labels map[string]string) error {
	n, at, err := e.copyOut(ctx, kind, native, src.NativeID)
	if err != nil {
		return err
	}
	return e.putRecord(ctx, kind, native, emuRecord{Kind: kind, NativeID: native, Name: name, Description: description, Labels: labels,
		Region: src.Region, Zone: src.Zone, SizeGiB: src.SizeGiB, VolumeID: src.NativeID, Bytes: n, Created: time.Now().UTC(), DataAt: at})
}

// deleteSnapshot deletes a snapshot, emulated or not; gone is fine.
func (e *emulator) deleteSnapshot(ctx context.Context, native string) error {
	if isEmulated(native) {
		return e.forget(ctx, providers.KindSnapshot, native)
	}
	if err := e.drv.DeleteSnapshot(ctx, native); err != nil && !errors.Is(err, providers.ErrNotFound) {
		return err
	}
	return nil
}

// deleteBackup deletes a backup, emulated or not; gone is fine.
func (e *emulator) deleteBackup(ctx context.Context, native string) error {
	if isEmulated(native) {
		return e.forget(ctx, providers.KindBackup, native)
	}
	if err := e.drv.DeleteBackup(ctx, native); err != nil && !errors.Is(err, providers.ErrNotFound) {
		return err
	}
	return nil
}
