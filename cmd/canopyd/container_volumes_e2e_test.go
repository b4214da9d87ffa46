//go:build containers

package main

// Volumes of container clouds end to end, canopyd as a process over a real
// dockerd and containerd: a volume is created, mounted by a container
// that writes into it, snapshotted and backed up (canopy's emulation: the
// volume's files as a tar), restored into new volumes, and read back by
// other containers — one mounting it at create, one attached to a stopped
// container at a path.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// opResult waits for an operation and unmarshals its response into out.
func (c *ctrClient) opResult(ctx context.Context, op *canopyv1.Operation, err error, out proto.Message) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("request: %v", err)
	}
	for deadline := time.Now().Add(2 * time.Minute); !op.Done; {
		if time.Now().After(deadline) {
			c.t.Fatalf("operation %s not done after 2 minutes", op.Id)
		}
		if op, err = c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id, Timeout: durationpb.New(20 * time.Second)}); err != nil {
			c.t.Fatalf("WaitOperation: %v", err)
		}
	}
	if e := op.GetError(); e != nil {
		c.t.Fatalf("operation %s (%s) failed: %s", op.Id, op.GetMetadata().GetKind(), e.Message)
	}
	if err := op.GetResponse().UnmarshalTo(out); err != nil {
		c.t.Fatalf("operation %s response: %v", op.Id, err)
	}
}

// runToEnd runs a container to its exit and returns its output.
func (c *ctrClient) runToEnd(ctx context.Context, id string) string {
	c.t.Helper()
	got, err := c.c.WaitContainer(ctx, &canopyv1.WaitContainerRequest{Id: id, Condition: canopyv1.WaitContainerRequest_CONDITION_EXITED})
	if err != nil {
		c.t.Fatalf("WaitContainer %s: %v", id, err)
	}
	s, err := c.c.ContainerLogs(ctx, &canopyv1.ContainerLogsRequest{Id: id})
	if err != nil {
		c.t.Fatalf("ContainerLogs %s: %v", id, err)
	}
	var out strings.Builder
	for {
		m, err := s.Recv()
		if err != nil {
			break
		}
		out.Write(m.Data)
	}
	if got.ExitCode != 0 {
		c.t.Fatalf("container %s exited %d: %s", id, got.ExitCode, out.String())
	}
	return out.String()
}

func TestContainerVolumesEndToEnd(t *testing.T) {
	env := containerEnv(t)
	d := canopydtest.Start(t, t.TempDir(), "--config", env.config(t))
	defer d.Stop()
	for _, cloud := range []string{"dock", "ctrd"} {
		t.Run(cloud, func(t *testing.T) {
			c := newCtrClient(t, d)
			vc := canopyv1.NewVolumeServiceClient(d.Conn)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			prefix := fmt.Sprintf("vol%d", time.Now().UnixNano()%1e6)
			var vols []string
			t.Cleanup(func() { // after the containers that mount them
				for _, id := range vols {
					if _, err := vc.DeleteVolume(context.Background(), &canopyv1.DeleteVolumeRequest{Id: id, Wait: true}); err != nil && status.Code(err) != codes.NotFound {
						t.Errorf("cleanup: delete volume %s: %v", id, err)
					}
				}
			})
			t.Cleanup(func() { cleanupPrefix(t, c, cloud, prefix) })
			newVolume := func(req *canopyv1.CreateVolumeRequest) *canopyv1.Volume {
				t.Helper()
				req.Location, req.SizeGib, req.Wait = loc(cloud), 1, true
				var v canopyv1.Volume
				op, err := vc.CreateVolume(ctx, req)
				c.opResult(ctx, op, err, &v)
				vols = append([]string{v.Id}, vols...)
				return &v
			}

			// Created, mounted by a container at create (by canopy id),
			// written.
			vol := newVolume(&canopyv1.CreateVolumeRequest{Name: prefix + "-data"})
			stamp := "canopy-volume-" + prefix
			writer := c.done(ctx, c.create(ctx, &canopyv1.CreateContainerRequest{
				Name: prefix + "-writer", Location: loc(cloud), Image: e2eImage, Run: true,
				Command: []string{"sh", "-c", "echo " + stamp + " > /data/hello.txt && mkdir -p /data/sub && seq 1 1000 > /data/sub/n"},
				Mounts:  []*canopyv1.ContainerMount{{Source: vol.Id, Target: "/data"}},
			}))
			c.runToEnd(ctx, writer.Id)
			got, err := vc.GetVolume(ctx, &canopyv1.GetVolumeRequest{Id: vol.Id})
			if err != nil || len(got.GetAttachments()) != 1 || got.Attachments[0].Device != "/data" {
				t.Fatalf("volume after a container mounted it = %v, %v; want one attachment at /data", got.GetAttachments(), err)
			}

			// In use: the delete is refused naming the container.
			_, err = vc.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: vol.Id})
			if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), writer.Id) {
				t.Errorf("DeleteVolume of a mounted volume: %v; want FAILED_PRECONDITION naming container %s", err, writer.Id)
			}

			// Snapshotted, restored into a new volume, read back by
			// another container.
			var snap canopyv1.Snapshot
			op, err := vc.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: prefix + "-snap", Volume: vol.Id, Wait: true})
			c.opResult(ctx, op, err, &snap)
			t.Cleanup(func() {
				_, _ = vc.DeleteSnapshot(context.Background(), &canopyv1.DeleteSnapshotRequest{Id: snap.Id, Wait: true})
			})
			if !snap.Emulated {
				t.Errorf("snapshot of a %s volume: emulated = false, want true", cloud)
			}
			restored := newVolume(&canopyv1.CreateVolumeRequest{Name: prefix + "-restored", Snapshot: snap.Id})
			reader := c.done(ctx, c.create(ctx, &canopyv1.CreateContainerRequest{
				Name: prefix + "-reader", Location: loc(cloud), Image: e2eImage, Run: true,
				Command: []string{"sh", "-c", "cat /restored/hello.txt; wc -l < /restored/sub/n"},
				Mounts:  []*canopyv1.ContainerMount{{Source: restored.Id, Target: "/restored", ReadOnly: true}},
			}))
			if out := c.runToEnd(ctx, reader.Id); !strings.Contains(out, stamp) || !strings.Contains(out, "1000") {
				t.Errorf("the restored volume read back: %q; want %s and 1000 lines", out, stamp)
			}

			// Backed up and restored; the restored volume is attached by
			// path to a stopped container (mounted by name this time).
			var bak canopyv1.Backup
			op, err = vc.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: prefix + "-bak", Volume: vol.Id, Wait: true})
			c.opResult(ctx, op, err, &bak)
			t.Cleanup(func() {
				_, _ = vc.DeleteBackup(context.Background(), &canopyv1.DeleteBackupRequest{Id: bak.Id, Wait: true})
			})
			var fromBak canopyv1.Volume
			op, err = vc.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: bak.Id, Name: prefix + "-frombak", Wait: true})
			c.opResult(ctx, op, err, &fromBak)
			vols = append([]string{fromBak.Id}, vols...)
			later := c.done(ctx, c.create(ctx, &canopyv1.CreateContainerRequest{
				Name: prefix + "-later", Location: loc(cloud), Image: e2eImage,
				Command: []string{"cat", "/mnt/back/hello.txt"},
			}))
			for _, bad := range []string{"mnt/back", "/"} {
				_, err := vc.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: fromBak.Id, Server: later.Id, MountPath: bad})
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "mount_path") {
					t.Errorf("AttachVolume(mount_path %q): %v; want INVALID_ARGUMENT naming mount_path", bad, err)
				}
			}
			var att canopyv1.Volume
			op, err = vc.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: fromBak.Id, Server: later.Id, MountPath: "/mnt/back", Wait: true})
			c.opResult(ctx, op, err, &att)
			if len(att.Attachments) != 1 || att.Attachments[0].Device != "/mnt/back" {
				t.Errorf("attached volume = %v; want one attachment at /mnt/back", att.Attachments)
			}
			if _, err := c.c.StartContainer(ctx, &canopyv1.StartContainerRequest{Id: later.Id}); err != nil {
				t.Fatalf("StartContainer %s (same canopy id after the attach): %v", later.Id, err)
			}
			if out := c.runToEnd(ctx, later.Id); !strings.Contains(out, stamp) {
				t.Errorf("the volume restored from the backup read back: %q; want %s", out, stamp)
			}
			// Detached from the stopped container (named by its container
			// id), then free to delete.
			var det canopyv1.Volume
			op, err = vc.DetachVolume(ctx, &canopyv1.DetachVolumeRequest{Id: fromBak.Id, Server: later.Id, Wait: true})
			c.opResult(ctx, op, err, &det)
			if len(det.Attachments) != 0 {
				t.Errorf("detached volume = %v; want no attachments", det.Attachments)
			}
			if ct, err := c.c.GetContainer(ctx, &canopyv1.GetContainerRequest{Id: later.Id}); err != nil || len(ct.Mounts) != 0 {
				t.Errorf("container after the detach = mounts %v, %v; want it, with none", ct.GetMounts(), err)
			}
			var gone canopyv1.Volume
			op, err = vc.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: fromBak.Id, Wait: true})
			c.opResult(ctx, op, err, &gone)

			// A mount target that is not absolute is refused, naming it.
			_, err = c.c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: prefix + "-bad", Location: loc(cloud), Image: e2eImage,
				Command: []string{"true"}, Mounts: []*canopyv1.ContainerMount{{Source: vol.Id, Target: "data"}}})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "mounts[0].target") {
				t.Errorf("CreateContainer with a relative mount target: %v; want INVALID_ARGUMENT naming mounts[0].target", err)
			}
		})
	}
}
