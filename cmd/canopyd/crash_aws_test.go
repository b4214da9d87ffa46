//go:build aws

package main

// The crash-safety lineages on moto (test/moto): the story of
// crash_test.go against EC2 and EBS, canopyd killed at every failpoint it
// passes — including the adapter's own, just after EC2 accepted
// RunInstances, CreateVolume or CreateSnapshot and before canopy recorded
// the answer — and what moto holds counted with the AWS SDK.

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

const motoRegion = "us-east-1"

func motoEC2(t *testing.T) (*ec2.Client, string) {
	t.Helper()
	endpoint := strings.TrimRight(os.Getenv("CANOPY_MOTO_ENDPOINT"), "/")
	if endpoint == "" {
		t.Fatal("CANOPY_MOTO_ENDPOINT is not set: start moto with test/moto/up.sh (or run test/moto/test.sh)")
	}
	return ec2.New(ec2.Options{
		Region: motoRegion, BaseEndpoint: awssdk.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	}), endpoint
}

func nameTag(tags []types.Tag) string {
	for _, tg := range tags {
		if awssdk.ToString(tg.Key) == "Name" {
			return awssdk.ToString(tg.Value)
		}
	}
	return ""
}

// rootOfInstance reports whether EC2 made the volume for an instance (the
// image's root device, tagged like the instance); a root volume canopy
// asked for by name (boot from a volume) is the story's.
func rootOfInstance(v types.Volume, roots map[string]string, names map[string]string) bool {
	for _, a := range v.Attachments {
		in := awssdk.ToString(a.InstanceId)
		if roots[in] != "" && roots[in] == awssdk.ToString(a.Device) && nameTag(v.Tags) == names[in] {
			return true // made with the instance, named after it (a volume canopy asked for has its own name)
		}
	}
	return false
}

// motoHolds lists what moto holds under a name prefix: instances not
// terminated nor terminating, volumes and snapshots not being deleted.
func motoHolds(t *testing.T, api *ec2.Client, prefix string) cloudHolds {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var h cloudHolds
	roots := map[string]string{} // instance → its root device
	names := map[string]string{} // instance → its Name tag
	ip := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{})
	for ip.HasMorePages() {
		out, err := ip.NextPage(ctx)
		if err != nil {
			t.Fatalf("ec2: describe instances: %v", err)
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				roots[awssdk.ToString(in.InstanceId)] = awssdk.ToString(in.RootDeviceName)
				names[awssdk.ToString(in.InstanceId)] = nameTag(in.Tags)
				st := in.State.Name
				if strings.HasPrefix(nameTag(in.Tags), prefix) && st != types.InstanceStateNameTerminated && st != types.InstanceStateNameShuttingDown {
					h.servers = append(h.servers, awssdk.ToString(in.InstanceId))
				}
			}
		}
	}
	vp := ec2.NewDescribeVolumesPaginator(api, &ec2.DescribeVolumesInput{})
	for vp.HasMorePages() {
		out, err := vp.NextPage(ctx)
		if err != nil {
			t.Fatalf("ec2: describe volumes: %v", err)
		}
		for _, v := range out.Volumes {
			if rootOfInstance(v, roots, names) {
				continue // an instance's root volume: it goes with the instance
			}
			if strings.HasPrefix(nameTag(v.Tags), prefix) && v.State != types.VolumeStateDeleting && v.State != types.VolumeStateDeleted {
				if os.Getenv("CANOPY_CRASH_DEBUG") != "" {
					t.Logf("volume %s %q %s attachments %+v", awssdk.ToString(v.VolumeId), nameTag(v.Tags), v.State, v.Attachments)
				}
				h.volumes = append(h.volumes, awssdk.ToString(v.VolumeId))
			}
		}
	}
	sp := ec2.NewDescribeSnapshotsPaginator(api, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	for sp.HasMorePages() {
		out, err := sp.NextPage(ctx)
		if err != nil {
			t.Fatalf("ec2: describe snapshots: %v", err)
		}
		for _, s := range out.Snapshots {
			if strings.HasPrefix(nameTag(s.Tags), prefix) {
				h.snapshots = append(h.snapshots, awssdk.ToString(s.SnapshotId))
			}
		}
	}
	sort.Strings(h.servers)
	sort.Strings(h.volumes)
	sort.Strings(h.snapshots)
	return h
}

// motoRemove deletes what a lineage left.
func motoRemove(t *testing.T, api *ec2.Client, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := motoHolds(t, api, prefix)
	if len(h.servers) > 0 {
		_, _ = api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: h.servers})
	}
	for _, id := range h.snapshots {
		_, _ = api.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: awssdk.String(id)})
	}
	for _, id := range h.volumes {
		_, _ = api.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: awssdk.String(id), Force: awssdk.Bool(true)})
		_, _ = api.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: awssdk.String(id)})
	}
}

func TestCrashSafetyAWS(t *testing.T) {
	api, endpoint := motoEC2(t)
	run := fmt.Sprintf("crash%d", time.Now().Unix()%1000000)
	image := run + "-image"
	if _, err := api.RegisterImage(context.Background(), &ec2.RegisterImageInput{
		Name: awssdk.String(image), Architecture: types.ArchitectureValuesX8664, RootDeviceName: awssdk.String("/dev/xvda"),
		VirtualizationType: awssdk.String("hvm"),
	}); err != nil {
		t.Fatalf("register image: %v", err)
	}
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: aws
    kind: aws
    regions: [%s]
    options:
      endpoint: %s
      access_key_id: testing
      secret_access_key: testing
      instance_types: [t3.micro]
      create_window: 2s
wait:
  min_interval: 50ms
  max_interval: 500ms
auth:
  issuer_url: http://canopy.crash.test
`, motoRegion, endpoint))
	eng := &engine{
		cfg: cfg, cloud: "aws",
		story: func(lineage int) *story {
			return &story{cloud: "aws", ids: map[string]string{}, real: true, prefix: fmt.Sprintf("%s-%d-", run, lineage+1),
				flavor: "t3.micro", image: image, timeout: 2 * time.Minute, fromImage: true, boot: true, imageGiB: 16}
		},
		holds:   func(t *testing.T, _ string, s *story) cloudHolds { return motoHolds(t, api, s.prefix) },
		cleanup: func(t *testing.T, s *story) { motoRemove(t, api, s.prefix) },
	}
	t.Cleanup(func() { motoRemove(t, api, run+"-") })
	runRealCrash(t, eng.lineages())
}
