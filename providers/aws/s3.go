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
	"crypto/md5" //nolint:gosec // S3's ETag is md5
	"encoding/base64"
	"encoding/hex"
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
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
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

// gatedClient calls the rate-limit gate before every request the upload
// manager makes, and sends each part's md5 as Content-MD5 (so S3 checks
// every part) — computed here, in the manager's part goroutines, in
// parallel, off the stream's path. The md5s are kept to check the ETag.
type gatedClient struct {
	*s3.Client
	gate func(context.Context) error
	w    *s3Writer
}

// partMD5 hashes a part body and rewinds it.
func partMD5(body io.Reader) ([]byte, error) {
	rs, ok := body.(io.ReadSeeker)
	if !ok {
		return nil, nil
	}
	h := md5.New() //nolint:gosec
	if _, err := io.Copy(h, rs); err != nil {
		return nil, err
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func (g gatedClient) wait(ctx context.Context) error {
	if g.gate == nil {
		return nil
	}
	return g.gate(ctx)
}

func (g gatedClient) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	sum, err := partMD5(in.Body)
	if err != nil {
		return nil, err
	}
	if sum != nil {
		in.ContentMD5 = awssdk.String(base64.StdEncoding.EncodeToString(sum))
		g.w.setPart(1, sum)
	}
	return g.Client.PutObject(ctx, in, o...)
}

func (g gatedClient) UploadPart(ctx context.Context, in *s3.UploadPartInput, o ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	sum, err := partMD5(in.Body)
	if err != nil {
		return nil, err
	}
	if sum != nil {
		in.ContentMD5 = awssdk.String(base64.StdEncoding.EncodeToString(sum))
		g.w.setPart(awssdk.ToInt32(in.PartNumber), sum)
	}
	return g.Client.UploadPart(ctx, in, o...)
}

func (g gatedClient) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, o ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.Client.CompleteMultipartUpload(ctx, in, o...)
}

// NewWriter implements providers.Objects.
func (c *Cloud) NewWriter(ctx context.Context, bucket, key string, opts providers.WriteOptions) (providers.ObjectWriter, error) {
	cl, err := c.bucketClient(ctx, bucket)
	if err != nil {
		return nil, err
	}
	ps := opts.PartSize
	if ps <= 0 {
		ps = c.opts.S3PartSize
	}
	if ps <= 0 {
		ps = defaultS3PartSize
	}
	if ps < manager.MinUploadPartSize {
		return nil, fmt.Errorf("aws: part size %d: %w: S3's minimum is %d", ps, providers.ErrInvalid, manager.MinUploadPartSize)
	}
	meta := map[string]string{}
	for k, v := range opts.Metadata {
		meta[k] = v
	}
	if opts.SHA256 != "" {
		meta[sha256MetaKey] = opts.SHA256
	}
	w := &s3Writer{c: c, cl: cl, bucket: bucket, key: key, contentType: opts.ContentType, done: make(chan struct{}), md5s: map[int32][]byte{}}
	up := manager.NewUploader(gatedClient{cl, opts.Gate, w}, func(u *manager.Uploader) {
		u.PartSize, u.Concurrency = ps, defaultS3Concurrency
		if c.opts.S3Concurrency > 0 {
			u.Concurrency = c.opts.S3Concurrency
		}
		u.LeavePartsOnError = false
	})
	wctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	w.pw, w.cancel = pw, cancel
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: pr, Metadata: meta}
	if opts.ContentType != "" {
		in.ContentType = &opts.ContentType
	}
	go func() {
		defer close(w.done)
		w.out, w.err = up.Upload(wctx, in)
		_ = pr.CloseWithError(errors.New("upload ended"))
		// The manager aborts a failed multipart upload with the upload's
		// context, which is often the reason it failed (the client went
		// away): abort again with one that still works, so no parts stay
		// behind (S3 keeps, and bills, them).
		var mf manager.MultiUploadFailure
		if errors.As(w.err, &mf) && mf.UploadID() != "" {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			_, _ = cl.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: awssdk.String(mf.UploadID())})
			cancel()
		}
	}()
	return w, nil
}

// s3Writer feeds the upload manager through a pipe.
type s3Writer struct {
	c           *Cloud
	cl          *s3.Client
	bucket, key string
	contentType string
	pw          *io.PipeWriter
	cancel      context.CancelFunc
	done        chan struct{}
	out         *manager.UploadOutput
	err         error
	n           int64
	finished    bool

	mu   sync.Mutex
	md5s map[int32][]byte // part number → md5, as sent
}

var errAborted = errors.New("upload aborted")

func (w *s3Writer) setPart(n int32, sum []byte) {
	w.mu.Lock()
	w.md5s[n] = sum
	w.mu.Unlock()
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.finished {
		return 0, errors.New("aws: write after commit or abort")
	}
	n, err := w.pw.Write(p)
	w.n += int64(n)
	if err != nil {
		<-w.done
		if w.err != nil {
			return n, s3fail(w.err, "upload %s/%s", w.bucket, w.key)
		}
		return n, err
	}
	return n, nil
}

// expectedETag is S3's ETag of the parts sent: the md5 of a one-part
// object, else the md5 of the part md5s and "-N".
func (w *s3Writer) expectedETag() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := int32(len(w.md5s))
	if n == 0 {
		return "", false
	}
	if n == 1 && w.md5s[1] != nil {
		return hex.EncodeToString(w.md5s[1]), true
	}
	h := md5.New() //nolint:gosec
	for i := int32(1); i <= n; i++ {
		m, ok := w.md5s[i]
		if !ok {
			return "", false
		}
		h.Write(m)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), n), true
}

func (w *s3Writer) Commit() (providers.Object, error) {
	if w.finished {
		return providers.Object{}, errors.New("aws: commit after commit or abort")
	}
	w.finished = true
	_ = w.pw.Close()
	<-w.done
	w.cancel()
	if w.err != nil {
		return providers.Object{}, s3fail(w.err, "upload %s/%s", w.bucket, w.key)
	}
	etag := strings.Trim(awssdk.ToString(w.out.ETag), `"`)
	ct := w.contentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	o := objectOf(w.key, w.n, ct, etag, time.Now(), nil)
	if want, ok := w.expectedETag(); ok && looksLikeMD5ETag(etag) && etag != want {
		_, _ = w.cl.DeleteObject(context.WithoutCancel(context.Background()), &s3.DeleteObjectInput{Bucket: &w.bucket, Key: &w.key})
		return providers.Object{}, fmt.Errorf("aws: upload %s/%s: S3's ETag %s is not the %s of the bytes sent: deleted it: %w", w.bucket, w.key, etag, want, providers.ErrIntegrity)
	}
	return o, nil
}

// looksLikeMD5ETag: S3 ETags are md5-based except with SSE-KMS/SSE-C,
// whose ETags are opaque; those are not checked.
func looksLikeMD5ETag(etag string) bool {
	base, _, _ := strings.Cut(etag, "-")
	_, err := hex.DecodeString(base)
	return len(base) == 32 && err == nil
}

func (w *s3Writer) Abort() error {
	if w.finished && w.out != nil {
		return nil
	}
	w.finished = true
	_ = w.pw.CloseWithError(errAborted)
	w.cancel()
	<-w.done
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
