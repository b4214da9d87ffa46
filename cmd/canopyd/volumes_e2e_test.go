package main

import (
	"context"
	"testing"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// Volumes, snapshots and operations end to end: REST and gRPC on one
// canopyd process, the same ids across a restart, the operation's result
// readable as JSON with its type.
func TestVolumesOverRESTAndGRPCAcrossRestart(t *testing.T) {
	data := t.TempDir()
	cfg := canopydtest.WriteConfig(t, `
clouds:
  - name: local
    kind: sim
    zones: [local-1a]
    options: {volume_delay: 50ms, snapshot_delay: 50ms, persist: true, no_backups: true}
wait:
  min_interval: 10ms
  max_interval: 100ms
`)
	d := canopydtest.Start(t, data, "--config", cfg)
	code, op := d.REST("POST", "/v1/volumes", map[string]any{"name": "data", "size_gib": 3, "wait": true, "request_id": "e2e-1",
		"labels": map[string]string{"app": "db"}})
	if code != 200 || op["done"] != true {
		t.Fatalf("REST create = %d %v\n%s", code, op, d.Logs())
	}
	resp, _ := op["response"].(map[string]any)
	if resp["@type"] != "type.googleapis.com/canopy.v1.Volume" || resp["size_gib"] != "3" || resp["status"] != "STATUS_ACTIVE" {
		t.Fatalf("operation response = %v", resp)
	}
	id := resp["id"].(string)
	meta := op["metadata"].(map[string]any)
	if meta["target_id"] != id || meta["kind"] != "volume.create" || meta["request_id"] != "e2e-1" {
		t.Errorf("metadata = %v", meta)
	}
	// The same request id over REST again: the same operation.
	if code, again := d.REST("POST", "/v1/volumes", map[string]any{"name": "data", "size_gib": 3, "request_id": "e2e-1", "labels": map[string]string{"app": "db"}}); code != 200 || again["id"] != op["id"] {
		t.Errorf("replayed create = %d %v, want operation %v", code, again, op["id"])
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vol := canopyv1.NewVolumeServiceClient(d.Conn)
	ops := canopyv1.NewOperationServiceClient(d.Conn)
	got, err := vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: "data"})
	if err != nil || got.Id != id || got.Labels["app"] != "db" {
		t.Fatalf("gRPC get = %v, %v", got, err)
	}
	// An emulated backup (this cloud has none), left running into a stop.
	bop, err := vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: "nightly", Volume: id, Wait: true})
	if err != nil || !bop.Done || bop.GetError() != nil {
		t.Fatalf("backup = %v, %v", bop, err)
	}
	snapOp, err := vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: "snap", Volume: id})
	if err != nil {
		t.Fatal(err)
	}
	d.Stop()

	d = canopydtest.Start(t, data, "--config", cfg)
	vol, ops = canopyv1.NewVolumeServiceClient(d.Conn), canopyv1.NewOperationServiceClient(d.Conn)
	done, err := ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: snapOp.Id})
	if err != nil || !done.Done || done.GetError() != nil {
		t.Fatalf("snapshot after restart = %v, %v\n%s", done, err, d.Logs())
	}
	if got, err := vol.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: id}); err != nil || got.NativeId == "" {
		t.Errorf("volume after restart = %v, %v", got, err)
	}
	code, b := d.REST("GET", "/v1/backups/nightly", nil)
	if code != 200 || b["emulated"] != true || b["volume_id"] != id {
		t.Errorf("REST backup after restart = %d %v", code, b)
	}
	code, list := d.REST("GET", "/v1/operations?page_size=10", nil)
	if code != 200 || len(list["operations"].([]any)) != 3 {
		t.Errorf("REST operations = %d %v", code, list)
	}
	code, gone := d.REST("GET", "/v1/volumes/00000000-0000-4000-8000-000000000000", nil)
	if code != 404 {
		t.Errorf("REST get of a missing volume = %d %v", code, gone)
	}
	code, bad := d.REST("POST", "/v1/volumes", map[string]any{"name": "x"})
	if code != 400 {
		t.Errorf("REST create without a size = %d %v", code, bad)
	}
}
