//go:build openstack

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	gcopenstack "github.com/gophercloud/gophercloud/v2/openstack"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// keystoneTokenResult is the token endpoint's answer.
type keystoneTokenResult struct {
	code int
	body map[string]any
}

func postToken(t *testing.T, d *canopydtest.Daemon, form url.Values, id, secret string) keystoneTokenResult {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+d.RESTAddr+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token endpoint: not JSON (%d): %v", resp.StatusCode, err)
	}
	return keystoneTokenResult{resp.StatusCode, body}
}

// TestKeystoneAuthOpenStack: the lab's application credential gets a
// canopy token that sees only the lab project's resources; a wrong secret
// is 401; a Keystone token is exchanged; an application credential
// deleted at Keystone stops getting tokens within the cache TTL.
func TestKeystoneAuthOpenStack(t *testing.T) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set: point it at the lab's clouds.yaml (test/openstack/up.sh prints it)")
	}
	cloud := envOr("CANOPY_OS_CLOUD", "canopy-test")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Clouds map[string]struct {
			Auth map[string]string `yaml:"auth"`
		} `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	ac := file.Clouds[envOr("CANOPY_OS_APPCRED_CLOUD", "canopy-test-appcred")].Auth
	if ac["application_credential_id"] == "" || ac["application_credential_secret"] == "" {
		t.Fatalf("%s has no canopy-test-appcred application credential", path)
	}
	const ttl = 3 * time.Second
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: lab
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q}
    project: lab-team
    keystone_auth: {cache_ttl: %s}
  - name: local
    kind: sim
    zones: [local-a]
    options: %s
`, path, cloud, ttl, `{boot_delay: 50ms, action_delay: 20ms, delete_delay: 20ms}`))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The lab's application credential gets a token of the lab's project
	// (the default mapping: the cloud's own project → its `project`).
	got := postToken(t, d, url.Values{"grant_type": {"client_credentials"}}, ac["application_credential_id"], ac["application_credential_secret"])
	if got.code != 200 || got.body["scope"] != "canopy.read canopy.write" {
		t.Fatalf("lab application credential: %d %v", got.code, got.body)
	}
	ksTok := got.body["access_token"].(string)
	// The audit line is written after the answer is sent: wait for it.
	d.WaitLog("keystone_user=canopy-test", 30*time.Second)
	if logs := d.Logs(); !strings.Contains(logs, "keystone_user=canopy-test") || !strings.Contains(logs, "keystone_project=canopy-test") || !strings.Contains(logs, "project=lab-team") {
		t.Errorf("the audit line does not name the Keystone user and project:\n%s", logs)
	}
	conn, err := grpc.NewClient(d.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(canopydtest.Bearer(ksTok)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ksCompute, ksNet := canopyv1.NewComputeServiceClient(conn), canopyv1.NewNetworkServiceClient(conn)
	adminNet := canopyv1.NewNetworkServiceClient(d.Conn)

	// It sees the lab project's network; the admin of project "default"
	// does not.
	labNets := func(c canopyv1.NetworkServiceClient) (names []string) {
		t.Helper()
		ls, err := c.ListNetworks(ctx, &canopyv1.ListNetworksRequest{Location: &canopyv1.Location{Cloud: "lab"}, PageSize: 1000})
		if err != nil {
			t.Fatalf("list lab networks: %v", err)
		}
		for _, n := range ls.Networks {
			names = append(names, n.Name)
		}
		return names
	}
	labNet := envOr("CANOPY_OS_NETWORK", "canopy-net")
	if names := labNets(ksNet); !slices.Contains(names, labNet) {
		t.Errorf("the Keystone token does not see %s: %v", labNet, names)
	}
	if names := labNets(adminNet); slices.Contains(names, labNet) {
		t.Errorf("project default sees the lab project's %s: %v", labNet, names)
	}
	// A server of project "default" on the sim cloud is not its.
	run := fmt.Sprintf("kst%d", time.Now().Unix()%1000000)
	other, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: run + "-other", Flavor: "m1.tiny", Image: "cirros-0.6.2",
		Location: &canopyv1.Location{Cloud: "local"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := ksCompute.ListServers(ctx, &canopyv1.ListServersRequest{Location: &canopyv1.Location{Cloud: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ls.Servers {
		if s.Id == other.Id {
			t.Errorf("the Keystone token lists project default's server %s", s.Id)
		}
	}
	if _, err := ksCompute.GetServer(ctx, &canopyv1.GetServerRequest{Id: other.Id}); status.Code(err) != codes.NotFound {
		t.Errorf("the Keystone token gets project default's server: %v", err)
	}

	// A wrong secret is 401 invalid_client, refused by the lab's Keystone
	// (the audit line of a Keystone refusal names the cloud as its source;
	// canopy's own client store is not read: auth/keystone's tests count it).
	if got := postToken(t, d, url.Values{"grant_type": {"client_credentials"}}, ac["application_credential_id"], "not-the-secret"); got.code != 401 || got.body["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v", got.code, got.body)
	}
	if !d.WaitLog("source=lab client="+ac["application_credential_id"]+" outcome=rejected", 30*time.Second) {
		logs := d.Logs()
		t.Errorf("the wrong secret was not refused by the lab's Keystone:\n%s", logs)
	}

	// A Keystone token of the test user is exchanged for a canopy token.
	ao, eo, tlsConfig, err := clouds.Parse(clouds.WithLocations(path), clouds.WithCloudName(cloud))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := config.NewProviderClient(ctx, ao, config.WithTLSConfig(tlsConfig))
	if err != nil {
		t.Fatalf("authenticate to the lab: %v", err)
	}
	got = postToken(t, d, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {pc.Token()},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}, "", "")
	if got.code != 200 || got.body["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" {
		t.Errorf("token exchange: %d %v", got.code, got.body)
	}

	// A throw-away application credential works, then is deleted at
	// Keystone and stops getting tokens within the cache TTL.
	identity, err := gcopenstack.NewIdentityV3(pc, eo)
	if err != nil {
		t.Fatal(err)
	}
	user, err := pc.GetAuthResult().(tokens.CreateResult).ExtractUser()
	if err != nil {
		t.Fatal(err)
	}
	cred, err := applicationcredentials.Create(ctx, identity, user.ID, applicationcredentials.CreateOpts{Name: run + "-throwaway",
		Description: "canopy TestKeystoneAuthOpenStack; deleted by the test"}).Extract()
	if err != nil {
		t.Fatalf("create an application credential: %v", err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			_ = applicationcredentials.Delete(context.Background(), identity, user.ID, cred.ID).ExtractErr()
		}
	})
	if got := postToken(t, d, url.Values{"grant_type": {"client_credentials"}}, "lab/"+cred.ID, cred.Secret); got.code != 200 {
		t.Fatalf("throw-away credential: %d %v", got.code, got.body)
	}
	if err := applicationcredentials.Delete(ctx, identity, user.ID, cred.ID).ExtractErr(); err != nil {
		t.Fatalf("delete the application credential: %v", err)
	}
	deleted = true
	at := time.Now()
	for {
		got := postToken(t, d, url.Values{"grant_type": {"client_credentials"}}, "lab/"+cred.ID, cred.Secret)
		if got.code == 401 && got.body["error"] == "invalid_client" {
			t.Logf("deleted application credential refused %s after the delete (cache TTL %s)", time.Since(at).Round(time.Millisecond), ttl)
			break
		}
		if got.code != 200 {
			t.Fatalf("deleted credential: %d %v", got.code, got.body)
		}
		if time.Since(at) > ttl+5*time.Second { // the TTL plus one Keystone round trip on a busy lab
			t.Fatalf("a deleted application credential still gets tokens %s after the delete (cache TTL %s)", time.Since(at), ttl)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
