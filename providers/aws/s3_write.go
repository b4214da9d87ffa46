package aws

import (
	"context"
	"crypto/md5" //nolint:gosec // S3 checks parts by md5
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/canopy-cloud/canopy/providers"
)

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
