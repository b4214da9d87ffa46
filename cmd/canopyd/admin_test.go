package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/client"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// resetCredentials runs `canopyd admin reset-credentials` on the data dir
// of a canopydtest daemon.
func resetCredentials(t *testing.T, data string, args ...string) (string, error) {
	cmd := exec.Command(canopydtest.Binary(t), append([]string{"admin", "reset-credentials"}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+data, "XDG_CONFIG_HOME="+filepath.Join(data, "config"), "CANOPY_CONFIG=", "CANOPY_STORE=", "CANOPY_CREDENTIALS=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Lost the admin credentials (a login replaced them, the file is gone)?
// With local access to the store, reset-credentials makes a new admin
// client and writes it where the CLI looks, keeping the file's other
// profiles; canopyd must be stopped for its bbolt store.
func TestAdminResetCredentials(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, "config", "canopy", "credentials.json")
	d := canopydtest.Start(t, data)
	first, err := client.ReadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	// While canopyd holds the bbolt file, the store is not reachable.
	if out, err := resetCredentials(t, data); err == nil || !strings.Contains(out, "another canopyd") {
		t.Errorf("reset while canopyd runs: %v\n%s", err, out)
	}
	d.Stop()

	// The first-run credentials are lost; a named profile is kept.
	other := client.Credentials{ClientID: "someone", ClientSecret: "x", TokenURL: "http://elsewhere/oauth2/token"}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := client.WriteProfile(path, "other", other); err != nil {
		t.Fatal(err)
	}
	out, err := resetCredentials(t, data, "--grpc-addr", "127.0.0.1:18470", "--rest-addr", "127.0.0.1:18471", "--name", "ops")
	if err != nil {
		t.Fatalf("reset-credentials: %v\n%s", err, out)
	}
	fresh, err := client.ReadCredentials(path)
	if err != nil || fresh.ClientID == first.ClientID || fresh.GRPCAddr != "127.0.0.1:18470" || fresh.TokenURL != "http://127.0.0.1:18471/oauth2/token" {
		t.Fatalf("new default profile = %+v, %v", fresh, err)
	}
	if !strings.Contains(out, fresh.ClientID) || !strings.Contains(out, `profile "default"`) || strings.Contains(out, fresh.ClientSecret) {
		t.Errorf("reset-credentials says %q", out)
	}
	if got, err := client.ReadProfile(path, "other"); err != nil || got != other {
		t.Errorf("profile other after the reset = %+v, %v", got, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode: %v %v", st, err)
	}

	// canopyd accepts the new client as an admin (canopydtest gets its
	// token with the default profile), and the old admin client is still
	// there.
	d = canopydtest.Start(t, data)
	resp, err := d.Auth.ListClients(context.Background(), &canopyv1.ListClientsRequest{})
	if err != nil {
		t.Fatalf("ListClients as the new admin: %v", err)
	}
	ids := map[string]string{}
	for _, c := range resp.Clients {
		ids[c.Id] = c.Name
	}
	if len(ids) != 2 || ids[fresh.ClientID] != "ops" || ids[first.ClientID] != "admin" {
		t.Errorf("clients = %v", ids)
	}
	d.Stop()

	// --profile writes a named profile and leaves the default one.
	if out, err := resetCredentials(t, data, "--profile", "ops2"); err != nil {
		t.Fatalf("reset-credentials --profile: %v\n%s", err, out)
	}
	if got, _ := client.ReadCredentials(path); got != fresh {
		t.Errorf("--profile ops2 changed the default profile")
	}
	if got, err := client.ReadProfile(path, "ops2"); err != nil || got.ClientID == "" || got.ClientID == fresh.ClientID {
		t.Errorf("profile ops2 = %+v, %v", got, err)
	}
}
