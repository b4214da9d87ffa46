package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// The single-dash long flags of Go's flag package, which canopyd took
// before its flags moved to cobra, keep working.
func TestLegacySingleDashFlags(t *testing.T) {
	got := legacyFlags(rootCmd(), []string{"-grpc-addr", "127.0.0.1:1", "-store=bolt:///x", "-version", "-h", "--rest-addr", "r", "-insecure", "admin", "reset-credentials", "-profile", "p", "--", "-config"})
	want := []string{"--grpc-addr", "127.0.0.1:1", "--store=bolt:///x", "--version", "-h", "--rest-addr", "r", "--insecure", "admin", "reset-credentials", "--profile", "p", "--", "-config"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("legacyFlags = %q\nwant          %q", got, want)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-version"}, &out, &out); code != 0 || !strings.HasPrefix(out.String(), "canopyd ") {
		t.Errorf("canopyd -version: %d %q", code, out.String())
	}
}

// Usage mistakes are exit status 2 with the mistake named; --help is 0.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"serve"}, 2, `unknown command "serve"`},
		{[]string{"--log-level", "loud", "--config=", "--grpc-addr", "127.0.0.1:0", "--rest-addr", "127.0.0.1:0"}, 2, "--log-level"},
		{[]string{"--tls-cert", "x.pem", "--config="}, 2, "--tls-cert and --tls-key go together"},
		{[]string{"--grace", "soon"}, 2, "--grace"},
		{[]string{"--help"}, 0, "canopyd [command]"},
		{[]string{"admin", "reset-credentials", "--profile", "a/b"}, 2, "--profile"},
	} {
		var out bytes.Buffer
		code := run(context.Background(), tc.args, &out, &out)
		if code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("canopyd %s: exit %d, want %d mentioning %q:\n%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out.String())
		}
	}
}

// With no --config and no $CANOPY_CONFIG, canopyd reads
// $XDG_CONFIG_HOME/canopy/canopyd.yaml when there is one; --config= says
// none; an unknown key in it stops canopyd, naming the key.
func TestDefaultConfigPath(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, "config", "canopy", "canopyd.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("clouds:\n  - name: from-xdg\n    kind: sim\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cloudNames := func(d *canopydtest.Daemon) string {
		resp, err := d.Clouds.ListClouds(context.Background(), &canopyv1.ListCloudsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range resp.Clouds {
			names = append(names, c.Name)
		}
		return strings.Join(names, ",")
	}
	d := canopydtest.Start(t, data)
	if got := cloudNames(d); got != "from-xdg" {
		t.Errorf("clouds with %s = %q, want from-xdg\n%s", path, got, d.Logs())
	}
	if !strings.Contains(d.Logs(), "path="+path) {
		t.Errorf("canopyd does not log the config it read:\n%s", d.Logs())
	}
	d.Stop()
	d = canopydtest.Start(t, data, "--config=")
	if got := cloudNames(d); got != "local" {
		t.Errorf("clouds with --config= = %q, want the embedded default", got)
	}
	d.Stop()

	if err := os.WriteFile(path, []byte("clouds:\n  - name: from-xdg\n    kind: sim\n    zone: [a]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(canopydtest.Binary(t), "--grpc-addr", canopydtest.FreePort(t), "--rest-addr", canopydtest.FreePort(t))
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+data, "XDG_CONFIG_HOME="+filepath.Join(data, "config"), "CANOPY_CONFIG=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `line 4: unknown key "zone"`) || !strings.Contains(string(out), path) {
		t.Errorf("a typo in the default config: err %v, output %s", err, out)
	}
}
