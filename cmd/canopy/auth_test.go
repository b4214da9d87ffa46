package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoginClientsAndScopes(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	d, _ := daemons.Load(addr)
	rest := d.(daemonInfo).rest
	creds := filepath.Join(t.TempDir(), "creds.json")

	// Without any token: UNAUTHENTICATED, exit 1.
	fails(t, addr, 1, []string{"--credentials", creds, "server", "list"}, "UNAUTHENTICATED")

	// An admin creates a read-only client...
	r := ok(t, addr, "client", "create", "reader", "--project", "default", "--scope", "canopy.read", "-o", "json")
	resp := jsonOf(t, r)
	client := resp["client"].(map[string]any)
	id, secret := client["id"].(string), resp["client_secret"].(string)
	if id == "" || secret == "" {
		t.Fatalf("client create: %s", r.stdout)
	}
	fails(t, addr, 1, []string{"client", "create", "bad", "--project", "default", "--scope", "canopy.root"}, "scopes")

	// ...who logs in (secret from stdin) and may read but not write.
	r = cliIn(t, addr, secret+"\n", "--credentials", creds, "login", "--client-id", id, "--client-secret", "-", "--token-url", "http://"+rest+"/oauth2/token")
	if r.code != 0 || !strings.Contains(r.stdout, "canopy.read") {
		t.Fatalf("login: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if st, err := os.Stat(creds); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}
	ok(t, addr, "--credentials", creds, "flavor", "list")
	fails(t, addr, 1, []string{"--credentials", creds, "server", "create", "x", "--flavor", "m1.tiny", "--image", "cirros-0.6.2"}, "PERMISSION_DENIED", "canopy.write")
	fails(t, addr, 1, []string{"--credentials", creds, "client", "list"}, "PERMISSION_DENIED")

	// A wrong secret does not log in, and says nothing of the secret.
	r = cli(t, addr, "--credentials", filepath.Join(t.TempDir(), "x.json"), "login", "--client-id", id, "--client-secret", "wrong", "--token-url", "http://"+rest+"/oauth2/token")
	if r.code != 1 || strings.Contains(r.stderr, "wrong") && strings.Contains(r.stderr, "client_secret=wrong") {
		t.Errorf("bad login: %d %s", r.code, r.stderr)
	}

	// Rotating the secret locks the old credentials out (once the cached
	// token is gone), and delete removes the client.
	ok(t, addr, "client", "rotate", id)
	r = ok(t, addr, "client", "list")
	if tableRow(r.stdout, id, "reader", "default", "canopy.read") == "" {
		t.Errorf("client list:\n%s", r.stdout)
	}
	ok(t, addr, "client", "delete", id)
	fails(t, addr, 1, []string{"client", "delete", id}, "NOT_FOUND")
	// A plaintext token is never sent off loopback.
	fails(t, "canopy.invalid:8470", 1, []string{"--token", "x", "cloud", "list"}, "refusing to send a token in plaintext")
}
