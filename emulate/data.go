package emulate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// Where the bytes of emulated snapshots and backups live: objects in a
// bucket of any cloud (a cloud's `backup_bucket`), or canopy's own store.
// The record of each copy says where its bytes went (Record.DataAt), so
// changing the config later never loses a copy made before.

// Bucket is a cloud's configured backup bucket, resolved at start.
type Bucket struct {
	cloud  string         // the bucket's cloud
	bucket string         // its native name
	objs   *cache.Objects // the bucket cloud's object store (checked at start)
}

// NewBucket names bucket of cloud, reached through that cloud's objects.
func NewBucket(cloud, bucket string, objs *cache.Objects) *Bucket {
	return &Bucket{cloud: cloud, bucket: bucket, objs: objs}
}

// Where is the bucket's cloud and native name.
func (b *Bucket) Where() (cloud, bucket string) { return b.cloud, b.bucket }

// DataKey is the object key of a copy's bytes: one prefix per source
// cloud, so one bucket can serve several clouds.
func DataKey(cloud, kind, native string) string {
	return "canopy-emulated/" + cloud + "/" + kind + "/" + native
}

// copy is what copyOut learnt of the bytes it kept.
type copied struct {
	bytes  int64
	sha256 string // hex
	at     string // Record.DataAt
	chunks int    // Record.Chunks
}

// copyOut streams a volume's data into where emulated copies are kept (the
// bucket, else canopy's store in chunks), hashing it on the way; nothing
// holds more than a chunk of it.
func (e *Layer) copyOut(ctx context.Context, kind, native, volumeNative string) (copied, error) {
	r, err := e.drv.ReadVolumeData(ctx, volumeNative)
	if err != nil {
		return copied{}, fmt.Errorf("read volume %s: %w", volumeNative, err)
	}
	defer r.Close()
	h := sha256.New()
	src := &countReader{r: io.TeeReader(r, h)}
	var out copied
	if b := e.bucket; b != nil {
		key := DataKey(e.cloud, kind, native)
		if err := b.put(ctx, key, src, h); err != nil {
			return copied{}, err
		}
		out.at = b.cloud + "/" + b.bucket + "/" + key
	} else if out.chunks, err = e.putChunks(ctx, e.key(kind, native), src); err != nil {
		return copied{}, fmt.Errorf("read volume %s: %w", volumeNative, err)
	}
	out.bytes, out.sha256 = src.n, hex.EncodeToString(h.Sum(nil))
	return out, nil
}

// CopyIn streams an emulated copy's data into a volume, checking it
// against the sha256 recorded when it was made.
func (e *Layer) CopyIn(ctx context.Context, kind, native, volumeNative string) error {
	src, err := e.openCopy(ctx, kind, native)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := e.drv.WriteVolumeData(ctx, volumeNative, src); err != nil {
		return fmt.Errorf("write volume %s: %w", volumeNative, err)
	}
	return src.check(volumeNative)
}

// copyReader is an emulated copy's bytes as they are read, hashed for
// check.
type copyReader struct {
	io.ReadCloser
	h          hash.Hash
	n          int64
	want       string
	cloud      string
	kind, from string
}

func (c *copyReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// check compares what was read with the sha256 recorded.
func (c *copyReader) check(into string) error {
	if got := hex.EncodeToString(c.h.Sum(nil)); c.want != "" && !strings.EqualFold(got, c.want) {
		return &Error{Cloud: c.cloud, Err: providers.ErrIntegrity,
			Msg: fmt.Sprintf("cloud %q: emulated %s %s: the bytes written into volume %s do not match the sha256 recorded when it was made", c.cloud, c.kind, c.from, into)}
	}
	return nil
}

// openCopy opens an emulated copy's bytes, wherever they are.
func (e *Layer) openCopy(ctx context.Context, kind, native string) (*copyReader, error) {
	r, err := e.Record(ctx, kind, native)
	if err != nil {
		return nil, fmt.Errorf("emulated %s %s: %w", kind, native, err)
	}
	out := &copyReader{h: sha256.New(), want: r.SHA256, cloud: e.cloud, kind: kind, from: native}
	if r.DataAt != "" {
		b, key, err := e.bucketAt(r.DataAt)
		if err != nil {
			return nil, err
		}
		var objSum string
		if out.ReadCloser, objSum, err = b.get(ctx, key); err != nil {
			return nil, err
		}
		if out.want == "" {
			out.want = objSum
		}
	} else {
		out.ReadCloser = e.chunkReader(ctx, e.key(kind, native), r.Chunks)
	}
	return out, nil
}

// forget deletes an emulated record and its data; what is already gone is
// fine (steps are retried). The data goes first: a record is never left
// pointing at nothing, and data without a record is retried away.
func (e *Layer) Forget(ctx context.Context, kind, id string) error {
	if r, err := e.Record(ctx, kind, id); err == nil && r.DataAt != "" {
		b, key, err := e.bucketAt(r.DataAt)
		if err != nil {
			return err
		}
		if err := b.delete(ctx, key); err != nil {
			return err
		}
	} else if err == nil {
		if err := e.deleteChunks(ctx, e.key(kind, id), r.Chunks); err != nil {
			return err
		}
	}
	for _, ns := range []string{NSData, NSRecords} {
		if err := e.st.DeleteRecord(ctx, ns, e.key(kind, id)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// bucketAt finds the bucket a record's DataAt names: this cloud's
// configured one, or another configured cloud's object store.
func (e *Layer) bucketAt(at string) (*Bucket, string, error) {
	cloud, rest, ok1 := strings.Cut(at, "/")
	bucket, key, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 {
		return nil, "", &Error{Cloud: e.cloud, Err: errCorrupt, Msg: fmt.Sprintf("cloud %q: emulated copy data at %q: not cloud/bucket/key", e.cloud, at)}
	}
	if b := e.bucket; b != nil && b.cloud == cloud && b.bucket == bucket {
		return b, key, nil
	}
	if e.objectsOf != nil {
		if o := e.objectsOf(cloud); o != nil {
			return &Bucket{cloud: cloud, bucket: bucket, objs: o}, key, nil
		}
	}
	return nil, "", &Error{Cloud: e.cloud, Err: providers.ErrConflict,
		Msg: fmt.Sprintf("cloud %q: an emulated copy's data is in bucket %q of cloud %q, which is no longer configured with an object store", e.cloud, bucket, cloud)}
}

// put streams r into an object; h hashes what was read, and the sum is
// stored with the object when the cloud's writer can take it at the end.
func (b *Bucket) put(ctx context.Context, key string, r io.Reader, h hash.Hash) error {
	w, err := b.objs.NewWriter(ctx, b.bucket, key, providers.WriteOptions{ContentType: "application/octet-stream", Size: -1})
	if err != nil {
		return b.fail("store emulated copy "+key, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		_ = w.Abort()
		return b.fail("store emulated copy "+key, err)
	}
	if lc, ok := w.(providers.SHA256Committer); ok {
		_, err = lc.CommitWithSHA256(hex.EncodeToString(h.Sum(nil)))
	} else {
		_, err = w.Commit()
	}
	if err != nil {
		return b.fail("store emulated copy "+key, err)
	}
	return nil
}

// get opens an object and tells the sha256 stored with it, if any.
func (b *Bucket) get(ctx context.Context, key string) (io.ReadCloser, string, error) {
	r, ob, err := b.objs.NewRangeReader(ctx, b.bucket, key, 0, -1)
	if err != nil {
		return nil, "", b.fail("read emulated copy "+key, err)
	}
	return r, ob.SHA256, nil
}

func (b *Bucket) delete(ctx context.Context, key string) error {
	if err := b.objs.DeleteObject(ctx, b.bucket, key); err != nil && !errors.Is(err, providers.ErrNotFound) {
		return b.fail("delete emulated copy "+key, err)
	}
	return nil
}

// fail names the bucket and its cloud: a missing bucket is a configuration
// problem (ErrConflict: FAILED_PRECONDITION), anything else the bucket
// cloud's error.
func (b *Bucket) fail(what string, err error) error {
	if errors.Is(err, providers.ErrNotFound) {
		return &Error{Cloud: b.cloud, Err: fmt.Errorf("%w: %w", providers.ErrConflict, err),
			Msg: fmt.Sprintf("backup_bucket %s/%s: %s: the bucket does not exist in cloud %q: %v", b.cloud, b.bucket, what, b.cloud, err)}
	}
	return &Error{Cloud: b.cloud, Op: fmt.Sprintf("%s in bucket %s", what, b.bucket), Err: err}
}
