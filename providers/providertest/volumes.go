package providertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// The Volumes section: block storage, snapshots, snapshot jobs, backups and
// volume data. Each part runs only when the adapter has the capability
// (providers.Has) and says so with a skip when it does not: canopy emulates
// what is missing, so a missing capability is not a failure, but it must
// never pass silently.

// RunVolumeTests runs the Volumes section alone (RunConformanceTests runs
// it with everything else): for adapter variants that differ only in block
// storage, such as the simulator's switches.
func RunVolumeTests(t *testing.T, h Harness) {
	ctx := context.Background()
	p := h.MakeProvider(ctx, t)
	t.Cleanup(func() { _ = p.Close() })
	fx := h.Fixture()
	fx.defaults()
	s := &suite{p: p, fx: fx}
	s.c, _ = p.(providers.Compute)
	t.Run("Volumes", s.testVolumes)
}

func (s *suite) testVolumes(t *testing.T) {
	if !providers.Has(s.p, providers.CapVolumes) {
		t.Skip("adapter has no Volumes capability (providers.Has(volumes) is false): volume tests not run")
	}
	s.v = s.p.(providers.Volumes)
	t.Run("Lifecycle", s.testVolumeLifecycle)
	t.Run("Errors", s.testVolumeErrors)
	t.Run("Attach", s.testVolumeAttach)
	t.Run("FromImage", s.testVolumeFromImage)
	t.Run("Snapshots", s.testSnapshots)
	t.Run("Backups", s.testBackups)
	t.Run("Data", s.testVolumeData)
}

// poll calls get until cond holds or the fixture's timeout passes.
func poll[T any](t *testing.T, s *suite, what string, get func() (T, error), cond func(T, error) bool) T {
	t.Helper()
	deadline := time.Now().Add(s.fx.WaitTimeout)
	for {
		v, err := get()
		if cond(v, err) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %s after %s (last: %+v, %v)", what, s.fx.WaitTimeout, v, err)
		}
		time.Sleep(s.fx.Poll)
	}
}

func (s *suite) waitVolume(t *testing.T, id, what string, cond func(providers.Volume, error) bool) providers.Volume {
	t.Helper()
	return poll(t, s, "volume "+id+" "+what, func() (providers.Volume, error) { return s.v.GetVolume(context.Background(), id) },
		func(v providers.Volume, err error) bool {
			if err == nil && v.Status == providers.StatusError {
				t.Fatalf("volume %s went to ERROR waiting for %s: %s", id, what, v.StatusMessage)
			}
			return cond(v, err)
		})
}

func volumeIs(raw ...string) func(providers.Volume, error) bool {
	return func(v providers.Volume, err error) bool {
		if err != nil || v.Status != providers.StatusActive {
			return false
		}
		for _, r := range raw {
			if v.ProviderStatus == r {
				return true
			}
		}
		return len(raw) == 0
	}
}

func gone[T any](_ T, err error) bool { return errors.Is(err, providers.ErrNotFound) }

// newVolume creates an empty 1 GiB volume, deleted at cleanup.
func (s *suite) newVolume(t *testing.T, what string) providers.Volume {
	t.Helper()
	name := s.name(t, what)
	v, err := s.v.CreateVolume(context.Background(), providers.VolumeSpec{Name: name, Zone: s.fx.Zone, SizeGiB: 1, IdempotencyToken: name,
		Labels: map[string]string{"suite": "providertest"}})
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	t.Cleanup(func() { s.deleteVolume(v.NativeID) })
	return s.waitVolume(t, v.NativeID, "available", volumeIs())
}

// deleteVolume deletes a volume at cleanup, detaching it and deleting its
// snapshots first where the cloud insists.
func (s *suite) deleteVolume(id string) {
	ctx := context.Background()
	deadline := time.Now().Add(s.fx.WaitTimeout)
	for time.Now().Before(deadline) {
		err := s.v.DeleteVolume(ctx, id)
		if err == nil || errors.Is(err, providers.ErrNotFound) {
			return
		}
		time.Sleep(s.fx.Poll)
	}
}

func (s *suite) testVolumeLifecycle(t *testing.T) {
	ctx := context.Background()
	name := s.name(t, "vol")
	spec := providers.VolumeSpec{Name: name, Zone: s.fx.Zone, SizeGiB: 1, Description: "conformance", IdempotencyToken: name,
		Labels: map[string]string{"suite": "providertest", "run": name}}
	v, err := s.v.CreateVolume(ctx, spec)
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	id := v.NativeID
	t.Cleanup(func() { s.deleteVolume(id) })
	if id == "" || v.Name != name || v.SizeGiB != 1 {
		t.Fatalf("CreateVolume = %+v: want an id, name %s, 1 GiB", v, name)
	}
	if v.Status != providers.StatusPending && v.Status != providers.StatusActive {
		t.Errorf("CreateVolume status = %v (raw %q), want PENDING or ACTIVE", v.Status, v.ProviderStatus)
	}
	// The same token again is the same volume, never a second one.
	again, err := s.v.CreateVolume(ctx, spec)
	if err != nil || again.NativeID != id {
		t.Errorf("CreateVolume with the same token = %s, %v; want %s again", again.NativeID, err, id)
	}
	list, err := s.v.ListVolumes(ctx)
	if err != nil {
		t.Fatalf("ListVolumes: %v", err)
	}
	n := 0
	for _, lv := range list {
		if lv.Name == name {
			n++
		}
	}
	if n != 1 {
		t.Errorf("ListVolumes lists %d volumes named %s, want 1", n, name)
	}
	v = s.waitVolume(t, id, "available", volumeIs())
	if v.Labels["run"] != name || v.Created.IsZero() || v.ProviderStatus == "" || len(v.Attachments) != 0 {
		t.Errorf("volume = %+v: want labels, a creation time, a provider status and no attachments", v)
	}

	if why := s.fx.VolumeUnsupported[UnsupportedVolExtend]; why != "" {
		if err := s.v.ExtendVolume(ctx, id, 2); !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("ExtendVolume on a cloud that cannot (%s): err = %v, want ErrUnsupported", why, err)
		}
		if err := s.v.ExtendVolume(ctx, id, 0); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("ExtendVolume to a smaller size: err = %v, want ErrInvalid", err)
		}
		t.Logf("extend not checked beyond its refusal: %s", why)
	} else {
		if err := s.v.ExtendVolume(ctx, id, 2); err != nil {
			t.Fatalf("ExtendVolume: %v", err)
		}
		s.waitVolume(t, id, "extended to 2 GiB", func(v providers.Volume, err error) bool {
			return volumeIs()(v, err) && v.SizeGiB == 2
		})
		if err := s.v.ExtendVolume(ctx, id, 1); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("ExtendVolume to a smaller size: err = %v, want ErrInvalid", err)
		}
	}

	if err := s.v.DeleteVolume(ctx, id); err != nil {
		t.Fatalf("DeleteVolume: %v", err)
	}
	s.waitVolume(t, id, "gone", gone[providers.Volume])
	if err := s.v.DeleteVolume(ctx, id); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteVolume twice: err = %v, want ErrNotFound", err)
	}
}

func (s *suite) testVolumeErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := s.v.GetVolume(ctx, missingID("vol-00000000")); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetVolume(missing): err = %v, want ErrNotFound", err)
	}
	if err := s.v.ExtendVolume(ctx, missingID("vol-00000000"), 5); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("ExtendVolume(missing): err = %v, want ErrNotFound", err)
	}
	if _, err := s.v.CreateVolume(ctx, providers.VolumeSpec{Name: s.name(t, "bad"), SizeGiB: -1}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("CreateVolume(size -1): err = %v, want ErrInvalid", err)
	}
}

// UnsupportedVolExtend: the cloud's volumes cannot grow (Docker's local
// volumes have no size to change).
const UnsupportedVolExtend = "extend"

func (s *suite) testVolumeAttach(t *testing.T) {
	ctx := context.Background()
	if s.c == nil {
		if _, ok := s.p.(providers.Containers); ok {
			s.testVolumeMount(t) // volume_mounts.go
			return
		}
		t.Skip("adapter has no Compute: attach not tested")
	}
	v := s.newVolume(t, "att")
	flavor, image := s.smallestFlavor(t), s.image(t)
	name := s.name(t, "attsrv")
	srv, err := s.c.CreateServer(ctx, providers.ServerSpec{Name: name, Zone: v.Zone, FlavorID: flavor.NativeID, ImageID: image.NativeID,
		Networks: s.fx.Networks, IdempotencyToken: name})
	if err != nil {
		t.Fatalf("CreateServer: %v", err)
	}
	t.Cleanup(func() { _ = s.c.DeleteServer(context.Background(), srv.NativeID) })
	s.waitFor(t, srv.NativeID, "ACTIVE", statusIs(providers.StatusActive))

	if err := s.v.AttachVolume(ctx, v.NativeID, srv.NativeID); err != nil {
		t.Fatalf("AttachVolume: %v", err)
	}
	att := s.waitVolume(t, v.NativeID, "attached", func(v providers.Volume, err error) bool {
		return volumeIs()(v, err) && len(v.Attachments) == 1
	})
	if att.Attachments[0].ServerID != srv.NativeID {
		t.Errorf("attachment = %+v, want server %s", att.Attachments, srv.NativeID)
	}
	if err := s.v.DeleteVolume(ctx, v.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("DeleteVolume while attached: err = %v, want ErrConflict", err)
	}
	if err := s.v.DetachVolume(ctx, v.NativeID, srv.NativeID); err != nil {
		t.Fatalf("DetachVolume: %v", err)
	}
	s.waitVolume(t, v.NativeID, "detached", func(v providers.Volume, err error) bool {
		return volumeIs()(v, err) && len(v.Attachments) == 0
	})
	if err := s.v.DetachVolume(ctx, v.NativeID, srv.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("DetachVolume when not attached: err = %v, want ErrConflict", err)
	}
	if err := s.v.AttachVolume(ctx, v.NativeID, missingID(srv.NativeID)); !errors.Is(err, providers.ErrNotFound) && !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("AttachVolume to a missing server: err = %v, want ErrNotFound or ErrInvalid", err)
	}
}

func (s *suite) testVolumeFromImage(t *testing.T) {
	ctx := context.Background()
	if s.c == nil {
		// No Compute, no images of servers: only the refusal is checked.
		if providers.Has(s.p, providers.CapVolumeFromImage) {
			t.Skip("adapter has volume-from-image but no Compute to list images from: not run")
		}
		v, err := s.v.CreateVolume(ctx, providers.VolumeSpec{Name: s.name(t, "imgvol"), Zone: s.fx.Zone, SizeGiB: 1, ImageID: s.fx.ContainerImage})
		if !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("CreateVolume from an image on a cloud without volume-from-image: err = %v, want ErrUnsupported", err)
		}
		if err == nil {
			s.deleteVolume(v.NativeID)
		}
		t.Skip("adapter lacks volume-from-image and Compute: checked that it refuses with ErrUnsupported")
	}
	image := s.image(t)
	size := (image.SizeBytes + 1<<30 - 1) >> 30
	if image.MinDiskGiB > size {
		size = image.MinDiskGiB
	}
	if size < 1 {
		size = 1
	}
	name := s.name(t, "imgvol")
	v, err := s.v.CreateVolume(ctx, providers.VolumeSpec{Name: name, Zone: s.fx.Zone, SizeGiB: size, ImageID: image.NativeID, IdempotencyToken: name})
	if !providers.Has(s.p, providers.CapVolumeFromImage) {
		if !errors.Is(err, providers.ErrUnsupported) {
			t.Errorf("CreateVolume from an image on a cloud without volume-from-image: err = %v, want ErrUnsupported", err)
		}
		if err == nil {
			s.deleteVolume(v.NativeID)
		}
		t.Skip("adapter lacks volume-from-image (providers.Has is false): canopy emulates it; checked that it refuses with ErrUnsupported")
	}
	if err != nil {
		t.Fatalf("CreateVolume from image %s: %v", image.Name, err)
	}
	t.Cleanup(func() { s.deleteVolume(v.NativeID) })
	v = s.waitVolume(t, v.NativeID, "available", volumeIs())
	if v.ImageID != image.NativeID || !v.Bootable {
		t.Errorf("volume from image = image %q bootable %v; want %q, true", v.ImageID, v.Bootable, image.NativeID)
	}
}

func (s *suite) waitSnapshot(t *testing.T, sn providers.Snapshots, id, what string, cond func(providers.Snapshot, error) bool) providers.Snapshot {
	t.Helper()
	return poll(t, s, "snapshot "+id+" "+what, func() (providers.Snapshot, error) { return sn.GetSnapshot(context.Background(), id) }, cond)
}

func (s *suite) testSnapshots(t *testing.T) {
	if !providers.Has(s.p, providers.CapSnapshots) {
		t.Skip("adapter has no Snapshots capability (providers.Has(snapshots) is false): canopy emulates snapshots; not run")
	}
	ctx := context.Background()
	sn := s.p.(providers.Snapshots)
	v := s.newVolume(t, "snapsrc")
	name := s.name(t, "snap")
	spec := providers.SnapshotSpec{Name: name, VolumeID: v.NativeID, Description: "conformance", IdempotencyToken: name}
	snap, err := sn.CreateSnapshot(ctx, spec)
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	id := snap.NativeID
	if snap.JobID != "" {
		if id != "" {
			t.Errorf("CreateSnapshot returned both a job %s and an id %s", snap.JobID, id)
		}
		jobs, ok := s.p.(providers.SnapshotJobs)
		if !ok {
			t.Fatalf("CreateSnapshot answered with job %s but the adapter does not implement SnapshotJobs", snap.JobID)
		}
		// A retry answers with the same job, or (the job done meanwhile)
		// with the snapshot the job made: checked against the job's
		// answer below, never any snapshot.
		again, err := sn.CreateSnapshot(ctx, spec)
		if err != nil || (again.JobID != snap.JobID && again.NativeID == "") || (again.JobID != "" && again.NativeID != "") {
			t.Errorf("CreateSnapshot with the same token = %+v, %v; want job %s again", again, err, snap.JobID)
		}
		id = poll(t, s, "job "+snap.JobID+" resolved", func() (string, error) { return jobs.SnapshotJob(ctx, snap.JobID) },
			func(id string, err error) bool {
				if err != nil {
					t.Fatalf("SnapshotJob(%s): %v", snap.JobID, err)
				}
				return id != ""
			})
		if again.NativeID != "" && again.NativeID != id {
			t.Errorf("CreateSnapshot with the same token answered snapshot %s; job %s made %s", again.NativeID, snap.JobID, id)
		}
		// Once the job has told its snapshot, a retry answers with it, or
		// with the same job (which tells it) — never another snapshot.
		if late, err := sn.CreateSnapshot(ctx, spec); err != nil ||
			!(late.NativeID == id && late.JobID == "" || late.JobID == snap.JobID && late.NativeID == "") {
			t.Errorf("CreateSnapshot with the same token after the job = %+v, %v; want snapshot %s, or job %s alone", late, err, id, snap.JobID)
		}
	} else {
		again, err := sn.CreateSnapshot(ctx, spec)
		if err != nil || again.NativeID != id {
			t.Errorf("CreateSnapshot with the same token = %s, %v; want %s again", again.NativeID, err, id)
		}
	}
	if id == "" {
		t.Fatalf("no snapshot id")
	}
	t.Cleanup(func() { _ = sn.DeleteSnapshot(context.Background(), id) })
	got := s.waitSnapshot(t, sn, id, "available", func(sp providers.Snapshot, err error) bool { return err == nil && sp.Status == providers.StatusActive })
	if got.VolumeID != v.NativeID || got.SizeGiB != v.SizeGiB || got.Name != name {
		t.Errorf("snapshot = %+v: want volume %s, %d GiB, name %s", got, v.NativeID, v.SizeGiB, name)
	}
	list, err := sn.ListSnapshots(ctx)
	if err != nil {
		t.Fatalf("ListSnapshots: %v", err)
	}
	found := false
	for _, x := range list {
		found = found || x.NativeID == id
	}
	if !found {
		t.Errorf("ListSnapshots does not list %s", id)
	}

	vname := s.name(t, "fromsnap")
	nv, err := s.v.CreateVolume(ctx, providers.VolumeSpec{Name: vname, Zone: v.Zone, SnapshotID: id, SizeGiB: v.SizeGiB, IdempotencyToken: vname})
	if err != nil {
		t.Fatalf("CreateVolume from snapshot: %v", err)
	}
	t.Cleanup(func() { s.deleteVolume(nv.NativeID) })
	nv = s.waitVolume(t, nv.NativeID, "available", volumeIs())
	if nv.SnapshotID != id || nv.SizeGiB < v.SizeGiB {
		t.Errorf("volume from snapshot = snapshot %q, %d GiB; want %s, ≥ %d", nv.SnapshotID, nv.SizeGiB, id, v.SizeGiB)
	}
	s.deleteVolume(nv.NativeID)
	s.waitVolume(t, nv.NativeID, "gone", gone[providers.Volume])

	if err := sn.DeleteSnapshot(ctx, id); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
	s.waitSnapshot(t, sn, id, "gone", gone[providers.Snapshot])
	if _, err := sn.GetSnapshot(ctx, missingID(id)); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetSnapshot(missing): err = %v, want ErrNotFound", err)
	}
}

func (s *suite) testBackups(t *testing.T) {
	if !providers.Has(s.p, providers.CapBackups) {
		t.Skip("this adapter (as configured) has no Backups capability (providers.Has(backups) is false); canopy's emulation of them is checked by emulate's run of this suite")
	}
	ctx := context.Background()
	bk := s.p.(providers.Backups)
	v := s.newVolume(t, "baksrc")
	want := s.writeData(t, v.NativeID, "backup")
	name := s.name(t, "bak")
	spec := providers.BackupSpec{Name: name, VolumeID: v.NativeID, IdempotencyToken: name}
	b, err := bk.CreateBackup(ctx, spec)
	if err != nil {
		t.Fatalf("CreateBackup: %v", err)
	}
	t.Cleanup(func() { _ = bk.DeleteBackup(context.Background(), b.NativeID) })
	if again, err := bk.CreateBackup(ctx, spec); err != nil || again.NativeID != b.NativeID {
		t.Errorf("CreateBackup with the same token = %s, %v; want %s again", again.NativeID, err, b.NativeID)
	}
	got := poll(t, s, "backup available", func() (providers.Backup, error) { return bk.GetBackup(ctx, b.NativeID) },
		func(x providers.Backup, err error) bool { return err == nil && x.Status == providers.StatusActive })
	if got.VolumeID != v.NativeID || got.SizeGiB != v.SizeGiB {
		t.Errorf("backup = %+v: want volume %s, %d GiB", got, v.NativeID, v.SizeGiB)
	}
	rname := s.name(t, "restored")
	rv, err := bk.RestoreBackup(ctx, b.NativeID, providers.VolumeSpec{Name: rname, Zone: v.Zone, IdempotencyToken: rname})
	if err != nil {
		t.Fatalf("RestoreBackup: %v", err)
	}
	t.Cleanup(func() { s.deleteVolume(rv.NativeID) })
	if again, err := bk.RestoreBackup(ctx, b.NativeID, providers.VolumeSpec{Name: rname, Zone: v.Zone, IdempotencyToken: rname}); err != nil || again.NativeID != rv.NativeID {
		t.Errorf("RestoreBackup with the same token = %s, %v; want %s again", again.NativeID, err, rv.NativeID)
	}
	rv = s.waitVolume(t, rv.NativeID, "restored", volumeIs())
	if rv.SizeGiB != v.SizeGiB || rv.Name != rname {
		t.Errorf("restored volume = %+v: want %s, %d GiB", rv, rname, v.SizeGiB)
	}
	s.checkData(t, rv.NativeID, want)
	list, err := bk.ListBackups(ctx)
	if err != nil {
		t.Fatalf("ListBackups: %v", err)
	}
	found := false
	for _, x := range list {
		found = found || x.NativeID == b.NativeID
	}
	if !found {
		t.Errorf("ListBackups does not list %s", b.NativeID)
	}
	if err := bk.DeleteBackup(ctx, b.NativeID); err != nil {
		t.Fatalf("DeleteBackup: %v", err)
	}
	poll(t, s, "backup gone", func() (providers.Backup, error) { return bk.GetBackup(ctx, b.NativeID) }, gone[providers.Backup])
}
