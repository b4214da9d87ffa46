//go:build aws

package aws_test

// End to end: canopyd with an aws cloud on moto beside a sim cloud, driven
// over gRPC as a user would; the result is checked in moto with the SDK.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// buildCanopyd builds ./cmd/canopyd from the module root.
func buildCanopyd(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(t.TempDir(), "canopyd")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/canopyd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/canopyd: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// bearer sends a token with every call over plaintext loopback.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// canopyd is one running daemon and a gRPC connection to it.
type canopyd struct {
	logs    *lockedBuf
	conn    *grpc.ClientConn
	compute canopyv1.ComputeServiceClient
	clouds  canopyv1.CloudServiceClient
}

// startCanopyd runs canopyd on free loopback ports with the config, waits
// until it serves, and authenticates with the admin client its first run
// wrote (as a script would).
func startCanopyd(t *testing.T, bin, config string) *canopyd {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "canopy.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	grpcAddr, restAddr, creds := freeAddr(t), freeAddr(t), filepath.Join(dir, "credentials.json")
	cmd := exec.Command(bin, "--config", cfgPath, "--grpc-addr", grpcAddr, "--rest-addr", restAddr, "--grace", "5s", "--credentials-file", creds)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "CANOPY_CONFIG=", "CANOPY_STORE=", "CANOPY_CREDENTIALS=")
	d := &canopyd{logs: &lockedBuf{}}
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("canopyd log:\n%s", d.logs)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + restAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("canopyd exited at start: %v\n%s", err, d.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("canopyd did not serve within 30s:\n%s", d.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	token := adminToken(t, creds, "http://"+restAddr+"/oauth2/token")
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d.conn, d.compute, d.clouds = conn, canopyv1.NewComputeServiceClient(conn), canopyv1.NewCloudServiceClient(conn)
	return d
}

// adminToken trades the first-run client credentials for a token.
func adminToken(t *testing.T, credsPath, tokenURL string) string {
	t.Helper()
	raw, err := os.ReadFile(credsPath)
	if err != nil {
		t.Fatalf("first-run credentials: %v", err)
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", tokenURL, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: HTTP %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

func TestCanopydWithAWSAndSim(t *testing.T) {
	resetMoto(t)
	endpoint := motoEndpoint(t)
	image := "canopy-e2e-debian-12"
	registerImage(t, "us-east-1", image)
	bin := buildCanopyd(t)
	d := startCanopyd(t, bin, fmt.Sprintf(`
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The aws cloud is healthy, its zones map to itself.
	cl, err := d.clouds.GetCloud(ctx, &canopyv1.GetCloudRequest{Name: "aws"})
	if err != nil {
		t.Fatalf("GetCloud(aws): %v", err)
	}
	if cl.Kind != "aws" || cl.Health != canopyv1.Cloud_HEALTH_OK || !contains(cl.Regions, "us-east-1") || !contains(cl.Zones, "us-east-1a") {
		t.Errorf("cloud aws = %v", cl)
	}

	// A server on the aws cloud, waited for.
	awsSrv, err := d.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{
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
	simSrv, err := d.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{
		Name: "e2e-sim", Location: &canopyv1.Location{Cloud: "local"}, Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true,
	})
	if err != nil || simSrv.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Fatalf("CreateServer on sim = %v, %v", simSrv, err)
	}

	// One list across both clouds.
	list, err := d.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
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
	del, err := d.compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: awsSrv.Id, Wait: true})
	if err != nil || del.Status != canopyv1.Status_STATUS_DELETED {
		t.Fatalf("DeleteServer(aws) = %v, %v", del, err)
	}
	if _, err := d.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: awsSrv.Id}); status.Code(err) != codes.NotFound {
		t.Errorf("GetServer after delete: %v, want NotFound", err)
	}
	list, err = d.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
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
