package main

// Image replication survives a crash: canopyd is killed (SIGKILL at the
// failpoint just after the first target's step acted, before its outcome
// is recorded), restarted on the same data dir, and the operation resumes
// at that step. The replica the killed process made is found again (its
// placement was recorded when it was made), so the target holds one
// replica, not two, and the second target is placed.

import (
	"context"
	"testing"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

func TestReplicateImageCrash(t *testing.T) {
	data := t.TempDir()
	cfg := canopydtest.WriteConfig(t, `
clouds:
  - name: src
    kind: sim
    zones: [src-1]
    options: {persist: true}
  - name: qc
    kind: sim
    zones: [qc-1]
    options: {persist: true}
    disk_formats: {preferred: qcow2, accepted: [qcow2]}
  - name: any
    kind: sim
    zones: [any-1]
    options: {persist: true}
`)
	d := canopydtest.StartEnv(t, data, []string{"CANOPY_FAILPOINTS=image.replicate/place:after"}, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img := canopyv1.NewImageTransferServiceClient(d.Conn)
	st, err := img.UploadImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	disk := make([]byte, 1<<20)
	for i := 0; i < len(disk); i += 4096 {
		copy(disk[i:], "crash test block")
	}
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: &canopyv1.ImageUploadHeader{
		Name: "disk", Location: &canopyv1.Location{Cloud: "src"}, DiskFormat: "raw"}}})
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: disk}})
	im, err := st.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	req := &canopyv1.ReplicateImageRequest{Image: im.Id, Clouds: []string{"qc", "any"}, RequestId: "crash-1"}
	_, _ = img.ReplicateImage(ctx, req) // the answer may not come: canopyd dies at the first step's end
	if _, exited := d.WaitExit(time.Minute); !exited {
		t.Fatalf("canopyd did not die at image.replicate/place:after\n%s", d.Logs())
	}

	d2 := canopydtest.Start(t, data, "--config", cfg)
	img2 := canopyv1.NewImageTransferServiceClient(d2.Conn)
	op, err := img2.ReplicateImage(ctx, req) // the same request: the same operation, resumed
	if err != nil {
		t.Fatal(err)
	}
	ops := canopyv1.NewOperationServiceClient(d2.Conn)
	for !op.Done {
		if op, err = ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id}); err != nil {
			t.Fatal(err)
		}
	}
	if e := op.GetError(); e != nil {
		t.Fatalf("resumed replication failed: %v\n%s", e, d2.Logs())
	}
	stages := op.GetMetadata().GetStages()
	if len(stages) != 2 || stages[0].State != "reused" || stages[1].State != "done" {
		t.Errorf("stages after the restart: %v (want qc reused: its replica was made before the crash; any done)", stages)
	}
	compute := canopyv1.NewComputeServiceClient(d2.Conn)
	list, err := compute.ListImages(ctx, &canopyv1.ListImagesRequest{Location: &canopyv1.Location{Cloud: "qc"}, Name: "disk"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Images) != 1 || list.Images[0].DiskFormat != "qcow2" {
		t.Errorf("cloud qc holds %d images named disk (%v), want one qcow2 replica", len(list.Images), list.Images)
	}
}
