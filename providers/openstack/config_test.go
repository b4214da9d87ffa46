package openstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

const cloudsYAML = `
clouds:
  alpha:
    auth:
      auth_url: http://alpha.example:5000/v3
      username: alice
      project_name: proj-a
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionA
    interface: internal
    compute_endpoint_override: http://nova.alpha.example:8774/v2.1
  beta:
    auth:
      auth_url: http://beta.example:5000/v3
      username: bob
      password: from-clouds-yaml
      project_id: p-beta
    regions:
      - BetaOne
      - name: BetaTwo
        values:
          interface: admin
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://alpha.example:5000/v3
      application_credential_id: ac-id
      application_credential_secret: ac-secret
      project_name: ignored
`

const secureYAML = `
clouds:
  alpha:
    auth:
      password: from-secure-yaml
`

// isolate clears the environment openstacksdk reads and points the search
// path at empty directories, so the machine's own files never leak in.
func isolate(t *testing.T) (cwd, xdg string) {
	t.Helper()
	cwd, xdg = t.TempDir(), t.TempDir()
	t.Chdir(cwd)
	t.Setenv("XDG_CONFIG_HOME", xdg)
	for _, k := range []string{"OS_CLOUD", "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_REGION_NAME", "OS_INTERFACE"} {
		t.Setenv(k, "")
	}
	return cwd, xdg
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, opts map[string]any, cfg providers.Config) (*cloudConfig, error) {
	t.Helper()
	o, err := ParseOptions(opts)
	if err != nil {
		t.Fatalf("ParseOptions(%v): %v", opts, err)
	}
	return loadCloudConfig(o, cfg)
}

func TestSearchPathOrder(t *testing.T) {
	cwd, xdg := isolate(t)
	other := t.TempDir()
	userFile := write(t, filepath.Join(xdg, "openstack", "clouds.yaml"), cloudsYAML)
	write(t, filepath.Join(xdg, "openstack", "secure.yaml"), secureYAML)

	cc, err := load(t, map[string]any{"cloud": "alpha"}, providers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cc.Path != userFile {
		t.Errorf("user config: read %s, want %s", cc.Path, userFile)
	}

	// ./clouds.yaml comes before the user's.
	cwdFile := write(t, filepath.Join(cwd, "clouds.yaml"), cloudsYAML)
	if cc, err = load(t, map[string]any{"cloud": "beta"}, providers.Config{}); err != nil || cc.Path != cwdFile {
		t.Errorf("cwd: read %v (%v), want %s", cc, err, cwdFile)
	}

	// OS_CLIENT_CONFIG_FILE comes before both.
	envFile := write(t, filepath.Join(other, "mine.yaml"), cloudsYAML)
	t.Setenv("OS_CLIENT_CONFIG_FILE", envFile)
	if cc, err = load(t, map[string]any{"cloud": "beta"}, providers.Config{}); err != nil || cc.Path != envFile {
		t.Errorf("OS_CLIENT_CONFIG_FILE: read %v (%v), want %s", cc, err, envFile)
	}

	// The clouds_yaml option wins over everything.
	optFile := write(t, filepath.Join(other, "opt", "clouds.yaml"), cloudsYAML)
	if cc, err = load(t, map[string]any{"cloud": "beta", "clouds_yaml": optFile}, providers.Config{}); err != nil || cc.Path != optFile {
		t.Errorf("clouds_yaml option: read %v (%v), want %s", cc, err, optFile)
	}
	if _, err := load(t, map[string]any{"cloud": "beta", "clouds_yaml": filepath.Join(other, "nope.yaml")}, providers.Config{}); err == nil {
		t.Error("a missing clouds_yaml is not an error")
	}
}

func TestNoCloudsYAML(t *testing.T) {
	isolate(t)
	_, err := load(t, map[string]any{"cloud": "alpha"}, providers.Config{})
	if err == nil || !strings.Contains(err.Error(), "no clouds.yaml found") {
		t.Fatalf("err = %v, want a clear no clouds.yaml error", err)
	}
}

func TestSecureYAMLMerge(t *testing.T) {
	_, xdg := isolate(t)
	dir := filepath.Join(xdg, "openstack")
	write(t, filepath.Join(dir, "clouds.yaml"), cloudsYAML)

	// Without secure.yaml alpha has no password: a clear error.
	if _, err := load(t, map[string]any{"cloud": "alpha"}, providers.Config{}); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("alpha without secure.yaml: err = %v, want a missing-password error", err)
	}

	sec := write(t, filepath.Join(dir, "secure.yaml"), secureYAML)
	cc, err := load(t, map[string]any{"cloud": "alpha"}, providers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cc.SecurePath != sec || cc.Auth.Password != "from-secure-yaml" || cc.Auth.Username != "alice" {
		t.Errorf("merged: secure %s, user %q, password %q", cc.SecurePath, cc.Auth.Username, cc.Auth.Password)
	}
	if cc.Auth.Scope == nil || cc.Auth.Scope.ProjectName != "proj-a" || cc.Auth.Scope.DomainName != "Default" {
		t.Errorf("scope = %+v, want project proj-a in Default", cc.Auth.Scope)
	}
	if !cc.Auth.AllowReauth {
		t.Error("password auth should re-authenticate when the token expires")
	}

	// secure.yaml wins over clouds.yaml, and OS_CLIENT_SECURE_FILE picks it.
	other := write(t, filepath.Join(t.TempDir(), "s.yaml"), "clouds: {beta: {auth: {password: from-env-secure}}}")
	t.Setenv("OS_CLIENT_SECURE_FILE", other)
	if cc, err = load(t, map[string]any{"cloud": "beta"}, providers.Config{}); err != nil || cc.Auth.Password != "from-env-secure" {
		t.Errorf("OS_CLIENT_SECURE_FILE: %v, %v", cc, err)
	}
}

func TestCloudSelection(t *testing.T) {
	cwd, _ := isolate(t)
	write(t, filepath.Join(cwd, "clouds.yaml"), cloudsYAML)
	write(t, filepath.Join(cwd, "secure.yaml"), secureYAML)

	// No name and several clouds: an error listing them.
	if _, err := load(t, nil, providers.Config{}); err == nil || !strings.Contains(err.Error(), "alpha") {
		t.Errorf("no cloud: err = %v, want one listing the clouds", err)
	}
	t.Setenv("OS_CLOUD", "beta")
	cc, err := load(t, nil, providers.Config{})
	if err != nil || cc.Cloud != "beta" {
		t.Fatalf("OS_CLOUD=beta: %+v, %v", cc, err)
	}
	// The option wins over OS_CLOUD.
	if cc, err = load(t, map[string]any{"cloud": "alpha"}, providers.Config{}); err != nil || cc.Cloud != "alpha" {
		t.Errorf("option over OS_CLOUD: %+v, %v", cc, err)
	}
	if _, err := load(t, map[string]any{"cloud": "gamma"}, providers.Config{}); err == nil || !strings.Contains(err.Error(), `"gamma" not found`) {
		t.Errorf("unknown cloud: err = %v", err)
	}
	// A file with one cloud needs no name.
	t.Setenv("OS_CLOUD", "")
	single := write(t, filepath.Join(t.TempDir(), "clouds.yaml"), "clouds: {only: {auth: {auth_url: 'http://x:5000/v3', username: u, password: p, project_name: p}}}")
	if cc, err = load(t, map[string]any{"clouds_yaml": single}, providers.Config{}); err != nil || cc.Cloud != "only" {
		t.Errorf("single cloud: %+v, %v", cc, err)
	}
}

func TestRegionInterfaceAndOverrides(t *testing.T) {
	cwd, _ := isolate(t)
	write(t, filepath.Join(cwd, "clouds.yaml"), cloudsYAML)
	write(t, filepath.Join(cwd, "secure.yaml"), secureYAML)
	t.Setenv("OS_REGION_NAME", "FromEnv") // the adapter's own choice wins

	for _, tc := range []struct {
		name    string
		opts    map[string]any
		regions []string
		region  string
		iface   string
	}{
		{"region_name", map[string]any{"cloud": "alpha"}, nil, "RegionA", "internal"},
		{"canopy regions", map[string]any{"cloud": "alpha"}, []string{"RegionZ"}, "RegionZ", "internal"},
		{"option", map[string]any{"cloud": "alpha", "region": "RegionO", "interface": "admin"}, []string{"RegionZ"}, "RegionO", "admin"},
		{"first of regions", map[string]any{"cloud": "beta"}, nil, "BetaOne", "public"},
		{"region values", map[string]any{"cloud": "beta", "region": "BetaTwo"}, nil, "BetaTwo", "admin"},
	} {
		cc, err := load(t, tc.opts, providers.Config{Regions: tc.regions})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if cc.Region != tc.region || cc.Interface != tc.iface {
			t.Errorf("%s: region %q interface %q, want %q %q", tc.name, cc.Region, cc.Interface, tc.region, tc.iface)
		}
	}
	cc, err := load(t, map[string]any{"cloud": "beta"}, providers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cc.Regions, ",") != "BetaOne,BetaTwo" {
		t.Errorf("regions = %v", cc.Regions)
	}

	cc, err = load(t, map[string]any{"cloud": "alpha", "endpoint_override": map[string]any{"image": "http://glance:9292", "network": "http://neutron:9696/"}}, providers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"compute": "http://nova.alpha.example:8774/v2.1", "image": "http://glance:9292", "network": "http://neutron:9696/"}
	for k, v := range want {
		if cc.Overrides[k] != v {
			t.Errorf("override %s = %q, want %q (all: %v)", k, cc.Overrides[k], v, cc.Overrides)
		}
	}
}

func TestApplicationCredential(t *testing.T) {
	cwd, _ := isolate(t)
	write(t, filepath.Join(cwd, "clouds.yaml"), cloudsYAML)
	cc, err := load(t, map[string]any{"cloud": "appcred"}, providers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := cc.Auth
	if a.ApplicationCredentialID != "ac-id" || a.ApplicationCredentialSecret != "ac-secret" {
		t.Errorf("application credential not read: %+v", a)
	}
	if a.Scope != nil || a.TenantName != "" || a.Password != "" {
		t.Errorf("application credential auth carries a scope or password: %+v", a)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]any{"cloud": "c", "timeout": "5s", "page_size": 10, "endpoint_override": map[string]any{"compute": "http://x"}})
	if err != nil {
		t.Fatal(err)
	}
	if o.Cloud != "c" || o.Timeout != 5*time.Second || o.PageSize != 10 || o.EndpointOverride["compute"] != "http://x" {
		t.Errorf("ParseOptions = %+v", o)
	}
	for _, bad := range []map[string]any{{"nope": 1}, {"timeout": 5}, {"timeout": "soon"}, {"interface": "private"}, {"page_size": -1}, {"cloud": []any{1}}} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("ParseOptions(%v): no error", bad)
		}
	}
}

func TestOpenDoesNotReachTheCloud(t *testing.T) {
	isolate(t)
	path := write(t, filepath.Join(t.TempDir(), "clouds.yaml"),
		"clouds: {down: {auth: {auth_url: 'http://127.0.0.1:1/v3', username: u, password: p, project_name: p}, region_name: R}}")
	p, err := providers.Open(t.Context(), Kind, providers.Config{Name: "os", Options: map[string]any{"clouds_yaml": path, "cloud": "down"}})
	if err != nil {
		t.Fatalf("Open of an unreachable cloud failed: %v", err)
	}
	defer p.Close()
	if _, err := p.Info(t.Context()); err == nil || !isUnavailable(err) {
		t.Errorf("Info on a down cloud: err = %v, want ErrUnavailable", err)
	}
	if _, err := providers.Open(t.Context(), Kind, providers.Config{Name: "os", Options: map[string]any{"clouds_yaml": path, "cloud": "down", "compute_microversion": "x"}}); err == nil {
		t.Error("bad compute_microversion accepted")
	}
	// One adapter per (cloud, region): several regions need several clouds.
	if _, err := providers.Open(t.Context(), Kind, providers.Config{Name: "os", Regions: []string{"A", "B"}, Options: map[string]any{"clouds_yaml": path, "cloud": "down"}}); err == nil || !strings.Contains(err.Error(), "one canopy cloud per region") {
		t.Errorf("two regions for one adapter: err = %v", err)
	}
	if _, err := providers.Open(t.Context(), Kind, providers.Config{Name: "os", Regions: []string{"A", "B"}, Options: map[string]any{"clouds_yaml": path, "cloud": "down", "region": "B"}}); err != nil {
		t.Errorf("two regions with the region option: %v", err)
	}
}
