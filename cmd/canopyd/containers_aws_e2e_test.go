//go:build containers

package main

// A container image kept on AWS runs on a Docker cloud: uploaded through
// canopy into an aws cloud on moto it becomes an S3 object
// (providers/aws/container_images.go); a container on the Docker cloud,
// whose host lacks it, gets it streamed from S3 into `docker load`
// (server/container_pull.go). test/containers/test.sh starts moto and
// sets CANOPY_MOTO_ENDPOINT.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

func TestContainerImageFromAWS(t *testing.T) {
	env := containerEnv(t)
	moto := strings.TrimRight(os.Getenv("CANOPY_MOTO_ENDPOINT"), "/")
	if moto == "" {
		t.Skip("CANOPY_MOTO_ENDPOINT not set: run test/containers/test.sh, which starts moto too")
	}
	bucket := fmt.Sprintf("canopy-e2e-cimg-%d", time.Now().UnixNano()%1e9)
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: dock
    kind: docker
    options:
      hosts: [%q]
      region: dock
      zone: dock-1
  - name: aws
    kind: aws
    regions: [us-east-1]
    options: {endpoint: %s, access_key_id: testing, secret_access_key: testing, container_image_bucket: %s}
`, env.dockerHost, moto, bucket))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	t.Cleanup(d.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sc := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: awssdk.String(moto), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""), DisableLogOutputChecksumValidationSkipped: true})
	t.Cleanup(func() { _, _ = sc.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: &bucket}) })

	ref := fmt.Sprintf("canopy-from-aws:v%d", time.Now().UnixNano()%1e6)
	saved, err := exec.CommandContext(ctx, "docker", "-H", env.dockerHost, "save", e2eImage).Output()
	if err != nil {
		t.Fatalf("docker save: %v", err)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "-H", env.dockerHost, "rmi", ref).Run() })
	size := int64(len(saved))
	up, err := canopyv1.NewImageTransferServiceClient(d.Conn).UploadImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: &canopyv1.ImageUploadHeader{
		Name: ref, Location: loc("aws"), DiskFormat: "raw", ContainerFormat: "docker", SizeBytes: &size}}}); err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(saved); off += 1 << 20 {
		if err := up.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: saved[off:min(off+1<<20, len(saved))]}}); err != nil {
			t.Fatal(err)
		}
	}
	im, err := up.CloseAndRecv()
	if err != nil {
		t.Fatalf("UploadImage to aws: %v", err)
	}
	if im.Name != ref || im.ContainerFormat != "docker" || im.Location.GetCloud() != "aws" || !strings.HasPrefix(im.NativeId, "cimg-") {
		t.Fatalf("uploaded image = %s %s (%s) in %s, want %s docker in aws as an S3 object", im.NativeId, im.Name, im.ContainerFormat, im.Location.GetCloud(), ref)
	}
	key := "canopy-container-images/" + im.NativeId
	head, err := sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil || awssdk.ToInt64(head.ContentLength) != size || head.Metadata["canopy-project"] == "" {
		t.Fatalf("the image in S3 (%s/%s): %v, %d bytes (want %d), metadata %v", bucket, key, err, awssdk.ToInt64(head.ContentLength), size, head.Metadata)
	}
	list, err := d.Compute.ListImages(ctx, &canopyv1.ListImagesRequest{Location: loc("aws"), Name: ref})
	if err != nil || len(list.Images) != 1 || list.Images[0].Id != im.Id || list.Images[0].ContainerFormat != "docker" {
		t.Fatalf("ListImages in aws named %s: %v %v, want the one docker image %s", ref, list.GetImages(), err, im.Id)
	}
	if err := exec.CommandContext(ctx, "docker", "-H", env.dockerHost, "image", "inspect", ref).Run(); err == nil {
		t.Fatalf("the docker host has %s before the create", ref)
	}

	c := newCtrClient(t, d)
	start := time.Now()
	op := c.create(ctx, &canopyv1.CreateContainerRequest{Name: "from-aws-" + strings.ReplaceAll(ref, ":", "-"), Location: loc("dock"), Image: ref, Run: true,
		Command: []string{"cat", "/www/index.html"}})
	ct := c.done(ctx, op)
	t.Logf("a container of a %d-byte image kept in S3 created on docker in %v (pulled through canopy)", size, time.Since(start))
	t.Cleanup(func() {
		_, _ = c.c.DeleteContainer(context.Background(), &canopyv1.DeleteContainerRequest{Id: ct.Id, Force: true, AllowMissing: true})
	})
	got, err := c.c.WaitContainer(ctx, &canopyv1.WaitContainerRequest{Id: ct.Id, Condition: canopyv1.WaitContainerRequest_CONDITION_EXITED})
	if err != nil || got.ExitCode != 0 {
		t.Fatalf("container of the image from aws: %v, exit %d", err, got.GetExitCode())
	}
	s, err := c.c.ContainerLogs(ctx, &canopyv1.ContainerLogsRequest{Id: ct.Id})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for {
		m, err := s.Recv()
		if err != nil {
			break
		}
		out.Write(m.Data)
	}
	if !strings.Contains(out.String(), "canopy busybox") {
		t.Errorf("the container of the image from aws printed %q", out.String())
	}
	if err := exec.CommandContext(ctx, "docker", "-H", env.dockerHost, "image", "inspect", ref).Run(); err != nil {
		t.Errorf("the docker host lacks %s after the create: %v", ref, err)
	}

	// Deleted through canopy, the object and its record leave the bucket.
	if _, err := d.Compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: im.Id}); err != nil {
		t.Fatalf("DeleteImage %s: %v", im.Id, err)
	}
	objs, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil || len(objs.Contents) != 0 {
		t.Errorf("the bucket after DeleteImage: %d objects (%v)", len(objs.Contents), err)
	}
}
