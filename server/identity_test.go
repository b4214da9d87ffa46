package server

import (
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/providers"
)

func TestKeystoneAuthNeedsKeystone(t *testing.T) {
	cfg := testConfig(t, "clouds: [{name: x, kind: sim, keystone_auth: {}}]")
	_, err := New(ctxT(t), cfg, mustBolt(t, t.TempDir()), nil)
	if err == nil || !strings.Contains(err.Error(), `cloud "x": keystone_auth needs a cloud with a Keystone`) {
		t.Fatalf("keystone_auth on a sim cloud: %v", err)
	}
}

func TestKeystoneSourceDefaultProject(t *testing.T) {
	cc := config.Cloud{Name: "lab", Project: "team", KeystoneAuth: &config.KeystoneAuth{}}
	if _, err := keystoneSource(cc, providers.Identity{URL: "http://k/v3", Project: providers.IdentityProject{Name: "p", DomainName: "Default"}}); err != nil {
		t.Errorf("cloud scoped to a project: %v", err)
	}
	// An application-credential cloud names no project: the map is required.
	_, err := keystoneSource(cc, providers.Identity{URL: "http://k/v3"})
	if err == nil || !strings.Contains(err.Error(), "projects is required") {
		t.Errorf("no project to default to: %v", err)
	}
	cc.KeystoneAuth.Projects = map[string]string{"abc": "ops"}
	if _, err := keystoneSource(cc, providers.Identity{URL: "http://k/v3"}); err != nil {
		t.Errorf("mapped explicitly: %v", err)
	}
}
