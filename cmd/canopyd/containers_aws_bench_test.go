//go:build containers

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// BenchmarkPullFromS350MiB: a container on Docker whose 50 MiB image is
// kept only in an aws cloud's S3 bucket (moto): the create streams it
// from S3 into `docker load` through canopyd. The image gets there by an
// upload through canopy of its `docker save` tarball, streamed from a
// file. Reports the create's wall time and canopyd's resident memory
// before the upload, at its peak after the upload, and at its peak after
// the pull (VmHWM).
func BenchmarkPullFromS350MiB(b *testing.B) {
	env, _, cli := benchDaemon(b)
	defer cli.Close()
	moto := strings.TrimRight(os.Getenv("CANOPY_MOTO_ENDPOINT"), "/")
	if moto == "" {
		b.Skip("CANOPY_MOTO_ENDPOINT not set: start test/moto/up.sh")
	}
	cfg := canopydtest.WriteConfig(b, fmt.Sprintf(`
clouds:
  - name: dock
    kind: docker
    options: {hosts: [%q], region: dock, zone: dock-1}
  - name: aws
    kind: aws
    regions: [us-east-1]
    options: {endpoint: %s, access_key_id: testing, secret_access_key: testing, container_image_bucket: canopy-bench-cimg}
`, env.dockerHost, moto))
	d := canopydtest.Start(b, b.TempDir(), "--config", cfg)
	defer d.Stop()
	ctx := context.Background()
	c := canopyv1.NewContainerServiceClient(d.Conn)
	ops := canopyv1.NewOperationServiceClient(d.Conn)
	var wall time.Duration
	var rssBefore, upPeak, peak int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ref := fmt.Sprintf("canopy-s3big:v%d", time.Now().UnixNano()%1e9)
		bigDockerImage(b, cli, ref)
		saved, err := cli.ImageSave(ctx, []string{ref})
		if err != nil {
			b.Fatal(err)
		}
		rssBefore = procStatus(b, d.Cmd.Process.Pid, "VmRSS")
		im := uploadStream(b, d, ref, saved)
		saved.Close()
		upPeak = procStatus(b, d.Cmd.Process.Pid, "VmHWM")
		if _, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		op := runBig(b, c, ops, "s3big-"+strings.ReplaceAll(ref, ":", "-"), "dock", ref, "create from an image in S3")
		wall += time.Since(t0)
		b.StopTimer()
		peak = procStatus(b, d.Cmd.Process.Pid, "VmHWM")
		_, _ = c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: op.Metadata.TargetId, Force: true})
		_, _ = cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true})
		_, _ = d.Compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: im.Id})
		b.StartTimer()
	}
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "pull+start-ms")
	b.ReportMetric(float64(rssBefore)/1024, "rss-before-MiB")
	b.ReportMetric(float64(upPeak)/1024, "rss-peak-upload-MiB")
	b.ReportMetric(float64(peak)/1024, "rss-peak-MiB")
}

// uploadStream uploads a docker-save stream into the aws cloud, 1 MiB a
// message, never holding it whole.
func uploadStream(b *testing.B, d *canopydtest.Daemon, ref string, r io.Reader) *canopyv1.Image {
	ctx := context.Background()
	up, err := canopyv1.NewImageTransferServiceClient(d.Conn).UploadImage(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := up.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: &canopyv1.ImageUploadHeader{
		Name: ref, Location: loc("aws"), DiskFormat: "raw", ContainerFormat: "docker"}}}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if serr := up.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: buf[:n]}}); serr != nil {
				b.Fatal(serr)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	im, err := up.CloseAndRecv()
	if err != nil {
		b.Fatalf("upload %s to aws: %v", ref, err)
	}
	return im
}
