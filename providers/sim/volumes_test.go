package sim_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// Every block-storage switch the simulator has must still pass the
// conformance suite's Volumes section: it skips (with a reason) what the
// switch takes away and checks the rest, including that a missing
// volume-from-image refuses cleanly. (The whole suite runs on the default
// simulator in sim_test.go.)
func TestConformanceVolumeSwitches(t *testing.T) {
	for name, vo := range map[string]sim.VolumeOptions{
		"no_volumes":           {NoVolumes: true},
		"no_snapshots":         {NoSnapshots: true},
		"no_backups":           {NoBackups: true},
		"no_volume_from_image": {NoVolumeFromImage: true},
		"no_volume_data":       {NoVolumeData: true},
		"async_snapshot_ids":   {AsyncSnapshotIDs: true, SnapshotJobDelay: 20 * time.Millisecond},
		"slow":                 {VolumeDelay: 20 * time.Millisecond, SnapshotDelay: 20 * time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			providertest.RunVolumeTests(t, harness{sim.Options{Seed: 3, VolumeOptions: vo}})
		})
	}
}

func TestCapabilitiesFollowSwitches(t *testing.T) {
	all := providers.Capabilities(sim.New(sim.Options{}))
	want := []string{"backups", "compute", "keypairs", "snapshots", "volume-data", "volume-from-image", "volumes"}
	for _, w := range want {
		if !contains(all, w) {
			t.Errorf("Capabilities = %v, missing %s", all, w)
		}
	}
	none := providers.Capabilities(sim.New(sim.Options{VolumeOptions: sim.VolumeOptions{NoVolumes: true}}))
	for _, c := range []string{"volumes", "snapshots", "backups", "volume-data", "volume-from-image"} {
		if contains(none, c) {
			t.Errorf("no_volumes: Capabilities = %v still lists %s", none, c)
		}
	}
	some := sim.New(sim.Options{VolumeOptions: sim.VolumeOptions{NoSnapshots: true, NoVolumeFromImage: true}})
	if providers.Has(some, providers.CapSnapshots) || providers.Has(some, providers.CapVolumeFromImage) || !providers.Has(some, providers.CapBackups) {
		t.Errorf("Has does not follow the switches: %v", providers.Capabilities(some))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestVolumeStateRules(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{VolumeOptions: sim.VolumeOptions{NoSnapshots: true}})
	v, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "v", SizeGiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSnapshot(ctx, providers.SnapshotSpec{VolumeID: v.NativeID}); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("snapshot with no_snapshots: %v, want ErrUnsupported", err)
	}
	if _, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "x", SizeGiB: 1, ImageID: "nope"}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("volume from a missing image: %v, want ErrInvalid", err)
	}
	if _, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "x", SizeGiB: 0, ImageID: "img-debian12"}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("volume smaller than its image: %v, want ErrInvalid", err)
	}
	if _, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "x", SizeGiB: 1, Zone: "mars"}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("volume in an unknown zone: %v, want ErrInvalid", err)
	}
	// A deleted server's attachments go away, as Nova detaches on delete.
	srv, err := c.CreateServer(ctx, providers.ServerSpec{Name: "s", FlavorID: "1", ImageID: "img-cirros", Zone: v.Zone})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AttachVolume(ctx, v.NativeID, srv.NativeID); err != nil {
		t.Fatal(err)
	}
	if err := c.AttachVolume(ctx, v.NativeID, srv.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("attach twice: %v, want ErrConflict", err)
	}
	if err := c.DeleteServer(ctx, srv.NativeID); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetVolume(ctx, v.NativeID)
	if err != nil || len(got.Attachments) != 0 || got.ProviderStatus != "available" {
		t.Errorf("volume of a deleted server = %+v, %v; want available, no attachments", got, err)
	}
}

func TestBootFromVolumeAndRootVolumes(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{VolumeOptions: sim.VolumeOptions{NoVolumeFromImage: true}})
	// EC2-style: no volume from an image, but a server from an image gets
	// a root volume of the size asked for.
	srv, err := c.CreateServer(ctx, providers.ServerSpec{Name: "s", FlavorID: "1", ImageID: "img-cirros", RootVolumeGiB: 3, IdempotencyToken: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if srv.RootVolumeID == "" {
		t.Fatalf("server = %+v: no root volume", srv)
	}
	root, err := c.GetVolume(ctx, srv.RootVolumeID)
	if err != nil || root.SizeGiB != 3 || root.ImageID != "img-cirros" || !root.Bootable || len(root.Attachments) != 1 {
		t.Fatalf("root volume = %+v, %v", root, err)
	}
	again, _ := c.CreateServer(ctx, providers.ServerSpec{Name: "s", FlavorID: "1", ImageID: "img-cirros", RootVolumeGiB: 3, IdempotencyToken: "t1"})
	if again.RootVolumeID != srv.RootVolumeID || c.VolumeCount() != 1 {
		t.Errorf("retried create made another root volume: %s vs %s (%d volumes)", again.RootVolumeID, srv.RootVolumeID, c.VolumeCount())
	}

	// Cinder-style: boot from a bootable volume.
	c2 := sim.New(sim.Options{})
	v, err := c2.CreateVolume(ctx, providers.VolumeSpec{Name: "boot", SizeGiB: 1, ImageID: "img-cirros"})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c2.CreateServer(ctx, providers.ServerSpec{Name: "s", FlavorID: "1", BootVolumeID: v.NativeID})
	if err != nil || s2.RootVolumeID != v.NativeID || s2.ImageID != "img-cirros" {
		t.Fatalf("boot from volume = %+v, %v", s2, err)
	}
	empty, _ := c2.CreateVolume(ctx, providers.VolumeSpec{Name: "empty", SizeGiB: 1})
	if _, err := c2.CreateServer(ctx, providers.ServerSpec{Name: "s", FlavorID: "1", BootVolumeID: empty.NativeID}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("boot from an empty volume: %v, want ErrInvalid", err)
	}
	if _, err := c2.CreateServer(ctx, providers.ServerSpec{Name: "s", FlavorID: "1", BootVolumeID: v.NativeID}); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("boot from a volume in use: %v, want ErrConflict", err)
	}
}

func TestVolumesPersist(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/sim-v.json"
	a := sim.New(sim.Options{Seed: 9, StatePath: path, VolumeOptions: sim.VolumeOptions{AsyncSnapshotIDs: true, SnapshotJobDelay: time.Hour}})
	v, err := a.CreateVolume(ctx, providers.VolumeSpec{Name: "keep", SizeGiB: 2, IdempotencyToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WriteVolumeData(ctx, v.NativeID, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	snap, err := a.CreateSnapshot(ctx, providers.SnapshotSpec{VolumeID: v.NativeID, IdempotencyToken: "s"})
	if err != nil || snap.JobID == "" {
		t.Fatalf("async snapshot = %+v, %v", snap, err)
	}
	b := sim.New(sim.Options{Seed: 9, StatePath: path, VolumeOptions: sim.VolumeOptions{AsyncSnapshotIDs: true, SnapshotJobDelay: time.Hour}})
	got, err := b.GetVolume(ctx, v.NativeID)
	if err != nil || got.Name != "keep" || got.SizeGiB != 2 {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	if r, err := b.ReadVolumeData(ctx, v.NativeID); err != nil {
		t.Errorf("data after restart: %v", err)
	} else if data, err := io.ReadAll(r); err != nil || string(data) != "hello" {
		t.Errorf("data after restart = %q, %v", data, err)
	}
	again, err := b.CreateVolume(ctx, providers.VolumeSpec{Name: "keep", SizeGiB: 2, IdempotencyToken: "tok"})
	if err != nil || again.NativeID != v.NativeID {
		t.Errorf("token forgotten across restart: %s vs %s (%v)", again.NativeID, v.NativeID, err)
	}
	if id, err := b.SnapshotJob(ctx, snap.JobID); err != nil || id != "" {
		t.Errorf("job after restart = %q, %v; want still running", id, err)
	}
	if b.SnapshotCount() != 1 || b.VolumeCount() != 1 {
		t.Errorf("counts after restart: %d snapshots, %d volumes", b.SnapshotCount(), b.VolumeCount())
	}
	// A test ends the hour-long job at once; it then tells the snapshot,
	// and ending it is saved with the rest of the state.
	if n := b.FinishSnapshotJobs(); n != 1 {
		t.Fatalf("FinishSnapshotJobs ended %d jobs, want 1", n)
	}
	if n := b.FinishSnapshotJobs(); n != 0 {
		t.Errorf("FinishSnapshotJobs ended %d jobs a second time, want 0", n)
	}
	c := sim.New(sim.Options{Seed: 9, StatePath: path, VolumeOptions: sim.VolumeOptions{AsyncSnapshotIDs: true, SnapshotJobDelay: time.Hour}})
	id, err := c.SnapshotJob(ctx, snap.JobID)
	if err != nil || id == "" {
		t.Fatalf("finished job = %q, %v; want the snapshot's id", id, err)
	}
	if s, err := c.GetSnapshot(ctx, id); err != nil || s.VolumeID != v.NativeID {
		t.Errorf("the finished job's snapshot = %+v, %v; want one of volume %s", s, err, v.NativeID)
	}
}

func TestParseVolumeOptions(t *testing.T) {
	o, err := sim.ParseOptions(map[string]any{"no_snapshots": true, "async_snapshot_ids": true, "volume_delay": "1s", "snapshot_job_delay": "2s"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.NoSnapshots || !o.AsyncSnapshotIDs || o.VolumeDelay != time.Second || o.SnapshotJobDelay != 2*time.Second {
		t.Errorf("ParseOptions = %+v", o.VolumeOptions)
	}
	if _, err := sim.ParseOptions(map[string]any{"volume_delay": 3}); err == nil {
		t.Errorf("volume_delay 3: no error")
	}
}

// A test ends an hour-long volume transition at once, and only the ones in
// flight.
func TestFinishVolumeTransitions(t *testing.T) {
	ctx := context.Background()
	c := sim.New(sim.Options{VolumeOptions: sim.VolumeOptions{VolumeDelay: time.Hour}})
	v, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "slow", SizeGiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetVolume(ctx, v.NativeID); err != nil || got.Status != providers.StatusPending {
		t.Fatalf("volume before = %+v, %v; want pending for an hour", got, err)
	}
	if n := c.FinishVolumeTransitions(); n != 1 {
		t.Fatalf("FinishVolumeTransitions ended %d, want 1", n)
	}
	if got, err := c.GetVolume(ctx, v.NativeID); err != nil || got.Status != providers.StatusActive || got.ProviderStatus != "available" {
		t.Errorf("volume after = %+v, %v; want available", got, err)
	}
	if n := c.FinishVolumeTransitions(); n != 0 {
		t.Errorf("FinishVolumeTransitions ended %d with none in flight, want 0", n)
	}
}
