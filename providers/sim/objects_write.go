package sim

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // clouds' ETags are md5
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// NewWriter implements providers.Objects.
func (c *Cloud) NewWriter(ctx context.Context, bucket, key string, opts providers.WriteOptions) (providers.ObjectWriter, error) {
	if err := c.call(ctx, "CreateMultipartUpload"); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("sim: object key: %w: empty", providers.ErrInvalid)
	}
	c.mu.Lock()
	_, err := c.bucket(bucket)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ps := opts.PartSize
	if ps <= 0 {
		ps = c.opts.PartSize
	}
	w := &simWriter{c: c, ctx: ctx, bucket: bucket, key: key, opts: opts, partSize: ps}
	c.mu.Lock()
	dir := c.objs().dir
	c.mu.Unlock()
	if dir != "" {
		f, err := os.CreateTemp(dir, "upload-*")
		if err != nil {
			return nil, fmt.Errorf("sim: upload: %w: %v", providers.ErrUnavailable, err)
		}
		w.f = f
	}
	w.started()
	return w, nil
}

// simWriter buffers one part at a time and "uploads" it to the simulator's
// storage, where it stays invisible until Commit.
type simWriter struct {
	c        *Cloud
	ctx      context.Context
	bucket   string
	key      string
	opts     providers.WriteOptions
	partSize int64
	buf      []byte
	parts    [][]byte
	md5s     [][]byte
	done     bool
	err      error
	f        *os.File // persisted cloud: parts go to this file
	size     int64
	pending  bool // counted in objectState.uploads
}

// started counts the upload as unfinished at the cloud; finished stops.
func (w *simWriter) started() {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	st := w.c.objs()
	if st.uploads == nil {
		st.uploads = map[string]int{}
	}
	st.uploads[w.bucket+"/"+w.key]++
	w.pending = true
}

func (w *simWriter) finished() {
	if !w.pending {
		return
	}
	w.pending = false
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	st := w.c.objs()
	k := w.bucket + "/" + w.key
	if st.uploads[k]--; st.uploads[k] <= 0 {
		delete(st.uploads, k)
	}
}

func (w *simWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("sim: write after commit or abort")
	}
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		room := int(w.partSize) - len(w.buf)
		take := min(room, len(p))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if int64(len(w.buf)) == w.partSize {
			if err := w.flush(); err != nil {
				w.err = err
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush uploads the buffered part.
func (w *simWriter) flush() error {
	if w.opts.Gate != nil {
		if err := w.opts.Gate(w.ctx); err != nil {
			return err
		}
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if err := w.c.call(w.ctx, "UploadPart"); err != nil {
		return err
	}
	sum := md5.Sum(w.buf) //nolint:gosec
	w.md5s = append(w.md5s, sum[:])
	w.size += int64(len(w.buf))
	if w.f != nil {
		if _, err := w.f.Write(w.buf); err != nil {
			return fmt.Errorf("sim: upload part: %w: %v", providers.ErrUnavailable, err)
		}
		w.buf = w.buf[:0]
		return nil
	}
	w.parts = append(w.parts, w.buf)
	w.buf = make([]byte, 0, min(w.partSize, 1<<20))
	return nil
}

// CommitWithSHA256 implements providers.SHA256Committer: the sim stores
// an object's metadata when it commits.
func (w *simWriter) CommitWithSHA256(sum string) (providers.Object, error) {
	w.opts.SHA256 = sum
	return w.Commit()
}

func (w *simWriter) Commit() (providers.Object, error) {
	if w.done {
		return providers.Object{}, fmt.Errorf("sim: commit after commit or abort")
	}
	if w.err != nil {
		_ = w.Abort()
		return providers.Object{}, w.err
	}
	if len(w.buf) > 0 || len(w.md5s) == 0 {
		if err := w.flush(); err != nil {
			_ = w.Abort()
			return providers.Object{}, err
		}
	}
	if err := w.c.call(w.ctx, "CompleteMultipartUpload"); err != nil {
		_ = w.Abort()
		return providers.Object{}, err
	}
	w.done = true
	rec := &simObject{}
	if w.f != nil {
		if err := w.f.Sync(); err != nil {
			_ = w.Abort()
			return providers.Object{}, fmt.Errorf("sim: commit: %w: %v", providers.ErrUnavailable, err)
		}
		_ = w.f.Close()
		w.c.mu.Lock()
		rec.file = w.c.newID("blob")
		w.c.mu.Unlock()
		if err := os.Rename(w.f.Name(), filepath.Join(filepath.Dir(w.f.Name()), rec.file)); err != nil {
			_ = os.Remove(w.f.Name())
			return providers.Object{}, fmt.Errorf("sim: commit: %w: %v", providers.ErrUnavailable, err)
		}
	} else {
		rec.data = bytes.Join(w.parts, nil)
	}
	o := providers.Object{
		Key: w.key, Size: w.size, ContentType: w.opts.ContentType, Modified: time.Now(),
		SHA256: w.opts.SHA256, Parts: len(w.md5s), Metadata: cloneMap(w.opts.Metadata),
	}
	if o.ContentType == "" {
		o.ContentType = "application/octet-stream"
	}
	o.ETag, o.MD5 = s3ETag(w.md5s)
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	b, err := w.c.bucket(w.bucket)
	if err != nil {
		w.c.obj.drop(rec)
		return providers.Object{}, err
	}
	rec.o = o
	old := b.objects[w.key]
	b.objects[w.key] = rec
	w.c.obj.drop(old)
	w.c.saveObjects()
	w.parts, w.buf = nil, nil
	if w.pending { // under w.c.mu already: finished would lock it again
		w.pending = false
		st, k := w.c.objs(), w.bucket+"/"+w.key
		if st.uploads[k]--; st.uploads[k] <= 0 {
			delete(st.uploads, k)
		}
	}
	return cloneObject(o), nil
}

func (w *simWriter) Abort() error {
	if w.f != nil && !w.done {
		_ = w.f.Close()
		_ = os.Remove(w.f.Name())
	}
	w.done = true
	w.parts, w.buf = nil, nil
	w.finished()
	return nil
}

// s3ETag is S3's ETag of an object uploaded in parts with these md5s, and
// the object's md5 when it is one part.
func s3ETag(md5s [][]byte) (etag, whole string) {
	if len(md5s) == 1 {
		h := hex.EncodeToString(md5s[0])
		return h, h
	}
	h := md5.New() //nolint:gosec
	for _, m := range md5s {
		h.Write(m)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(md5s)), ""
}
