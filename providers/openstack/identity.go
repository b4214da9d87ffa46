package openstack

import "github.com/canopy-cloud/canopy/providers"

var _ providers.IdentityService = (*Cloud)(nil)

// Identity says where the cloud's Keystone is and which project the
// cloud's own credentials (its clouds.yaml entry) are scoped to, for
// canopy's Keystone identity source (auth/keystone).
func (c *Cloud) Identity() providers.Identity {
	id := providers.Identity{URL: c.cc.Auth.IdentityEndpoint, TLS: c.cc.TLS}
	if s := c.cc.Auth.Scope; s != nil && !s.System && s.TrustID == "" {
		if s.ProjectID != "" || s.ProjectName != "" {
			id.Project = providers.IdentityProject{ID: s.ProjectID, Name: s.ProjectName, DomainID: s.DomainID, DomainName: s.DomainName}
		}
	}
	return id
}
