package aws

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// The SDK retries a call whose connection failed under it, and that call
// may have taken effect the first time: its answer was lost, not its
// request. A retried create then meets its own first attempt (a conflict:
// providers.FindOrCreate looks for the token again), and a retried delete
// finds nothing to delete. Seen on moto in CI: DeleteInternetGateway
// answered InvalidInternetGatewayID.NotFound for the gateway its first
// attempt had deleted. The SDK counts its attempts per call only in
// metadata an error does not carry, so the adapter counts them itself.

type attemptsKey struct{}

// countAttempts is a Finalize middleware after the SDK's retry loop: it
// sees every attempt of a call made through attempted (or removal).
var countAttempts = middleware.FinalizeMiddlewareFunc("canopyCountAttempts",
	func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if n, ok := ctx.Value(attemptsKey{}).(*atomic.Int32); ok {
			n.Add(1)
		}
		return next.HandleFinalize(ctx, in)
	})

// addAttemptCounter puts countAttempts on a client's stack.
func addAttemptCounter(stack *middleware.Stack) error {
	return stack.Finalize.Insert(countAttempts, "Retry", middleware.After)
}

// attempted makes one EC2 call and says how many times the SDK sent it.
func attempted[I, O any](ctx context.Context, call func(context.Context, I, ...func(*ec2.Options)) (O, error), in I) (O, int, error) {
	n := new(atomic.Int32)
	out, err := call(context.WithValue(ctx, attemptsKey{}, n), in)
	return out, int(n.Load()), err
}

// removal makes one EC2 call that removes something (a delete, a release,
// a detach, a disassociation). When the SDK sent it more than once and
// the last attempt found nothing to remove, an earlier attempt removed
// it: that is the call's success, not a not-found. A first attempt
// answered not-found stays an error.
func removal[I, O any](ctx context.Context, call func(context.Context, I, ...func(*ec2.Options)) (O, error), in I) (O, error) {
	out, n, err := attempted(ctx, call, in)
	if err != nil && n > 1 && goneCode(err) {
		var zero O
		return zero, nil
	}
	return out, err
}

// goneCode reports whether err is EC2's answer for a thing that is not
// (or no longer) there to remove.
func goneCode(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	code := api.ErrorCode()
	return strings.HasSuffix(code, ".NotFound") || code == "Gateway.NotAttached"
}

// madeBefore reports whether err, from a call the SDK sent n times, says
// that what it makes is there already (code): when n > 1, an earlier
// attempt may have made it, and the caller looks.
func madeBefore(err error, n int, code string) bool {
	var api smithy.APIError
	return err != nil && n > 1 && errors.As(err, &api) && api.ErrorCode() == code
}

// once is the per-call option of a create that carries a token: the SDK
// does not send it again when the connection failed after the request may
// have gone out (only when it surely did not: a failed dial), because a
// create EC2 (or moto) does not know as a repeat makes a second resource.
// providers.FindOrCreate sends it again instead, once the token is not
// found. Without a token the SDK's retries stay.
func once(token string) []func(*ec2.Options) {
	if token == "" {
		return nil
	}
	return []func(*ec2.Options){func(o *ec2.Options) {
		max := 0
		if o.Retryer != nil {
			max = o.Retryer.MaxAttempts()
		}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			if max > 0 {
				so.MaxAttempts = max
			}
			for i, r := range so.Retryables {
				if _, ok := r.(retry.RetryableConnectionError); ok {
					so.Retryables[i] = unsentOnly{}
				}
			}
		})
	}}
}

// unsentOnly retries the connection errors of a request that never left
// (a failed dial) and no other.
type unsentOnly struct{}

func (unsentOnly) IsErrorRetryable(err error) awssdk.Ternary {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return awssdk.TrueTernary
	}
	if (retry.RetryableConnectionError{}).IsErrorRetryable(err) == awssdk.TrueTernary {
		return awssdk.FalseTernary
	}
	return awssdk.UnknownTernary
}
