package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// objectService implements canopyv1.ObjectServiceServer: buckets and
// objects (objects.go), streamed downloads (objects_download.go) and
// presigned URLs, over the router.
type objectService struct {
	canopyv1.UnimplementedObjectServiceServer
	rt    router.Resolver
	store store.Store
	log   *slog.Logger // audit of streamed uploads
	urls  *signedBase  // where the simulator's signed URLs are served
	// chunks recycles upload chunks, shared with the gRPC codec.
	chunks *chunkPool
}

// signedBase is canopyd's REST address (scheme://host:port), where clouds
// that sign their own URLs (the simulator) have them served. Serve sets it
// once it knows its listener (or the configured public_url).
type signedBase struct {
	mu   sync.Mutex
	base string
}

func (b *signedBase) set(u string) {
	b.mu.Lock()
	b.base = u
	b.mu.Unlock()
}

func (b *signedBase) get() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.base
}

const (
	// chunkSize is the size of the chunks canopy streams: big enough for
	// throughput, far below gRPC's 4 MiB message limit.
	chunkSize = 1 << 20
	// maxKeyLen is S3's and Swift's limit on object names.
	maxKeyLen   = 1024
	defaultTTL  = 15 * time.Minute
	maxTTL      = 7 * 24 * time.Hour
	signedPath  = "/signed/"
	defaultType = "application/octet-stream"
)

func bucketPB(cloud string, m store.Mapping, b providers.Bucket) *canopyv1.Bucket {
	return &canopyv1.Bucket{
		Id: m.ID, NativeId: b.NativeID, Location: &canopyv1.Location{Cloud: cloud, Region: b.Region, Zone: b.Zone, Project: m.Project},
		Name: b.Name, Status: statusPB(b.Status), ProviderStatus: b.ProviderStatus,
		CreateTime: ts(b.Created), UpdateTime: ts(b.Updated), Labels: b.Labels, Properties: b.Properties,
		ObjectCount: b.Objects, SizeBytes: b.Bytes,
	}
}

func objectPB(cl *router.Cloud, m store.Mapping, region string, o providers.Object) *canopyv1.Object {
	return &canopyv1.Object{
		Bucket: m.ID, Key: o.Key, Location: &canopyv1.Location{Cloud: cl.Name, Region: region, Project: m.Project},
		SizeBytes: o.Size, ContentType: o.ContentType, UpdateTime: ts(o.Modified), Etag: o.ETag, Md5: o.MD5,
		Sha256: o.SHA256, Parts: int32(o.Parts), Metadata: o.Metadata,
	}
}

func (s *objectService) cloudBuckets(ctx context.Context, cl *router.Cloud) ([]*canopyv1.Bucket, error) {
	o, err := cl.ObjectsOrFail()
	if err != nil {
		return nil, err
	}
	list, err := o.ListBuckets(ctx)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list buckets", err)
	}
	return router.AdoptAll(ctx, s.rt, cl, providers.KindBucket, list, func(b providers.Bucket) string { return b.NativeID },
		func(b providers.Bucket, m store.Mapping) *canopyv1.Bucket { return bucketPB(cl.Name, m, b) })
}

// CreateBucket implements canopyv1.ObjectServiceServer.
func (s *objectService) CreateBucket(ctx context.Context, req *canopyv1.CreateBucketRequest) (*canopyv1.Bucket, error) {
	if err := router.CheckName("name", req.GetName()); err != nil {
		return nil, err
	}
	if err := router.CheckLabels("labels", req.GetLabels()); err != nil {
		return nil, err
	}
	if err := router.CheckRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	cl, err := s.rt.RouteCreate(req.GetLocation())
	if err != nil {
		return nil, err
	}
	o, err := cl.ObjectsOrFail()
	if err != nil {
		return nil, err
	}
	m, created, err := s.store.Reserve(ctx, store.Mapping{Cloud: cl.Name, Kind: providers.KindBucket, Project: project(ctx), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, router.StoreErr("reserve bucket id", err)
	}
	if !created && !m.Pending() {
		b, err := o.GetBucket(ctx, m.NativeID)
		if err != nil {
			return nil, router.CloudErr(cl.Name, "get bucket "+m.NativeID, err)
		}
		return bucketPB(cl.Name, m, b), nil
	}
	region := req.GetLocation().GetRegion()
	if region == "" && req.GetLocation().GetZone() != "" && len(cl.Regions) > 0 {
		region = cl.Regions[0]
	}
	// Bucket names are global (router/names.go): a name taken is
	// unavailable, never a view of whose bucket holds it.
	if err := router.CheckNameFree(ctx, s.store, cl, providers.KindBucket, "name", req.GetName()); err != nil {
		if created {
			_ = s.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, err
	}
	b, err := o.CreateBucket(ctx, req.GetName(), region, req.GetLabels())
	if err != nil {
		if created {
			_ = s.store.Delete(context.WithoutCancel(ctx), m.ID)
		}
		return nil, router.NameTakenErr(cl, providers.KindBucket, "name", req.GetName(), "create bucket "+req.GetName(), err)
	}
	if m, err = s.store.Bind(context.WithoutCancel(ctx), m.ID, b.NativeID); err != nil {
		return nil, router.StoreErr("bind bucket "+b.NativeID, err)
	}
	return bucketPB(cl.Name, m, b), nil
}

// findBucket resolves a bucket id or name to its cloud and mapping; another
// project's bucket is NOT_FOUND.
func (s *objectService) findBucket(ctx context.Context, field, v string) (*router.Cloud, store.Mapping, error) {
	return router.Find(ctx, s.rt, providers.KindBucket, field, v, s.cloudBuckets)
}

// bucketOf resolves a bucket and its cloud's object driver.
func (s *objectService) bucketOf(ctx context.Context, field, v string) (*router.Cloud, *cache.Objects, store.Mapping, error) {
	cl, m, err := s.findBucket(ctx, field, v)
	if err != nil {
		return nil, nil, m, err
	}
	if m.Pending() {
		return nil, nil, m, status.Errorf(codes.Unavailable, "bucket %s is still being created", m.ID)
	}
	o, err := cl.ObjectsOrFail()
	return cl, o, m, err
}

// GetBucket implements canopyv1.ObjectServiceServer.
func (s *objectService) GetBucket(ctx context.Context, req *canopyv1.GetBucketRequest) (*canopyv1.Bucket, error) {
	cl, o, m, err := s.bucketOf(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	b, err := o.GetBucket(ctx, m.NativeID)
	if errors.Is(err, providers.ErrNotFound) {
		_ = s.store.Delete(ctx, m.ID)
		return nil, router.NotFound(providers.KindBucket, req.GetId())
	}
	if err != nil {
		return nil, router.CloudErr(cl.Name, "get bucket "+m.NativeID, err)
	}
	return bucketPB(cl.Name, m, b), nil
}

// ListBuckets implements canopyv1.ObjectServiceServer.
func (s *objectService) ListBuckets(ctx context.Context, req *canopyv1.ListBucketsRequest) (*canopyv1.ListBucketsResponse, error) {
	q := router.Query{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Location: req.GetLocation(), Labels: nil, Filters: []any{"buckets", req.GetName()}}
	page, next, errs, err := router.List(ctx, s.rt, q, s.cloudBuckets, func(b *canopyv1.Bucket) bool {
		return b.Location.GetProject() == project(ctx) && (req.GetName() == "" || b.Name == req.GetName()) &&
			router.MatchLocation(req.GetLocation(), b.Location.GetRegion(), "")
	})
	if err != nil {
		return nil, err
	}
	return &canopyv1.ListBucketsResponse{Buckets: page, NextPageToken: next, CloudErrors: errs, Unreachable: router.Unreachable(errs)}, nil
}

// DeleteBucket implements canopyv1.ObjectServiceServer.
func (s *objectService) DeleteBucket(ctx context.Context, req *canopyv1.DeleteBucketRequest) (*canopyv1.DeleteBucketResponse, error) {
	cl, o, m, err := s.bucketOf(ctx, "id", req.GetId())
	if err != nil {
		return nil, err
	}
	err = o.DeleteBucket(ctx, m.NativeID)
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return nil, router.CloudErr(cl.Name, "delete bucket "+m.NativeID, err)
	}
	if derr := s.store.Delete(context.WithoutCancel(ctx), m.ID); derr != nil && !errors.Is(derr, store.ErrNotFound) {
		return nil, router.StoreErr("forget bucket "+m.ID, derr)
	}
	if err != nil {
		return nil, router.NotFound(providers.KindBucket, req.GetId())
	}
	return &canopyv1.DeleteBucketResponse{Id: m.ID}, nil
}

func checkKey(field, key string) error {
	switch {
	case key == "":
		return router.BadRequest(field, "required")
	case len(key) > maxKeyLen:
		return router.BadRequest(field, "longer than %d bytes", maxKeyLen)
	case !utf8.ValidString(key):
		return router.BadRequest(field, "not valid UTF-8")
	case strings.ContainsRune(key, 0):
		return router.BadRequest(field, "contains a NUL byte")
	}
	return nil
}

// bucketRegion is the region of a bucket for object messages (one head of
// the bucket would cost a call per object: the cloud's first region is
// what canopy reports unless it knows better).
func bucketRegion(cl *router.Cloud) string {
	if len(cl.Regions) > 0 {
		return cl.Regions[0]
	}
	return ""
}

// ListObjects implements canopyv1.ObjectServiceServer.
func (s *objectService) ListObjects(ctx context.Context, req *canopyv1.ListObjectsRequest) (*canopyv1.ListObjectsResponse, error) {
	size := int(req.GetPageSize())
	switch {
	case size < 0 || size > 1000:
		return nil, router.BadRequest("page_size", "between 0 and 1000, got %d", size)
	case size == 0:
		size = 1000
	}
	cl, o, m, err := s.bucketOf(ctx, "bucket", req.GetBucket())
	if err != nil {
		return nil, err
	}
	// The cloud's own token travels inside canopy's, so that one a client
	// made up or kept from another listing is refused on every cloud.
	filter := router.FilterHash("objects", m.ID, req.GetPrefix(), req.GetDelimiter())
	native, err := router.UnwrapToken(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	page, err := o.ListObjects(ctx, m.NativeID, providers.ListObjectsOptions{
		Prefix: req.GetPrefix(), Delimiter: req.GetDelimiter(), PageToken: native, PageSize: size,
	})
	if err != nil {
		return nil, router.CloudErr(cl.Name, "list objects of "+m.NativeID, err)
	}
	out := &canopyv1.ListObjectsResponse{Prefixes: page.Prefixes, NextPageToken: router.WrapToken(page.NextToken, filter)}
	for _, ob := range page.Objects {
		out.Objects = append(out.Objects, objectPB(cl, m, bucketRegion(cl), ob))
	}
	return out, nil
}

// GetObject implements canopyv1.ObjectServiceServer.
func (s *objectService) GetObject(ctx context.Context, req *canopyv1.GetObjectRequest) (*canopyv1.Object, error) {
	if err := checkKey("key", req.GetKey()); err != nil {
		return nil, err
	}
	cl, o, m, err := s.bucketOf(ctx, "bucket", req.GetBucket())
	if err != nil {
		return nil, err
	}
	ob, err := o.HeadObject(ctx, m.NativeID, req.GetKey())
	if err != nil {
		return nil, router.CloudErr(cl.Name, "head object "+req.GetKey(), err)
	}
	return objectPB(cl, m, bucketRegion(cl), ob), nil
}

// DeleteObject implements canopyv1.ObjectServiceServer.
func (s *objectService) DeleteObject(ctx context.Context, req *canopyv1.DeleteObjectRequest) (*canopyv1.DeleteObjectResponse, error) {
	if err := checkKey("key", req.GetKey()); err != nil {
		return nil, err
	}
	cl, o, m, err := s.bucketOf(ctx, "bucket", req.GetBucket())
	if err != nil {
		return nil, err
	}
	if err := o.DeleteObject(ctx, m.NativeID, req.GetKey()); err != nil {
		return nil, router.CloudErr(cl.Name, "delete object "+req.GetKey(), err)
	}
	return &canopyv1.DeleteObjectResponse{Bucket: m.ID, Key: req.GetKey()}, nil
}

// CopyObject implements canopyv1.ObjectServiceServer: server side within a
// cloud, streamed through canopy (bounded memory, hashes checked) across
// clouds.
func (s *objectService) CopyObject(ctx context.Context, req *canopyv1.CopyObjectRequest) (*canopyv1.Object, error) {
	if err := checkKey("source_key", req.GetSourceKey()); err != nil {
		return nil, err
	}
	dstKey := req.GetDestinationKey()
	if dstKey == "" {
		dstKey = req.GetSourceKey()
	}
	if err := checkKey("destination_key", dstKey); err != nil {
		return nil, err
	}
	scl, so, sm, err := s.bucketOf(ctx, "source_bucket", req.GetSourceBucket())
	if err != nil {
		return nil, err
	}
	dcl, do, dm, err := s.bucketOf(ctx, "destination_bucket", req.GetDestinationBucket())
	if err != nil {
		return nil, err
	}
	if scl == dcl {
		ob, err := so.CopyObject(ctx, sm.NativeID, req.GetSourceKey(), dm.NativeID, dstKey)
		if err != nil {
			return nil, router.CloudErr(scl.Name, "copy object "+req.GetSourceKey(), err)
		}
		return objectPB(dcl, dm, bucketRegion(dcl), ob), nil
	}
	r, src, err := so.NewRangeReader(ctx, sm.NativeID, req.GetSourceKey(), 0, -1)
	if err != nil {
		return nil, router.CloudErr(scl.Name, "read object "+req.GetSourceKey(), err)
	}
	defer r.Close()
	spec := uploadSpec{key: dstKey, contentType: src.ContentType, metadata: src.Metadata, size: src.Size, sha256: src.SHA256}
	buf := make([]byte, chunkSize)
	next := func() ([]byte, error) {
		n, err := io.ReadFull(r, buf)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
		}
		if n == 0 && err == nil {
			err = io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			err = router.CloudErr(scl.Name, "read object "+req.GetSourceKey(), err)
		}
		return buf[:n], err
	}
	return s.putObject(ctx, dcl, do, dm, spec, next, false, nil)
}

// ttlOf checks a requested URL lifetime.
func ttlOf(field string, d interface{ AsDuration() time.Duration }, set bool) (time.Duration, error) {
	if !set {
		return defaultTTL, nil
	}
	t := d.AsDuration()
	if t <= 0 || t > maxTTL {
		return 0, router.BadRequest(field, "between 1s and %s, got %s", maxTTL, t)
	}
	return t, nil
}

// signURL presigns a request on an object, or FAILED_PRECONDITION when the
// cloud cannot sign (the client then streams through canopy).
func (s *objectService) signURL(ctx context.Context, bucket, key, method, contentType string, ttl time.Duration) (*canopyv1.SignedURL, error) {
	if err := checkKey("key", key); err != nil {
		return nil, err
	}
	cl, o, m, err := s.bucketOf(ctx, "bucket", bucket)
	if err != nil {
		return nil, err
	}
	signer := o.Signer()
	if signer == nil {
		return nil, router.CapabilityErr(cl.Name, "presigned-urls")
	}
	base := s.urls.get()
	if base != "" {
		base += signedPath + cl.Name
	}
	u, err := signer.SignURL(ctx, m.NativeID, key, providers.SignOptions{Method: method, Expiry: ttl, ContentType: contentType, BaseURL: base})
	if errors.Is(err, providers.ErrUnsupported) {
		return nil, router.CapabilityErr(cl.Name, "presigned-urls")
	}
	if err != nil {
		return nil, router.CloudErr(cl.Name, "sign "+method+" "+key, err)
	}
	return &canopyv1.SignedURL{Url: u.URL, Method: u.Method, ExpireTime: ts(u.Expires), Headers: u.Headers, Cloud: cl.Name}, nil
}

// CreateUploadURL implements canopyv1.ObjectServiceServer.
func (s *objectService) CreateUploadURL(ctx context.Context, req *canopyv1.CreateUploadURLRequest) (*canopyv1.SignedURL, error) {
	ttl, err := ttlOf("ttl", req.GetTtl(), req.Ttl != nil)
	if err != nil {
		return nil, err
	}
	return s.signURL(ctx, req.GetBucket(), req.GetKey(), http.MethodPut, req.GetContentType(), ttl)
}

// CreateDownloadURL implements canopyv1.ObjectServiceServer.
func (s *objectService) CreateDownloadURL(ctx context.Context, req *canopyv1.CreateDownloadURLRequest) (*canopyv1.SignedURL, error) {
	ttl, err := ttlOf("ttl", req.GetTtl(), req.Ttl != nil)
	if err != nil {
		return nil, err
	}
	return s.signURL(ctx, req.GetBucket(), req.GetKey(), http.MethodGet, "", ttl)
}

// errClient wraps a client-side read failure of a REST body.
func errClient(err error) error {
	return status.Error(codes.Canceled, fmt.Sprintf("request body broke off: %v: nothing was stored", err))
}
