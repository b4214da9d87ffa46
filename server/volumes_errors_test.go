package server

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

const twoVolClouds = `
clouds:
  - name: east
    kind: sim
    zones: [e1, e2]
    options: {` + fastVolumes + `}
  - name: west
    kind: sim
    zones: [w1]
    options: {seed: 7, ` + fastVolumes + `}
`

// fixture makes, in east: volume "vol" (1 GiB, attached to server "srv"),
// volume "free", snapshot "snap" of "free", backup "bak" of "free"; and a
// server "wsrv" in west.
type volFixture struct {
	vol, free, srv, wsrv, snap, bak string
}

func makeVolFixture(t *testing.T, e *env, c vclients) volFixture {
	t.Helper()
	ctx := ctxT(t)
	ok := c.ok(t)
	east := &canopyv1.Location{Cloud: "east", Zone: "e1"}
	srv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "srv", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: east, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	wsrv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "wsrv", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: "west"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	vol := resultOf(t, ok(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "vol", SizeGib: 1, Location: east, Wait: true})), &canopyv1.Volume{})
	free := resultOf(t, ok(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "free", SizeGib: 2, Location: east, Wait: true})), &canopyv1.Volume{})
	ok(c.vol.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: vol.Id, Server: srv.Id, Wait: true}))
	snap := resultOf(t, ok(c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "snap", Volume: free.Id, Wait: true})), &canopyv1.Snapshot{})
	bak := resultOf(t, ok(c.vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: "bak", Volume: free.Id, Wait: true})), &canopyv1.Backup{})
	return volFixture{vol: vol.Id, free: free.Id, srv: srv.Id, wsrv: wsrv.Id, snap: snap.Id, bak: bak.Id}
}

const missing = "00000000-0000-4000-8000-000000000000"

func TestVolumeErrors(t *testing.T) {
	e := newEnv(t, twoVolClouds)
	c := e.volumes()
	fx := makeVolFixture(t, e, c)
	east := &canopyv1.Location{Cloud: "east"}
	long := strings.Repeat("x", 200)
	type call func(ctx context.Context) error
	op := func(f func(ctx context.Context) (*canopyv1.Operation, error)) call {
		return func(ctx context.Context) error { _, err := f(ctx); return err }
	}
	cases := []struct {
		name     string
		call     call
		code     codes.Code
		field    string
		mentions []string
	}{
		// INVALID_ARGUMENT, naming the field.
		{"create: no name", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{SizeGib: 1, Location: east})
		}), codes.InvalidArgument, "name", nil},
		{"create: slash in name", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "a/b", SizeGib: 1, Location: east})
		}), codes.InvalidArgument, "name", nil},
		{"create: negative size", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", SizeGib: -1, Location: east})
		}), codes.InvalidArgument, "size_gib", nil},
		{"create: empty without size", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", Location: east})
		}), codes.InvalidArgument, "size_gib", nil},
		{"create: image and snapshot", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", Image: "cirros-0.6.2", Snapshot: fx.snap, Location: east})
		}), codes.InvalidArgument, "snapshot", nil},
		{"create: bad label", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", SizeGib: 1, Location: east, Labels: map[string]string{"Bad": "x"}})
		}), codes.InvalidArgument, "labels[Bad]", nil},
		{"create: long request id", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", SizeGib: 1, Location: east, RequestId: long})
		}), codes.InvalidArgument, "request_id", nil},
		{"create: unknown cloud", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", SizeGib: 1, Location: &canopyv1.Location{Cloud: "mars"}})
		}), codes.InvalidArgument, "location.cloud", []string{"mars"}},
		{"create: no location with two clouds", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", SizeGib: 1})
		}), codes.InvalidArgument, "location", nil},
		{"create: unknown zone", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", SizeGib: 1, Location: &canopyv1.Location{Zone: "z9"}})
		}), codes.InvalidArgument, "location.zone", nil},
		{"create: unknown image", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", Image: "windows-95", Location: east})
		}), codes.InvalidArgument, "image", []string{"windows-95", "east"}},
		{"create: malformed snapshot id", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", Snapshot: "1234abcd-zzzz-zzzz-zzzz-zzzzzzzzzzzz"})
		}), codes.InvalidArgument, "snapshot", nil},
		{"create: smaller than the snapshot", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", Snapshot: fx.snap, SizeGib: 1})
		}), codes.InvalidArgument, "size_gib", []string{"2 GiB"}},
		{"create: snapshot in another cloud", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "x", Snapshot: fx.snap, Location: &canopyv1.Location{Cloud: "west"}})
		}), codes.InvalidArgument, "location.cloud", []string{"east"}},
		{"get: empty id", func(ctx context.Context) error {
			_, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{})
			return err
		},
			codes.InvalidArgument, "id", nil},
		{"get: malformed id", func(ctx context.Context) error {
			_, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: "12345678-1234-1234-1234-12345678"})
			return err
		}, codes.InvalidArgument, "id", nil},
		{"extend: no size", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.ExtendVolume(ctx, &canopyv1.ExtendVolumeRequest{Id: fx.free})
		}), codes.InvalidArgument, "size_gib", nil},
		{"extend: not larger", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.ExtendVolume(ctx, &canopyv1.ExtendVolumeRequest{Id: fx.free, SizeGib: 2})
		}), codes.InvalidArgument, "size_gib", []string{"2 GiB"}},
		{"attach: no server", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: fx.free})
		}), codes.InvalidArgument, "server", nil},
		{"attach: server in another cloud", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: fx.free, Server: fx.wsrv})
		}), codes.InvalidArgument, "server", []string{"west", "east"}},
		{"snapshot: no name", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Volume: fx.free})
		}), codes.InvalidArgument, "name", nil},
		{"snapshot: no volume", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "x"})
		}), codes.InvalidArgument, "volume", nil},
		{"backup: no volume", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: "x"})
		}), codes.InvalidArgument, "volume", nil},
		{"restore: no name", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: fx.bak})
		}), codes.InvalidArgument, "name", nil},
		{"restore: zone of another cloud", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: fx.bak, Name: "r", Zone: "w1"})
		}), codes.InvalidArgument, "zone", []string{"east"}},
		{"restore: smaller than the backup", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: fx.bak, Name: "r", SizeGib: 1})
		}), codes.InvalidArgument, "size_gib", nil},
		{"list: page size", func(ctx context.Context) error {
			_, err := c.vol.ListVolumes(ctx, &canopyv1.ListVolumesRequest{PageSize: -1})
			return err
		}, codes.InvalidArgument, "page_size", nil},
		{"list: page token", func(ctx context.Context) error {
			_, err := c.vol.ListVolumes(ctx, &canopyv1.ListVolumesRequest{PageToken: "garbage"})
			return err
		}, codes.InvalidArgument, "page_token", nil},
		{"list snapshots: volume_id", func(ctx context.Context) error {
			_, err := c.vol.ListSnapshots(ctx, &canopyv1.ListSnapshotsRequest{VolumeId: "vol"})
			return err
		}, codes.InvalidArgument, "volume_id", nil},
		{"list backups: unknown cloud", func(ctx context.Context) error {
			_, err := c.vol.ListBackups(ctx, &canopyv1.ListBackupsRequest{Location: &canopyv1.Location{Cloud: "mars"}})
			return err
		}, codes.InvalidArgument, "location.cloud", nil},
		{"operations: kind", func(ctx context.Context) error {
			_, err := c.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{Kind: "create"})
			return err
		}, codes.InvalidArgument, "kind", nil},
		{"operations: target", func(ctx context.Context) error {
			_, err := c.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{TargetId: "vol"})
			return err
		}, codes.InvalidArgument, "target_id", nil},
		{"operation: name for id", func(ctx context.Context) error {
			_, err := c.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: "vol"})
			return err
		}, codes.InvalidArgument, "id", nil},
		{"wait: negative timeout", func(ctx context.Context) error {
			ops, _ := c.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{PageSize: 1})
			_, err := c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: ops.GetOperations()[0].GetId(), Timeout: durationpb.New(-time.Second)})
			return err
		}, codes.InvalidArgument, "timeout", nil},

		// NOT_FOUND.
		{"get: unknown id", func(ctx context.Context) error {
			_, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: missing})
			return err
		}, codes.NotFound, "", []string{missing}},
		{"get: unknown name", func(ctx context.Context) error {
			_, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: "nope"})
			return err
		}, codes.NotFound, "", []string{"nope"}},
		{"get: a server's id", func(ctx context.Context) error {
			_, err := c.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: fx.srv})
			return err
		}, codes.NotFound, "", nil},
		{"get snapshot: a volume's id", func(ctx context.Context) error {
			_, err := c.vol.GetSnapshot(ctx, &canopyv1.GetSnapshotRequest{Id: fx.free})
			return err
		}, codes.NotFound, "", nil},
		{"get backup: unknown", func(ctx context.Context) error {
			_, err := c.vol.GetBackup(ctx, &canopyv1.GetBackupRequest{Id: missing})
			return err
		}, codes.NotFound, "", nil},
		{"delete: unknown", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: missing})
		}), codes.NotFound, "", nil},
		{"snapshot: unknown volume", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "x", Volume: "ghost"})
		}), codes.NotFound, "", []string{"ghost"}},
		{"attach: unknown server", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: fx.free, Server: missing})
		}), codes.NotFound, "", nil},
		{"restore: unknown backup", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: missing, Name: "r"})
		}), codes.NotFound, "", nil},
		{"operation: unknown", func(ctx context.Context) error {
			_, err := c.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: missing})
			return err
		}, codes.NotFound, "", nil},
		{"cancel: unknown", func(ctx context.Context) error {
			_, err := c.ops.CancelOperation(ctx, &canopyv1.CancelOperationRequest{Id: missing})
			return err
		}, codes.NotFound, "", nil},

		// FAILED_PRECONDITION.
		{"delete: attached", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: fx.vol})
		}), codes.FailedPrecondition, "", []string{"attached", fx.srv, "east"}},
		{"attach: attached elsewhere", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			srv2, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "srv2", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: "east", Zone: "e1"}, Wait: true})
			if err != nil {
				return nil, err
			}
			return c.vol.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: fx.vol, Server: srv2.Id})
		}), codes.FailedPrecondition, "", []string{"detach it first"}},
		{"detach: not attached", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.DetachVolume(ctx, &canopyv1.DetachVolumeRequest{Id: fx.free})
		}), codes.FailedPrecondition, "", []string{"not attached", "east"}},
		{"detach: from another server", op(func(ctx context.Context) (*canopyv1.Operation, error) {
			return c.vol.DetachVolume(ctx, &canopyv1.DetachVolumeRequest{Id: fx.vol, Server: "srv2"})
		}), codes.FailedPrecondition, "", []string{"not attached"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.call(ctxT(t)), tc.code, tc.field, tc.mentions...)
		})
	}

	// A cloud that refuses inside an operation: Cinder keeps a volume with
	// snapshots. The operation ends FAILED_PRECONDITION naming the cloud.
	t.Run("operation: cloud refuses", func(t *testing.T) {
		opr, err := c.vol.DeleteVolume(ctxT(t), &canopyv1.DeleteVolumeRequest{Id: fx.free, Wait: true})
		if err != nil {
			t.Fatal(err)
		}
		if !opr.Done || opr.GetError().GetCode() != int32(codes.FailedPrecondition) || !strings.Contains(opr.GetError().GetMessage(), `cloud "east"`) ||
			opr.GetError().GetReason() != "WRONG_STATE" {
			t.Errorf("operation = %v", opr)
		}
		if _, err := c.vol.GetVolume(ctxT(t), &canopyv1.GetVolumeRequest{Id: fx.free}); err != nil {
			t.Errorf("the refused delete lost the volume: %v", err)
		}
	})
	t.Run("operation: delete unfinished", func(t *testing.T) {
		e.sim("east").InjectFault("ExtendVolume", providers.ErrUnavailable, 3)
		opr, err := c.vol.ExtendVolume(ctxT(t), &canopyv1.ExtendVolumeRequest{Id: fx.free, SizeGib: 9})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ops.DeleteOperation(ctxT(t), &canopyv1.DeleteOperationRequest{Id: opr.Id})
		wantErr(t, err, codes.FailedPrecondition, "", "not done")
		// Too late to cancel (the extend has begun): it completes.
		if got, err := c.ops.CancelOperation(ctxT(t), &canopyv1.CancelOperationRequest{Id: opr.Id}); err != nil || !got.Metadata.CancelRequested {
			t.Errorf("cancel = %v, %v", got, err)
		}
		done := c.ok(t)(opr, nil)
		if v := resultOf(t, done, &canopyv1.Volume{}); v.SizeGib != 9 {
			t.Errorf("extended = %v", v)
		}
	})
	t.Run("another project sees nothing", func(t *testing.T) {
		other := e.volumesAs(mintToken(t, e.srv, "elsewhere", auth.ScopeAdmin))
		ctx := ctxT(t)
		_, err := other.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: fx.vol})
		wantErr(t, err, codes.NotFound, "")
		_, err = other.vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: "vol"})
		wantErr(t, err, codes.NotFound, "")
		list, err := other.vol.ListVolumes(ctx, &canopyv1.ListVolumesRequest{})
		if err != nil || len(list.Volumes) != 0 {
			t.Errorf("other project lists %v, %v", list, err)
		}
		mine, _ := c.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{PageSize: 1})
		_, err = other.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: mine.Operations[0].Id})
		wantErr(t, err, codes.NotFound, "")
		if ops, err := other.ops.ListOperations(ctx, &canopyv1.ListOperationsRequest{}); err != nil || len(ops.Operations) != 0 {
			t.Errorf("other project lists operations %v, %v", ops, err)
		}
		_, err = other.vol.DeleteSnapshot(ctx, &canopyv1.DeleteSnapshotRequest{Id: fx.snap})
		wantErr(t, err, codes.NotFound, "")
	})
}

// AIP-155: the same request id twice is the same operation and the same
// resource; never a second one at the cloud, even when the retries race.
func TestRequestIDIdempotency(t *testing.T) {
	e := newEnv(t, volCloud)
	c := e.volumes()
	ctx := ctxT(t)
	req := &canopyv1.CreateVolumeRequest{Name: "once", SizeGib: 1, RequestId: "req-1"}
	const n = 8
	ops := make([]*canopyv1.Operation, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); ops[i], errs[i] = c.vol.CreateVolume(ctx, req) }()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ops[i].Id != ops[0].Id || ops[i].Metadata.TargetId != ops[0].Metadata.TargetId {
			t.Fatalf("retry %d = %v, %v; want operation %s", i, ops[i], errs[i], ops[0].GetId())
		}
	}
	c.ok(t)(ops[0], nil)
	again, err := c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "once", SizeGib: 1, RequestId: "req-1", Wait: true})
	if err != nil || again.Id != ops[0].Id || !again.Done {
		t.Errorf("after completion: %v, %v", again, err)
	}
	if got := e.sim("local").VolumeCount(); got != 1 {
		t.Errorf("%d volumes at the cloud, want 1", got)
	}
	_, err = c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "other", SizeGib: 1, RequestId: "req-1"})
	wantErr(t, err, codes.InvalidArgument, "request_id", ops[0].Id)
	_, err = c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: ops[0].Metadata.TargetId, RequestId: "req-1"})
	wantErr(t, err, codes.InvalidArgument, "request_id")
	// A delete replayed after it finished answers the same, though the
	// volume is gone by then.
	del := c.ok(t)(c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: ops[0].Metadata.TargetId, RequestId: "req-2", Wait: true}))
	if again, err := c.vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: ops[0].Metadata.TargetId, RequestId: "req-2"}); err != nil || again.Id != del.Id {
		t.Errorf("replayed delete = %v, %v", again, err)
	}
}

// Transient cloud failures are retried with backoff; each create reaches
// the cloud with the same token, so the retries make one volume.
func TestTransientRetries(t *testing.T) {
	e := newEnv(t, volCloud)
	c := e.volumes()
	ctx := ctxT(t)
	e.sim("local").InjectFault("CreateVolume", providers.ErrUnavailable, 2)
	op := c.ok(t)(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "flaky", SizeGib: 1, Wait: true}))
	if calls := e.sim("local").Calls("CreateVolume"); calls != 3 {
		t.Errorf("CreateVolume called %d times, want 3", calls)
	}
	if n := e.sim("local").VolumeCount(); n != 1 {
		t.Errorf("%d volumes, want 1", n)
	}
	if op.Metadata.Attempts != 0 {
		t.Errorf("attempts after success = %d", op.Metadata.Attempts)
	}
}

// A server restarted in the middle of operations resumes them: the
// operations finish and the ids stay. The volume takes an hour to create,
// until the test ends its transition once the new server runs: canopy is
// stopped while it waits, whatever the machine's load.
func TestResumeAfterRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, `
clouds:
  - name: local
    kind: sim
    options: {volume_delay: 1h, persist: true}
`)
	cfg.DataDir = dir
	st := mustBolt(t, dir)
	defer st.Close()
	e := startEnv(t, cfg, st)
	c := e.volumes()
	ctx := ctxT(t)
	op, err := c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "survivor", SizeGib: 1})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the create waiting for the cloud", func() bool { // stop while it waits
		got, _ := c.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: op.Id})
		return got.GetMetadata().GetStep() == "wait"
	})
	e.stop()
	if got, err := st.GetOperation(ctx, op.Id); err != nil || got.Done {
		t.Fatalf("after stop: %+v, %v; want unfinished", got, err)
	}

	e2 := startEnv(t, cfg, st)
	c2 := e2.volumes()
	if n := e2.sim("local").FinishVolumeTransitions(); n != 1 {
		t.Fatalf("%d volumes in transition at the cloud after the restart, want the one being created", n)
	}
	got, err := c2.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id})
	if err != nil || !got.Done || got.GetError() != nil {
		t.Fatalf("resumed = %v, %v", got, err)
	}
	vol := resultOf(t, got, &canopyv1.Volume{})
	if vol.Id != op.Metadata.TargetId || vol.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Errorf("volume = %v", vol)
	}
	if n := e2.sim("local").VolumeCount(); n != 1 {
		t.Errorf("%d volumes at the cloud, want 1", n)
	}
}
