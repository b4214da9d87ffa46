package providers

import "crypto/tls"

// IdentityService is implemented by adapters of clouds that authenticate
// their own users (OpenStack's Keystone), so canopy can accept those users'
// credentials in place of its own clients' (package auth/keystone). It
// only reads configuration; it does not reach the cloud.
type IdentityService interface {
	Identity() Identity
}

// Identity is where a cloud's identity service is and whom the adapter's
// own credentials act for.
type Identity struct {
	// URL is the identity service's root as configured (Keystone's
	// auth_url).
	URL string
	// TLS is the client TLS configuration of the cloud's config (CA,
	// client certificate); nil: the system defaults.
	TLS *tls.Config
	// Project is the project the adapter's credentials are scoped to, as
	// the config names it: zero when it names none (an application
	// credential carries its own).
	Project IdentityProject
}

// IdentityProject names a project of an identity service: by ID, or by
// Name within the domain named by DomainID or DomainName.
type IdentityProject struct {
	ID, Name, DomainID, DomainName string
}
