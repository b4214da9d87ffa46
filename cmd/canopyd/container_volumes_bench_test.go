//go:build containers

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// BenchmarkVolumeSnapshotRestore256MiB: a container volume holding 256 MiB
// (one file of random bytes) is snapshotted (its files as a tar, streamed
// into canopy's store) and restored into a new volume, through canopyd,
// on Docker and on containerd. Reports the snapshot's and the restore's
// wall time, and canopyd's anonymous resident memory (RssAnon: the heap
// and stacks, not the pages of the store's memory-mapped file, which the
// kernel reclaims) before and at its peak, sampled every 10 ms.
func BenchmarkVolumeSnapshotRestore256MiB(b *testing.B) {
	env := runtimeEnv{dockerHost: envOr("CANOPY_DOCKER_HOST"), containerdAddr: envOr("CANOPY_CONTAINERD_ADDRESS")}
	if env.dockerHost == "" || env.containerdAddr == "" {
		b.Skip("CANOPY_DOCKER_HOST and CANOPY_CONTAINERD_ADDRESS not set: start test/docker/up.sh and test/containerd/up.sh")
	}
	for _, cloud := range []string{"dock", "ctrd"} {
		b.Run(cloud, func(b *testing.B) {
			d := canopydtest.Start(b, b.TempDir(), "--config", env.config(b))
			defer d.Stop()
			ctx := context.Background()
			c := canopyv1.NewContainerServiceClient(d.Conn)
			vc := canopyv1.NewVolumeServiceClient(d.Conn)
			ops := canopyv1.NewOperationServiceClient(d.Conn)
			done := func(op *canopyv1.Operation, err error, out proto.Message) {
				if err == nil && !op.Done {
					op, err = ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id})
				}
				if err != nil || op.GetError() != nil {
					b.Fatalf("operation: %v %v", err, op.GetError())
				}
				if err := op.GetResponse().UnmarshalTo(out); err != nil {
					b.Fatal(err)
				}
			}
			var snapWall, restoreWall time.Duration
			var rssBefore, peak int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				name := fmt.Sprintf("bench%d", time.Now().UnixNano()%1e9)
				var vol canopyv1.Volume
				op, err := vc.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: name, Location: loc(cloud), SizeGib: 1, Wait: true})
				done(op, err, &vol)
				var ct canopyv1.Container
				op, err = c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: name + "-fill", Location: loc(cloud), Image: e2eImage, Run: true, Wait: true,
					Command: []string{"dd", "if=/dev/urandom", "of=/v/big", "bs=1048576", "count=256"},
					Mounts:  []*canopyv1.ContainerMount{{Source: vol.Id, Target: "/v"}}})
				done(op, err, &ct)
				if got, err := c.WaitContainer(ctx, &canopyv1.WaitContainerRequest{Id: ct.Id, Condition: canopyv1.WaitContainerRequest_CONDITION_EXITED}); err != nil || got.ExitCode != 0 {
					b.Fatalf("filling the volume: %v, exit %d", err, got.GetExitCode())
				}
				rssBefore = procStatus(b, d.Cmd.Process.Pid, "RssAnon")
				stop := sampleAnon(d.Cmd.Process.Pid)
				b.StartTimer()
				t0 := time.Now()
				var snap canopyv1.Snapshot
				op, err = vc.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: name + "-snap", Volume: vol.Id, Wait: true})
				done(op, err, &snap)
				t1 := time.Now()
				var restored canopyv1.Volume
				op, err = vc.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: name + "-restored", Location: loc(cloud), SizeGib: 1, Snapshot: snap.Id, Wait: true})
				done(op, err, &restored)
				snapWall, restoreWall = snapWall+t1.Sub(t0), restoreWall+time.Since(t1)
				b.StopTimer()
				peak = stop()
				_, _ = c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: ct.Id, Force: true})
				for _, id := range []string{restored.Id, vol.Id} {
					_, _ = vc.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: id, Wait: true})
				}
				_, _ = vc.DeleteSnapshot(ctx, &canopyv1.DeleteSnapshotRequest{Id: snap.Id, Wait: true})
				b.StartTimer()
			}
			b.ReportMetric(float64(snapWall.Milliseconds())/float64(b.N), "snapshot-ms")
			b.ReportMetric(float64(restoreWall.Milliseconds())/float64(b.N), "restore-ms")
			b.ReportMetric(float64(rssBefore)/1024, "anon-before-MiB")
			b.ReportMetric(float64(peak)/1024, "anon-peak-MiB")
		})
	}
}

// sampleAnon samples a process's RssAnon until the returned stop, which
// returns the largest (kB).
func sampleAnon(pid int) (stop func() int64) {
	quit, out := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err == nil {
				for _, line := range strings.Split(string(raw), "\n") {
					if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
						var kb int64
						fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
						peak = max(peak, kb)
					}
				}
			}
			select {
			case <-quit:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 { close(quit); return <-out }
}
