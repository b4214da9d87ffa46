package main

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// dial connects to canopyd. It is the one place a connection is made: TLS
// and a per-RPC bearer token go here when canopyd requires them. The
// connection is made once per invocation and reused.
func (a *app) dial(ctx context.Context) (*grpc.ClientConn, error) {
	_ = ctx // for the token source to come
	if a.conn != nil {
		return a.conn, nil
	}
	conn, err := grpc.NewClient(a.addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("canopy-cli"),
	)
	if err != nil {
		return nil, err
	}
	a.conn = conn
	return conn, nil
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
