package server

import (
	"fmt"
	"net/http"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/auth/keystone"
	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/providers"
)

// identitySources builds the identity source of every cloud whose config
// enables keystone_auth, from what its adapter says of its Keystone
// (providers.IdentityService). A cloud split per region is one source,
// named as configured.
func (s *Server) identitySources() ([]auth.IdentitySource, error) {
	var out []auth.IdentitySource
	for _, cc := range s.cfg.Clouds {
		if cc.KeystoneAuth == nil {
			continue
		}
		var ids providers.IdentityService
		for _, cl := range s.rt.Clouds() {
			if cl.Conf.Name == cc.Name {
				ids, _ = cl.Provider.(providers.IdentityService)
				break
			}
		}
		if ids == nil {
			return nil, fmt.Errorf("server: cloud %q: keystone_auth needs a cloud with a Keystone (kind openstack), not kind %s", cc.Name, cc.Kind)
		}
		src, err := keystoneSource(cc, ids.Identity())
		if err != nil {
			return nil, fmt.Errorf("server: cloud %q: keystone_auth: %w", cc.Name, err)
		}
		out = append(out, src)
	}
	return out, nil
}

func keystoneSource(cc config.Cloud, id providers.Identity) (*keystone.Source, error) {
	ka := cc.KeystoneAuth
	var projects []keystone.ProjectMap
	for key, canopy := range ka.Projects {
		p, err := keystone.ParseProject(key) // config.Validate checked it
		if err != nil {
			return nil, err
		}
		projects = append(projects, keystone.ProjectMap{Keystone: p, Canopy: canopy})
	}
	if len(ka.Projects) == 0 {
		p := id.Project
		if p.ID == "" && p.Name == "" {
			return nil, fmt.Errorf("projects is required: the cloud's clouds.yaml entry names no project (an application credential), so there is no default mapping")
		}
		dom := p.DomainID
		if dom == "" {
			dom = p.DomainName
		}
		if p.ID == "" && dom == "" {
			dom = "default" // Keystone's default domain, as openstacksdk assumes
		}
		projects = []keystone.ProjectMap{{Keystone: keystone.Project{ID: p.ID, Name: p.Name, Domain: dom}, Canopy: cc.Project}}
	}
	timeout := ka.Timeout.Std()
	if timeout <= 0 {
		timeout = keystone.DefaultTimeout
	}
	client := &http.Client{Timeout: timeout}
	if id.TLS != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = id.TLS
		client.Transport = tr
	}
	return keystone.New(keystone.Options{
		Cloud: cc.Name, URL: id.URL, HTTPClient: client, Timeout: timeout,
		CacheTTL: ka.CacheTTLOr(config.Duration(keystone.DefaultCacheTTL)).Std(),
		Projects: projects, Roles: ka.Roles,
	})
}
