package openstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/objectstorage/v1/containers"
	"github.com/gophercloud/gophercloud/v2/openstack/objectstorage/v1/objects"

	"github.com/canopy-cloud/canopy/providers"
)

// swiftCopyLimit is Swift's default max_file_size: a server-side COPY of a
// large object makes one object of its concatenated content, so it fails
// above this size. Larger SLOs are copied segment by segment. A variable
// so tests can take that path with small objects.
var swiftCopyLimit int64 = 5 << 30

// CopyObject implements providers.Objects with Swift's server-side COPY. A
// large object (SLO) up to swiftCopyLimit becomes one plain object; above
// it, each segment is copied on the server into the destination's own
// segments and a new manifest is written, so the copy shares nothing with
// the source (deleting one never breaks the other).
func (c *Cloud) CopyObject(ctx context.Context, sb, sk, db, dk string) (providers.Object, error) {
	sc, err := c.swift(ctx)
	if err != nil {
		return providers.Object{}, err
	}
	res := objects.Get(ctx, sc, sb, sk, nil)
	h, err := res.Extract()
	if err != nil {
		return providers.Object{}, swiftFail(err, "head object %s/%s", sb, sk)
	}
	if h.StaticLargeObject && h.ContentLength > swiftCopyLimit {
		meta, _ := res.ExtractMetadata()
		if err := c.copySegments(ctx, sc, sb, sk, db, dk, h.ContentType, meta); err != nil {
			return providers.Object{}, err
		}
		return c.HeadObject(ctx, db, dk)
	}
	dest := "/" + url.PathEscape(db) + "/" + escapePath(dk)
	if _, err := objects.Copy(ctx, sc, sb, sk, objects.CopyOpts{Destination: dest}).Extract(); err != nil {
		return providers.Object{}, swiftFail(err, "copy %s/%s to %s/%s", sb, sk, db, dk)
	}
	return c.HeadObject(ctx, db, dk)
}

// manifestEntry is one segment as GET ?multipart-manifest=get lists it.
type manifestEntry struct {
	Name  string `json:"name"` // /container/object
	Hash  string `json:"hash"`
	Bytes int64  `json:"bytes"`
}

// copySegments copies a large object's segments one by one on the server,
// then puts a manifest of the copies; a failure deletes what was copied.
func (c *Cloud) copySegments(ctx context.Context, sc *gophercloud.ServiceClient, sb, sk, db, dk, contentType string, meta map[string]string) error {
	dl := objects.Download(ctx, sc, sb, sk, objects.DownloadOpts{MultipartManifest: "get"})
	if dl.Err != nil {
		return swiftFail(dl.Err, "read manifest of %s/%s", sb, sk)
	}
	raw, err := io.ReadAll(io.LimitReader(dl.Body, 16<<20))
	dl.Body.Close()
	if err != nil {
		return fmt.Errorf("openstack: read manifest of %s/%s: %w: %v", sb, sk, providers.ErrUnavailable, err)
	}
	var src []manifestEntry
	if err := json.Unmarshal(raw, &src); err != nil || len(src) == 0 {
		return fmt.Errorf("openstack: manifest of %s/%s: %w: not a segment list (%v)", sb, sk, providers.ErrConflict, err)
	}
	segBucket := db + segmentsSuffix
	if _, err := containers.Create(ctx, sc, segBucket, nil).Extract(); err != nil {
		return swiftFail(err, "create container %s", segBucket)
	}
	prefix := fmt.Sprintf("%s/%d.copy", dk, time.Now().UnixNano())
	var copied []swiftSegment
	cleanup := func() {
		actx := context.WithoutCancel(ctx)
		for i := range copied {
			_, _ = objects.Delete(actx, sc, segBucket, fmt.Sprintf("%s/%08d", prefix, i), nil).Extract()
		}
	}
	for i, e := range src {
		cont, name, ok := strings.Cut(strings.TrimPrefix(e.Name, "/"), "/")
		if !ok {
			cleanup()
			return fmt.Errorf("openstack: manifest of %s/%s: %w: segment %q has no container", sb, sk, providers.ErrConflict, e.Name)
		}
		// Names in a manifest listing are already URL-decoded; the
		// container and object go into the request path escaped again.
		segName := fmt.Sprintf("%s/%08d", prefix, i)
		dest := "/" + url.PathEscape(segBucket) + "/" + escapePath(segName)
		if _, err := objects.Copy(ctx, sc, cont, name, objects.CopyOpts{Destination: dest}).Extract(); err != nil {
			cleanup()
			return swiftFail(err, "copy %s/%s to %s/%s: segment %d", sb, sk, db, dk, i)
		}
		copied = append(copied, swiftSegment{Path: "/" + segBucket + "/" + segName, ETag: e.Hash, Size: e.Bytes})
	}
	manifest, _ := json.Marshal(copied)
	if _, err := objects.Create(ctx, sc, db, dk, objects.CreateOpts{Content: bytes.NewReader(manifest), MultipartManifest: "put",
		NoETag: true, Metadata: meta, ContentType: contentType}).Extract(); err != nil {
		cleanup()
		return swiftFail(err, "copy %s/%s to %s/%s: put manifest", sb, sk, db, dk)
	}
	return nil
}
