package providertest

import (
	"context"
	"errors"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// The Attach part on a container cloud: a volume attaches to a container
// as a mount at a path, on a stopped container, and the container keeps
// its native id; a container that mounts a volume sees its files.

const mountPath = "/data/ptest"

func (s *suite) testVolumeMount(t *testing.T) {
	ctx := context.Background()
	cts := s.p.(providers.Containers)
	v := s.newVolume(t, "mnt")
	want := s.writeData(t, v.NativeID, "mount")
	check := "test -d " + mountPath
	if want != nil && s.fx.VolumeDataTar {
		check = "test $(wc -c < " + path.Join(mountPath, tarFile) + ") -eq " + strconv.Itoa(len(want))
	}
	name := s.name(t, "mntctr")
	ct, err := cts.CreateContainer(ctx, providers.ContainerSpec{Name: name, Image: s.fx.ContainerImage, Command: []string{"sh", "-c", check}, IdempotencyToken: name})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	t.Cleanup(func() { _ = cts.DeleteContainer(context.Background(), ct.NativeID, true) })

	m, mounter := s.p.(providers.VolumeMounter)
	attach := func(target string) error {
		if mounter {
			return m.AttachVolumeAt(ctx, v.NativeID, ct.NativeID, target, false)
		}
		return s.v.AttachVolume(ctx, v.NativeID, ct.NativeID)
	}
	if mounter {
		for _, bad := range []string{"data/rel", "/", ""} {
			if err := attach(bad); !errors.Is(err, providers.ErrInvalid) {
				t.Errorf("AttachVolumeAt(path %q): err = %v, want ErrInvalid", bad, err)
			}
		}
	}
	if err := attach(mountPath); err != nil {
		t.Fatalf("AttachVolume to a created container: %v", err)
	}
	att := s.waitVolume(t, v.NativeID, "attached", func(v providers.Volume, err error) bool { return volumeIs()(v, err) && len(v.Attachments) == 1 })
	if a := att.Attachments[0]; a.ServerID != ct.NativeID || (mounter && a.Device != mountPath) {
		t.Errorf("attachment = %+v, want container %s at %s", a, ct.NativeID, mountPath)
	}
	got, err := cts.GetContainer(ctx, ct.NativeID)
	if err != nil {
		t.Fatalf("GetContainer(%s) after attach (it keeps its id): %v", ct.NativeID, err)
	}
	if got.NativeID != ct.NativeID || got.Name != name || !mounts(got, mountPath) {
		t.Errorf("container after attach = %s %q mounts %+v; want %s %q mounting %s", got.NativeID, got.Name, got.Mounts, ct.NativeID, name, mountPath)
	}
	if mounter {
		if err := attach("/elsewhere"); !errors.Is(err, providers.ErrConflict) {
			t.Errorf("AttachVolumeAt of a volume the container mounts already: err = %v, want ErrConflict", err)
		}
	}
	err = s.v.DeleteVolume(ctx, v.NativeID)
	if !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), ct.NativeID) {
		t.Errorf("DeleteVolume while a container mounts it: err = %v, want ErrConflict naming container %s", err, ct.NativeID)
	}

	// The container sees the volume's files.
	if err := cts.StartContainer(ctx, ct.NativeID); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	done := poll(t, s, "container "+ct.NativeID+" exited", func() (providers.Container, error) { return cts.GetContainer(ctx, ct.NativeID) },
		func(c providers.Container, err error) bool {
			return err == nil && (c.State == providers.ContainerStopped || c.State == providers.ContainerDead)
		})
	if done.ExitCode != 0 {
		t.Errorf("in the container, %q exited %d: the mounted volume does not hold what was written", check, done.ExitCode)
	}

	if err := s.v.DetachVolume(ctx, v.NativeID, ct.NativeID); err != nil {
		t.Fatalf("DetachVolume: %v", err)
	}
	s.waitVolume(t, v.NativeID, "detached", func(v providers.Volume, err error) bool { return volumeIs()(v, err) && len(v.Attachments) == 0 })
	if got, err := cts.GetContainer(ctx, ct.NativeID); err != nil || mounts(got, mountPath) {
		t.Errorf("container after detach = mounts %+v, %v; want it, without %s", got.Mounts, err, mountPath)
	}
	if err := s.v.DetachVolume(ctx, v.NativeID, ct.NativeID); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("DetachVolume when not attached: err = %v, want ErrConflict", err)
	}
	if err := s.v.AttachVolume(ctx, v.NativeID, s.fx.Prefix+"-no-such-container-0"); !errors.Is(err, providers.ErrNotFound) && !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("AttachVolume to a missing container: err = %v, want ErrNotFound or ErrInvalid", err)
	}

	// A running container's mounts cannot change.
	run := s.name(t, "mntrun")
	rc, err := cts.CreateContainer(ctx, providers.ContainerSpec{Name: run, Image: s.fx.ContainerImage, Command: []string{"sleep", "600"}, IdempotencyToken: run})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	t.Cleanup(func() { _ = cts.DeleteContainer(context.Background(), rc.NativeID, true) })
	if err := cts.StartContainer(ctx, rc.NativeID); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	err = s.v.AttachVolume(ctx, v.NativeID, rc.NativeID)
	if !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "RUNNING") {
		t.Errorf("AttachVolume to a running container: err = %v, want ErrConflict naming its state", err)
	}
}

func mounts(c providers.Container, target string) bool {
	for _, m := range c.Mounts {
		if m.Target == target && m.Type == "volume" {
			return true
		}
	}
	return false
}
