package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/client"
	"github.com/canopy-cloud/canopy/internal/testca"
)

// firstRunFile writes a credentials file as canopyd's first run does: an
// admin client in the default profile, with canopyd's addresses.
func firstRunFile(t *testing.T, addr, scheme string) (path, adminID string) {
	t.Helper()
	d, _ := daemons.Load(addr)
	info := d.(daemonInfo)
	cl, secret, err := info.srv.Clients().Create(context.Background(), "admin", "default", []string{auth.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "credentials.json")
	if err := client.WriteCredentials(path, client.Credentials{ClientID: cl.ID, ClientSecret: secret,
		TokenURL: scheme + "://" + info.rest + "/oauth2/token", GRPCAddr: addr}); err != nil {
		t.Fatal(err)
	}
	return path, cl.ID
}

// newClient has the admin make a client and returns its id and secret.
func newClient(t *testing.T, creds, name, scope string, global ...string) (id, secret string) {
	t.Helper()
	r := ok(t, "", append(global, "--credentials", creds, "client", "create", name, "--project", "default", "--scope", scope, "-o", "json")...)
	resp := jsonOf(t, r)
	return resp["client"].(map[string]any)["id"].(string), resp["client_secret"].(string)
}

func TestProfiles(t *testing.T) {
	for _, k := range []string{"CANOPY_ADDR", "CANOPY_PROFILE", "CANOPY_TOKEN", "CANOPY_TOKEN_URL", "CANOPY_CA_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // token cache
	addr := startCanopyd(t, fastLocal)
	creds, adminID := firstRunFile(t, addr, "http")
	before, _ := os.ReadFile(creds)

	// No --addr: the profile's grpc_addr is where canopyd is.
	ok(t, "", "--credentials", creds, "cloud", "list")

	// A second client's login does not replace the first-run admin.
	id, secret := newClient(t, creds, "reader", "canopy.read")
	fails(t, "", 1, []string{"--credentials", creds, "--addr", addr, "login", "--client-id", id, "--client-secret", secret},
		`profile "default" in `+creds+` holds client `+adminID, "--profile NAME", "--replace")
	if after, _ := os.ReadFile(creds); string(after) != string(before) {
		t.Fatalf("a refused login changed the credentials file:\n%s", after)
	}
	// As a profile of its own it keeps both; the login takes canopyd's
	// address and token endpoint from --addr.
	r := ok(t, "", "--credentials", creds, "--addr", addr, "--profile", "reader", "login", "--client-id", id, "--client-secret", secret)
	if !strings.Contains(r.stdout, `saved as profile "reader"`) {
		t.Errorf("login: %s", r.stdout)
	}
	reader, err := client.ReadProfile(creds, "reader")
	if err != nil || reader.ClientID != id || reader.GRPCAddr != addr || !strings.HasSuffix(reader.TokenURL, "/oauth2/token") {
		t.Fatalf("reader profile = %+v, %v", reader, err)
	}
	if c, err := client.ReadCredentials(creds); err != nil || c.ClientID != adminID {
		t.Fatalf("default profile after the reader's login = %+v, %v", c, err)
	}

	// --profile and $CANOPY_PROFILE pick the client (and its address).
	ok(t, "", "--credentials", creds, "--profile", "reader", "flavor", "list")
	fails(t, "", 1, []string{"--credentials", creds, "--profile", "reader", "client", "list"}, "PERMISSION_DENIED")
	t.Setenv("CANOPY_PROFILE", "reader")
	fails(t, "", 1, []string{"--credentials", creds, "client", "list"}, "PERMISSION_DENIED")
	ok(t, "", "--credentials", creds, "--profile", "default", "client", "list")
	t.Setenv("CANOPY_PROFILE", "")
	ok(t, "", "--credentials", creds, "client", "list")

	r = ok(t, "", "--credentials", creds, "--profile", "reader", "profile", "list")
	if tableRow(r.stdout, "* reader", id, addr) == "" || tableRow(r.stdout, "  default", adminID) == "" || strings.Contains(r.stdout, secret) {
		t.Errorf("profile list:\n%s", r.stdout)
	}
	r = ok(t, "", "--credentials", creds, "profile", "list", "-o", "json")
	if ps := jsonOf(t, r)["profiles"].([]any); len(ps) != 2 || ps[0].(map[string]any)["current"] != true {
		t.Errorf("profile list -o json: %s", r.stdout)
	}

	// A profile that is not there, or a bad name, is named.
	fails(t, "", 1, []string{"--credentials", creds, "--profile", "writer", "cloud", "list"}, `profile "writer"`, "have: default, reader")
	fails(t, "", 2, []string{"--credentials", creds, "--profile", "a/b", "cloud", "list"}, "--profile")

	// The same client logs in again (a rotated secret) without --replace.
	r = ok(t, "", "--credentials", creds, "client", "rotate", id, "-o", "json")
	secret2 := jsonOf(t, r)["client_secret"].(string)
	ok(t, "", "--credentials", creds, "--profile", "reader", "login", "--client-id", id, "--client-secret", secret2)
	if c, _ := client.ReadProfile(creds, "reader"); c.ClientSecret != secret2 || c.GRPCAddr != addr {
		t.Errorf("re-login kept %+v", c)
	}
	// --replace puts another client in a profile on purpose.
	id3, secret3 := newClient(t, creds, "writer", "canopy.write")
	ok(t, "", "--credentials", creds, "--addr", addr, "--profile", "reader", "login", "--replace", "--client-id", id3, "--client-secret", secret3)
	if c, _ := client.ReadProfile(creds, "reader"); c.ClientID != id3 {
		t.Errorf("--replace kept %+v", c)
	}
	if c, _ := client.ReadCredentials(creds); c.ClientID != adminID {
		t.Errorf("--replace of reader touched the default profile: %+v", c)
	}
}

// One TLS configuration: --ca-file makes canopyd's gRPC port and its token
// endpoint trusted alike (a throw-away CA that the system does not know),
// and a login saves it in the profile for later commands.
func TestCAFileCoversTheTokenEndpoint(t *testing.T) {
	for _, k := range []string{"CANOPY_ADDR", "CANOPY_PROFILE", "CANOPY_TOKEN", "CANOPY_TOKEN_URL", "CANOPY_CA_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("SSL_CERT_FILE", filepath.Join(t.TempDir(), "none.pem"))
	ca := testca.New(t)
	addr := startCanopydTLS(t, fastLocal, ca.ServerConfig())
	creds, _ := firstRunFile(t, addr, "https")

	// Without the CA: the certificate is refused.
	fails(t, "", 1, []string{"--credentials", creds, "--tls", "cloud", "list"}, "certificate")
	// With it: gRPC and /oauth2/token both trust it.
	ok(t, "", "--credentials", creds, "--tls", "--ca-file", ca.File, "cloud", "list")

	// Presigned URLs that lead to canopyd itself trust the CA too.
	src := filepath.Join(t.TempDir(), "obj")
	if err := os.WriteFile(src, []byte("over TLS"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok(t, "", "--credentials", creds, "--ca-file", ca.File, "bucket", "create", "tls-bucket", "--cloud", "local")
	r := ok(t, "", "--credentials", creds, "--ca-file", ca.File, "object", "put", src, "tls-bucket/obj", "--via", "url")
	if !strings.Contains(r.stderr, "via presigned URL") {
		t.Errorf("put: %s", r.stderr)
	}
	if r = ok(t, "", "--credentials", creds, "--ca-file", ca.File, "object", "get", "tls-bucket/obj", "-", "--via", "url"); r.stdout != "over TLS" {
		t.Errorf("get via URL = %q", r.stdout)
	}

	// A login over TLS saves the CA in its profile; later commands need
	// only --profile.
	id, secret := newClient(t, creds, "reader", "canopy.read", "--ca-file", ca.File)
	ok(t, "", "--credentials", creds, "--addr", addr, "--ca-file", ca.File, "--profile", "tls-reader", "login", "--client-id", id, "--client-secret", secret)
	c, err := client.ReadProfile(creds, "tls-reader")
	if err != nil || c.CAFile != ca.File || !strings.HasPrefix(c.TokenURL, "https://") {
		t.Fatalf("profile after a TLS login = %+v, %v", c, err)
	}
	ok(t, "", "--credentials", creds, "--profile", "tls-reader", "flavor", "list")
	// The login itself checks the token endpoint with the CA: without it,
	// it fails on the certificate and saves nothing.
	fails(t, "", 1, []string{"--credentials", creds, "--addr", addr, "--tls", "--profile", "other", "login", "--client-id", id, "--client-secret", secret}, "certificate")
	if _, err := client.ReadProfile(creds, "other"); err == nil {
		t.Errorf("a failed login saved a profile")
	}
}
