//go:build aws

package aws_test

// End to end: canopyd with an aws cloud on moto beside a sim cloud, driven
// over gRPC as a user would; the result is checked in moto with the SDK.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

func TestCanopydWithAWSAndSim(t *testing.T) {
	resetMoto(t)
	endpoint := motoEndpoint(t)
	image := "canopy-e2e-debian-12"
	registerImage(t, "us-east-1", image)
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: aws
    kind: aws
    regions: [us-east-1]
    options:
      endpoint: %s
      access_key_id: testing
      secret_access_key: testing
      instance_types: [t3.micro, t3.small]
  - name: local
    kind: sim
    zones: [local-1a, local-1b]
    options: {boot_delay: 300ms, action_delay: 100ms, delete_delay: 100ms}
wait:
  min_interval: 50ms
  max_interval: 500ms
`, endpoint))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The aws cloud is healthy, its zones map to itself.
	cl, err := d.Clouds.GetCloud(ctx, &canopyv1.GetCloudRequest{Name: "aws"})
	if err != nil {
		t.Fatalf("GetCloud(aws): %v", err)
	}
	if cl.Kind != "aws" || cl.Health != canopyv1.Cloud_HEALTH_OK || !contains(cl.Regions, "us-east-1") || !contains(cl.Zones, "us-east-1a") {
		t.Errorf("cloud aws = %v", cl)
	}

	// A server on the aws cloud, waited for.
	awsSrv, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{
		Name: "e2e-aws", Location: &canopyv1.Location{Cloud: "aws"}, Flavor: "t3.micro", Image: image,
		Labels: map[string]string{"suite": "e2e"}, Wait: true,
	})
	if err != nil {
		t.Fatalf("CreateServer on aws: %v", err)
	}
	if awsSrv.Status != canopyv1.Status_STATUS_ACTIVE || !strings.HasPrefix(awsSrv.NativeId, "i-") || awsSrv.ProviderStatus != "running" ||
		awsSrv.Location.GetCloud() != "aws" || awsSrv.Location.GetRegion() != "us-east-1" || !strings.HasPrefix(awsSrv.Location.GetZone(), "us-east-1") ||
		awsSrv.Labels["suite"] != "e2e" {
		t.Fatalf("aws server = %v", awsSrv)
	}
	// A server on the sim cloud.
	simSrv, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{
		Name: "e2e-sim", Location: &canopyv1.Location{Cloud: "local"}, Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true,
	})
	if err != nil || simSrv.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Fatalf("CreateServer on sim = %v, %v", simSrv, err)
	}

	// One list across both clouds.
	list, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.CloudErrors) != 0 {
		t.Errorf("cloud errors: %v", list.CloudErrors)
	}
	seen := map[string]string{}
	for _, s := range list.Servers {
		seen[s.Id] = s.Location.GetCloud()
	}
	if seen[awsSrv.Id] != "aws" || seen[simSrv.Id] != "local" {
		t.Errorf("ListServers = %v; want %s on aws and %s on local", seen, awsSrv.Id, simSrv.Id)
	}

	// Delete the aws one and wait until it is gone.
	del, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: awsSrv.Id, Wait: true})
	if err != nil || del.Status != canopyv1.Status_STATUS_DELETED {
		t.Fatalf("DeleteServer(aws) = %v, %v", del, err)
	}
	if _, err := d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: awsSrv.Id}); status.Code(err) != codes.NotFound {
		t.Errorf("GetServer after delete: %v, want NotFound", err)
	}
	list, err = d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{})
	if err != nil || len(list.Servers) != 1 || list.Servers[0].Id != simSrv.Id {
		t.Errorf("ListServers after delete = %v, %v; want the sim server only", list.GetServers(), err)
	}

	// In moto, checked with the SDK and not through canopy: terminated.
	out, err := ec2Client(t, "us-east-1").DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{awsSrv.NativeId}})
	var api smithy.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode() == "InvalidInstanceID.NotFound":
		// gone altogether: fine too
	case err != nil:
		t.Fatalf("DescribeInstances(%s): %v", awsSrv.NativeId, err)
	default:
		in := out.Reservations[0].Instances[0]
		if in.State == nil || in.State.Name != types.InstanceStateNameTerminated {
			t.Errorf("instance %s in moto is %v, want terminated", awsSrv.NativeId, in.State)
		}
		if got := awssdk.ToString(in.ImageId); got == "" {
			t.Errorf("instance %s has no image", awsSrv.NativeId)
		}
	}
}
