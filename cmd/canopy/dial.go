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

// dial connects to canopyd with the client package: TLS when asked for,
// and a bearer token on every call from --token, $CANOPY_TOKEN, or the
// credentials file (client credentials, with the token cached on disk). A
// token goes in plaintext only to loopback. The connection is made once
// per invocation and reused.
func (a *app) dial(ctx context.Context) (*grpc.ClientConn, error) {
	if a.conn != nil {
		return a.conn, nil
	}
	opts := []client.Option{client.WithUserAgent("canopy-cli")}
	switch {
	case a.caFile != "":
		opts = append(opts, client.WithCAFile(a.caFile))
	case a.tls:
		opts = append(opts, client.WithTLS(nil))
	}
	auth, err := a.authOptions(ctx)
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(ctx, a.addr, append(opts, auth...)...)
	if err != nil {
		if errors.Is(err, client.ErrPlaintextToken) {
			return nil, fmt.Errorf("%w to %s: use --tls or --ca-file", client.ErrPlaintextToken, a.addr)
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
