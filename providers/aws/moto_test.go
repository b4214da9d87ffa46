//go:build aws

package aws_test

// These tests run the adapter against moto's server mode (test/moto/up.sh
// starts it; test/moto/test.sh runs them). They need CANOPY_MOTO_ENDPOINT.

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
	awsp "github.com/canopy-cloud/canopy/providers/aws"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// motoEndpoint is moto's address; under the aws build tag a missing
// endpoint is a failure, not a skip: the tag means "run against moto".
func motoEndpoint(t testing.TB) string {
	t.Helper()
	e := os.Getenv("CANOPY_MOTO_ENDPOINT")
	if e == "" {
		t.Fatal("CANOPY_MOTO_ENDPOINT is not set: start moto with test/moto/up.sh (or run test/moto/test.sh)")
	}
	return strings.TrimRight(e, "/")
}

// resetMoto drops every resource moto holds (POST /moto-api/reset).
func resetMoto(t testing.TB) {
	t.Helper()
	resp, err := http.Post(motoEndpoint(t)+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset moto: HTTP %d", resp.StatusCode)
	}
}

// motoOptions are the cloud options that point the adapter at moto.
func motoOptions(t testing.TB, extra map[string]any) map[string]any {
	o := map[string]any{"endpoint": motoEndpoint(t), "access_key_id": "testing", "secret_access_key": "testing"}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// ec2Client is a plain SDK client on moto, to arrange and check things
// behind the adapter's back.
func ec2Client(t testing.TB, region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region: region, BaseEndpoint: awssdk.String(motoEndpoint(t)),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
}

// registerImage registers an AMI owned by moto's account ("self").
func registerImage(t testing.TB, region, name string) string {
	t.Helper()
	out, err := ec2Client(t, region).RegisterImage(context.Background(), &ec2.RegisterImageInput{
		Name: awssdk.String(name), Description: awssdk.String("canopy test image"),
		Architecture: types.ArchitectureValuesX8664, RootDeviceName: awssdk.String("/dev/xvda"),
		VirtualizationType: awssdk.String("hvm"),
	})
	if err != nil {
		t.Fatalf("register image in %s: %v", region, err)
	}
	return awssdk.ToString(out.ImageId)
}

func openMoto(t testing.TB, regions []string, extra map[string]any) *awsp.Cloud {
	t.Helper()
	p, err := providers.Open(context.Background(), "aws", providers.Config{Name: "moto", Regions: regions, Options: motoOptions(t, extra)})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p.(*awsp.Cloud)
}

type motoHarness struct {
	regions []string
	zone    string
	image   string // name of the AMI registered for the suite
	extra   map[string]any
}

func (h *motoHarness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	resetMoto(t)
	imageRegion := h.regions[0]
	if h.zone != "" {
		imageRegion = h.zone[:len(h.zone)-1]
	}
	registerImage(t, imageRegion, h.image)
	p, err := providers.Open(ctx, "aws", providers.Config{Name: "moto", Regions: h.regions, Options: motoOptions(t, h.extra)})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return p
}

// PendingUploads implements providertest.UploadInspector with moto's
// ListMultipartUploads and ListParts.
func (h *motoHarness) PendingUploads(ctx context.Context, _ providers.Provider, bucket, key string) ([]string, error) {
	return pendingS3Uploads(ctx, strings.TrimRight(os.Getenv("CANOPY_MOTO_ENDPOINT"), "/"), "testing", "testing", bucket, key)
}

func (h *motoHarness) Fixture() providertest.Fixture {
	var cimg []string
	if h.extra["container_image_bucket"] != nil {
		cimg = []string{"docker", "oci"} // S3 objects (container_images.go)
	}
	return providertest.Fixture{ContainerImageFormats: cimg, ImageName: h.image, Zone: h.zone, WaitTimeout: 30 * time.Second, Poll: 50 * time.Millisecond, Prefix: "ptest-aws",
		SignaturesUnchecked: "moto does not verify presigned URLs (it checks SigV4 only in Authorization headers, never in the query string, nor X-Amz-Expires); test/s3 checks them on MinIO",
		ExternalNetwork:     "amazon", NetworkUnsupported: ec2NetworkUnsupported,
		VolumeDataUnreadable: "moto 5.2.5: its EBS direct API knows only snapshots made by StartSnapshot, not EC2 snapshots of volumes (whose bytes it does not keep), so ReadVolumeData's ListSnapshotBlocks fails there (TestMotoReadVolumeData)"}
}

// ec2NetworkUnsupported is what EC2 (not just moto) cannot do of the
// Networks section: the adapter refuses each with ErrUnsupported.
var ec2NetworkUnsupported = map[string]string{
	providertest.UnsupportedNetDNSServers: "EC2 sets DNS servers per VPC (a DHCP option set), not per subnet",
	providertest.UnsupportedNetPools:      "EC2 subnets have no allocation pools: every address but the first four and the last is handed out",
	providertest.UnsupportedNetGatewayIP:  "an EC2 subnet's gateway is always the VPC router at its base + 1",
	providertest.UnsupportedNetNoDHCP:     "EC2 always serves DHCP",
}

// TestConformance is the providertest suite on one region with the
// default options (every instance type moto offers, images owned by self).
func TestConformance(t *testing.T) {
	providertest.RunConformanceTests(t, &motoHarness{regions: []string{"us-east-1"}, image: "canopy-ptest-debian-12",
		extra: map[string]any{"container_image_bucket": "canopy-ptest-container-images"}})
}

// TestConformanceMultiRegion runs the suite on a cloud of two regions with
// servers placed in a zone of the second one, and an instance-type
// allow-list.
func TestConformanceMultiRegion(t *testing.T) {
	providertest.RunConformanceTests(t, &motoHarness{
		regions: []string{"us-east-1", "eu-west-1"}, zone: "eu-west-1b", image: "canopy-ptest-ubuntu-24.04",
		extra: map[string]any{"instance_types": []any{"t3.micro", "t3.small", "m5.large", "p3.2xlarge", "c5d.large"}},
	})
}
