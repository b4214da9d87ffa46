//go:build aws

package aws_test

// Container images as S3 objects (container_images.go) on moto, beyond
// the conformance round trip: what lands in the bucket and with which
// metadata, and every way an upload or a read can go wrong.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/canopy-cloud/canopy/providers"
	awsp "github.com/canopy-cloud/canopy/providers/aws"
)

const cimgBucket = "canopy-cimg-test"

// bucketKeys lists every key under the container images' prefix.
func bucketKeys(t *testing.T, bucket string) []string {
	t.Helper()
	out, err := s3Client(t).ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: awssdk.String(bucket)})
	if err != nil {
		t.Fatalf("list %s: %v", bucket, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, awssdk.ToString(o.Key))
	}
	return keys
}

func uploadCimg(t *testing.T, c *awsp.Cloud, spec providers.ImageSpec, data []byte) (providers.Image, error) {
	t.Helper()
	w, err := c.NewImageWriter(context.Background(), spec)
	if err != nil {
		return providers.Image{}, err
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Abort()
		return providers.Image{}, err
	}
	return w.Commit()
}

func TestMotoContainerImages(t *testing.T) {
	resetMoto(t)
	ctx := context.Background()
	c := openMoto(t, []string{"us-east-1"}, map[string]any{"container_image_bucket": cimgBucket})
	data := bytes.Repeat([]byte("canopy container image tarball\n"), 300000) // 9 MiB: two parts
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])

	t.Run("without the bucket option", func(t *testing.T) {
		bare := openMoto(t, []string{"us-east-1"}, nil)
		_, err := bare.NewImageWriter(ctx, providers.ImageSpec{Name: "x", DiskFormat: "raw", ContainerFormat: "docker", Size: -1})
		if !errors.Is(err, providers.ErrUnsupported) || !strings.Contains(err.Error(), "container_image_bucket") {
			t.Errorf("docker upload without container_image_bucket: %v, want ErrUnsupported naming the option", err)
		}
	})
	t.Run("bad spec", func(t *testing.T) {
		for _, spec := range []providers.ImageSpec{
			{Name: "x", DiskFormat: "qcow2", ContainerFormat: "docker", Size: -1},
			{Name: "x", DiskFormat: "raw", ContainerFormat: "oci", SHA256: "not-hex", Size: -1},
			{Name: "x", DiskFormat: "raw", ContainerFormat: "ovf", Size: -1},
		} {
			if _, err := c.NewImageWriter(ctx, spec); !errors.Is(err, providers.ErrInvalid) {
				t.Errorf("NewImageWriter(%+v): %v, want ErrInvalid", spec, err)
			}
		}
	})

	var id string
	t.Run("stored as an object with its record", func(t *testing.T) {
		im, err := uploadCimg(t, c, providers.ImageSpec{Name: "team/web:1.0", DiskFormat: "raw", ContainerFormat: "docker", Size: int64(len(data)),
			Project: "alpha", Visibility: "shared", Labels: map[string]string{"app": "web"}}, data)
		if err != nil {
			t.Fatalf("upload: %v", err)
		}
		id = im.NativeID
		if !strings.HasPrefix(id, "cimg-") || im.Properties["sha256"] != hexSum || im.Properties["project"] != "alpha" || im.Properties["visibility"] != "shared" || im.Labels["app"] != "web" {
			t.Errorf("committed image = %+v, want a cimg- id, sha256 %s, project alpha, visibility shared, label app=web", im, hexSum)
		}
		keys := bucketKeys(t, cimgBucket)
		want := []string{"canopy-container-images/" + id, "canopy-container-images/" + id + ".json"}
		if strings.Join(keys, " ") != strings.Join(want, " ") {
			t.Errorf("bucket holds %v, want %v", keys, want)
		}
		head, err := s3Client(t).HeadObject(ctx, &s3.HeadObjectInput{Bucket: awssdk.String(cimgBucket), Key: awssdk.String(want[0])})
		if err != nil {
			t.Fatal(err)
		}
		m := head.Metadata
		if awssdk.ToInt64(head.ContentLength) != int64(len(data)) || m["canopy-project"] != "alpha" || m["canopy-visibility"] != "shared" ||
			m["canopy-container-format"] != "docker" || m["canopy-name"] != "team%2Fweb%3A1.0" || m["canopy-image-id"] != id {
			t.Errorf("the data object: %d bytes, metadata %v", awssdk.ToInt64(head.ContentLength), m)
		}
		if pending, err := pendingS3Uploads(ctx, motoEndpoint(t), "testing", "testing", cimgBucket, want[0]); err != nil || len(pending) > 0 {
			t.Errorf("multipart uploads left: %v %v", pending, err)
		}
	})
	t.Run("listed beside the AMIs", func(t *testing.T) {
		registerImage(t, "us-east-1", "an-ami")
		list, err := c.ListImages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, im := range list {
			kinds = append(kinds, im.Name+"/"+im.ContainerFormat)
		}
		if got := strings.Join(kinds, " "); !strings.Contains(got, "an-ami/ami") || !strings.Contains(got, "team/web:1.0/docker") {
			t.Errorf("ListImages = %s, want the AMI and the docker image", got)
		}
	})
	t.Run("sha256 mismatch", func(t *testing.T) {
		before := bucketKeys(t, cimgBucket)
		_, err := uploadCimg(t, c, providers.ImageSpec{Name: "bad-sum", DiskFormat: "raw", ContainerFormat: "docker", Size: -1,
			SHA256: strings.Repeat("0", 64)}, data)
		if !errors.Is(err, providers.ErrIntegrity) {
			t.Errorf("upload with a wrong sha256: %v, want ErrIntegrity", err)
		}
		if after := bucketKeys(t, cimgBucket); len(after) != len(before) {
			t.Errorf("a refused upload left objects: %v (before %v)", after, before)
		}
	})
	t.Run("size mismatch and abort", func(t *testing.T) {
		before := bucketKeys(t, cimgBucket)
		if _, err := uploadCimg(t, c, providers.ImageSpec{Name: "short", DiskFormat: "raw", ContainerFormat: "oci", Size: int64(len(data)) + 1}, data); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("a short upload: %v, want ErrInvalid", err)
		}
		if _, err := uploadCimg(t, c, providers.ImageSpec{Name: "long", DiskFormat: "raw", ContainerFormat: "oci", Size: 10}, data); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("a long upload: %v, want ErrInvalid", err)
		}
		w, err := c.NewImageWriter(ctx, providers.ImageSpec{Name: "aborted", DiskFormat: "raw", ContainerFormat: "oci", Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(data)
		if err := w.Abort(); err != nil {
			t.Errorf("Abort: %v", err)
		}
		if after := bucketKeys(t, cimgBucket); len(after) != len(before) {
			t.Errorf("refused and aborted uploads left objects: %v (before %v)", after, before)
		}
	})
	t.Run("altered behind canopy's back", func(t *testing.T) {
		key := "canopy-container-images/" + id
		if _, err := s3Client(t).PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(cimgBucket), Key: &key, Body: bytes.NewReader(data[:len(data)-1])}); err != nil {
			t.Fatal(err)
		}
		rc, _, err := c.NewImageReader(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if !errors.Is(err, providers.ErrIntegrity) {
			t.Errorf("reading an altered image: %v, want ErrIntegrity", err)
		}
		if _, err := s3Client(t).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: awssdk.String(cimgBucket), Key: &key}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.NewImageReader(ctx, id); !errors.Is(err, providers.ErrConflict) {
			t.Errorf("reading an image whose data is gone: %v, want ErrConflict", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		// Its data went above: the delete finishes with the record.
		if err := c.DeleteImage(ctx, id); err != nil {
			t.Fatalf("DeleteImage: %v", err)
		}
		if keys := bucketKeys(t, cimgBucket); len(keys) != 0 {
			t.Errorf("bucket holds %v after the delete", keys)
		}
		for _, missing := range []string{id, "cimg-000000000000000000000000", "cimg-../x"} {
			if err := c.DeleteImage(ctx, missing); !errors.Is(err, providers.ErrNotFound) {
				t.Errorf("DeleteImage(%s): %v, want ErrNotFound", missing, err)
			}
			if _, err := c.GetImage(ctx, missing); !errors.Is(err, providers.ErrNotFound) {
				t.Errorf("GetImage(%s): %v, want ErrNotFound", missing, err)
			}
		}
	})
}
