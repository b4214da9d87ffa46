//go:build openstack && aws

package main

// P10 of issue 16: replication throughput, OpenStack lab → EC2 on moto,
// through canopyd (ReplicateImage: Glance download streamed into the EBS
// direct API, RegisterImage) against doing it by hand with the two SDKs
// (gophercloud's image download, aws-sdk-go-v2's StartSnapshot /
// PutSnapshotBlock / CompleteSnapshot, RegisterImage), on the same image.
// Each iteration makes a new AMI: canopy's replica is deleted (through
// canopy) and the baseline's AMI and snapshot (through EC2) with the
// timer stopped.
//
//   CANOPY_OS_CLOUDS_YAML=… CANOPY_MOTO_ENDPOINT=… go test -tags 'openstack aws' -run '^$' -bench ReplicateOpenStackToAWS -benchtime 3x ./cmd/canopyd/

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ebsdirect "github.com/aws/aws-sdk-go-v2/service/ebs"
	ebstypes "github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// p10Size is the image replicated: moto's EBS direct API takes 512-byte
// blocks, one HTTP request each, so a few MiB already take seconds.
const p10Size = 4 << 20

func BenchmarkReplicateOpenStackToAWS(b *testing.B) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	endpoint := strings.TrimRight(os.Getenv("CANOPY_MOTO_ENDPOINT"), "/")
	if path == "" || endpoint == "" {
		b.Fatal("CANOPY_OS_CLOUDS_YAML and CANOPY_MOTO_ENDPOINT must be set (test/openstack/up.sh, test/moto/up.sh)")
	}
	osCloud := envOr("CANOPY_OS_CLOUD", "canopy-test")
	glance := glanceClient(b, path, osCloud)
	creds := credentials.NewStaticCredentialsProvider("testing", "testing", "")
	api := ec2.New(ec2.Options{Region: motoRegion, BaseEndpoint: awssdk.String(endpoint), Credentials: creds})
	ebs := ebsdirect.New(ebsdirect.Options{Region: motoRegion, BaseEndpoint: awssdk.String(endpoint), Credentials: creds})
	cfg := canopydtest.WriteConfig(b, fmt.Sprintf(`
clouds:
  - name: lab
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q}
  - name: aws
    kind: aws
    regions: [%s]
    options: {endpoint: %s, access_key_id: testing, secret_access_key: testing, instance_types: [t3.micro]}
`, path, osCloud, motoRegion, endpoint))
	d := canopydtest.Start(b, b.TempDir(), "--config", cfg)
	defer d.Stop()
	img := canopyv1.NewImageTransferServiceClient(d.Conn)
	compute := canopyv1.NewComputeServiceClient(d.Conn)
	ctx := context.Background()

	data := make([]byte, p10Size) // no zero blocks: every block is sent both ways
	r := rand.New(rand.NewPCG(10, 16))
	for i := range data {
		data[i] = byte(r.UintN(255) + 1)
	}
	st, err := img.UploadImage(ctx)
	if err != nil {
		b.Fatal(err)
	}
	size := int64(len(data))
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: &canopyv1.ImageUploadHeader{
		Name: fmt.Sprintf("p10-%d", time.Now().Unix()%1e6), Location: &canopyv1.Location{Cloud: "lab"}, DiskFormat: "raw", SizeBytes: &size, Wait: true}}})
	for rest := data; len(rest) > 0; rest = rest[min(len(rest), 256<<10):] {
		_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: rest[:min(len(rest), 256<<10)]}})
	}
	origin, err := st.CloseAndRecv()
	if err != nil {
		b.Fatal(err)
	}
	defer compute.DeleteImage(context.Background(), &canopyv1.DeleteImageRequest{Id: origin.Id, AllowMissing: true}) //nolint:errcheck

	var viaCanopy, direct time.Duration
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		op, err := img.ReplicateImage(ctx, &canopyv1.ReplicateImageRequest{Image: origin.Id, Clouds: []string{"aws"}, Wait: true})
		if err != nil || op.GetError() != nil || !op.Done {
			b.Fatalf("replicate: %v %v", err, op.GetError())
		}
		viaCanopy += time.Since(t0)
		b.StopTimer()
		var res canopyv1.ListImagePlacementsResponse
		_ = op.GetResponse().UnmarshalTo(&res)
		for _, p := range res.Placements {
			if p.Cloud != "aws" {
				continue
			}
			if p.BytesMoved != size {
				b.Fatalf("canopy moved %d bytes, want %d", p.BytesMoved, size)
			}
			if _, err := compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: p.ImageId}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()

		t0 = time.Now()
		ami, snap := byHand(ctx, b, glance, ebs, api, origin.NativeId, size, i)
		direct += time.Since(t0)
		b.StopTimer()
		if _, err := api.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: awssdk.String(ami)}); err != nil {
			b.Fatal(err)
		}
		_, _ = api.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: awssdk.String(snap)})
		b.StartTimer()
	}
	mib := float64(size) / (1 << 20) * float64(b.N)
	b.ReportMetric(mib/viaCanopy.Seconds(), "canopy-MiB/s")
	b.ReportMetric(mib/direct.Seconds(), "direct-MiB/s")
	b.ReportMetric(direct.Seconds()/viaCanopy.Seconds(), "ratio")
}

// byHand is the baseline: Glance's bytes into an EBS snapshot with the
// SDKs alone, registered as an AMI.
func byHand(ctx context.Context, b *testing.B, glance *gophercloud.ServiceClient, ebs *ebsdirect.Client, api *ec2.Client, image string, size int64, i int) (string, string) {
	body, err := imagedata.Download(ctx, glance, image).Extract()
	if err != nil {
		b.Fatal(err)
	}
	defer body.Close()
	start, err := ebs.StartSnapshot(ctx, &ebsdirect.StartSnapshotInput{VolumeSize: awssdk.Int64((size + 1<<30 - 1) >> 30)})
	if err != nil {
		b.Fatal(err)
	}
	id, bs := awssdk.ToString(start.SnapshotId), int(awssdk.ToInt32(start.BlockSize))
	buf := make([]byte, bs)
	var n int32
	for idx := int32(0); ; idx++ {
		k, rerr := io.ReadFull(body, buf)
		if k == 0 {
			break
		}
		clear(buf[k:])
		sum := sha256.Sum256(buf)
		if _, err := ebs.PutSnapshotBlock(ctx, &ebsdirect.PutSnapshotBlockInput{SnapshotId: awssdk.String(id), BlockIndex: awssdk.Int32(idx),
			BlockData: bytes.NewReader(buf), DataLength: awssdk.Int32(int32(bs)), Checksum: awssdk.String(base64.StdEncoding.EncodeToString(sum[:])),
			ChecksumAlgorithm: ebstypes.ChecksumAlgorithmChecksumAlgorithmSha256}); err != nil {
			b.Fatal(err)
		}
		n++
		if rerr != nil {
			break
		}
	}
	if _, err := ebs.CompleteSnapshot(ctx, &ebsdirect.CompleteSnapshotInput{SnapshotId: awssdk.String(id), ChangedBlocksCount: awssdk.Int32(n)}); err != nil {
		b.Fatal(err)
	}
	out, err := api.RegisterImage(ctx, &ec2.RegisterImageInput{Name: awssdk.String(fmt.Sprintf("p10-direct-%d-%d", time.Now().UnixNano(), i)),
		Architecture: types.ArchitectureValuesX8664, VirtualizationType: awssdk.String("hvm"), RootDeviceName: awssdk.String("/dev/xvda"),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: awssdk.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: awssdk.String(id)}}}})
	if err != nil {
		b.Fatal(err)
	}
	return awssdk.ToString(out.ImageId), id
}
