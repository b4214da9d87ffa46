package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// objectState is the simulator's object store: buckets in memory, each
// object's bytes kept whole (the simulator is the cloud; canopyd above it
// never holds a whole object). Uploads go up in parts like S3 multipart:
// parts are invisible until the commit, and the ETag is S3's (md5 of a
// one-part object, md5 of the part md5s plus "-N" otherwise).
//
// A persisted cloud (Options.Persist) keeps object bytes in files beside
// its state file (<state>.blobs/, written part by part: bounded memory)
// and buckets, object records and its signing key in <state>.objects.json,
// so the embedded default keeps them across restarts like a real cloud.
type objectState struct {
	buckets map[string]*simBucket
	signKey []byte // HMAC key of the URLs the simulator signs
	images  map[string][]byte
	dir     string // blobs directory; "" keeps bytes in memory
	// uploads counts the unfinished uploads per "bucket/key" (S3's
	// ListMultipartUploads): from NewWriter until Commit or Abort.
	uploads map[string]int
}

type simBucket struct {
	b       providers.Bucket
	objects map[string]*simObject
}

type simObject struct {
	o    providers.Object
	data []byte // in memory
	file string // or in this file of the blobs directory
}

// savedObjects is the <state>.objects.json document.
type savedObjects struct {
	SignKey []byte        `json:"sign_key"`
	Buckets []savedBucket `json:"buckets"`
}

type savedBucket struct {
	Bucket  providers.Bucket `json:"bucket"`
	Objects []savedObject    `json:"objects"`
}

type savedObject struct {
	Object providers.Object `json:"object"`
	File   string           `json:"file"`
}

// saveObjects writes the object records; callers hold c.mu.
func (c *Cloud) saveObjects() {
	st := c.obj
	if st == nil || st.dir == "" {
		return
	}
	doc := savedObjects{SignKey: st.signKey}
	for _, b := range st.buckets {
		sb := savedBucket{Bucket: b.b}
		for _, o := range b.objects {
			sb.Objects = append(sb.Objects, savedObject{Object: o.o, File: o.file})
		}
		doc.Buckets = append(doc.Buckets, sb)
	}
	if err := writeFileAtomic(c.opts.StatePath+".objects.json", doc); err != nil {
		slog.Error("sim: cannot save objects", "path", c.opts.StatePath, "err", err)
	}
}

// loadObjects restores the object records of a persisted cloud.
func (c *Cloud) loadObjects(st *objectState) {
	raw, err := os.ReadFile(c.opts.StatePath + ".objects.json")
	if err != nil {
		return
	}
	var doc savedObjects
	if err := json.Unmarshal(raw, &doc); err != nil {
		slog.Warn("sim: objects file unreadable; starting without objects", "path", c.opts.StatePath, "err", err)
		return
	}
	if len(doc.SignKey) > 0 {
		st.signKey = doc.SignKey
	}
	for _, sb := range doc.Buckets {
		b := &simBucket{b: sb.Bucket, objects: map[string]*simObject{}}
		for _, so := range sb.Objects {
			b.objects[so.Object.Key] = &simObject{o: so.Object, file: so.File}
		}
		st.buckets[sb.Bucket.NativeID] = b
	}
}

// reader opens an object's bytes.
func (st *objectState) reader(o *simObject) (io.ReadSeekCloser, error) {
	if o.file == "" {
		return nopSeekCloser{bytes.NewReader(o.data)}, nil
	}
	return os.Open(filepath.Join(st.dir, o.file))
}

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

// drop removes an object's file, if it has one.
func (st *objectState) drop(o *simObject) {
	if o != nil && o.file != "" {
		_ = os.Remove(filepath.Join(st.dir, o.file))
	}
}

// PendingUploads reports the unfinished uploads of key in bucket, as S3's
// ListMultipartUploads would: one "bucket/key#n" per writer neither
// committed nor aborted (its parts are still held). The conformance
// harness checks an abort leaves none.
func (c *Cloud) PendingUploads(bucket, key string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for i := range c.objs().uploads[bucket+"/"+key] {
		out = append(out, fmt.Sprintf("%s/%s#%d", bucket, key, i+1))
	}
	return out
}

// DefaultPartSize is the simulator's multipart part size (S3's minimum).
const DefaultPartSize = 5 << 20

// bucketName is S3's rule, which the simulator enforces so tests catch
// names a real cloud would refuse.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (c *Cloud) objs() *objectState {
	if c.obj == nil {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		st := &objectState{buckets: map[string]*simBucket{}, signKey: key, images: map[string][]byte{}}
		if c.opts.StatePath != "" {
			st.dir = c.opts.StatePath + ".blobs"
			if err := os.MkdirAll(st.dir, 0o700); err != nil {
				slog.Error("sim: no blobs directory; objects stay in memory", "dir", st.dir, "err", err)
				st.dir = ""
			} else {
				c.loadObjects(st)
			}
		}
		c.obj = st
	}
	return c.obj
}

// CorruptObject flips the first byte of an object as it is stored, the way
// a failing disk would: tests check that canopy notices.
func (c *Cloud) CorruptObject(bucket, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, err := c.object(bucket, key)
	if err != nil {
		return err
	}
	if o.file != "" {
		f, err := os.OpenFile(filepath.Join(c.obj.dir, o.file), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		var b [1]byte
		if _, err := f.ReadAt(b[:], 0); err != nil {
			return err
		}
		b[0] ^= 0xff
		_, err = f.WriteAt(b[:], 0)
		return err
	}
	if len(o.data) > 0 {
		d := append([]byte(nil), o.data...)
		d[0] ^= 0xff
		o.data = d
	}
	return nil
}

// ListBuckets implements providers.Objects.
func (c *Cloud) ListBuckets(ctx context.Context) ([]providers.Bucket, error) {
	if err := c.call(ctx, "ListBuckets"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []providers.Bucket
	for _, b := range c.objs().buckets {
		out = append(out, b.view())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

func (b *simBucket) view() providers.Bucket {
	v := b.b
	v.Labels = cloneMap(v.Labels)
	v.Objects, v.Bytes = int64(len(b.objects)), 0
	for _, o := range b.objects {
		v.Bytes += o.o.Size
	}
	return v
}

// GetBucket implements providers.Objects.
func (c *Cloud) GetBucket(ctx context.Context, name string) (providers.Bucket, error) {
	if err := c.call(ctx, "GetBucket"); err != nil {
		return providers.Bucket{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.objs().buckets[name]
	if !ok {
		return providers.Bucket{}, fmt.Errorf("sim: bucket %q: %w", name, providers.ErrNotFound)
	}
	return b.view(), nil
}

// CreateBucket implements providers.Objects.
func (c *Cloud) CreateBucket(ctx context.Context, name, region string, labels map[string]string) (providers.Bucket, error) {
	if err := c.call(ctx, "CreateBucket"); err != nil {
		return providers.Bucket{}, err
	}
	if !bucketName.MatchString(name) {
		return providers.Bucket{}, fmt.Errorf("sim: bucket name %q: %w: 3-63 lower-case letters, digits, '.' and '-'", name, providers.ErrInvalid)
	}
	if region == "" {
		region = c.opts.Regions[0]
	} else if !contains(c.opts.Regions, region) {
		return providers.Bucket{}, fmt.Errorf("sim: create bucket: %w: region %q does not exist", providers.ErrInvalid, region)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.objs()
	if _, ok := st.buckets[name]; ok {
		return providers.Bucket{}, fmt.Errorf("sim: bucket %q: %w", name, providers.ErrAlreadyExists)
	}
	now := time.Now()
	b := &simBucket{b: providers.Bucket{Common: providers.Common{
		NativeID: name, Name: name, Region: region, Status: providers.StatusActive, ProviderStatus: "available",
		Created: now, Updated: now, Labels: cloneMap(labels),
	}}, objects: map[string]*simObject{}}
	st.buckets[name] = b
	c.saveObjects()
	return b.view(), nil
}

// DeleteBucket implements providers.Objects.
func (c *Cloud) DeleteBucket(ctx context.Context, name string) error {
	if err := c.call(ctx, "DeleteBucket"); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.objs()
	b, ok := st.buckets[name]
	if !ok {
		return fmt.Errorf("sim: bucket %q: %w", name, providers.ErrNotFound)
	}
	if len(b.objects) > 0 {
		return fmt.Errorf("sim: bucket %q holds %d objects: %w: delete them first", name, len(b.objects), providers.ErrConflict)
	}
	delete(st.buckets, name)
	c.saveObjects()
	return nil
}

// bucket returns a bucket; callers hold c.mu.
func (c *Cloud) bucket(name string) (*simBucket, error) {
	b, ok := c.objs().buckets[name]
	if !ok {
		return nil, fmt.Errorf("sim: bucket %q: %w", name, providers.ErrNotFound)
	}
	return b, nil
}

// ListObjects implements providers.Objects: keys in order; with a
// delimiter, keys below a common prefix are folded into it. The page token
// is opaque, as S3's continuation tokens are (simPageToken): one the sim
// did not make is ErrInvalid, never a place to start from.
func (c *Cloud) ListObjects(ctx context.Context, bucket string, opts providers.ListObjectsOptions) (providers.ObjectPage, error) {
	if err := c.call(ctx, "ListObjects"); err != nil {
		return providers.ObjectPage{}, err
	}
	after, err := parseSimPageToken(opts.PageToken)
	if err != nil {
		return providers.ObjectPage{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucket(bucket)
	if err != nil {
		return providers.ObjectPage{}, err
	}
	size := opts.PageSize
	if size <= 0 || size > 1000 {
		size = 1000
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, opts.Prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var page providers.ObjectPage
	n := 0
	for _, k := range keys {
		entry, isPrefix := k, false
		if opts.Delimiter != "" {
			if i := strings.Index(k[len(opts.Prefix):], opts.Delimiter); i >= 0 {
				entry, isPrefix = k[:len(opts.Prefix)+i+len(opts.Delimiter)], true
			}
		}
		if after != "" && entry <= after {
			continue
		}
		if isPrefix && len(page.Prefixes) > 0 && page.Prefixes[len(page.Prefixes)-1] == entry {
			continue
		}
		if n == size {
			page.NextToken = simPageToken(lastEntry(page))
			break
		}
		n++
		if isPrefix {
			page.Prefixes = append(page.Prefixes, entry)
		} else {
			page.Objects = append(page.Objects, cloneObject(b.objects[k].o))
		}
	}
	return page, nil
}

// simPageTokenPrefix marks the sim's page tokens.
const simPageTokenPrefix = "sim1."

// simPageToken is the token of a listing continuing after key: the key,
// base64url-encoded behind a version prefix.
func simPageToken(key string) string {
	return simPageTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// parseSimPageToken is the key a token continues after ("" for none).
func parseSimPageToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	enc, ok := strings.CutPrefix(tok, simPageTokenPrefix)
	key, err := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil || len(key) == 0 {
		return "", fmt.Errorf("sim: page token %q: not one this bucket listing made: %w", tok, providers.ErrInvalid)
	}
	return string(key), nil
}

// lastEntry is the greatest key or prefix of a page.
func lastEntry(p providers.ObjectPage) string {
	last := ""
	if n := len(p.Objects); n > 0 {
		last = p.Objects[n-1].Key
	}
	if n := len(p.Prefixes); n > 0 && p.Prefixes[n-1] > last {
		last = p.Prefixes[n-1]
	}
	return last
}

func cloneObject(o providers.Object) providers.Object {
	o.Metadata = cloneMap(o.Metadata)
	return o
}

// HeadObject implements providers.Objects.
func (c *Cloud) HeadObject(ctx context.Context, bucket, key string) (providers.Object, error) {
	if err := c.call(ctx, "HeadObject"); err != nil {
		return providers.Object{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o, err := c.object(bucket, key)
	if err != nil {
		return providers.Object{}, err
	}
	return cloneObject(o.o), nil
}

// object returns an object; callers hold c.mu.
func (c *Cloud) object(bucket, key string) (*simObject, error) {
	b, err := c.bucket(bucket)
	if err != nil {
		return nil, err
	}
	o, ok := b.objects[key]
	if !ok {
		return nil, fmt.Errorf("sim: object %q in bucket %q: %w", key, bucket, providers.ErrNotFound)
	}
	return o, nil
}

// DeleteObject implements providers.Objects.
func (c *Cloud) DeleteObject(ctx context.Context, bucket, key string) error {
	if err := c.call(ctx, "DeleteObject"); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o, err := c.object(bucket, key)
	if err != nil {
		return err
	}
	delete(c.obj.buckets[bucket].objects, key)
	c.obj.drop(o)
	c.saveObjects()
	return nil
}

// CopyObject implements providers.Objects (the bytes are shared: objects
// are immutable once written).
func (c *Cloud) CopyObject(ctx context.Context, sb, sk, db, dk string) (providers.Object, error) {
	if err := c.call(ctx, "CopyObject"); err != nil {
		return providers.Object{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	src, err := c.object(sb, sk)
	if err != nil {
		return providers.Object{}, err
	}
	dst, err := c.bucket(db)
	if err != nil {
		return providers.Object{}, err
	}
	o := cloneObject(src.o)
	o.Key, o.Modified = dk, time.Now()
	cp := &simObject{o: o, data: src.data}
	if src.file != "" {
		// Objects are immutable: the copy is a hard link to the same bytes.
		cp.file = c.newID("blob")
		if err := os.Link(filepath.Join(c.obj.dir, src.file), filepath.Join(c.obj.dir, cp.file)); err != nil {
			return providers.Object{}, fmt.Errorf("sim: copy: %w: %v", providers.ErrUnavailable, err)
		}
	}
	old := dst.objects[dk]
	dst.objects[dk] = cp
	if old != nil && old.file != cp.file {
		c.obj.drop(old)
	}
	c.saveObjects()
	return cloneObject(o), nil
}

// NewRangeReader implements providers.Objects.
func (c *Cloud) NewRangeReader(ctx context.Context, bucket, key string, off, n int64) (io.ReadCloser, providers.Object, error) {
	if err := c.call(ctx, "GetObject"); err != nil {
		return nil, providers.Object{}, err
	}
	c.mu.Lock()
	o, err := c.object(bucket, key)
	var r io.ReadSeekCloser
	if err == nil {
		r, err = c.obj.reader(o)
	}
	c.mu.Unlock()
	if err != nil {
		return nil, providers.Object{}, err
	}
	size := o.o.Size
	if off < 0 || off > size {
		r.Close()
		return nil, providers.Object{}, fmt.Errorf("sim: range %d+%d of %d bytes: %w: not satisfiable", off, n, size, providers.ErrInvalid)
	}
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		r.Close()
		return nil, providers.Object{}, err
	}
	if n < 0 || off+n > size {
		n = size - off
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(r, n), r}, cloneObject(o.o), nil
}
