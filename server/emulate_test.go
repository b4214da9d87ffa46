package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

// The emulation matrix: every difference the simulator can switch on,
// times every RPC it affects. Each cloud below has one difference.
const matrixClouds = `
clouds:
  - name: native
    kind: sim
    zones: [n1]
    options: {` + fastVolumes + `}
  - name: nosnap
    kind: sim
    zones: [s1]
    options: {no_snapshots: true, ` + fastVolumes + `}
  - name: nobak
    kind: sim
    zones: [b1]
    options: {no_backups: true, ` + fastVolumes + `}
  - name: noimg
    kind: sim
    zones: [i1]
    options: {no_volume_from_image: true, ` + fastVolumes + `}
  - name: jobs
    kind: sim
    zones: [j1]
    options: {async_snapshot_ids: true, snapshot_job_delay: 1h, ` + fastVolumes + `}
  - name: nodata
    kind: sim
    zones: [d1]
    options: {no_snapshots: true, no_backups: true, no_volume_data: true, ` + fastVolumes + `}
  - name: novol
    kind: sim
    zones: [v1]
    options: {no_volumes: true, ` + fastVolumes + `}
`

// matrix runs one difference's cases in order (later cases use what
// earlier ones made) and counts them.
type matrix struct {
	t     *testing.T
	cases int
}

func (m *matrix) run(difference, rpc string, fn func(t *testing.T)) {
	m.cases++
	m.t.Run(difference+"/"+rpc, fn)
}

// wantCapability checks a FAILED_PRECONDITION naming cloud and capability
// in the message and in a google.rpc.ErrorInfo.
func wantCapability(t *testing.T, err error, cloud, capability string) {
	t.Helper()
	wantErr(t, err, codes.FailedPrecondition, "", cloud, capability)
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetMetadata()["cloud"] == cloud && ei.GetMetadata()["capability"] == capability {
			return
		}
	}
	t.Errorf("no ErrorInfo naming cloud %q and capability %q in %v", cloud, capability, status.Convert(err).Details())
}

// volumeWith makes an ACTIVE volume in cloud holding data.
func (e *env) volumeWith(t *testing.T, c vclients, cloud, name string, data []byte) *canopyv1.Volume {
	t.Helper()
	ctx := ctxT(t)
	op := c.ok(t)(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: name, SizeGib: 1, Location: &canopyv1.Location{Cloud: cloud}, Wait: true}))
	vol := resultOf(t, op, &canopyv1.Volume{})
	if data != nil {
		if err := e.sim(cloud).WriteVolumeData(ctx, vol.NativeId, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	return vol
}

func (e *env) dataOf(t *testing.T, cloud, native string) []byte {
	t.Helper()
	r, err := e.sim(cloud).ReadVolumeData(context.Background(), native)
	if err != nil {
		t.Fatalf("read %s/%s: %v", cloud, native, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s/%s: %v", cloud, native, err)
	}
	return data
}

func TestEmulationMatrix(t *testing.T) {
	e := newEnv(t, matrixClouds)
	c := e.volumes()
	ok := c.ok(t)
	m := &matrix{t: t}
	defer func() { t.Logf("emulation matrix: %d cases", m.cases) }()

	// ---------------------------------------------------------- no_snapshots
	var src, snap *canopyv1.Volume
	var esnap *canopyv1.Snapshot
	m.run("no_snapshots", "CreateSnapshot", func(t *testing.T) {
		ctx := ctxT(t)
		src = e.volumeWith(t, c, "nosnap", "src", []byte("before the snapshot"))
		esnap = resultOf(t, ok(c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "es", Volume: src.Id, Labels: map[string]string{"k": "v"}, Wait: true})), &canopyv1.Snapshot{})
		if !esnap.Emulated || esnap.Status != canopyv1.Status_STATUS_ACTIVE || esnap.VolumeId != src.Id || esnap.SizeGib != 1 || !emulate.IsEmulated(esnap.NativeId) || esnap.Labels["k"] != "v" {
			t.Fatalf("emulated snapshot = %v", esnap)
		}
		if n := e.sim("nosnap").SnapshotCount(); n != 0 {
			t.Errorf("the cloud holds %d snapshots; the emulated one lives in canopy", n)
		}
		// Later writes must not change the snapshot.
		if err := e.sim("nosnap").WriteVolumeData(ctx, src.NativeId, bytes.NewReader([]byte("after the snapshot"))); err != nil {
			t.Fatal(err)
		}
	})
	m.run("no_snapshots", "GetSnapshot", func(t *testing.T) {
		for _, ref := range []string{esnap.GetId(), "es"} {
			got, err := c.vol.GetSnapshot(ctxT(t), &canopyv1.GetSnapshotRequest{Id: ref})
			if err != nil || got.Id != esnap.GetId() || !got.Emulated || got.Location.GetCloud() != "nosnap" || got.Location.GetProject() != "default" {
				t.Errorf("get %s = %v, %v", ref, got, err)
			}
		}
	})
	m.run("no_snapshots", "ListSnapshots", func(t *testing.T) {
		list, err := c.vol.ListSnapshots(ctxT(t), &canopyv1.ListSnapshotsRequest{Location: &canopyv1.Location{Cloud: "nosnap"}, VolumeId: src.GetId()})
		if err != nil || len(list.Snapshots) != 1 || list.Snapshots[0].Id != esnap.GetId() || !list.Snapshots[0].Emulated {
			t.Errorf("list = %v, %v", list, err)
		}
	})
	m.run("no_snapshots", "CreateVolume(snapshot)", func(t *testing.T) {
		snap = resultOf(t, ok(c.vol.CreateVolume(ctxT(t), &canopyv1.CreateVolumeRequest{Name: "from-es", Snapshot: esnap.GetId(), Wait: true})), &canopyv1.Volume{})
		if snap.SnapshotId != "" && snap.SnapshotId != esnap.GetId() {
			t.Errorf("volume = %v", snap)
		}
		if got := e.dataOf(t, "nosnap", snap.NativeId); string(got) != "before the snapshot" {
			t.Errorf("restored data = %q, want the data at snapshot time", got)
		}
	})
	m.run("no_snapshots", "DeleteVolume(with emulated snapshot)", func(t *testing.T) {
		ok(c.vol.DeleteVolume(ctxT(t), &canopyv1.DeleteVolumeRequest{Id: snap.GetId(), Wait: true}))
	})
	m.run("no_snapshots", "DeleteSnapshot", func(t *testing.T) {
		ctx := ctxT(t)
		ok(c.vol.DeleteSnapshot(ctx, &canopyv1.DeleteSnapshotRequest{Id: esnap.GetId(), Wait: true}))
		_, err := c.vol.GetSnapshot(ctx, &canopyv1.GetSnapshotRequest{Id: esnap.GetId()})
		wantErr(t, err, codes.NotFound, "")
		for _, ns := range []string{emulate.NSRecords, emulate.NSData} {
			if rs, err := e.st.ListRecords(ctx, ns, "nosnap/"); err != nil || len(rs) != 0 {
				t.Errorf("%s records left: %v, %v", ns, rs, err)
			}
		}
	})

	// ---------------------------------------------------------- no_backups
	var bsrc *canopyv1.Volume
	var ebak *canopyv1.Backup
	m.run("no_backups", "CreateBackup", func(t *testing.T) {
		ctx := ctxT(t)
		bsrc = e.volumeWith(t, c, "nobak", "bsrc", bytes.Repeat([]byte("backup me "), 1000))
		ebak = resultOf(t, ok(c.vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: "eb", Volume: "bsrc", Description: "nightly", Wait: true})), &canopyv1.Backup{})
		if !ebak.Emulated || ebak.Status != canopyv1.Status_STATUS_ACTIVE || ebak.VolumeId != bsrc.Id || ebak.Description != "nightly" {
			t.Fatalf("emulated backup = %v", ebak)
		}
		if n := e.sim("nobak").BackupCount(); n != 0 {
			t.Errorf("the cloud holds %d backups", n)
		}
	})
	m.run("no_backups", "GetBackup", func(t *testing.T) {
		got, err := c.vol.GetBackup(ctxT(t), &canopyv1.GetBackupRequest{Id: "eb"})
		if err != nil || got.Id != ebak.GetId() || !got.Emulated {
			t.Errorf("get = %v, %v", got, err)
		}
	})
	m.run("no_backups", "ListBackups", func(t *testing.T) {
		list, err := c.vol.ListBackups(ctxT(t), &canopyv1.ListBackupsRequest{Location: &canopyv1.Location{Cloud: "nobak"}})
		if err != nil || len(list.Backups) != 1 || list.Backups[0].Id != ebak.GetId() {
			t.Errorf("list = %v, %v", list, err)
		}
	})
	m.run("no_backups", "RestoreBackup", func(t *testing.T) {
		rv := resultOf(t, ok(c.vol.RestoreBackup(ctxT(t), &canopyv1.RestoreBackupRequest{Id: ebak.GetId(), Name: "restored", SizeGib: 2, Wait: true})), &canopyv1.Volume{})
		if rv.SizeGib != 2 || rv.Location.GetCloud() != "nobak" {
			t.Errorf("restored = %v", rv)
		}
		if got := e.dataOf(t, "nobak", rv.NativeId); !bytes.Equal(got, bytes.Repeat([]byte("backup me "), 1000)) {
			t.Errorf("restored %d bytes, not the backup's", len(got))
		}
	})
	m.run("no_backups", "DeleteBackup", func(t *testing.T) {
		ok(c.vol.DeleteBackup(ctxT(t), &canopyv1.DeleteBackupRequest{Id: ebak.GetId(), Wait: true}))
		_, err := c.vol.GetBackup(ctxT(t), &canopyv1.GetBackupRequest{Id: ebak.GetId()})
		wantErr(t, err, codes.NotFound, "")
	})

	// ---------------------------------------------------------- no_volume_from_image
	var dvol *canopyv1.Volume
	m.run("no_volume_from_image", "CreateVolume(image)", func(t *testing.T) {
		ctx := ctxT(t)
		op := ok(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "boot", Image: "cirros-0.6.2", SizeGib: 2, Location: &canopyv1.Location{Cloud: "noimg"}, Wait: true}))
		dvol = resultOf(t, op, &canopyv1.Volume{})
		if !dvol.Emulated || dvol.Status != canopyv1.Status_STATUS_PENDING || dvol.NativeId != "" || dvol.ImageId == "" || !dvol.Bootable || dvol.StatusMessage == "" {
			t.Fatalf("deferred volume = %v", dvol)
		}
		if mp, err := e.st.Get(ctx, dvol.Id); err != nil || !mp.Pending() {
			t.Errorf("mapping = %+v, %v; want pending", mp, err)
		}
		if n := e.sim("noimg").VolumeCount(); n != 0 {
			t.Errorf("the cloud holds %d volumes already", n)
		}
	})
	m.run("no_volume_from_image", "GetVolume", func(t *testing.T) {
		got, err := c.vol.GetVolume(ctxT(t), &canopyv1.GetVolumeRequest{Id: "boot"})
		if err != nil || got.Id != dvol.GetId() || !got.Emulated || got.Status != canopyv1.Status_STATUS_PENDING {
			t.Errorf("get = %v, %v", got, err)
		}
	})
	m.run("no_volume_from_image", "ListVolumes", func(t *testing.T) {
		list, err := c.vol.ListVolumes(ctxT(t), &canopyv1.ListVolumesRequest{Location: &canopyv1.Location{Cloud: "noimg"}, Status: canopyv1.Status_STATUS_PENDING})
		if err != nil || len(list.Volumes) != 1 || list.Volumes[0].Id != dvol.GetId() {
			t.Errorf("list = %v, %v", list, err)
		}
	})
	m.run("no_volume_from_image", "ExtendVolume", func(t *testing.T) {
		got := resultOf(t, ok(c.vol.ExtendVolume(ctxT(t), &canopyv1.ExtendVolumeRequest{Id: dvol.GetId(), SizeGib: 3, Wait: true})), &canopyv1.Volume{})
		if got.SizeGib != 3 || !got.Emulated {
			t.Errorf("extended deferred volume = %v", got)
		}
	})
	m.run("no_volume_from_image", "AttachVolume", func(t *testing.T) {
		_, err := c.vol.AttachVolume(ctxT(t), &canopyv1.AttachVolumeRequest{Id: dvol.GetId(), Server: "anything"})
		wantErr(t, err, codes.FailedPrecondition, "", "boot a server from it", "noimg")
	})
	m.run("no_volume_from_image", "CreateSnapshot", func(t *testing.T) {
		_, err := c.vol.CreateSnapshot(ctxT(t), &canopyv1.CreateSnapshotRequest{Name: "x", Volume: dvol.GetId()})
		wantErr(t, err, codes.FailedPrecondition, "", dvol.GetId())
	})
	m.run("no_volume_from_image", "CreateServer(boot_volume)", func(t *testing.T) {
		ctx := ctxT(t)
		sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "booted", Flavor: "m1.tiny", BootVolume: "boot", Location: &canopyv1.Location{Cloud: "noimg"}, Wait: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: dvol.GetId()})
		if err != nil || got.NativeId == "" || got.Emulated || got.SizeGib != 3 || got.Name != "boot" || len(got.Attachments) != 1 || got.Attachments[0].ServerId != sv.Id || got.ImageId != dvol.GetImageId() {
			t.Fatalf("volume after boot = %v, %v", got, err)
		}
		if mp, err := e.st.Get(ctx, dvol.GetId()); err != nil || mp.NativeID != got.NativeId {
			t.Errorf("mapping = %+v, %v; want bound to %s", mp, err, got.NativeId)
		}
		if sv.ImageId != dvol.GetImageId() {
			t.Errorf("server image %s, want the volume's %s", sv.ImageId, dvol.GetImageId())
		}
		if rs, _ := e.st.ListRecords(ctx, emulate.NSRecords, "noimg/"); len(rs) != 0 {
			t.Errorf("deferred record left: %v", rs)
		}
		list, err := c.vol.ListVolumes(ctx, &canopyv1.ListVolumesRequest{Location: &canopyv1.Location{Cloud: "noimg"}})
		if err != nil || len(list.Volumes) != 1 || list.Volumes[0].Id != dvol.GetId() {
			t.Errorf("list after boot = %v, %v: want the one volume under its canopy id", list, err)
		}
		// Booting another server from it is refused: it is in use.
		_, err = e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "second", Flavor: "m1.tiny", BootVolume: dvol.GetId(), Location: &canopyv1.Location{Cloud: "noimg"}})
		wantErr(t, err, codes.FailedPrecondition, "", dvol.GetId())
	})
	m.run("no_volume_from_image", "DeleteVolume", func(t *testing.T) {
		ctx := ctxT(t)
		other := resultOf(t, ok(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "never-booted", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: "noimg"}, Wait: true})), &canopyv1.Volume{})
		calls := e.sim("noimg").Calls("DeleteVolume")
		ok(c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: other.Id, Wait: true}))
		if _, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: other.Id}); status.Code(err) != codes.NotFound {
			t.Errorf("deleted deferred volume: %v", err)
		}
		if e.sim("noimg").Calls("DeleteVolume") != calls {
			t.Errorf("deleting a deferred volume called the cloud")
		}
	})

	// ---------------------------------------------------------- async_snapshot_ids
	var jsrc *canopyv1.Volume
	var jsnap *canopyv1.Snapshot
	m.run("async_snapshot_ids", "CreateSnapshot", func(t *testing.T) {
		ctx := ctxT(t)
		jsrc = e.volumeWith(t, c, "jobs", "jsrc", []byte("job data"))
		op, err := c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "js", Volume: jsrc.Id})
		if err != nil {
			t.Fatal(err)
		}
		id := op.Metadata.TargetId
		// canopy's id at once, pending until the job tells the cloud's:
		// the job runs for an hour, until the test has seen it pending and
		// ends it (no window to catch).
		var got *canopyv1.Snapshot
		eventually(t, "the snapshot pending on its job", func() bool {
			if got, err = c.vol.GetSnapshot(ctx, &canopyv1.GetSnapshotRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
			return strings.Contains(got.StatusMessage, "job")
		})
		if got.Status != canopyv1.Status_STATUS_PENDING || got.NativeId != "" || got.VolumeId != jsrc.Id {
			t.Errorf("pending snapshot = %v", got)
		}
		if mp, err := e.st.Get(ctx, id); err != nil || !mp.Pending() {
			t.Errorf("mapping while the job runs = %+v, %v; want pending", mp, err)
		}
		if n := e.sim("jobs").FinishSnapshotJobs(); n != 1 {
			t.Fatalf("%d snapshot jobs running at the cloud, want 1", n)
		}
		jsnap = resultOf(t, ok(op, nil), &canopyv1.Snapshot{})
		if jsnap.Id != id || jsnap.NativeId == "" || jsnap.Emulated || jsnap.Status != canopyv1.Status_STATUS_ACTIVE {
			t.Fatalf("snapshot = %v", jsnap)
		}
		if mp, err := e.st.Get(ctx, id); err != nil || mp.NativeID != jsnap.NativeId {
			t.Errorf("mapping = %+v, %v; want bound to %s", mp, err, jsnap.NativeId)
		}
		// The id the job told is the snapshot of this volume at the cloud.
		if at, err := e.sim("jobs").GetSnapshot(ctx, jsnap.NativeId); err != nil || at.VolumeID != jsrc.NativeId || e.sim("jobs").SnapshotCount() != 1 {
			t.Errorf("cloud snapshot %s = %+v, %v (%d snapshots); want the one snapshot, of volume %s", jsnap.NativeId, at, err, e.sim("jobs").SnapshotCount(), jsrc.NativeId)
		}
	})
	m.run("async_snapshot_ids", "ListSnapshots", func(t *testing.T) {
		list, err := c.vol.ListSnapshots(ctxT(t), &canopyv1.ListSnapshotsRequest{Location: &canopyv1.Location{Cloud: "jobs"}})
		if err != nil || len(list.Snapshots) != 1 || list.Snapshots[0].Id != jsnap.GetId() {
			t.Errorf("list = %v, %v: want the one snapshot under canopy's id", list, err)
		}
	})
	m.run("async_snapshot_ids", "CreateVolume(snapshot)", func(t *testing.T) {
		v := resultOf(t, ok(c.vol.CreateVolume(ctxT(t), &canopyv1.CreateVolumeRequest{Name: "from-js", Snapshot: jsnap.GetId(), Wait: true})), &canopyv1.Volume{})
		if v.SnapshotId != jsnap.GetId() || string(e.dataOf(t, "jobs", v.NativeId)) != "job data" {
			t.Errorf("volume from snapshot = %v", v)
		}
		ok(c.vol.DeleteVolume(ctxT(t), &canopyv1.DeleteVolumeRequest{Id: v.Id, Wait: true}))
	})
	m.run("async_snapshot_ids", "DeleteSnapshot", func(t *testing.T) {
		ok(c.vol.DeleteSnapshot(ctxT(t), &canopyv1.DeleteSnapshotRequest{Id: jsnap.GetId(), Wait: true}))
		if n := e.sim("jobs").SnapshotCount(); n != 0 {
			t.Errorf("%d snapshots left at the cloud", n)
		}
	})
	m.run("async_snapshot_ids", "CancelOperation(job running)", func(t *testing.T) {
		ctx := ctxT(t)
		op, err := c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "cancelled", Volume: jsrc.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		// Cancel while the job runs (it runs for an hour: the test ends it
		// once the cancel is recorded, so the rollback can learn and
		// delete the snapshot it made).
		eventually(t, "the snapshot operation waiting on its job", func() bool {
			got, _ := c.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: op.Id})
			if got.GetDone() {
				t.Fatalf("the operation ended before it could be cancelled while its job ran: %v", got)
			}
			return got.GetMetadata().GetStep() == "resolve"
		})
		if _, err := c.ops.CancelOperation(ctx, &canopyv1.CancelOperationRequest{Id: op.Id}); err != nil {
			t.Fatal(err)
		}
		if n := e.sim("jobs").FinishSnapshotJobs(); n != 1 {
			t.Fatalf("%d snapshot jobs running at the cloud after the cancel, want 1", n)
		}
		got, err := c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id})
		if err != nil || !got.Done || got.GetError().GetCode() != int32(codes.Canceled) {
			t.Fatalf("cancelled operation = %v, %v", got, err)
		}
		if _, err := e.st.Get(ctx, op.Metadata.TargetId); err == nil {
			t.Errorf("the cancelled snapshot's id is still mapped")
		}
		if n := e.sim("jobs").SnapshotCount(); n != 0 {
			t.Errorf("%d snapshots left at the cloud after the cancel", n)
		}
	})

	// ---------------------------------------------------------- no_volume_data
	var nd *canopyv1.Volume
	m.run("no_volume_data", "CreateSnapshot", func(t *testing.T) {
		nd = e.volumeWith(t, c, "nodata", "nd", nil)
		_, err := c.vol.CreateSnapshot(ctxT(t), &canopyv1.CreateSnapshotRequest{Name: "x", Volume: nd.Id})
		wantCapability(t, err, "nodata", "snapshots")
	})
	m.run("no_volume_data", "CreateBackup", func(t *testing.T) {
		_, err := c.vol.CreateBackup(ctxT(t), &canopyv1.CreateBackupRequest{Name: "x", Volume: nd.GetId()})
		wantCapability(t, err, "nodata", "backups")
	})
	m.run("no_volume_data", "ListSnapshots", func(t *testing.T) {
		list, err := c.vol.ListSnapshots(ctxT(t), &canopyv1.ListSnapshotsRequest{Location: &canopyv1.Location{Cloud: "nodata"}})
		if err != nil || len(list.Snapshots) != 0 || len(list.CloudErrors) != 0 {
			t.Errorf("list = %v, %v", list, err)
		}
	})

	// ---------------------------------------------------------- no_volumes
	m.run("no_volumes", "CreateVolume", func(t *testing.T) {
		_, err := c.vol.CreateVolume(ctxT(t), &canopyv1.CreateVolumeRequest{Name: "x", SizeGib: 1, Location: &canopyv1.Location{Cloud: "novol"}})
		wantCapability(t, err, "novol", "volumes")
	})
	m.run("no_volumes", "ListVolumes(cloud)", func(t *testing.T) {
		_, err := c.vol.ListVolumes(ctxT(t), &canopyv1.ListVolumesRequest{Location: &canopyv1.Location{Zone: "v1"}})
		wantCapability(t, err, "novol", "volumes")
	})
	m.run("no_volumes", "ListVolumes(all)", func(t *testing.T) {
		list, err := c.vol.ListVolumes(ctxT(t), &canopyv1.ListVolumesRequest{})
		if err != nil || len(list.CloudErrors) != 0 {
			t.Errorf("a fan-out names a cloud without volumes: %v, %v", list.GetCloudErrors(), err)
		}
	})
	m.run("no_volumes", "ListSnapshots(cloud)", func(t *testing.T) {
		_, err := c.vol.ListSnapshots(ctxT(t), &canopyv1.ListSnapshotsRequest{Location: &canopyv1.Location{Cloud: "novol"}})
		wantCapability(t, err, "novol", "volumes")
	})
	m.run("no_volumes", "ListBackups(cloud)", func(t *testing.T) {
		_, err := c.vol.ListBackups(ctxT(t), &canopyv1.ListBackupsRequest{Location: &canopyv1.Location{Cloud: "novol"}})
		wantCapability(t, err, "novol", "volumes")
	})
	m.run("no_volumes", "CreateServer(boot_volume from another cloud)", func(t *testing.T) {
		_, err := e.compute.CreateServer(ctxT(t), &canopyv1.CreateServerRequest{Name: "x", Flavor: "m1.tiny", BootVolume: nd.GetId(), Location: &canopyv1.Location{Cloud: "novol"}})
		wantErr(t, err, codes.InvalidArgument, "boot_volume", "nodata", "novol")
	})

	// The cloud's description lists what canopy emulates beside what the
	// cloud has, and never what it cannot do.
	for _, tc := range []struct {
		difference, cloud string
		has, lacks        []string
	}{
		{"no_snapshots", "nosnap", []string{"volumes", "snapshots", "backups", "volume-data"}, nil},
		{"no_backups", "nobak", []string{"volumes", "snapshots", "backups"}, nil},
		{"no_volume_from_image", "noimg", []string{"volumes", "volume-from-image"}, nil},
		{"async_snapshot_ids", "jobs", []string{"volumes", "snapshots"}, nil},
		{"no_volume_data", "nodata", []string{"volumes", "volume-from-image"}, []string{"snapshots", "backups", "volume-data"}},
		{"no_volumes", "novol", []string{"compute"}, []string{"volumes", "snapshots", "backups", "volume-from-image"}},
	} {
		m.run(tc.difference, "GetCloud(capabilities)", func(t *testing.T) {
			cl, err := e.clouds.GetCloud(ctxT(t), &canopyv1.GetCloudRequest{Name: tc.cloud})
			if err != nil {
				t.Fatal(err)
			}
			have := strings.Join(cl.Capabilities, ",")
			for _, c := range tc.has {
				if !strings.Contains(","+have+",", ","+c+",") {
					t.Errorf("%s: capabilities %s lack %s", tc.cloud, have, c)
				}
			}
			for _, c := range tc.lacks {
				if strings.Contains(","+have+",", ","+c+",") {
					t.Errorf("%s: capabilities %s list %s", tc.cloud, have, c)
				}
			}
		})
	}

	// Every cloud ends with nothing canopy does not know about.
	t.Run("no leaks", func(t *testing.T) {
		ctx := ctxT(t)
		for _, cloud := range []string{"nosnap", "nobak", "noimg", "jobs", "nodata"} {
			ms, err := e.st.List(ctx, cloud, providers.KindVolume)
			if err != nil {
				t.Fatal(err)
			}
			bound := 0
			for _, mp := range ms {
				if !mp.Pending() {
					bound++
				}
			}
			if n := e.sim(cloud).VolumeCount(); n != bound {
				t.Errorf("%s: %d volumes at the cloud, %d bound ids", cloud, n, bound)
			}
		}
	})
}

// The FAILED_PRECONDITION of a missing capability is also how an operation
// ends when the difference shows only at the cloud (a switch the router
// could not see): the operation's error names cloud and capability.
func TestOperationErrorNamesCloud(t *testing.T) {
	e := newEnv(t, volCloud)
	c := e.volumes()
	ctx := ctxT(t)
	e.sim("local").InjectFault("CreateVolume", fmt.Errorf("image service: %w", providers.ErrUnsupported), 1)
	op, err := c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", SizeGib: 1, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if !op.Done || op.GetError().GetCode() != int32(codes.FailedPrecondition) || !strings.Contains(op.GetError().GetMessage(), `cloud "local"`) ||
		op.GetError().GetReason() != "CAPABILITY_MISSING" || op.GetError().GetMetadata()["cloud"] != "local" {
		t.Fatalf("operation = %v", op)
	}
	if _, err := e.st.Get(ctx, op.Metadata.TargetId); err == nil {
		t.Errorf("a create the cloud refused keeps its id")
	}
}
