//go:build s3

package aws_test

// The object conformance against an S3 engine that verifies signatures
// (MinIO: test/s3/up.sh starts it, test/s3/test.sh runs this). moto accepts
// any presigned URL, so the SignedURLs checks that matter — a tampered,
// misused, stretched or expired URL refused — run here. They need
// CANOPY_S3_ENDPOINT, CANOPY_S3_ACCESS_KEY and CANOPY_S3_SECRET_KEY.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
	awsp "github.com/canopy-cloud/canopy/providers/aws"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// s3Only is the adapter as the suite sees it on an S3-only engine: its
// objects and signed URLs, nothing of EC2 (Info asks S3, so it still
// reaches the engine).
type s3Only struct {
	providers.Objects
	providers.URLSigner
	c *awsp.Cloud
}

func (s s3Only) Info(ctx context.Context) (providers.Info, error) {
	if _, err := s.c.ListBuckets(ctx); err != nil {
		return providers.Info{}, err
	}
	return providers.Info{Regions: []string{"us-east-1"}}, nil
}

func (s s3Only) Close() error { return s.c.Close() }

type s3Harness struct{}

func s3Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: start MinIO with test/s3/up.sh (or run test/s3/test.sh)", name)
	}
	return v
}

func (s3Harness) MakeProvider(ctx context.Context, t *testing.T) providers.Provider {
	p, err := providers.Open(ctx, "aws", providers.Config{Name: "minio", Regions: []string{"us-east-1"}, Options: map[string]any{
		"endpoint":          strings.TrimRight(s3Env(t, "CANOPY_S3_ENDPOINT"), "/"),
		"access_key_id":     s3Env(t, "CANOPY_S3_ACCESS_KEY"),
		"secret_access_key": s3Env(t, "CANOPY_S3_SECRET_KEY"),
	}})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	c := p.(*awsp.Cloud)
	return s3Only{Objects: c, URLSigner: c, c: c}
}

// PendingUploads implements providertest.UploadInspector with MinIO's
// ListMultipartUploads and ListParts.
func (s3Harness) PendingUploads(ctx context.Context, _ providers.Provider, bucket, key string) ([]string, error) {
	return pendingS3Uploads(ctx, strings.TrimRight(os.Getenv("CANOPY_S3_ENDPOINT"), "/"), os.Getenv("CANOPY_S3_ACCESS_KEY"), os.Getenv("CANOPY_S3_SECRET_KEY"), bucket, key)
}

func (s3Harness) Fixture() providertest.Fixture {
	return providertest.Fixture{WaitTimeout: 30 * time.Second, Poll: 50 * time.Millisecond, Prefix: fmt.Sprintf("ptest-s3-%d", os.Getpid()%1000)}
}

// TestObjectConformanceSigV4 is providertest's Objects section on MinIO,
// with every SignedURLs check on (no SignaturesUnchecked).
func TestObjectConformanceSigV4(t *testing.T) {
	providertest.RunConformanceTests(t, s3Harness{})
}
