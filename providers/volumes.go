package providers

import (
	"context"
	"io"
)

// Kinds of the block-storage resources; the id map keys on them.
const (
	KindVolume   = "volume"
	KindSnapshot = "snapshot"
	KindBackup   = "backup"
)

// Capability names, as they appear in canopy.v1.Cloud.capabilities and in
// FAILED_PRECONDITION errors for what canopy cannot emulate.
const (
	CapCompute  = "compute"
	CapKeypairs = "keypairs"
	// CapObjects: the adapter implements Objects.
	CapObjects = "objects"
	// CapPresignedURLs: the adapter implements URLSigner.
	CapPresignedURLs = "presigned-urls"
	// CapImageTransfer: the adapter implements ImageTransfer.
	CapImageTransfer = "image-transfer"
	// CapVolumes: the adapter implements Volumes.
	CapVolumes = "volumes"
	// CapSnapshots: the adapter implements Snapshots.
	CapSnapshots = "snapshots"
	// CapBackups: the adapter implements Backups.
	CapBackups = "backups"
	// CapVolumeFromImage: CreateVolume accepts VolumeSpec.ImageID.
	CapVolumeFromImage = "volume-from-image"
	// CapVolumeData: the adapter implements VolumeData.
	CapVolumeData = "volume-data"
	// CapVolumeDataCreate: the adapter implements VolumeDataCreator.
	CapVolumeDataCreate = "volume-data-create"
)

// PropToken is the Properties key under which adapters that can tell report
// the idempotency token a resource was created with (the sim, Cinder
// metadata, EC2 tags). canopy binds a resource the cloud shows before the
// creating operation did to the canopy id the token names, instead of
// adopting it under another id.
const PropToken = "client_token"

// Volume is a block-storage volume.
type Volume struct {
	Common
	SizeGiB int64
	// Type is the cloud's volume type (Cinder type, EBS gp3, ...).
	Type string
	// Sources it was made from, as native ids (at most one is set).
	ImageID    string
	SnapshotID string
	BackupID   string
	// Attachments are the servers it is attached to.
	Attachments []Attachment
	Bootable    bool
	// Emulated is set by canopy's emulation layer, never by adapters.
	Emulated bool
	// Partial marks a volume described by an announcement (a change
	// feed) that lacks some of what a read shows (OpenStack's Cinder
	// payload: the type's name, the description, bootable): a caller
	// that answers with the volume reads it instead.
	Partial bool
}

// Attachment is a volume attached to a server.
type Attachment struct {
	ServerID string // native server id
	Device   string // e.g. /dev/vdb, when the cloud says
}

// Snapshot is a point-in-time copy of a volume, kept by the cloud.
type Snapshot struct {
	Common
	VolumeID    string // native id of the source volume
	SizeGiB     int64
	Description string
	// JobID is set, and NativeID empty, when the cloud answered
	// CreateSnapshot with a job instead of the snapshot (see SnapshotJobs).
	JobID string
	// Emulated is set by canopy's emulation layer, never by adapters.
	Emulated bool
}

// Backup is a copy of a volume kept apart from it (Cinder backups in Swift).
type Backup struct {
	Common
	VolumeID    string // native id of the source volume
	SizeGiB     int64
	Description string
	// Emulated is set by canopy's emulation layer, never by adapters.
	Emulated bool
}

// VolumeSpec is what CreateVolume needs; every id in it is native. At most
// one source (ImageID, SnapshotID) is set; none makes an empty volume.
type VolumeSpec struct {
	Name        string
	Zone        string
	SizeGiB     int64
	Type        string
	Description string
	ImageID     string
	SnapshotID  string
	Labels      map[string]string
	// IdempotencyToken is the canopy id allocated for the volume. Clouds
	// with a client token use it; adapters of clouds without one must find
	// a volume created earlier with the same token (e.g. by a metadata tag)
	// and return it rather than create a second one: canopy retries creates
	// after failures and restarts.
	IdempotencyToken string
	// Replay: as in ServerSpec.
	Replay bool
}

// SnapshotSpec is what CreateSnapshot needs.
type SnapshotSpec struct {
	Name        string
	VolumeID    string // native
	Description string
	Labels      map[string]string
	// IdempotencyToken and Replay: as in VolumeSpec.
	IdempotencyToken string
	Replay           bool
}

// BackupSpec is what CreateBackup needs.
type BackupSpec struct {
	Name        string
	VolumeID    string // native
	Description string
	Labels      map[string]string
	// IdempotencyToken and Replay: as in VolumeSpec.
	IdempotencyToken string
	Replay           bool
}

// Volumes is block storage. Creates and state changes return as soon as the
// cloud accepted them; canopy polls ListVolumes/GetVolume for the outcome.
// A volume the cloud no longer has is ErrNotFound; a request the volume's
// state forbids (delete while attached, attach while attached elsewhere) is
// ErrConflict; a source the cloud cannot create from (an image, on a cloud
// without volume-from-image) is ErrUnsupported.
type Volumes interface {
	ListVolumes(ctx context.Context) ([]Volume, error)
	GetVolume(ctx context.Context, id string) (Volume, error)
	CreateVolume(ctx context.Context, spec VolumeSpec) (Volume, error)
	// DeleteVolume starts deleting; deleting one already deleting is not an
	// error.
	DeleteVolume(ctx context.Context, id string) error
	// ExtendVolume grows a volume to sizeGiB; shrinking is ErrInvalid.
	ExtendVolume(ctx context.Context, id string, sizeGiB int64) error
	// AttachVolume attaches a volume to a server (native ids).
	AttachVolume(ctx context.Context, volumeID, serverID string) error
	// DetachVolume detaches it; a volume not attached to that server is
	// ErrConflict.
	DetachVolume(ctx context.Context, volumeID, serverID string) error
}

// Snapshots are volume snapshots. Adapters of clouds without them do not
// implement it (canopy emulates snapshots through VolumeData).
type Snapshots interface {
	ListSnapshots(ctx context.Context) ([]Snapshot, error)
	GetSnapshot(ctx context.Context, id string) (Snapshot, error)
	// CreateSnapshot returns the snapshot, or — on clouds that answer with
	// a job (see SnapshotJobs) — a Snapshot with JobID set and no NativeID.
	CreateSnapshot(ctx context.Context, spec SnapshotSpec) (Snapshot, error)
	DeleteSnapshot(ctx context.Context, id string) error
}

// SnapshotJobs is implemented by adapters whose cloud answers a snapshot
// request with a job id and tells the snapshot's id only later.
type SnapshotJobs interface {
	// SnapshotJob returns the native snapshot id once the job knows it, ""
	// while it does not yet; a job that failed is an error.
	SnapshotJob(ctx context.Context, jobID string) (nativeID string, err error)
}

// Backups are volume backups. Adapters of clouds without them do not
// implement it (canopy emulates backups through VolumeData).
type Backups interface {
	ListBackups(ctx context.Context) ([]Backup, error)
	GetBackup(ctx context.Context, id string) (Backup, error)
	CreateBackup(ctx context.Context, spec BackupSpec) (Backup, error)
	DeleteBackup(ctx context.Context, id string) error
	// RestoreBackup creates a new volume from a backup; spec names it
	// (spec.ImageID and SnapshotID are ignored, a zero SizeGiB means the
	// backup's size).
	RestoreBackup(ctx context.Context, backupID string, spec VolumeSpec) (Volume, error)
}

// VolumeData streams a volume's content in and out. canopy uses it to
// emulate snapshots and backups on clouds that lack them, keeping the bytes
// in a bucket or its own store. Both directions are streams so that nothing
// — adapter, canopy, the bucket — ever holds a whole volume in memory:
// volumes are gigabytes. How an adapter reaches the bytes is its own
// (OpenStack: the volume uploaded to Glance and downloaded; AWS: an EBS
// snapshot read through the EBS direct API; the simulator keeps bytes).
// Container runtimes' volumes are directories, not blocks: their data is a
// tar of the volume's files (Docker's `docker cp` format), and "more bytes
// than the volume holds" counts the files' sizes (CheckTar); the rule
// about zeros past the end does not apply.
type VolumeData interface {
	// ReadVolumeData opens a volume's content from its first byte; the
	// caller reads it to the end and closes it. The stream may end before
	// the volume's size: what follows reads as zeros. A missing volume is
	// ErrNotFound, one the cloud cannot read in its state ErrConflict.
	ReadVolumeData(ctx context.Context, volumeID string) (io.ReadCloser, error)
	// WriteVolumeData writes what r yields into a volume from its first
	// byte; canopy writes only into volumes it has just made (restores), so
	// the rest of the volume reads as zeros. More bytes than the volume
	// holds is ErrInvalid.
	WriteVolumeData(ctx context.Context, volumeID string, r io.Reader) error
}

// VolumeDataCreator is VolumeData for clouds that can read a volume's
// bytes but write bytes only into a new volume (EBS: they become a
// snapshot through the EBS direct API, and the volume is made from it).
// canopy emulates snapshots and backups over it as over VolumeData; a
// restore makes the volume from the copy's bytes in one call.
type VolumeDataCreator interface {
	// ReadVolumeData is VolumeData's.
	ReadVolumeData(ctx context.Context, volumeID string) (io.ReadCloser, error)
	// CreateVolumeFromData makes a volume as CreateVolume does (spec names
	// no source) holding what r yields, and returns it as CreateVolume
	// does. With spec's token, a volume already made with it is returned
	// without reading r (a replay).
	CreateVolumeFromData(ctx context.Context, spec VolumeSpec, r io.Reader) (Volume, error)
}

// Limited is implemented by adapters whose cloud may lack, at run time, a
// capability their type implements: an OpenStack without cinder-backup, a
// simulator with a feature switched off. Has is asked only about
// capabilities the type implements (and about CapVolumeFromImage, which
// has no interface of its own).
type Limited interface {
	Has(capability string) bool
}

// Has reports whether p offers a capability: its type implements the
// capability's interface and, if p is Limited, it says it has it.
func Has(p Provider, capability string) bool {
	var ok bool
	switch capability {
	case CapCompute, CapKeypairs:
		_, ok = p.(Compute)
	case CapObjects:
		_, ok = p.(Objects)
	case CapPresignedURLs:
		_, ok = p.(URLSigner)
	case CapImageTransfer:
		_, ok = p.(ImageTransfer)
	case CapVolumes, CapVolumeFromImage:
		_, ok = p.(Volumes)
	case CapSnapshots:
		_, ok = p.(Snapshots)
		if ok && !Has(p, CapVolumes) {
			ok = false
		}
	case CapBackups:
		_, ok = p.(Backups)
		if ok && !Has(p, CapVolumes) {
			ok = false
		}
	case CapVolumeData:
		_, ok = p.(VolumeData)
		if ok && !Has(p, CapVolumes) {
			ok = false
		}
	case CapVolumeDataCreate:
		_, ok = p.(VolumeDataCreator)
		if ok && !Has(p, CapVolumes) {
			ok = false
		}
	case CapContainers:
		_, ok = p.(Containers)
	case CapContainerIO:
		_, ok = p.(ContainerIO)
	case CapContainerEvents:
		_, ok = p.(ContainerEvents)
	case CapContainerCommit:
		_, ok = p.(ContainerCommitter)
	case CapContainerImages:
		_, ok = p.(ContainerImages)
	case CapNetworks:
		_, ok = p.(Networks)
	case CapRouters:
		_, ok = p.(Routers)
	case CapSecurityGroups:
		_, ok = p.(SecurityGroups)
	case CapFloatingIPs:
		_, ok = p.(FloatingIPs)
	}
	if !ok {
		return false
	}
	if l, limited := p.(Limited); limited {
		return l.Has(capability)
	}
	return true
}

// capabilityNames are every capability Has knows, in Capabilities' order.
var capabilityNames = []string{CapBackups, CapCompute, CapContainerCommit, CapContainerEvents, CapContainerIO, CapContainerImages, CapContainers,
	CapFloatingIPs, CapImageTransfer, CapKeypairs, CapNetworks, CapObjects, CapPresignedURLs, CapRouters, CapSecurityGroups, CapSnapshots,
	CapVolumeData, CapVolumeDataCreate, CapVolumeFromImage, CapVolumes}
