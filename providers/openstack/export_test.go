package openstack

import (
	"context"
	"fmt"
	"net/url"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// SetSwiftCopyLimit makes CopyObject copy large objects above n bytes
// segment by segment; it returns a func restoring Swift's limit.
func SetSwiftCopyLimit(n int64) (restore func()) {
	old := swiftCopyLimit
	swiftCopyLimit = n
	return func() { swiftCopyLimit = old }
}

// DeleteImage deletes an image in Glance. The conformance harness cleans up
// with it the images the suite uploads (providers have no image delete).
func DeleteImage(ctx context.Context, c *Cloud, id string) error {
	cl, err := c.clients(ctx)
	if err != nil {
		return err
	}
	if err := images.Delete(ctx, cl.image, url.PathEscape(id)).ExtractErr(); err != nil {
		return fmt.Errorf("openstack: delete image %s: %w", id, mapErr(err))
	}
	return nil
}

// NeutronClient returns the adapter's Networking v2 client: lab tests read
// Neutron with it directly, not through the adapter.
func NeutronClient(ctx context.Context, c *Cloud) (*gophercloud.ServiceClient, error) {
	sc, _, err := c.neutron(ctx)
	return sc, err
}
