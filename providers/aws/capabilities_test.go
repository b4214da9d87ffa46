package aws

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/providertest"
)

// TestCapabilities pins the providers interfaces the adapter's type
// implements (aws.go asserts each at compile time; this catches one
// dropped together with its assertion) and what an adapter says it
// offers: with the SDK's clients (New resolves configuration without
// calling AWS), and over EC2 clients with and without the EBS calls.
func TestCapabilities(t *testing.T) {
	wantIfaces := []string{"Compute", "FloatingIPs", "ImageDeleter", "ImageTransfer", "Limited", "Networks", "Objects", "Provider", "Routers", "SecurityGroups", "Snapshots", "URLSigner", "VolumeDataCreator", "Volumes"}
	if got := providertest.Interfaces((*Cloud)(nil)); !slices.Equal(got, wantIfaces) {
		t.Errorf("*aws.Cloud implements %v, want %v", got, wantIfaces)
	}

	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	sdk, err := New(t.Context(), "sdk", Options{Regions: []string{"us-east-1", "eu-west-1"}, AccessKeyID: "k", SecretAccessKey: "s",
		Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer sdk.Close()
	ec2Only, _ := fakeCloud("us-east-1")
	withEBS, _ := fakeEBSCloud("us-east-1", "eu-west-1")

	// Images are uploaded and read through the EBS direct API too
	// (image-transfer: raw bytes into a snapshot, registered as an AMI).
	// EBS cannot make a volume from an AMI (canopy emulates it), keeps no
	// backups apart from snapshots, and moves volume data only through the
	// EBS direct API (the SDK client's: volume-data-create), into new
	// volumes. The VPC calls (networks, routers, security groups, floating
	// IPs) are the SDK client's too; the fakes have none.
	all := []string{"compute", "floating-ips", "image-transfer", "keypairs", "networks", "objects", "presigned-urls", "routers", "security-groups", "snapshots", "volume-data-create", "volumes"}
	ebs := []string{"compute", "keypairs", "objects", "presigned-urls", "snapshots", "volumes"}
	for _, tc := range []struct {
		name string
		c    *Cloud
		want []string
	}{
		{"sdk clients", sdk, all},
		{"fake EC2 and EBS", withEBS, ebs},
		{"fake EC2 without EBS", ec2Only, []string{"compute", "keypairs", "objects", "presigned-urls"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := providers.Capabilities(tc.c); !slices.Equal(got, tc.want) {
				t.Errorf("Capabilities = %v, want %v", got, tc.want)
			}
		})
	}
}
