package server

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// Operations a canopyd before emulate.Storage recorded — the emulated mode
// in their spec, stopped at the steps that mode took — resume and finish
// with what they would have made: a data copy at "copy", the copy's bytes
// in the volume at "fill", an empty volume made from an emulated copy at
// "wait" filled next, and a restore not yet provisioned.
func TestOperationsRecordedWithTheEmulatedModeResume(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, `
clouds:
  - name: emu
    kind: sim
    zones: [m1]
    options: {no_snapshots: true, no_backups: true, persist: true, `+fastVolumes+`}
`)
	cfg.DataDir = dir
	st := mustBolt(t, dir)
	t.Cleanup(func() { st.Close() })
	ctx := ctxT(t)

	// What the older canopyd made before it stopped: a volume with data,
	// an emulated snapshot and backup of it, and two empty volumes its
	// provision steps made from them.
	e := startEnv(t, cfg, st)
	c := e.volumes()
	data := []byte("the data the copies hold")
	src := e.volumeWith(t, c, "emu", "src", data)
	snap := resultOf(t, c.ok(t)(c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "s", Volume: src.Id, Wait: true})), &canopyv1.Snapshot{})
	bak := resultOf(t, c.ok(t)(c.vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: "b", Volume: src.Id, Wait: true})), &canopyv1.Backup{})
	if !snap.Emulated || !bak.Emulated {
		t.Fatalf("copies not emulated: %v, %v", snap, bak)
	}
	empty := func(name string) string {
		v, err := e.sim("emu").CreateVolume(ctx, providers.VolumeSpec{Name: name, Zone: "m1", SizeGiB: 1, IdempotencyToken: name})
		if err != nil {
			t.Fatal(err)
		}
		return v.NativeID
	}
	atFill, atWait := empty("at-fill"), empty("at-wait")
	e.stop()

	old := func(kind, step string, spec jobSpec, native string) store.Operation {
		t.Helper()
		spec.Mode = emulate.ModeEmulated
		raw, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		target := store.NewID()
		mk := providers.KindVolume
		if kind == opSnapshotCreate {
			mk = providers.KindSnapshot
		}
		if _, _, err := st.Reserve(ctx, store.Mapping{ID: target, Cloud: "emu", Kind: mk, Project: "default"}); err != nil {
			t.Fatal(err)
		}
		state := map[string]string{}
		if native != "" {
			if _, err := st.Bind(ctx, target, native); err != nil {
				t.Fatal(err)
			}
			state["native"] = native
		}
		op, _, err := st.CreateOperation(ctx, store.Operation{Project: "default", Kind: kind, Cloud: "emu", TargetID: target, Spec: raw})
		if err != nil {
			t.Fatal(err)
		}
		op.Step, op.State = step, state
		if op, err = st.UpdateOperation(ctx, op); err != nil {
			t.Fatal(err)
		}
		return op
	}
	fromSnap := jobSpec{Name: "v", Zone: "m1", SizeGiB: 1, SnapshotID: snap.Id, SnapshotNative: snap.NativeId}
	fromBak := jobSpec{Name: "r", Zone: "m1", SizeGiB: 1, BackupID: bak.Id, BackupNative: bak.NativeId}
	copyOp := old(opSnapshotCreate, "copy", jobSpec{Name: "old-copy", VolumeID: src.Id, VolumeNative: src.NativeId, SizeGiB: 1}, "")
	fillOp := old(opVolumeCreate, "fill", fromSnap, atFill)
	waitOp := old(opBackupRestore, "wait", fromBak, atWait)
	provOp := old(opVolumeCreate, "provision", fromSnap, "")

	e2 := startEnv(t, cfg, st)
	c2 := e2.volumes()
	done := func(op store.Operation) *canopyv1.Operation {
		t.Helper()
		got, err := c2.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.ID})
		if err != nil || !got.Done || got.GetError() != nil {
			t.Fatalf("%s at %s resumed = %v, %v", op.Kind, op.Step, got, err)
		}
		return got
	}
	s := resultOf(t, done(copyOp), &canopyv1.Snapshot{})
	if !s.Emulated || s.NativeId != emulate.EmulatedID(providers.KindSnapshot, copyOp.TargetID) || s.Id != copyOp.TargetID {
		t.Errorf("old copy = %v", s)
	}
	restored := resultOf(t, c2.ok(t)(c2.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "check", Snapshot: s.Id, Wait: true})), &canopyv1.Volume{})
	for _, v := range []*canopyv1.Volume{restored,
		resultOf(t, done(fillOp), &canopyv1.Volume{}), resultOf(t, done(waitOp), &canopyv1.Volume{}), resultOf(t, done(provOp), &canopyv1.Volume{})} {
		if v.Status != canopyv1.Status_STATUS_ACTIVE {
			t.Errorf("volume %s (%s) = %v", v.Id, v.Name, v.Status)
		}
		if got := e2.dataOf(t, "emu", v.NativeId); !bytes.Equal(got, data) {
			t.Errorf("volume %s (%s) holds %q, want %q", v.Id, v.Name, got, data)
		}
	}
	// Nothing made twice: the source, the volume made from the old copy,
	// and the three restores' volumes.
	if n := e2.sim("emu").VolumeCount(); n != 5 {
		t.Errorf("%d volumes at the cloud, want 5", n)
	}
}
