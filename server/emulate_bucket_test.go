package server

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/canopy-cloud/canopy/emulate"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
)

// Clouds whose emulated copies keep their bytes in a bucket of another
// cloud (backup_bucket), one of them pointing at a bucket that is missing.
const bucketClouds = `
clouds:
  - name: nobak
    kind: sim
    zones: [b1]
    backup_bucket: store/emu-copies
    options: {no_backups: true, no_snapshots: true, ` + fastVolumes + `}
  - name: store
    kind: sim
    zones: [s1]
  - name: lost
    kind: sim
    zones: [l1]
    backup_bucket: store/no-such-bucket
    options: {no_backups: true, ` + fastVolumes + `}
`

func TestEmulatedCopiesInABucket(t *testing.T) {
	e := newEnv(t, bucketClouds)
	c := e.volumes()
	ok := c.ok(t)
	ctx := ctxT(t)
	store := e.sim("store")
	if _, err := store.CreateBucket(ctx, "emu-copies", "", nil); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("kept in a bucket "), 500)
	src := e.volumeWith(t, c, "nobak", "src", data)

	bak := resultOf(t, ok(c.vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: "bb", Volume: src.Id, Wait: true})), &canopyv1.Backup{})
	snap := resultOf(t, ok(c.vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "bs", Volume: src.Id, Wait: true})), &canopyv1.Snapshot{})
	if !bak.Emulated || !snap.Emulated {
		t.Fatalf("backup %v, snapshot %v: want both emulated", bak, snap)
	}
	// The bytes are objects in store's bucket, not records in canopy's store.
	for kind, native := range map[string]string{providers.KindBackup: bak.NativeId, providers.KindSnapshot: snap.NativeId} {
		key := emulate.DataKey("nobak", kind, native)
		ob, err := store.HeadObject(ctx, "emu-copies", key)
		if err != nil || ob.Size != int64(len(data)) || ob.SHA256 == "" {
			t.Errorf("%s %s: object %s = %+v, %v: want %d bytes with a sha256", kind, native, key, ob, err, len(data))
		}
		if _, err := e.st.GetRecord(ctx, emulate.NSData, "nobak/"+kind+"/"+native); err == nil {
			t.Errorf("%s %s: bytes also kept in canopy's store", kind, native)
		}
	}

	// Restores read them back.
	rv := resultOf(t, ok(c.vol.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: bak.Id, Name: "restored", Wait: true})), &canopyv1.Volume{})
	if got := e.dataOf(t, "nobak", rv.NativeId); !bytes.Equal(got, data) {
		t.Errorf("restored %d bytes, not the backup's %d", len(got), len(data))
	}
	fv := resultOf(t, ok(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "from-snap", SizeGib: 1, Snapshot: snap.Id, Wait: true})), &canopyv1.Volume{})
	if got := e.dataOf(t, "nobak", fv.NativeId); !bytes.Equal(got, data) {
		t.Errorf("volume from the snapshot has %d bytes, not the snapshot's %d", len(got), len(data))
	}

	// Bytes that rot in the bucket are caught on restore.
	if err := store.CorruptObject("emu-copies", emulate.DataKey("nobak", providers.KindBackup, bak.NativeId)); err != nil {
		t.Fatal(err)
	}
	op, err := c.vol.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: bak.Id, Name: "rotten", Wait: true})
	wantOpError(t, c, op, err, codes.DataLoss, "sha256")

	// Deleting a copy deletes its object.
	ok(c.vol.DeleteBackup(ctx, &canopyv1.DeleteBackupRequest{Id: bak.Id, Wait: true}))
	ok(c.vol.DeleteSnapshot(ctx, &canopyv1.DeleteSnapshotRequest{Id: snap.Id, Wait: true}))
	page, err := store.ListObjects(ctx, "emu-copies", providers.ListObjectsOptions{Prefix: "canopy-emulated/"})
	if err != nil || len(page.Objects) != 0 {
		t.Errorf("objects left after the copies were deleted: %+v, %v", page.Objects, err)
	}

	// A backup_bucket that does not exist fails the backup, naming it, and
	// leaves no backup behind.
	lsrc := e.volumeWith(t, c, "lost", "lsrc", data)
	op, err = c.vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: "nowhere", Volume: lsrc.Id, Wait: true})
	wantOpError(t, c, op, err, codes.FailedPrecondition, "backup_bucket store/no-such-bucket")
	list, err := c.vol.ListBackups(ctx, &canopyv1.ListBackupsRequest{Location: &canopyv1.Location{Cloud: "lost"}})
	if err != nil || len(list.Backups) != 0 {
		t.Errorf("backups after the failed one: %v, %v", list.GetBackups(), err)
	}
}

// wantOpError waits for op and checks it failed with code, mentioning want.
func wantOpError(t *testing.T, c vclients, op *canopyv1.Operation, err error, code codes.Code, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("operation call: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	for !op.Done {
		if op, err = c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id}); err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatalf("operation did not end: %v", err)
			}
		}
	}
	oe := op.GetError()
	if oe == nil || codes.Code(oe.Code) != code || !strings.Contains(oe.Message, want) {
		t.Fatalf("operation %s (%s) = %v: want %s mentioning %q", op.Id, op.Metadata.GetKind(), op.GetResult(), code, want)
	}
}
