package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/client"
	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/server"
	"github.com/canopy-cloud/canopy/store/bolt"

	_ "github.com/canopy-cloud/canopy/providers/sim"
)

// testLocal is one sim cloud whose transitions take tens of milliseconds.
const testLocal = `
clouds:
  - name: local
    kind: sim
    regions: [local-1]
    zones: [local-1a]
    options: {boot_delay: 30ms, action_delay: 20ms, delete_delay: 20ms}
`

// TestMain serves a real canopyd in-process on the simulator (gRPC and REST
// on loopback, bbolt in a temp dir), creates an admin client, writes its
// credentials file as canopyd's first run does, and points $CANOPY_ADDR and
// $CANOPY_CREDENTIALS at them: the examples then dial as a user would.
func TestMain(m *testing.M) {
	stop, err := serve()
	if err != nil {
		fmt.Fprintln(os.Stderr, "client tests: start canopyd:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func serve() (stop func(), err error) {
	dir, err := os.MkdirTemp("", "canopy-client-test")
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse([]byte(testLocal), "client-test")
	if err != nil {
		return nil, err
	}
	cfg.Wait.MinInterval = config.Duration(10 * time.Millisecond)
	cfg.Wait.MaxInterval = config.Duration(50 * time.Millisecond)
	st, err := bolt.Open(filepath.Join(dir, "canopy.db"))
	if err != nil {
		return nil, err
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.Auth.IssuerURL = "http://" + rl.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		return nil, err
	}
	cl, secret, err := srv.Clients().Create(ctx, "admin", "default", []string{auth.ScopeAdmin})
	if err != nil {
		cancel()
		return nil, err
	}
	creds := filepath.Join(dir, "credentials.json")
	if err := client.WriteCredentials(creds, client.Credentials{ClientID: cl.ID, ClientSecret: secret,
		TokenURL: "http://" + rl.Addr().String() + "/oauth2/token", GRPCAddr: gl.Addr().String()}); err != nil {
		cancel()
		return nil, err
	}
	os.Setenv("CANOPY_ADDR", gl.Addr().String())
	os.Setenv("CANOPY_CREDENTIALS", creds)
	os.Setenv("CANOPY_REST", "http://"+rl.Addr().String())
	for _, k := range []string{"CANOPY_TOKEN", "CANOPY_TOKEN_URL", "CANOPY_CA_FILE"} {
		os.Unsetenv(k)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, server.Listeners{GRPC: gl, REST: rl}, time.Second) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "Serve:", err)
		}
		srv.Close()
		st.Close()
		os.RemoveAll(dir)
	}, nil
}

func lookupEnv(k string) string { return os.Getenv(k) }
