package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/canopy-cloud/canopy/providers"
)

// Error is an EC2 API error mapped to one of the providers sentinels; the
// server turns the sentinel into the matching gRPC code. errors.Is finds
// both the sentinel (Kind) and the SDK's error (Err).
type Error struct {
	Code    string // AWS error code, e.g. InvalidInstanceID.NotFound
	Message string // AWS error message
	Kind    error  // a providers sentinel; nil when none fits
	Err     error  // the SDK's error
}

func (e *Error) Error() string {
	switch {
	case e.Code == "":
		return fmt.Sprintf("%v: %v", e.Kind, e.Err)
	case e.Kind == nil:
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s (%v)", e.Code, e.Message, e.Kind)
}

// Unwrap lets errors.Is see the sentinel and the SDK's error.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// throttleHint is the Retry-After canopy reports with a throttling error
// (EC2 sends none; the SDK has already retried with backoff by then).
const throttleHint = time.Second

// mode says what the ids in a call are to the caller.
type mode int

const (
	// target: the call names the resource it acts on (describe, delete,
	// start): a missing or malformed id means it does not exist.
	target mode = iota
	// reference: the call creates something and references other resources
	// (an AMI, a subnet, a key): a missing one is a bad argument.
	reference
)

// kindOf maps an AWS error code to a providers sentinel (nil: none fits).
func kindOf(code string, m mode) error {
	lc := strings.ToLower(code)
	switch code {
	case "RequestLimitExceeded", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
		"RequestThrottledException", "TooManyRequestsException", "SlowDown", "PriorRequestNotComplete", "BandwidthLimitExceeded":
		return providers.ErrRateLimited
	case "AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken", "ExpiredToken",
		"ExpiredTokenException", "RequestExpired", "UnrecognizedClientException", "InvalidAccessKeyId", "InvalidToken",
		"IncompleteSignature", "AuthFailure.ServiceLinkedRoleCreationNotPermitted":
		return providers.ErrUnauthenticated
	case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "OptInRequired", "Blocked",
		"PendingVerification", "InvalidAMIID.Unavailable.Permission":
		return providers.ErrPermission
	case "InstanceLimitExceeded", "VcpuLimitExceeded", "ResourceLimitExceeded", "MaxSpotInstanceCountExceeded",
		"AddressLimitExceeded", "VolumeLimitExceeded", "KeyPairLimitExceeded", "InsufficientFreeAddressesInSubnet",
		"InsufficientAddressCapacity", "SecurityGroupLimitExceeded", "RulesPerSecurityGroupLimitExceeded",
		"TagLimitExceeded", "VpcLimitExceeded", "SubnetLimitExceeded", "NetworkInterfaceLimitExceeded":
		return providers.ErrQuota
	case "InternalError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException", "Unavailable",
		"InsufficientInstanceCapacity", "InsufficientCapacity", "InsufficientHostCapacity", "InsufficientReservedInstanceCapacity",
		"RequestTimeout", "RequestTimeoutException", "EC2ThrottledException", "ServerInternal":
		return providers.ErrUnavailable
	case "IncorrectInstanceState", "IncorrectState", "InvalidState", "InvalidInstanceState", "IncorrectSpotRequestState",
		"DependencyViolation", "OperationNotPermitted", "UnavailableHostRequirements", "VolumeInUse", "InvalidAddress.Locked",
		"ConcurrentTagAccess", "ResourceAlreadyAssociated", "InvalidSnapshot.InUse":
		return providers.ErrConflict
	case "IdempotentParameterMismatch":
		// The ClientToken was used before with different parameters.
		return providers.ErrAlreadyExists
	case "Unsupported", "UnsupportedOperation", "UnsupportedInstanceAttribute", "InvalidAction", "NotImplemented":
		return providers.ErrUnsupported
	case "InvalidAMIID.Unavailable":
		if m == target {
			return providers.ErrNotFound
		}
		return providers.ErrInvalid
	}
	switch {
	case strings.HasSuffix(lc, "notfound") || strings.HasSuffix(lc, "notfoundexception"):
		if m == target {
			return providers.ErrNotFound
		}
		return providers.ErrInvalid
	case strings.HasSuffix(lc, "id.malformed"):
		// A malformed id names nothing: for the resource a call acts on
		// that is "not found", for a reference a bad argument.
		if m == target {
			return providers.ErrNotFound
		}
		return providers.ErrInvalid
	case strings.HasSuffix(lc, ".duplicate") || strings.HasSuffix(lc, "alreadyexists"):
		return providers.ErrAlreadyExists
	case strings.HasSuffix(lc, "limitexceeded"):
		return providers.ErrQuota
	case strings.HasPrefix(lc, "invalid") || strings.HasPrefix(lc, "missing") || strings.HasSuffix(lc, ".malformed") ||
		strings.HasPrefix(lc, "unknownparameter") || lc == "validationerror" || lc == "validationexception":
		return providers.ErrInvalid
	}
	return nil
}

// mapErr maps an SDK error to an *Error carrying a providers sentinel.
// Cancellation and deadlines pass through unchanged so callers see them.
func mapErr(err error, m mode) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e := &Error{Code: api.ErrorCode(), Message: api.ErrorMessage(), Kind: kindOf(api.ErrorCode(), m), Err: err}
		if e.Kind == nil && api.ErrorFault() == smithy.FaultServer {
			e.Kind = providers.ErrUnavailable
		}
		if e.Kind == nil {
			var re *smithyhttp.ResponseError
			if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
				e.Kind = providers.ErrUnavailable
			}
		}
		if e.Kind == providers.ErrRateLimited {
			return &providers.RetryAfterError{After: throttleHint, Err: e}
		}
		return e
	}
	var sign *v4.SigningError
	if errors.As(err, &sign) {
		// No usable credentials: canopy's configuration, not the caller.
		return &Error{Kind: providers.ErrUnauthenticated, Err: err}
	}
	var send *smithyhttp.RequestSendError
	var nerr net.Error
	if errors.As(err, &send) || errors.As(err, &nerr) {
		return &Error{Kind: providers.ErrUnavailable, Err: err}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return &Error{Kind: providers.ErrUnavailable, Err: err}
	}
	return err
}

// fail wraps a mapped error with what canopy was doing, e.g.
// "aws: run instances in us-east-1: InvalidAMIID.NotFound: ... (invalid argument)".
func fail(err error, m mode, format string, args ...any) error {
	return fmt.Errorf("aws: %s: %w", fmt.Sprintf(format, args...), mapErr(err, m))
}
