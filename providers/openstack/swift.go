package openstack

// Swift: containers and objects (providers.Objects) and TempURL
// (providers.URLSigner).
//
// A bucket is a container. An object up to one segment goes up in one PUT
// with its md5 as ETag (Swift refuses a body that does not match); a
// larger one goes up as a Static Large Object: segments of SegmentSize,
// each PUT with its md5 into the container "<bucket>+segments", several
// in flight from a fixed set of buffers, then the manifest (Swift checks
// every segment's ETag and size). The manifest's ETag is the md5 of the
// segment md5s as hex text, which the writer checks too. Nothing is
// visible before the manifest; an abort deletes the segments.

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Swift's ETag is md5
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/objectstorage/v1/accounts"
	"github.com/gophercloud/gophercloud/v2/openstack/objectstorage/v1/containers"
	"github.com/gophercloud/gophercloud/v2/openstack/objectstorage/v1/objects"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/canopy-cloud/canopy/providers"
)

// DefaultSegmentSize is the SLO segment size (Swift's minimum is 1 MiB).
const (
	DefaultSegmentSize = 8 << 20
	swiftInFlight      = 3
	swiftSHA256Meta    = "Canopy-Sha256"
	segmentsSuffix     = "+segments"
)

// swiftState is the object-store client of each Cloud, made on first use
// (kept beside the Cloud so the compute side is untouched).
var swiftState sync.Map // *Cloud → *gophercloud.ServiceClient

// portableName is the bucket naming rule canopy enforces on every cloud
// (S3's), so a bucket can move between clouds under its name.
var portableName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (c *Cloud) swift(ctx context.Context) (*gophercloud.ServiceClient, error) {
	if v, ok := swiftState.Load(c); ok {
		return v.(*gophercloud.ServiceClient), nil
	}
	cl, err := c.clients(ctx)
	if err != nil {
		return nil, err
	}
	eo := gophercloud.EndpointOpts{Region: cl.region, Availability: availability(c.cc.Interface)}
	var sc *gophercloud.ServiceClient
	if o := c.cc.Overrides["object-store"]; o != "" {
		sc = &gophercloud.ServiceClient{ProviderClient: cl.provider, Endpoint: gophercloud.NormalizeURL(o), Type: "object-store"}
	} else if sc, err = gopenstack.NewObjectStorageV1(cl.provider, eo); err != nil {
		return nil, fmt.Errorf("openstack: cloud %s: %w: no object-store endpoint (Swift): %v", c.cc.Cloud, providers.ErrUnsupported, err)
	}
	v, _ := swiftState.LoadOrStore(c, sc)
	return v.(*gophercloud.ServiceClient), nil
}

func swiftFail(err error, format string, args ...any) error {
	return fmt.Errorf("openstack: %s: %w", fmt.Sprintf(format, args...), mapErr(err))
}

// ListBuckets implements providers.Objects.
func (c *Cloud) ListBuckets(ctx context.Context) ([]providers.Bucket, error) {
	sc, err := c.swift(ctx)
	if err != nil {
		return nil, err
	}
	var out []providers.Bucket
	err = containers.List(sc, containers.ListOpts{Limit: c.opts.PageSize}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		list, err := containers.ExtractInfo(p)
		if err != nil {
			return false, err
		}
		for _, ct := range list {
			if strings.HasSuffix(ct.Name, segmentsSuffix) {
				continue // canopy's own segment stores
			}
			out = append(out, c.bucketOf(ct.Name, ct.Count, ct.Bytes))
		}
		return true, nil
	})
	if err != nil {
		return nil, swiftFail(err, "list containers")
	}
	return out, nil
}

func (c *Cloud) bucketOf(name string, count, size int64) providers.Bucket {
	return providers.Bucket{Common: providers.Common{NativeID: name, Name: name, Region: c.Region(),
		Status: providers.StatusActive, ProviderStatus: "available"}, Objects: count, Bytes: size}
}

// GetBucket implements providers.Objects.
func (c *Cloud) GetBucket(ctx context.Context, name string) (providers.Bucket, error) {
	sc, err := c.swift(ctx)
	if err != nil {
		return providers.Bucket{}, err
	}
	h, err := containers.Get(ctx, sc, name, nil).Extract()
	if err != nil {
		return providers.Bucket{}, swiftFail(err, "head container %s", name)
	}
	return c.bucketOf(name, h.ObjectCount, h.BytesUsed), nil
}

// CreateBucket implements providers.Objects. Swift's PUT of a container
// that exists succeeds; canopy says it exists, as on every cloud.
func (c *Cloud) CreateBucket(ctx context.Context, name, region string, labels map[string]string) (providers.Bucket, error) {
	if !portableName.MatchString(name) || strings.Contains(name, "..") {
		return providers.Bucket{}, fmt.Errorf("openstack: bucket name %q: %w: 3-63 lower-case letters, digits, '.' and '-' (canopy's rule on every cloud)", name, providers.ErrInvalid)
	}
	if region != "" && region != c.Region() {
		return providers.Bucket{}, fmt.Errorf("openstack: cloud %s serves region %s: %w: region %q", c.name, c.Region(), providers.ErrInvalid, region)
	}
	sc, err := c.swift(ctx)
	if err != nil {
		return providers.Bucket{}, err
	}
	if _, err := containers.Get(ctx, sc, name, nil).Extract(); err == nil {
		return providers.Bucket{}, fmt.Errorf("openstack: container %s: %w", name, providers.ErrAlreadyExists)
	}
	meta := map[string]string{}
	for k, v := range labels {
		meta[k] = v
	}
	if _, err := containers.Create(ctx, sc, name, containers.CreateOpts{Metadata: meta}).Extract(); err != nil {
		return providers.Bucket{}, swiftFail(err, "create container %s", name)
	}
	b := c.bucketOf(name, 0, 0)
	b.Labels, b.Created = labels, time.Now()
	return b, nil
}

// DeleteBucket implements providers.Objects (Swift refuses a non-empty
// container with 409: ErrConflict). The segments container goes too.
func (c *Cloud) DeleteBucket(ctx context.Context, name string) error {
	sc, err := c.swift(ctx)
	if err != nil {
		return err
	}
	if _, err := containers.Delete(ctx, sc, name).Extract(); err != nil {
		return swiftFail(err, "delete container %s", name)
	}
	_, _ = containers.Delete(ctx, sc, name+segmentsSuffix).Extract()
	return nil
}

// ListObjects implements providers.Objects; the page token is Swift's
// marker (the last name or prefix returned).
func (c *Cloud) ListObjects(ctx context.Context, bucket string, opts providers.ListObjectsOptions) (providers.ObjectPage, error) {
	sc, err := c.swift(ctx)
	if err != nil {
		return providers.ObjectPage{}, err
	}
	limit := opts.PageSize
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	p, err := objects.List(sc, bucket, objects.ListOpts{Prefix: opts.Prefix, Delimiter: opts.Delimiter, Marker: opts.PageToken, Limit: limit}).AllPages(ctx)
	if err != nil {
		return providers.ObjectPage{}, swiftFail(err, "list objects of %s", bucket)
	}
	list, err := objects.ExtractInfo(p)
	if err != nil {
		return providers.ObjectPage{}, swiftFail(err, "list objects of %s", bucket)
	}
	var page providers.ObjectPage
	last := ""
	for i, o := range list {
		if i == limit {
			break
		}
		if o.Subdir != "" {
			page.Prefixes = append(page.Prefixes, o.Subdir)
			last = o.Subdir
			continue
		}
		page.Objects = append(page.Objects, swiftObject(o.Name, o.Bytes, o.ContentType, o.Hash, o.LastModified, false, nil))
		last = o.Name
	}
	if len(list) >= limit {
		page.NextToken = last
	}
	return page, nil
}

// swiftObject builds an Object; slo says the ETag is a manifest's.
func swiftObject(key string, size int64, contentType, etag string, modified time.Time, slo bool, meta map[string]string) providers.Object {
	o := providers.Object{Key: key, Size: size, ContentType: contentType, Modified: modified, ETag: strings.Trim(etag, `"`), Parts: 1}
	if slo {
		o.Parts = 0 // unknown from a head
	} else {
		o.MD5 = o.ETag
	}
	for k, v := range meta {
		if strings.EqualFold(k, swiftSHA256Meta) {
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

// HeadObject implements providers.Objects.
func (c *Cloud) HeadObject(ctx context.Context, bucket, key string) (providers.Object, error) {
	sc, err := c.swift(ctx)
	if err != nil {
		return providers.Object{}, err
	}
	res := objects.Get(ctx, sc, bucket, key, nil)
	h, err := res.Extract()
	if err != nil {
		return providers.Object{}, swiftFail(err, "head object %s/%s", bucket, key)
	}
	meta, _ := res.ExtractMetadata()
	return swiftObject(key, h.ContentLength, h.ContentType, h.ETag, h.LastModified, h.StaticLargeObject, meta), nil
}

// DeleteObject implements providers.Objects; a large object's segments go
// with its manifest.
func (c *Cloud) DeleteObject(ctx context.Context, bucket, key string) error {
	sc, err := c.swift(ctx)
	if err != nil {
		return err
	}
	h, err := objects.Get(ctx, sc, bucket, key, nil).Extract()
	if err != nil {
		return swiftFail(err, "head object %s/%s", bucket, key)
	}
	if h.StaticLargeObject {
		return deleteLargeObject(ctx, sc, bucket, key)
	}
	if _, err := objects.Delete(ctx, sc, bucket, key, objects.DeleteOpts{}).Extract(); err != nil {
		return swiftFail(err, "delete object %s/%s", bucket, key)
	}
	return nil
}

// deleteLargeObject deletes a manifest and its segments. Swift answers
// ?multipart-manifest=delete like a bulk delete: 200 with a report whose
// own status and error list say what happened.
func deleteLargeObject(ctx context.Context, sc *gophercloud.ServiceClient, bucket, key string) error {
	u := sc.ServiceURL(url.PathEscape(bucket), url.PathEscape(key)) + "?multipart-manifest=delete"
	resp, err := sc.Delete(ctx, u, &gophercloud.RequestOpts{OkCodes: []int{200, 202, 204}, KeepResponseBody: true,
		MoreHeaders: map[string]string{"Accept": "application/json"}})
	if err != nil {
		return swiftFail(err, "delete large object %s/%s", bucket, key)
	}
	defer resp.Body.Close()
	var report struct {
		Status string     `json:"Response Status"`
		Errors [][]string `json:"Errors"`
	}
	if resp.StatusCode == 204 || resp.StatusCode == 202 {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&report); err != nil {
		return fmt.Errorf("openstack: delete large object %s/%s: %w: unreadable report: %v", bucket, key, providers.ErrUnavailable, err)
	}
	if len(report.Errors) > 0 || !strings.HasPrefix(report.Status, "2") {
		kind := providers.ErrUnavailable
		if strings.HasPrefix(report.Status, "404") {
			kind = providers.ErrNotFound
		}
		return fmt.Errorf("openstack: delete large object %s/%s: %w: Swift reports %s, errors %v", bucket, key, kind, report.Status, report.Errors)
	}
	return nil
}

func escapePath(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// NewWriter implements providers.Objects.
func (c *Cloud) NewWriter(ctx context.Context, bucket, key string, opts providers.WriteOptions) (providers.ObjectWriter, error) {
	sc, err := c.swift(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := containers.Get(ctx, sc, bucket, nil).Extract(); err != nil {
		return nil, swiftFail(err, "head container %s", bucket)
	}
	seg := opts.PartSize
	if seg <= 0 {
		seg = DefaultSegmentSize
	}
	if seg < 1<<20 {
		return nil, fmt.Errorf("openstack: segment size %d: %w: Swift's minimum is 1 MiB", seg, providers.ErrInvalid)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &swiftWriter{c: c, sc: sc, ctx: ctx, cancel: cancel, bucket: bucket, key: key, opts: opts, seg: seg,
		prefix: fmt.Sprintf("%s/%d.%d", key, time.Now().UnixNano(), seg), free: make(chan []byte, swiftInFlight+1)}
	for range swiftInFlight + 1 {
		w.free <- nil // buffers are allocated on first use
	}
	w.cur = w.take()
	return w, nil
}

// swiftWriter fills one buffer while up to swiftInFlight segments upload.
type swiftWriter struct {
	c      *Cloud
	sc     *gophercloud.ServiceClient
	ctx    context.Context
	cancel context.CancelFunc
	bucket string
	key    string
	opts   providers.WriteOptions
	seg    int64
	prefix string // segment names: <prefix>/<n>

	free chan []byte
	cur  []byte
	wg   sync.WaitGroup
	n    int64

	mu       sync.Mutex
	segs     []swiftSegment // by index
	err      error
	finished bool
}

type swiftSegment struct {
	Path string `json:"path"`
	ETag string `json:"etag"`
	Size int64  `json:"size_bytes"`
}

func (w *swiftWriter) take() []byte {
	b := <-w.free
	if b == nil {
		b = make([]byte, 0, w.seg)
	}
	return b[:0]
}

func (w *swiftWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *swiftWriter) Write(p []byte) (int, error) {
	if w.finished {
		return 0, errors.New("openstack: write after commit or abort")
	}
	n := len(p)
	for len(p) > 0 {
		if err := w.failed(); err != nil {
			return n - len(p), err
		}
		take := min(int(w.seg)-len(w.cur), len(p))
		w.cur = append(w.cur, p[:take]...)
		p = p[take:]
		w.n += int64(take)
		if int64(len(w.cur)) == w.seg {
			w.flush()
		}
	}
	return n, nil
}

// flush starts uploading the current buffer as the next segment.
func (w *swiftWriter) flush() {
	buf := w.cur
	w.mu.Lock()
	idx := len(w.segs)
	name := fmt.Sprintf("%s/%08d", w.prefix, idx)
	w.segs = append(w.segs, swiftSegment{Path: "/" + w.bucket + segmentsSuffix + "/" + name, Size: int64(len(buf))})
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		etag, err := w.put(w.bucket+segmentsSuffix, name, buf, nil, "")
		if errors.Is(err, providers.ErrNotFound) {
			// The segments container does not exist yet.
			if _, cerr := containers.Create(w.ctx, w.sc, w.bucket+segmentsSuffix, nil).Extract(); cerr == nil {
				etag, err = w.put(w.bucket+segmentsSuffix, name, buf, nil, "")
			}
		}
		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
			w.cancel()
		}
		w.segs[idx].ETag = etag
		w.mu.Unlock()
		w.free <- buf
	}()
	w.cur = w.take()
}

// put PUTs one object body with its md5 as ETag; Swift answers 422 when
// the bytes it got do not hash to it.
func (w *swiftWriter) put(container, name string, body []byte, meta map[string]string, contentType string) (string, error) {
	if w.opts.Gate != nil {
		if err := w.opts.Gate(w.ctx); err != nil {
			return "", err
		}
	}
	sum := md5.Sum(body) //nolint:gosec
	etag := hex.EncodeToString(sum[:])
	_, err := objects.Create(w.ctx, w.sc, container, name, objects.CreateOpts{
		Content: bytes.NewReader(body), ContentLength: int64(len(body)), ETag: etag, Metadata: meta, ContentType: contentType,
	}).Extract()
	if err != nil {
		var ue gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &ue) && ue.Actual == http.StatusUnprocessableEntity {
			return "", fmt.Errorf("openstack: put %s/%s: Swift's md5 differs from the bytes sent: %w", container, name, providers.ErrIntegrity)
		}
		return "", swiftFail(err, "put %s/%s", container, name)
	}
	return etag, nil
}

func (w *swiftWriter) meta() map[string]string {
	m := map[string]string{}
	for k, v := range w.opts.Metadata {
		m[k] = v
	}
	if w.opts.SHA256 != "" {
		m[swiftSHA256Meta] = w.opts.SHA256
	}
	return m
}

// CommitWithSHA256 implements providers.SHA256Committer: Swift takes an
// object's metadata with the PUT of its last segment or its manifest, both
// made at commit.
func (w *swiftWriter) CommitWithSHA256(sum string) (providers.Object, error) {
	w.opts.SHA256 = sum
	return w.Commit()
}

func (w *swiftWriter) Commit() (providers.Object, error) {
	if w.finished {
		return providers.Object{}, errors.New("openstack: commit after commit or abort")
	}
	w.finished = true
	defer w.cancel()
	ct := w.opts.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	if len(w.segs) == 0 {
		// One PUT: it fits in a segment.
		etag, err := w.put(w.bucket, w.key, w.cur, w.meta(), ct)
		if err != nil {
			return providers.Object{}, err
		}
		return providers.Object{Key: w.key, Size: w.n, ContentType: ct, Modified: time.Now(), ETag: etag, MD5: etag, Parts: 1,
			SHA256: w.opts.SHA256, Metadata: w.opts.Metadata}, nil
	}
	if len(w.cur) > 0 {
		w.flush()
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		w.cleanup()
		return providers.Object{}, err
	}
	manifest, _ := json.Marshal(w.segs)
	h := md5.New() //nolint:gosec
	for _, s := range w.segs {
		h.Write([]byte(s.ETag))
	}
	want := hex.EncodeToString(h.Sum(nil))
	if w.opts.Gate != nil {
		if err := w.opts.Gate(w.ctx); err != nil {
			w.cleanup()
			return providers.Object{}, err
		}
	}
	res := objects.Create(w.ctx, w.sc, w.bucket, w.key, objects.CreateOpts{
		Content: bytes.NewReader(manifest), MultipartManifest: "put", NoETag: true, Metadata: w.meta(), ContentType: ct,
	})
	hdr, err := res.Extract()
	if err != nil {
		w.cleanup()
		return providers.Object{}, swiftFail(err, "put manifest %s/%s", w.bucket, w.key)
	}
	if got := strings.Trim(hdr.ETag, `"`); got != "" && got != want {
		_, _ = objects.Delete(context.WithoutCancel(w.ctx), w.sc, w.bucket, w.key, objects.DeleteOpts{MultipartManifest: "delete"}).Extract()
		return providers.Object{}, fmt.Errorf("openstack: large object %s/%s: manifest ETag %s is not the %s of the segments sent: deleted it: %w", w.bucket, w.key, got, want, providers.ErrIntegrity)
	}
	return providers.Object{Key: w.key, Size: w.n, ContentType: ct, Modified: time.Now(), ETag: want, Parts: len(w.segs),
		SHA256: w.opts.SHA256, Metadata: w.opts.Metadata}, nil
}

// cleanup deletes the segments uploaded so far.
func (w *swiftWriter) cleanup() {
	w.wg.Wait()
	ctx := context.WithoutCancel(w.ctx)
	w.mu.Lock()
	segs := append([]swiftSegment(nil), w.segs...)
	w.mu.Unlock()
	for i := range segs {
		_, _ = objects.Delete(ctx, w.sc, w.bucket+segmentsSuffix, fmt.Sprintf("%s/%08d", w.prefix, i), nil).Extract()
	}
}

func (w *swiftWriter) Abort() error {
	if w.finished {
		return nil
	}
	w.finished = true
	w.cancel()
	w.cleanup()
	return nil
}

// NewRangeReader implements providers.Objects. The body is read with a
// client of its own: the service client's timeout bounds whole requests,
// and a large download may take longer.
func (c *Cloud) NewRangeReader(ctx context.Context, bucket, key string, off, n int64) (io.ReadCloser, providers.Object, error) {
	sc, err := c.swift(ctx)
	if err != nil {
		return nil, providers.Object{}, err
	}
	head, err := c.HeadObject(ctx, bucket, key)
	if err != nil {
		return nil, head, err
	}
	if off < 0 || off > head.Size {
		return nil, head, fmt.Errorf("openstack: range %d of %s/%s (%d bytes): %w", off, bucket, key, head.Size, providers.ErrInvalid)
	}
	if n == 0 || off == head.Size {
		return io.NopCloser(strings.NewReader("")), head, nil
	}
	u := sc.ServiceURL(url.PathEscape(bucket), escapePath(key))
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, head, err
		}
		req.Header.Set("X-Auth-Token", sc.Token())
		if off > 0 || n > 0 {
			r := "bytes=" + strconv.FormatInt(off, 10) + "-"
			if n > 0 {
				r += strconv.FormatInt(off+n-1, 10)
			}
			req.Header.Set("Range", r)
		}
		resp, err := swiftHTTP.Do(req)
		if err != nil {
			return nil, head, fmt.Errorf("openstack: get %s/%s: %w: %v", bucket, key, providers.ErrUnavailable, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			resp.Body.Close()
			if err := sc.Reauthenticate(ctx, sc.Token()); err != nil {
				return nil, head, swiftFail(err, "re-authenticate")
			}
			continue
		}
		if resp.StatusCode/100 != 2 {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return nil, head, swiftFail(gophercloud.ErrUnexpectedResponseCode{Method: "GET", URL: u, Actual: resp.StatusCode, Body: body}, "get %s/%s", bucket, key)
		}
		return resp.Body, head, nil
	}
}

// swiftHTTP reads object bodies: no overall timeout (a body may be big),
// but a bound on waiting for the response to start.
var swiftHTTP = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: time.Minute, MaxIdleConnsPerHost: 8}}

// SignURL implements providers.URLSigner with Swift's TempURL: the
// account's Temp-URL-Key signs it (canopy sets one when the account has
// none), and Swift checks the signature and the expiry itself.
func (c *Cloud) SignURL(ctx context.Context, bucket, key string, opts providers.SignOptions) (providers.SignedURL, error) {
	sc, err := c.swift(ctx)
	if err != nil {
		return providers.SignedURL{}, err
	}
	keyV, err := c.tempURLKey(ctx, sc)
	if err != nil {
		return providers.SignedURL{}, err
	}
	var m objects.HTTPMethod
	switch opts.Method {
	case http.MethodGet:
		m = objects.GET
	case http.MethodPut:
		m = objects.PUT
	default:
		return providers.SignedURL{}, fmt.Errorf("openstack: sign %s: %w", opts.Method, providers.ErrInvalid)
	}
	ttl := int(opts.Expiry / time.Second)
	now := time.Now()
	u, err := objects.CreateTempURL(ctx, sc, bucket, key, objects.CreateTempURLOpts{Method: m, TTL: ttl, TempURLKey: keyV, Timestamp: now, Digest: "sha256"})
	if err != nil {
		return providers.SignedURL{}, swiftFail(err, "sign %s %s/%s", opts.Method, bucket, key)
	}
	headers := map[string]string{}
	if opts.Method == http.MethodPut && opts.ContentType != "" {
		headers["Content-Type"] = opts.ContentType
	}
	return providers.SignedURL{URL: u, Method: opts.Method, Expires: now.Add(time.Duration(ttl) * time.Second), Headers: headers}, nil
}

var tempKeys sync.Map // *Cloud → string

// tempURLKey returns the account's Temp-URL-Key, setting a random one when
// the account has none.
func (c *Cloud) tempURLKey(ctx context.Context, sc *gophercloud.ServiceClient) (string, error) {
	if v, ok := tempKeys.Load(c); ok {
		return v.(string), nil
	}
	res := accounts.Get(ctx, sc, nil)
	meta, err := res.ExtractMetadata()
	if err != nil {
		return "", swiftFail(err, "read the account's Temp-URL-Key")
	}
	for k, v := range meta {
		if strings.EqualFold(k, "Temp-Url-Key") && v != "" {
			tempKeys.Store(c, v)
			return v, nil
		}
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	k := hex.EncodeToString(raw[:])
	if _, err := accounts.Update(ctx, sc, accounts.UpdateOpts{TempURLKey: k}).Extract(); err != nil {
		return "", swiftFail(err, "set the account's Temp-URL-Key")
	}
	tempKeys.Store(c, k)
	return k, nil
}
