package aws

// S3: buckets and objects (providers.Objects) and presigned URLs
// (providers.URLSigner).
//
// Uploads stream through the SDK's upload manager fed by a pipe: it cuts
// the stream into parts (multipart above one part, a single PutObject
// below), keeps at most Concurrency parts in memory, and aborts the
// multipart upload when the stream fails, so nothing becomes visible. The
// writer computes each part's md5 as the bytes pass and checks S3's ETag
// (md5 of a one-part object, md5 of the part md5s plus "-N" otherwise)
// before it reports success; a mismatch deletes the object (ErrIntegrity).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/canopy-cloud/canopy/providers"
)

// s3State is the adapter's S3 side: the SDK configuration and a client
// per region, made on first use.
type s3State struct {
	cfg     *awssdk.Config
	mu      sync.Mutex
	clients map[string]*s3.Client
	where   map[string]string // bucket → region
}

// Default part size and parallelism of uploads: memory per upload is at
// most PartSize × (Concurrency+1).
// bucketNameRE is S3's naming rule for new buckets.
var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

const (
	defaultS3PartSize    = 5 << 20
	defaultS3Concurrency = 2
	sha256MetaKey        = "canopy-sha256"
)

func (c *Cloud) s3Client(region string) (*s3.Client, error) {
	st := &c.s3
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cfg == nil {
		return nil, fmt.Errorf("aws: cloud %q: %w: S3 is not configured", c.name, providers.ErrUnsupported)
	}
	if region == "" {
		region = c.regions[0]
	}
	if cl, ok := st.clients[region]; ok {
		return cl, nil
	}
	if st.clients == nil {
		st.clients, st.where = map[string]*s3.Client{}, map[string]string{}
	}
	cl := s3.NewFromConfig(*st.cfg, func(o *s3.Options) {
		o.Region = region
		o.DisableLogOutputChecksumValidationSkipped = true
		if c.opts.Endpoint != "" {
			o.BaseEndpoint = awssdk.String(c.opts.Endpoint)
			o.UsePathStyle = true // emulators have no per-bucket DNS names
		}
	})
	st.clients[region] = cl
	return cl, nil
}

// bucketClient returns the client of the bucket's region (found once with
// HeadBucket, then remembered).
func (c *Cloud) bucketClient(ctx context.Context, bucket string) (*s3.Client, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	c.s3.mu.Lock()
	r, ok := c.s3.where[bucket]
	c.s3.mu.Unlock()
	if ok {
		return c.s3Client(r)
	}
	def, err := c.s3Client("")
	if err != nil {
		return nil, err
	}
	if len(c.regions) == 1 {
		return def, nil
	}
	out, err := def.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	if err != nil {
		return nil, s3fail(err, "find the region of bucket %s", bucket)
	}
	r = awssdk.ToString(out.BucketRegion)
	c.s3.mu.Lock()
	c.s3.where[bucket] = r
	c.s3.mu.Unlock()
	return c.s3Client(r)
}

// s3fail maps S3's own error codes, then the common ones.
func s3fail(err error, format string, args ...any) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		var kind error
		switch api.ErrorCode() {
		case "NoSuchBucket", "NoSuchKey", "NoSuchUpload", "NotFound":
			kind = providers.ErrNotFound
		case "BucketAlreadyExists", "BucketAlreadyOwnedByYou":
			kind = providers.ErrAlreadyExists
		case "BucketNotEmpty":
			kind = providers.ErrConflict
		case "InvalidBucketName", "InvalidRange", "EntityTooSmall", "EntityTooLarge", "KeyTooLongError", "InvalidArgument",
			"IllegalLocationConstraintException", "InvalidLocationConstraint":
			kind = providers.ErrInvalid
		case "BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch":
			kind = providers.ErrIntegrity
		}
		if kind != nil {
			return fmt.Errorf("aws: %s: %w", fmt.Sprintf(format, args...), &Error{Code: api.ErrorCode(), Message: api.ErrorMessage(), Kind: kind, Err: err})
		}
	}
	return fail(err, target, format, args...)
}

// ListBuckets implements providers.Objects.
func (c *Cloud) ListBuckets(ctx context.Context) ([]providers.Bucket, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	cl, err := c.s3Client("")
	if err != nil {
		return nil, err
	}
	var out []providers.Bucket
	p := s3.NewListBucketsPaginator(cl, &s3.ListBucketsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3fail(err, "list buckets")
		}
		for _, b := range page.Buckets {
			region := awssdk.ToString(b.BucketRegion)
			if region == "" {
				region = c.regions[0]
			}
			out = append(out, bucketOf(awssdk.ToString(b.Name), region, awssdk.ToTime(b.CreationDate)))
		}
	}
	return out, nil
}

func bucketOf(name, region string, created time.Time) providers.Bucket {
	return providers.Bucket{Common: providers.Common{NativeID: name, Name: name, Region: region,
		Status: providers.StatusActive, ProviderStatus: "available", Created: created}, Objects: -1, Bytes: -1}
}

// GetBucket implements providers.Objects.
func (c *Cloud) GetBucket(ctx context.Context, name string) (providers.Bucket, error) {
	if err := c.check(); err != nil {
		return providers.Bucket{}, err
	}
	cl, err := c.s3Client("")
	if err != nil {
		return providers.Bucket{}, err
	}
	out, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &name})
	if err != nil {
		return providers.Bucket{}, s3fail(err, "head bucket %s", name)
	}
	region := awssdk.ToString(out.BucketRegion)
	if region == "" {
		region = c.regions[0]
	}
	return bucketOf(name, region, time.Time{}), nil
}

// CreateBucket implements providers.Objects.
func (c *Cloud) CreateBucket(ctx context.Context, name, region string, labels map[string]string) (providers.Bucket, error) {
	if err := c.check(); err != nil {
		return providers.Bucket{}, err
	}
	if region == "" {
		region = c.regions[0]
	}
	if !bucketNameRE.MatchString(name) || strings.Contains(name, "..") {
		return providers.Bucket{}, fmt.Errorf("aws: bucket name %q: %w: 3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit", name, providers.ErrInvalid)
	}
	cl, err := c.s3Client(region)
	if err != nil {
		return providers.Bucket{}, err
	}
	// S3 answers a create of a bucket the account already owns with
	// success in us-east-1: canopy says it exists, everywhere.
	if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &name}); err == nil {
		return providers.Bucket{}, fmt.Errorf("aws: bucket %s: %w", name, providers.ErrAlreadyExists)
	}
	in := &s3.CreateBucketInput{Bucket: &name}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := cl.CreateBucket(ctx, in); err != nil {
		return providers.Bucket{}, s3fail(err, "create bucket %s in %s", name, region)
	}
	c.s3.mu.Lock()
	c.s3.where[name] = region
	c.s3.mu.Unlock()
	if len(labels) > 0 {
		var tags []s3types.Tag
		for k, v := range labels {
			tags = append(tags, s3types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
		}
		if _, err := cl.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: &name, Tagging: &s3types.Tagging{TagSet: tags}}); err != nil {
			return providers.Bucket{}, s3fail(err, "tag bucket %s", name)
		}
	}
	b := bucketOf(name, region, time.Now())
	b.Labels = labels
	return b, nil
}

// DeleteBucket implements providers.Objects.
func (c *Cloud) DeleteBucket(ctx context.Context, name string) error {
	cl, err := c.bucketClient(ctx, name)
	if err != nil {
		return err
	}
	if _, err := cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &name}); err != nil {
		return s3fail(err, "delete bucket %s", name)
	}
	c.s3.mu.Lock()
	delete(c.s3.where, name)
	c.s3.mu.Unlock()
	return nil
}

// objectOf builds an Object from what S3 says; etag is quoted or not.
func objectOf(key string, size int64, contentType, etag string, modified time.Time, meta map[string]string) providers.Object {
	o := providers.Object{Key: key, Size: size, ContentType: contentType, Modified: modified, ETag: strings.Trim(etag, `"`)}
	if base, n, ok := strings.Cut(o.ETag, "-"); ok {
		o.Parts, _ = strconv.Atoi(n)
		_ = base
	} else if len(o.ETag) == 32 {
		o.MD5, o.Parts = o.ETag, 1
	}
	for k, v := range meta {
		if strings.EqualFold(k, sha256MetaKey) {
			o.SHA256 = v
			continue
		}
		if o.Metadata == nil {
			o.Metadata = map[string]string{}
		}
		o.Metadata[strings.ToLower(k)] = v
	}
	return o
}

// ListObjects implements providers.Objects (ListObjectsV2; the page token
// is S3's continuation token).
func (c *Cloud) ListObjects(ctx context.Context, bucket string, opts providers.ListObjectsOptions) (providers.ObjectPage, error) {
	cl, err := c.bucketClient(ctx, bucket)
	if err != nil {
		return providers.ObjectPage{}, err
	}
	in := &s3.ListObjectsV2Input{Bucket: &bucket}
	if opts.Prefix != "" {
		in.Prefix = &opts.Prefix
	}
	if opts.Delimiter != "" {
		in.Delimiter = &opts.Delimiter
	}
	if opts.PageToken != "" {
		in.ContinuationToken = &opts.PageToken
	}
	if opts.PageSize > 0 {
		in.MaxKeys = awssdk.Int32(int32(opts.PageSize))
	}
	out, err := cl.ListObjectsV2(ctx, in)
	if err != nil {
		return providers.ObjectPage{}, s3fail(err, "list objects of %s", bucket)
	}
	var page providers.ObjectPage
	for _, o := range out.Contents {
		page.Objects = append(page.Objects, objectOf(awssdk.ToString(o.Key), awssdk.ToInt64(o.Size), "", awssdk.ToString(o.ETag), awssdk.ToTime(o.LastModified), nil))
	}
	for _, p := range out.CommonPrefixes {
		page.Prefixes = append(page.Prefixes, awssdk.ToString(p.Prefix))
	}
	if awssdk.ToBool(out.IsTruncated) {
		page.NextToken = awssdk.ToString(out.NextContinuationToken)
	}
	return page, nil
}

// HeadObject implements providers.Objects.
func (c *Cloud) HeadObject(ctx context.Context, bucket, key string) (providers.Object, error) {
	cl, err := c.bucketClient(ctx, bucket)
	if err != nil {
		return providers.Object{}, err
	}
	out, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return providers.Object{}, s3fail(err, "head object %s/%s", bucket, key)
	}
	return objectOf(key, awssdk.ToInt64(out.ContentLength), awssdk.ToString(out.ContentType), awssdk.ToString(out.ETag), awssdk.ToTime(out.LastModified), out.Metadata), nil
}

// DeleteObject implements providers.Objects. S3 answers a delete of a
// missing key with success; canopy says not found, as the other clouds do.
func (c *Cloud) DeleteObject(ctx context.Context, bucket, key string) error {
	if _, err := c.HeadObject(ctx, bucket, key); err != nil {
		return err
	}
	cl, err := c.bucketClient(ctx, bucket)
	if err != nil {
		return err
	}
	if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil {
		return s3fail(err, "delete object %s/%s", bucket, key)
	}
	return nil
}

// NewRangeReader implements providers.Objects.
func (c *Cloud) NewRangeReader(ctx context.Context, bucket, key string, off, n int64) (io.ReadCloser, providers.Object, error) {
	cl, err := c.bucketClient(ctx, bucket)
	if err != nil {
		return nil, providers.Object{}, err
	}
	if n == 0 || off < 0 {
		o, err := c.HeadObject(ctx, bucket, key)
		if err != nil {
			return nil, o, err
		}
		if off < 0 || off > o.Size {
			return nil, o, fmt.Errorf("aws: range %d of %s/%s: %w: past the end", off, bucket, key, providers.ErrInvalid)
		}
		return io.NopCloser(strings.NewReader("")), o, nil
	}
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
	if off > 0 || n > 0 {
		r := fmt.Sprintf("bytes=%d-", off)
		if n > 0 {
			r += strconv.FormatInt(off+n-1, 10)
		}
		in.Range = &r
	}
	out, err := cl.GetObject(ctx, in)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "InvalidRange" {
			// Reading from the very end is an empty read, not an error.
			if o, herr := c.HeadObject(ctx, bucket, key); herr == nil && off == o.Size {
				return io.NopCloser(strings.NewReader("")), o, nil
			}
		}
		return nil, providers.Object{}, s3fail(err, "get object %s/%s", bucket, key)
	}
	size := awssdk.ToInt64(out.ContentLength)
	if cr := awssdk.ToString(out.ContentRange); cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if total, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				size = total
			}
		}
	}
	o := objectOf(key, size, awssdk.ToString(out.ContentType), awssdk.ToString(out.ETag), awssdk.ToTime(out.LastModified), out.Metadata)
	return out.Body, o, nil
}

// SignURL implements providers.URLSigner with S3's presigning (SigV4
// query-string auth): nothing is sent to S3.
func (c *Cloud) SignURL(ctx context.Context, bucket, key string, opts providers.SignOptions) (providers.SignedURL, error) {
	cl, err := c.bucketClient(ctx, bucket)
	if err != nil {
		return providers.SignedURL{}, err
	}
	ps := s3.NewPresignClient(cl, s3.WithPresignExpires(opts.Expiry))
	exp := time.Now().Add(opts.Expiry)
	var req interface {
		GetURL() string
	}
	var signed http.Header
	var method string
	switch opts.Method {
	case http.MethodGet:
		r, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			return providers.SignedURL{}, s3fail(err, "presign GET %s/%s", bucket, key)
		}
		req, signed, method = presigned{r.URL}, r.SignedHeader, r.Method
	case http.MethodPut:
		in := &s3.PutObjectInput{Bucket: &bucket, Key: &key}
		if opts.ContentType != "" {
			in.ContentType = &opts.ContentType
		}
		r, err := ps.PresignPutObject(ctx, in)
		if err != nil {
			return providers.SignedURL{}, s3fail(err, "presign PUT %s/%s", bucket, key)
		}
		req, signed, method = presigned{r.URL}, r.SignedHeader, r.Method
	default:
		return providers.SignedURL{}, fmt.Errorf("aws: presign %s: %w", opts.Method, providers.ErrInvalid)
	}
	headers := map[string]string{}
	for k, v := range signed {
		if !strings.EqualFold(k, "Host") && len(v) > 0 {
			headers[http.CanonicalHeaderKey(k)] = v[0]
		}
	}
	return providers.SignedURL{URL: req.GetURL(), Method: method, Expires: exp, Headers: headers}, nil
}

type presigned struct{ u string }

func (p presigned) GetURL() string { return p.u }
