package emulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

// copyOut reads a volume's data and keeps it for an emulated copy; it
// returns the size and where the bytes went (Record.DataAt).
func (e *Layer) copyOut(ctx context.Context, kind, native, volumeNative string) (int, string, error) {
	data, err := e.drv.ReadVolumeData(ctx, volumeNative)
	if err != nil {
		return 0, "", fmt.Errorf("read volume %s: %w", volumeNative, err)
	}
	if b := e.bucket; b != nil {
		key := DataKey(e.cloud, kind, native)
		if err := b.put(ctx, key, data); err != nil {
			return 0, "", err
		}
		return len(data), b.cloud + "/" + b.bucket + "/" + key, nil
	}
	if err := e.st.PutRecord(ctx, NSData, e.key(kind, native), data); err != nil {
		return 0, "", err
	}
	return len(data), "", nil
}

// copyIn writes an emulated copy's data into a volume.
func (e *Layer) CopyIn(ctx context.Context, kind, native, volumeNative string) error {
	r, err := e.Record(ctx, kind, native)
	if err != nil {
		return fmt.Errorf("emulated %s %s: %w", kind, native, err)
	}
	var data []byte
	if r.DataAt != "" {
		b, key, err := e.bucketAt(r.DataAt)
		if err != nil {
			return err
		}
		if data, err = b.get(ctx, key); err != nil {
			return err
		}
	} else if data, err = e.st.GetRecord(ctx, NSData, e.key(kind, native)); err != nil {
		return fmt.Errorf("data of emulated %s %s: %w", kind, native, err)
	}
	if err := e.drv.WriteVolumeData(ctx, volumeNative, data); err != nil {
		return fmt.Errorf("write volume %s: %w", volumeNative, err)
	}
	return nil
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

// put stores data as an object, with its sha256 recorded for get to check.
func (b *Bucket) put(ctx context.Context, key string, data []byte) error {
	sum := sha256.Sum256(data)
	w, err := b.objs.NewWriter(ctx, b.bucket, key, providers.WriteOptions{ContentType: "application/octet-stream",
		Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return b.fail("store emulated copy "+key, err)
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Abort()
		return b.fail("store emulated copy "+key, err)
	}
	if _, err := w.Commit(); err != nil {
		return b.fail("store emulated copy "+key, err)
	}
	return nil
}

// get reads an object back and checks it against the sha256 recorded.
func (b *Bucket) get(ctx context.Context, key string) ([]byte, error) {
	r, ob, err := b.objs.NewRangeReader(ctx, b.bucket, key, 0, -1)
	if err != nil {
		return nil, b.fail("read emulated copy "+key, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return nil, b.fail("read emulated copy "+key, err)
	}
	if ob.SHA256 != "" {
		if sum := sha256.Sum256(buf.Bytes()); !strings.EqualFold(hex.EncodeToString(sum[:]), ob.SHA256) {
			return nil, &Error{Cloud: b.cloud, Err: providers.ErrIntegrity,
				Msg: fmt.Sprintf("emulated copy %s in bucket %q of cloud %q: the bytes read do not match the sha256 recorded", key, b.bucket, b.cloud)}
		}
	}
	return buf.Bytes(), nil
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
