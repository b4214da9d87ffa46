package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// dial connects to canopyd: TLS when asked for, and a bearer token on every
// call from --token, $CANOPY_TOKEN, or the credentials file (client
// credentials, with the token cached on disk). The connection is made once
// per invocation and reused.
func (a *app) dial(ctx context.Context) (*grpc.ClientConn, error) {
	if a.conn != nil {
		return a.conn, nil
	}
	transport := insecure.NewCredentials()
	secure := a.tls || a.caFile != ""
	if secure {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if a.caFile != "" {
			pem, err := os.ReadFile(a.caFile)
			if err != nil {
				return nil, fmt.Errorf("--ca-file: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca-file %s: no certificate found", a.caFile)
			}
		}
		transport = credentials.NewTLS(cfg)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(transport), grpc.WithUserAgent("canopy-cli"),
		// Streamed downloads: read the socket 1 MiB at a time, not 32 KiB
		// (about 20% more throughput on loopback; see BENCHMARKS.md, P5).
		grpc.WithReadBufferSize(1 << 20)}
	src, err := a.tokenSource(ctx)
	if err != nil {
		return nil, err
	}
	if src != nil {
		if !secure && !loopbackAddr(a.addr) {
			return nil, fmt.Errorf("refusing to send a token in plaintext to %s: use --tls or --ca-file", a.addr)
		}
		opts = append(opts, grpc.WithPerRPCCredentials(tokenCreds{src}))
	}
	conn, err := grpc.NewClient(a.addr, opts...)
	if err != nil {
		return nil, err
	}
	a.conn = conn
	return conn, nil
}

// tokenCreds sends the token source's token as a bearer token. Sending it
// in plaintext is allowed only to loopback (dial checks that).
type tokenCreds struct{ src oauth2.TokenSource }

func (c tokenCreds) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := c.src.Token()
	if err != nil {
		return nil, fmt.Errorf("get a token: %w", err)
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}

func (tokenCreds) RequireTransportSecurity() bool { return false }

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
