package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/canopy-cloud/canopy/client"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// dial connects to canopyd with the client package, as target says: TLS
// when asked for (by flag or profile), and a bearer token on every call
// from --token, $CANOPY_TOKEN, or the profile's client credentials (the
// token cached on disk). A token goes in plaintext only to loopback. The
// connection is made once per invocation and reused.
func (a *app) dial(ctx context.Context) (*grpc.ClientConn, error) {
	if a.conn != nil {
		return a.conn, nil
	}
	t, err := a.target()
	if err != nil {
		return nil, err
	}
	opts := []client.Option{client.WithUserAgent("canopy-cli")}
	if t.tls != nil {
		opts = append(opts, client.WithTLS(t.tls))
	}
	switch {
	case t.token != "":
		opts = append(opts, client.WithToken(t.token))
	case t.creds != nil:
		// Tokens cached on disk across invocations: a token request costs
		// canopyd a slow secret hash.
		opts = append(opts, client.WithCredentials(*t.creds), client.WithTokenCache())
	}
	c, err := client.Dial(ctx, t.addr, opts...)
	if err != nil {
		if errors.Is(err, client.ErrPlaintextToken) {
			return nil, fmt.Errorf("%w to %s: use --tls or --ca-file", client.ErrPlaintextToken, t.addr)
		}
		return nil, err
	}
	a.conn = c.Conn
	return a.conn, nil
}

func (a *app) close() {
	if a.conn != nil {
		_ = a.conn.Close()
		a.conn = nil
	}
}

func (a *app) compute(ctx context.Context) (canopyv1.ComputeServiceClient, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	return canopyv1.NewComputeServiceClient(conn), nil
}

func (a *app) clouds(ctx context.Context) (canopyv1.CloudServiceClient, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	return canopyv1.NewCloudServiceClient(conn), nil
}

func (a *app) authService(ctx context.Context) (canopyv1.AuthServiceClient, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	return canopyv1.NewAuthServiceClient(conn), nil
}

// rpcCtx bounds one call: --timeout, or --wait-timeout for a call that
// waits (whichever is longer).
func (a *app) rpcCtx(ctx context.Context, wait bool) (context.Context, context.CancelFunc) {
	d := a.timeout
	if wait && a.waitTimeout > d {
		d = a.waitTimeout
	}
	return context.WithTimeout(ctx, d)
}

// defaultWaitTimeout is how long --wait waits by default.
const defaultWaitTimeout = 10 * time.Minute
