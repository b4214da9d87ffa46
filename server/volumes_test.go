package server

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// fastVolumes are sim options whose block-storage transitions take tens of
// milliseconds.
const fastVolumes = `boot_delay: 30ms, action_delay: 20ms, delete_delay: 20ms, volume_delay: 20ms, snapshot_delay: 20ms`

const volCloud = `
clouds:
  - name: local
    kind: sim
    zones: [z1, z2]
    options: {` + fastVolumes + `}
`

// vclients are the block-storage clients of an env.
type vclients struct {
	vol canopyv1.VolumeServiceClient
	ops canopyv1.OperationServiceClient
}

func (e *env) volumes() vclients {
	e.t.Helper()
	return e.volumesAs(e.token)
}

func (e *env) volumesAs(token string) vclients {
	e.t.Helper()
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cc.Close() })
	return vclients{vol: canopyv1.NewVolumeServiceClient(cc), ops: canopyv1.NewOperationServiceClient(cc)}
}

// ok returns a function that waits for an operation and fails the test
// unless it succeeded: ok(c.vol.CreateVolume(...)).
func (c vclients) ok(t *testing.T) func(*canopyv1.Operation, error) *canopyv1.Operation {
	return func(op *canopyv1.Operation, err error) *canopyv1.Operation {
		t.Helper()
		return c.done(t, op, err)
	}
}

// done waits for an operation and fails the test unless it succeeded.
func (c vclients) done(t *testing.T, op *canopyv1.Operation, err error) *canopyv1.Operation {
	t.Helper()
	if err != nil {
		t.Fatalf("operation call: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	if !op.Done {
		op, err = c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id})
		if err != nil {
			t.Fatalf("wait %s: %v", op.GetId(), err)
		}
	}
	if !op.Done {
		t.Fatalf("operation %s (%s) not done: %v", op.Id, op.Metadata.GetKind(), op)
	}
	if e := op.GetError(); e != nil {
		t.Fatalf("operation %s (%s) failed: %d %s", op.Id, op.Metadata.GetKind(), e.Code, e.Message)
	}
	return op
}

func resultOf[T proto.Message](t *testing.T, op *canopyv1.Operation, into T) T {
	t.Helper()
	if err := op.GetResponse().UnmarshalTo(into); err != nil {
		t.Fatalf("operation %s result: %v (%v)", op.Id, err, op.GetResponse())
	}
	return into
}

func TestVolumeLifecycle(t *testing.T) {
	e := newEnv(t, volCloud)
	ctx := ctxT(t)
	c := e.volumes()
	ok := c.ok(t)
	op, err := c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "data", SizeGib: 2, Labels: map[string]string{"app": "db"}, Location: &canopyv1.Location{Zone: "z2"}})
	if err != nil {
		t.Fatal(err)
	}
	if op.Done || op.Metadata.GetKind() != "volume.create" || op.Metadata.GetTargetId() == "" || op.Metadata.GetLocation().GetCloud() != "local" {
		t.Fatalf("create answered %v", op)
	}
	id := op.Metadata.TargetId
	// The id is usable at once.
	if got, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: id}); err != nil || got.Id != id {
		t.Fatalf("get right after create = %v, %v", got, err)
	}
	vol := resultOf(t, c.done(t, op, nil), &canopyv1.Volume{})
	if vol.Id != id || vol.Status != canopyv1.Status_STATUS_ACTIVE || vol.SizeGib != 2 || vol.NativeId == "" || vol.Location.GetZone() != "z2" || vol.Labels["app"] != "db" {
		t.Fatalf("created volume = %v", vol)
	}
	for _, ref := range []string{id, "data"} {
		if got, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: ref}); err != nil || got.Id != id || got.Emulated {
			t.Errorf("get %s = %v, %v", ref, got, err)
		}
	}
	list, err := c.vol.ListVolumes(ctx, &canopyv1.ListVolumesRequest{})
	if err != nil || len(list.Volumes) != 1 || list.Volumes[0].Id != id {
		t.Fatalf("list = %v, %v", list, err)
	}

	ext := resultOf(t, ok(c.vol.ExtendVolume(ctx, &canopyv1.ExtendVolumeRequest{Id: id, SizeGib: 5, Wait: true})), &canopyv1.Volume{})
	if ext.SizeGib != 5 {
		t.Errorf("extended = %v", ext)
	}

	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "web", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Zone: "z2"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	att := resultOf(t, ok(c.vol.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: "data", Server: "web", Wait: true})), &canopyv1.Volume{})
	if len(att.Attachments) != 1 || att.Attachments[0].ServerId != sv.Id {
		t.Errorf("attached = %v", att)
	}
	det := resultOf(t, ok(c.vol.DetachVolume(ctx, &canopyv1.DetachVolumeRequest{Id: id, Wait: true})), &canopyv1.Volume{})
	if len(det.Attachments) != 0 {
		t.Errorf("detached = %v", det)
	}

	snapOp := ok(c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "s1", Volume: id, Wait: true}))
	snap := resultOf(t, snapOp, &canopyv1.Snapshot{})
	if snap.VolumeId != id || snap.SizeGib != 5 || snap.Emulated || snap.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Errorf("snapshot = %v", snap)
	}
	fromSnap := resultOf(t, ok(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "copy", Snapshot: "s1", Wait: true})), &canopyv1.Volume{})
	if fromSnap.SnapshotId != snap.Id || fromSnap.SizeGib != 5 {
		t.Errorf("volume from snapshot = %v", fromSnap)
	}
	bak := resultOf(t, ok(c.vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: "b1", Volume: id, Wait: true})), &canopyv1.Backup{})
	restored := resultOf(t, ok(c.vol.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: bak.Id, Name: "restored", Wait: true})), &canopyv1.Volume{})
	if restored.BackupId != bak.Id || restored.SizeGib != 5 {
		t.Errorf("restored = %v", restored)
	}

	for _, del := range []func() (*canopyv1.Operation, error){
		func() (*canopyv1.Operation, error) {
			return c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: restored.Id, Wait: true})
		},
		func() (*canopyv1.Operation, error) {
			return c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: fromSnap.Id, Wait: true})
		},
		func() (*canopyv1.Operation, error) {
			return c.vol.DeleteBackup(ctx, &canopyv1.DeleteBackupRequest{Id: bak.Id, Wait: true})
		},
		func() (*canopyv1.Operation, error) {
			return c.vol.DeleteSnapshot(ctx, &canopyv1.DeleteSnapshotRequest{Id: snap.Id, Wait: true})
		},
		func() (*canopyv1.Operation, error) {
			return c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: id, Wait: true})
		},
	} {
		op := ok(del())
		last := op.GetResponse()
		if last == nil {
			t.Errorf("delete %s: no result", op.Metadata.TargetId)
		}
	}
	if list, err := c.vol.ListVolumes(ctx, &canopyv1.ListVolumesRequest{}); err != nil || len(list.Volumes) != 0 {
		t.Errorf("after deletes: %v, %v", list, err)
	}
	sim := e.sim("local")
	if sim.VolumeCount() != 0 || sim.SnapshotCount() != 0 || sim.BackupCount() != 0 {
		t.Errorf("left at the cloud: %d volumes, %d snapshots, %d backups", sim.VolumeCount(), sim.SnapshotCount(), sim.BackupCount())
	}
}

// A volume the cloud shows before the operation creating it bound its id
// (a list racing the operation, or a crash in between) is bound to the
// canopy id its token names, never adopted under another.
func TestListBindsByToken(t *testing.T) {
	e := newEnv(t, volCloud)
	c := e.volumes()
	ctx := ctxT(t)
	m, _, err := e.st.Reserve(ctx, store.Mapping{Cloud: "local", Kind: providers.KindVolume, Project: "default"})
	if err != nil {
		t.Fatal(err)
	}
	x, err := e.sim("local").CreateVolume(ctx, providers.VolumeSpec{Name: "racing", SizeGiB: 1, IdempotencyToken: m.ID})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.vol.ListVolumes(ctx, &canopyv1.ListVolumesRequest{Name: "racing"})
	if err != nil || len(list.Volumes) != 1 || list.Volumes[0].Id != m.ID {
		t.Fatalf("list = %v, %v; want the volume under %s", list, err, m.ID)
	}
	if got, err := e.st.Get(ctx, m.ID); err != nil || got.NativeID != x.NativeID {
		t.Errorf("mapping = %+v, %v; want bound to %s", got, err, x.NativeID)
	}
	if _, err := e.st.Get(ctx, store.AdoptedID("local", providers.KindVolume, x.NativeID)); err == nil {
		t.Errorf("the volume was adopted as well")
	}
}
