package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/canopy-cloud/canopy/providers"
)

func TestServerStatus(t *testing.T) {
	for _, tc := range []struct {
		state string
		want  providers.Status
	}{
		{"pending", providers.StatusPending},
		{"running", providers.StatusActive},
		{"stopping", providers.StatusUpdating},
		{"stopped", providers.StatusStopped},
		{"shutting-down", providers.StatusDeleting},
		{"terminated", providers.StatusDeleted},
		{"", providers.StatusUnknown},
		{"rebooting", providers.StatusUnknown}, // EC2 has no such state: reboots are instantaneous
	} {
		if got := serverStatus(tc.state); got != tc.want {
			t.Errorf("serverStatus(%q) = %v, want %v", tc.state, got, tc.want)
		}
	}
}

func TestImageStatus(t *testing.T) {
	for _, tc := range []struct {
		state string
		want  providers.Status
	}{
		{"available", providers.StatusActive},
		{"pending", providers.StatusPending},
		{"transient", providers.StatusPending},
		{"failed", providers.StatusError},
		{"invalid", providers.StatusError},
		{"error", providers.StatusError},
		{"deregistered", providers.StatusDeleted},
		{"disabled", providers.StatusStopped},
		{"whatever", providers.StatusUnknown},
	} {
		if got := imageStatus(tc.state); got != tc.want {
			t.Errorf("imageStatus(%q) = %v, want %v", tc.state, got, tc.want)
		}
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		code      string
		target    error // the call acts on the named resource
		reference error // the call references it while creating something
	}{
		{"InvalidInstanceID.NotFound", providers.ErrNotFound, providers.ErrInvalid},
		{"InvalidInstanceID.Malformed", providers.ErrNotFound, providers.ErrInvalid},
		{"InvalidAMIID.NotFound", providers.ErrNotFound, providers.ErrInvalid},
		{"InvalidAMIID.Malformed", providers.ErrNotFound, providers.ErrInvalid},
		{"InvalidAMIID.Unavailable", providers.ErrNotFound, providers.ErrInvalid},
		{"InvalidKeyPair.NotFound", providers.ErrNotFound, providers.ErrInvalid},
		{"InvalidSubnetID.NotFound", providers.ErrNotFound, providers.ErrInvalid},
		{"InvalidGroup.NotFound", providers.ErrNotFound, providers.ErrInvalid},
		{"InvalidInstanceType.NotFound", providers.ErrNotFound, providers.ErrInvalid},
		{"InvalidKeyPair.Duplicate", providers.ErrAlreadyExists, providers.ErrAlreadyExists},
		{"InvalidGroup.Duplicate", providers.ErrAlreadyExists, providers.ErrAlreadyExists},
		{"IdempotentParameterMismatch", providers.ErrAlreadyExists, providers.ErrAlreadyExists},
		{"InvalidKey.Format", providers.ErrInvalid, providers.ErrInvalid},
		{"InvalidParameterValue", providers.ErrInvalid, providers.ErrInvalid},
		{"InvalidParameterCombination", providers.ErrInvalid, providers.ErrInvalid},
		{"InvalidUserData.Malformed", providers.ErrInvalid, providers.ErrInvalid},
		{"InvalidInstanceType", providers.ErrInvalid, providers.ErrInvalid},
		{"MissingParameter", providers.ErrInvalid, providers.ErrInvalid},
		{"InvalidAvailabilityZone", providers.ErrInvalid, providers.ErrInvalid},
		{"IncorrectInstanceState", providers.ErrConflict, providers.ErrConflict},
		{"IncorrectState", providers.ErrConflict, providers.ErrConflict},
		{"OperationNotPermitted", providers.ErrConflict, providers.ErrConflict},
		{"DependencyViolation", providers.ErrConflict, providers.ErrConflict},
		{"RequestLimitExceeded", providers.ErrRateLimited, providers.ErrRateLimited},
		{"Throttling", providers.ErrRateLimited, providers.ErrRateLimited},
		{"ThrottlingException", providers.ErrRateLimited, providers.ErrRateLimited},
		{"InstanceLimitExceeded", providers.ErrQuota, providers.ErrQuota},
		{"VcpuLimitExceeded", providers.ErrQuota, providers.ErrQuota},
		{"KeyPairLimitExceeded", providers.ErrQuota, providers.ErrQuota},
		{"SomethingNewLimitExceeded", providers.ErrQuota, providers.ErrQuota},
		{"InsufficientInstanceCapacity", providers.ErrUnavailable, providers.ErrUnavailable},
		{"InternalError", providers.ErrUnavailable, providers.ErrUnavailable},
		{"ServiceUnavailable", providers.ErrUnavailable, providers.ErrUnavailable},
		{"Unavailable", providers.ErrUnavailable, providers.ErrUnavailable},
		{"UnauthorizedOperation", providers.ErrPermission, providers.ErrPermission},
		{"OptInRequired", providers.ErrPermission, providers.ErrPermission},
		{"AuthFailure", providers.ErrUnauthenticated, providers.ErrUnauthenticated},
		{"InvalidClientTokenId", providers.ErrUnauthenticated, providers.ErrUnauthenticated},
		{"SignatureDoesNotMatch", providers.ErrUnauthenticated, providers.ErrUnauthenticated},
		{"RequestExpired", providers.ErrUnauthenticated, providers.ErrUnauthenticated},
		{"UnsupportedOperation", providers.ErrUnsupported, providers.ErrUnsupported},
		{"SomethingElse", nil, nil},
	} {
		if got := kindOf(tc.code, target); got != tc.target {
			t.Errorf("kindOf(%s, target) = %v, want %v", tc.code, got, tc.target)
		}
		if got := kindOf(tc.code, reference); got != tc.reference {
			t.Errorf("kindOf(%s, reference) = %v, want %v", tc.code, got, tc.reference)
		}
	}
}

// sdkErr builds an error shaped like the SDK's: an operation error around
// an HTTP response error around the API error.
func sdkErr(code string, fault smithy.ErrorFault, status int) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: "RunInstances", Err: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: &smithy.GenericAPIError{Code: code, Message: "the message", Fault: fault},
	}}
}

func TestMapErr(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name  string
		err   error
		want  error
		retry bool
	}{
		{"not found", sdkErr("InvalidInstanceID.NotFound", smithy.FaultClient, 400), providers.ErrNotFound, false},
		{"throttled", sdkErr("RequestLimitExceeded", smithy.FaultClient, 503), providers.ErrRateLimited, true},
		{"unknown server fault", sdkErr("Weird", smithy.FaultServer, 500), providers.ErrUnavailable, false},
		{"conflict", sdkErr("IncorrectInstanceState", smithy.FaultClient, 400), providers.ErrConflict, false},
		{"connection refused", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: refused}}, providers.ErrUnavailable, false},
		{"no credentials", &smithy.OperationError{Err: &v4.SigningError{Err: errors.New("no creds")}}, providers.ErrUnauthenticated, false},
	} {
		got := fail(tc.err, target, "do something in %s", "us-east-1")
		if !errors.Is(got, tc.want) {
			t.Errorf("%s: %v: not %v", tc.name, got, tc.want)
		}
		var ra *providers.RetryAfterError
		if errors.As(got, &ra) != tc.retry || (tc.retry && ra.After <= 0) {
			t.Errorf("%s: %v: retry-after hint %v, want %v", tc.name, got, ra, tc.retry)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("%s: the SDK's error is lost in %v", tc.name, got)
		}
	}
	// The message names the operation, the region, the code and the kind.
	msg := fail(sdkErr("InvalidAMIID.NotFound", smithy.FaultClient, 400), reference, "run instances in %s", "eu-west-1").Error()
	if want := "aws: run instances in eu-west-1: InvalidAMIID.NotFound: the message (invalid argument)"; msg != want {
		t.Errorf("message = %q, want %q", msg, want)
	}
	// Cancellation and deadlines pass through, unmapped.
	for _, cerr := range []error{context.Canceled, context.DeadlineExceeded} {
		got := fail(&smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: fmt.Errorf("send: %w", cerr)}}, target, "x")
		if !errors.Is(got, cerr) || errors.Is(got, providers.ErrUnavailable) {
			t.Errorf("%v mapped to %v", cerr, got)
		}
	}
	if mapErr(nil, target) != nil {
		t.Error("mapErr(nil) != nil")
	}
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]any{
		"profile": "work", "regions": []any{"us-east-1", "eu-west-1"}, "endpoint": "http://127.0.0.1:5055",
		"access_key_id": "a", "secret_access_key": "s", "image_owners": []any{"self", "shared"},
		"image_filters":  map[string]any{"name": "debian-*", "architecture": []any{"x86_64", "arm64"}},
		"instance_types": []any{"t3.*"}, "catalog_ttl": "5m", "max_attempts": 5, "container_image_bucket": "my-images",
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.Profile != "work" || len(o.Regions) != 2 || o.Endpoint == "" || o.AccessKeyID != "a" || len(o.ImageOwners) != 2 ||
		len(o.ImageFilters["name"]) != 1 || len(o.ImageFilters["architecture"]) != 2 || o.InstanceTypes[0] != "t3.*" ||
		o.CatalogTTL != 5*time.Minute || o.MaxAttempts != 5 || o.ContainerImageBucket != "my-images" {
		t.Errorf("ParseOptions = %+v", o)
	}
	if d, _ := ParseOptions(nil); d.CatalogTTL != time.Hour {
		t.Errorf("default catalog_ttl = %v, want 1h", d.CatalogTTL)
	}
	for _, bad := range []map[string]any{
		{"nope": 1}, {"access_key_id": "a"}, {"session_token": "t"}, {"catalog_ttl": 5}, {"catalog_ttl": "soon"},
		{"regions": "us-east-1"}, {"regions": []any{""}}, {"max_attempts": -1}, {"image_owners": 3},
		{"container_image_bucket": "Upper_Case"}, {"container_image_bucket": "a..b"}, {"container_image_bucket": 7},
	} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("ParseOptions(%v): no error", bad)
		}
	}
}

func TestOpenNeedsARegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_PROFILE", "")
	_, err := providers.Open(context.Background(), "aws", providers.Config{Name: "a"})
	if err == nil {
		t.Fatal("opened an aws cloud with no region")
	}
	p, err := providers.Open(context.Background(), "aws", providers.Config{Name: "a", Regions: []string{"eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.(*Cloud).Regions(); len(got) != 1 || got[0] != "eu-west-1" {
		t.Errorf("regions = %v", got)
	}
	t.Setenv("AWS_REGION", "ap-south-1")
	p, err = providers.Open(context.Background(), "aws", providers.Config{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.(*Cloud).Regions(); len(got) != 1 || got[0] != "ap-south-1" {
		t.Errorf("regions from AWS_REGION = %v", got)
	}
}

// An endpoint nobody listens on is ErrUnavailable, the cloud named "down".
func TestUnreachableIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p, err := providers.Open(context.Background(), "aws", providers.Config{Name: "a", Regions: []string{"us-east-1"}, Options: map[string]any{
		"endpoint": "http://" + addr, "access_key_id": "a", "secret_access_key": "s", "max_attempts": 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Info(context.Background()); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Info on a closed port: %v, want ErrUnavailable", err)
	}
	p.Close()
	if _, err := p.(*Cloud).ListServers(context.Background()); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("ListServers after Close: %v, want ErrUnavailable", err)
	}
}
