package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/volumeattach"

	"github.com/canopy-cloud/canopy/providers"
)

// AttachVolume implements providers.Volumes through Nova's volume
// attachments. Attaching again to the same server is done already; a
// volume attached elsewhere (and not multiattach) or busy is ErrConflict.
func (c *Cloud) AttachVolume(ctx context.Context, volumeID, serverID string) error {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return err
	}
	cl, err := c.clients(ctx)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("openstack: attach volume %s to server %s in %s: %w", volumeID, serverID, region, err)
	}
	v, err := volumes.Get(ctx, sc, url.PathEscape(volumeID)).Extract()
	if err != nil {
		return fail(mapErr(err))
	}
	atts, err := c.serverAttachments(ctx, cl, serverID)
	if err != nil {
		return fail(err)
	}
	for _, a := range atts {
		if a.VolumeID == v.ID {
			return nil // attached, or being attached, by an earlier call
		}
	}
	switch st := strings.ToLower(v.Status); {
	case st == "available":
	case st == "in-use" && v.Multiattach:
	default:
		on := ""
		for _, a := range v.Attachments {
			on += " " + a.ServerID
		}
		return fail(fmt.Errorf("%w: volume is %s (attached to:%s)", providers.ErrConflict, v.Status, on))
	}
	_, err = volumeattach.Create(ctx, cl.compute, url.PathEscape(serverID), volumeattach.CreateOpts{VolumeID: v.ID}).Extract()
	if err != nil {
		err = mapErr(err)
		if isHTTP(err, 400) && strings.Contains(strings.ToLower(err.Error()), "volume") {
			err = asKind(err, providers.ErrConflict) // "Invalid volume: ... status must be available"
		}
		return fail(err)
	}
	return nil
}

func (c *Cloud) serverAttachments(ctx context.Context, cl *clients, serverID string) ([]volumeattach.VolumeAttachment, error) {
	pages, err := volumeattach.List(cl.compute, url.PathEscape(serverID)).AllPages(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := volumeattach.ExtractVolumeAttachments(pages)
	if err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}

// DetachVolume implements providers.Volumes. A volume that Cinder does not
// show attached to the server is ErrConflict; one already detaching from
// it is done.
func (c *Cloud) DetachVolume(ctx context.Context, volumeID, serverID string) error {
	sc, region, err := c.cinder(ctx)
	if err != nil {
		return err
	}
	cl, err := c.clients(ctx)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("openstack: detach volume %s from server %s in %s: %w", volumeID, serverID, region, err)
	}
	v, err := volumes.Get(ctx, sc, url.PathEscape(volumeID)).Extract()
	if err != nil {
		return fail(mapErr(err))
	}
	attached := false
	for _, a := range v.Attachments {
		attached = attached || a.ServerID == serverID
	}
	if !attached {
		return fail(fmt.Errorf("%w: volume is not attached to the server (status %s)", providers.ErrConflict, v.Status))
	}
	if strings.EqualFold(v.Status, "detaching") {
		return nil
	}
	err = volumeattach.Delete(ctx, cl.compute, url.PathEscape(serverID), url.PathEscape(v.ID)).ExtractErr()
	if err != nil {
		err = mapErr(err)
		switch {
		case errors.Is(err, providers.ErrNotFound):
			err = asKind(err, providers.ErrConflict) // Nova: not attached
		case isHTTP(err, 400):
			err = asKind(err, providers.ErrConflict)
		}
		return fail(err)
	}
	return nil
}

// ---- snapshots ----
