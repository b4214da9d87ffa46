package config

import (
	"fmt"
	"sort"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/auth/keystone"
)

// validate checks a cloud's keystone_auth block (nil is fine: off). The
// error starts with the key at fault, under keystone_auth.
func (k *KeystoneAuth) validate() error {
	if k == nil {
		return nil
	}
	if k.CacheTTL != nil && *k.CacheTTL < 0 {
		return fmt.Errorf("cache_ttl %s: must not be negative", k.CacheTTL.Std())
	}
	if k.Timeout < 0 {
		return fmt.Errorf("timeout %s: must not be negative", k.Timeout.Std())
	}
	keys := make([]string, 0, len(k.Projects))
	for key := range k.Projects {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if _, err := keystone.ParseProject(key); err != nil {
			return fmt.Errorf("projects: %w", err)
		}
		if p := k.Projects[key]; !auth.ValidProject(p) {
			return fmt.Errorf("projects[%q]: canopy project %q: want 1-63 lower-case letters, digits, '_', '.', '-'", key, p)
		}
	}
	for role, scope := range k.Roles {
		if role == "" {
			return fmt.Errorf("roles: empty role name")
		}
		if auth.ValidScopes([]string{scope}) != "" {
			return fmt.Errorf("roles[%q]: unknown scope %q (want one of %v)", role, scope, auth.AllScopes)
		}
	}
	return nil
}

// CacheTTLOr is the configured cache TTL, or def when none is set.
func (k *KeystoneAuth) CacheTTLOr(def Duration) Duration {
	if k.CacheTTL == nil {
		return def
	}
	return *k.CacheTTL
}
