package openstack

import (
	"context"

	"github.com/gophercloud/gophercloud/v2"
)

// SetSwiftCopyLimit makes CopyObject copy large objects above n bytes
// segment by segment; it returns a func restoring Swift's limit.
func SetSwiftCopyLimit(n int64) (restore func()) {
	old := swiftCopyLimit
	swiftCopyLimit = n
	return func() { swiftCopyLimit = old }
}

// NeutronClient returns the adapter's Networking v2 client: lab tests read
// Neutron with it directly, not through the adapter.
func NeutronClient(ctx context.Context, c *Cloud) (*gophercloud.ServiceClient, error) {
	sc, _, err := c.neutron(ctx)
	return sc, err
}

// ProjectID is the project the cloud's credentials are scoped to.
func ProjectID(ctx context.Context, c *Cloud) (string, error) { return c.projectID(ctx) }
