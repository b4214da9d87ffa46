package cache

import (
	"context"
	"errors"
	"io"

	"github.com/canopy-cloud/canopy/providers"
)

// Objects wraps a cloud's object driver so that every upstream call, each
// part of an upload included, goes through the cloud's rate limiter and is
// counted. Nothing is cached: object reads are bytes, and listings change
// with every write.
type Objects struct {
	cloud string
	inner providers.Objects
	lim   *Limiter
	m     *Metrics
}

// NewObjects wraps inner.
func NewObjects(cloud string, inner providers.Objects, lim *Limiter, m *Metrics) *Objects {
	return &Objects{cloud: cloud, inner: inner, lim: lim, m: m}
}

const objectsKind = "objects"

// upstream makes one call under the rate limit and the circuit breaker,
// honoring Retry-After.
func (o *Objects) upstream(ctx context.Context, method string, fn func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		err := o.lim.Call(ctx, func(ctx context.Context) error {
			o.m.call(o.cloud, objectsKind, method)
			return fn(ctx)
		})
		var ra *providers.RetryAfterError
		if !errors.As(err, &ra) || attempt >= 3 {
			return err
		}
		o.lim.Pause(ra.After)
	}
}

// Gate is what writers call before each request they make (each part).
func (o *Objects) Gate(ctx context.Context) error {
	if err := o.lim.Wait(ctx); err != nil {
		return err
	}
	o.m.call(o.cloud, objectsKind, "UploadPart")
	return nil
}

// ListBuckets implements providers.Objects.
func (o *Objects) ListBuckets(ctx context.Context) (out []providers.Bucket, err error) {
	err = o.upstream(ctx, "ListBuckets", func(ctx context.Context) error { out, err = o.inner.ListBuckets(ctx); return err })
	return out, err
}

// GetBucket implements providers.Objects.
func (o *Objects) GetBucket(ctx context.Context, name string) (out providers.Bucket, err error) {
	err = o.upstream(ctx, "GetBucket", func(ctx context.Context) error { out, err = o.inner.GetBucket(ctx, name); return err })
	return out, err
}

// CreateBucket implements providers.Objects.
func (o *Objects) CreateBucket(ctx context.Context, name, region string, labels map[string]string) (out providers.Bucket, err error) {
	err = o.upstream(ctx, "CreateBucket", func(ctx context.Context) error {
		out, err = o.inner.CreateBucket(ctx, name, region, labels)
		return err
	})
	return out, err
}

// DeleteBucket implements providers.Objects.
func (o *Objects) DeleteBucket(ctx context.Context, name string) error {
	return o.upstream(ctx, "DeleteBucket", func(ctx context.Context) error { return o.inner.DeleteBucket(ctx, name) })
}

// ListObjects implements providers.Objects.
func (o *Objects) ListObjects(ctx context.Context, bucket string, opts providers.ListObjectsOptions) (out providers.ObjectPage, err error) {
	err = o.upstream(ctx, "ListObjects", func(ctx context.Context) error {
		out, err = o.inner.ListObjects(ctx, bucket, opts)
		return err
	})
	return out, err
}

// HeadObject implements providers.Objects.
func (o *Objects) HeadObject(ctx context.Context, bucket, key string) (out providers.Object, err error) {
	err = o.upstream(ctx, "HeadObject", func(ctx context.Context) error { out, err = o.inner.HeadObject(ctx, bucket, key); return err })
	return out, err
}

// DeleteObject implements providers.Objects.
func (o *Objects) DeleteObject(ctx context.Context, bucket, key string) error {
	return o.upstream(ctx, "DeleteObject", func(ctx context.Context) error { return o.inner.DeleteObject(ctx, bucket, key) })
}

// CopyObject implements providers.Objects.
func (o *Objects) CopyObject(ctx context.Context, sb, sk, db, dk string) (out providers.Object, err error) {
	err = o.upstream(ctx, "CopyObject", func(ctx context.Context) error { out, err = o.inner.CopyObject(ctx, sb, sk, db, dk); return err })
	return out, err
}

// NewWriter implements providers.Objects; the writer's parts go through
// the limiter too.
func (o *Objects) NewWriter(ctx context.Context, bucket, key string, opts providers.WriteOptions) (w providers.ObjectWriter, err error) {
	if opts.Gate == nil {
		opts.Gate = o.Gate
	}
	err = o.upstream(ctx, "NewWriter", func(ctx context.Context) error { w, err = o.inner.NewWriter(ctx, bucket, key, opts); return err })
	return w, err
}

// NewRangeReader implements providers.Objects.
func (o *Objects) NewRangeReader(ctx context.Context, bucket, key string, off, n int64) (r io.ReadCloser, obj providers.Object, err error) {
	err = o.upstream(ctx, "GetObject", func(ctx context.Context) error {
		r, obj, err = o.inner.NewRangeReader(ctx, bucket, key, off, n)
		return err
	})
	return r, obj, err
}

// Signer returns the rate-limited URL signer of the cloud, or nil when it
// cannot sign. Signing is usually local (no request), but a cloud may need
// one (Swift reads its TempURL key), so it is limited all the same.
func (o *Objects) Signer() providers.URLSigner {
	s, ok := o.inner.(providers.URLSigner)
	if !ok {
		return nil
	}
	return signer{o, s}
}

type signer struct {
	o *Objects
	s providers.URLSigner
}

func (s signer) SignURL(ctx context.Context, bucket, key string, opts providers.SignOptions) (out providers.SignedURL, err error) {
	err = s.o.upstream(ctx, "SignURL", func(ctx context.Context) error { out, err = s.s.SignURL(ctx, bucket, key, opts); return err })
	return out, err
}
