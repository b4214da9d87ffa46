package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/canopy-cloud/canopy/client"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/testca"
)

// Profiles live side by side: writing one keeps the others, the default
// one is the top level (what canopyd's first run and the other language
// clients write and read), and a missing one names those there are.
func TestProfilesKeepEachOther(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "credentials.json")
	admin := client.Credentials{ClientID: "admin", ClientSecret: "s1", TokenURL: "http://127.0.0.1:8471/oauth2/token", GRPCAddr: "127.0.0.1:8470"}
	reader := client.Credentials{ClientID: "reader", ClientSecret: "s2", TokenURL: "https://canopy.example:8471/oauth2/token", GRPCAddr: "canopy.example:8470", CAFile: "/etc/canopy/ca.pem"}
	if err := client.WriteCredentials(path, admin); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteProfile(path, "reader", reader); err != nil {
		t.Fatal(err)
	}
	if got, err := client.ReadCredentials(path); err != nil || got != admin {
		t.Errorf("default profile = %+v, %v; want %+v", got, err, admin)
	}
	if got, err := client.ReadProfile(path, "reader"); err != nil || got != reader {
		t.Errorf("profile reader = %+v, %v; want %+v", got, err, reader)
	}
	// The top level stays the legacy shape other clients read.
	var top map[string]any
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &top); err != nil || top["client_id"] != "admin" || top["profiles"] == nil {
		t.Errorf("file = %s", raw)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode: %v %v", st, err)
	}
	// Rewriting the default leaves the named profile alone.
	admin.ClientSecret = "s3"
	if err := client.WriteCredentials(path, admin); err != nil {
		t.Fatal(err)
	}
	if got, err := client.ReadProfile(path, "reader"); err != nil || got != reader {
		t.Errorf("after rewriting default, reader = %+v, %v", got, err)
	}
	_, err := client.ReadProfile(path, "writer")
	if !errors.Is(err, client.ErrNoProfile) || !strings.Contains(err.Error(), `profile "writer"`) || !strings.Contains(err.Error(), "have: default, reader") {
		t.Errorf("missing profile: %v", err)
	}
	f, err := client.ReadCredentialsFile(path)
	if err != nil || strings.Join(f.Names(), ",") != "default,reader" {
		t.Errorf("names = %v, %v", f.Names(), err)
	}
	for _, bad := range []string{"", "-x", "a b", "a/b", strings.Repeat("x", 64)} {
		if err := client.WriteProfile(path, bad, reader); err == nil && bad != "" {
			t.Errorf("profile name %q accepted", bad)
		}
	}
	// A profile without a secret is an error naming it.
	if err := client.WriteProfile(path, "half", client.Credentials{ClientID: "x", TokenURL: "http://h/t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.ReadProfile(path, "half"); err == nil || !strings.Contains(err.Error(), `profile "half" needs client_id, client_secret and token_url`) {
		t.Errorf("incomplete profile: %v", err)
	}
	// A file that is not JSON is not overwritten.
	junk := filepath.Join(t.TempDir(), "junk.json")
	_ = os.WriteFile(junk, []byte("not json"), 0o600)
	if err := client.WriteProfile(junk, "x", reader); err == nil {
		t.Errorf("a corrupt credentials file was overwritten")
	}
}

// A file written before profiles existed reads as the default profile.
func TestLegacyCredentialsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	_ = os.WriteFile(path, []byte(`{"client_id":"a","client_secret":"b","token_url":"http://127.0.0.1:1/oauth2/token","grpc_addr":"127.0.0.1:2"}`), 0o600)
	c, err := client.ReadCredentials(path)
	if err != nil || c.ClientID != "a" || c.GRPCAddr != "127.0.0.1:2" {
		t.Fatalf("legacy file: %+v %v", c, err)
	}
	if _, err := client.ReadProfile(path, "other"); !errors.Is(err, client.ErrNoProfile) {
		t.Errorf("legacy file has profile other? %v", err)
	}
}

// tlsTokenServer serves /oauth2/token over TLS with a certificate from ca.
func tlsTokenServer(t *testing.T, ca *testca.CA) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tls-token", "token_type": "Bearer", "expires_in": 3600})
	}))
	srv.TLS = ca.ServerConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &n
}

// tlsGRPC serves gRPC health over TLS with a certificate from ca and
// reports the authorization header of each call.
func tlsGRPC(t *testing.T, ca *testca.CA) (string, chan string) {
	auths := make(chan string, 10)
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(ca.ServerConfig())),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			auths <- strings.Join(md.Get("authorization"), ",")
			return h(ctx, req)
		}))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	return l.Addr().String(), auths
}

// One TLS configuration: the CA that makes the gRPC channel trusted makes
// the token endpoint trusted too, without SSL_CERT_FILE, whether it comes
// as an option or from the profile; without it the token request fails
// for the unknown authority.
func TestCAFileAlsoTrustsTheTokenEndpoint(t *testing.T) {
	t.Setenv("SSL_CERT_FILE", filepath.Join(t.TempDir(), "none.pem")) // the system roots know nothing of the CA
	ca := testca.New(t)
	tokSrv, n := tlsTokenServer(t, ca)
	addr, auths := tlsGRPC(t, ca)
	creds := client.Credentials{ClientID: "cid", ClientSecret: "sec", TokenURL: tokSrv.URL + "/oauth2/token"}

	call := func(opts ...client.Option) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, addr, opts...)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = healthpb.NewHealthClient(c.Conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := call(client.WithCAFile(ca.File), client.WithCredentials(creds)); err != nil {
		t.Fatalf("with --ca-file: %v", err)
	}
	if got := <-auths; got != "Bearer tls-token" || n.Load() != 1 {
		t.Errorf("authorization %q after %d token requests", got, n.Load())
	}
	// The profile's ca_file does the same.
	withCA := creds
	withCA.CAFile = ca.File
	if err := call(client.WithCredentials(withCA)); err != nil {
		t.Fatalf("with the profile's ca_file: %v", err)
	}
	if got := <-auths; got != "Bearer tls-token" {
		t.Errorf("authorization %q", got)
	}
	// System roots only: the token request fails on the unknown CA (and
	// the channel would too).
	err := call(client.WithTLS(nil), client.WithCredentials(creds))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v, want a certificate error", err)
	}
}

// DialEnv takes the profile $CANOPY_PROFILE names, and its grpc_addr when
// $CANOPY_ADDR is unset; a named profile that is not there is an error
// naming those there are.
func TestDialEnvProfile(t *testing.T) {
	admin, err := client.ReadCredentials(os.Getenv("CANOPY_CREDENTIALS")) // TestMain's first-run file
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := client.WriteProfile(path, "ops", admin); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CANOPY_CREDENTIALS", path)
	t.Setenv("CANOPY_ADDR", "")
	t.Setenv("CANOPY_PROFILE", "ops")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialEnv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Addr() != admin.GRPCAddr {
		t.Errorf("DialEnv dials %s, want the profile's %s", c.Addr(), admin.GRPCAddr)
	}
	if _, err := c.Clouds.ListClouds(ctx, &canopyv1.ListCloudsRequest{}); err != nil {
		t.Errorf("ListClouds with profile ops: %v", err)
	}
	// Without a profile: the file has no default one, so no credentials.
	t.Setenv("CANOPY_PROFILE", "")
	t.Setenv("CANOPY_ADDR", admin.GRPCAddr)
	c2, err := client.DialEnv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Clouds.ListClouds(ctx, &canopyv1.ListCloudsRequest{}); client.Code(err) != codes.Unauthenticated {
		t.Errorf("ListClouds without a profile: %v", err)
	}
	t.Setenv("CANOPY_PROFILE", "dev")
	if _, err := client.DialEnv(ctx); !errors.Is(err, client.ErrNoProfile) || !strings.Contains(err.Error(), "have: ops") {
		t.Errorf("DialEnv with a missing profile: %v", err)
	}
}
