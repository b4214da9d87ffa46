package aws

// Container images on AWS: EC2 has no image store for a `docker save`
// tarball or an OCI layout (ECR would be a registry, and canopy speaks to
// no registry), so an upload of container format docker or oci becomes an
// S3 object in the cloud's container_image_bucket, streamed through the
// multipart writer (never whole in memory), with a small JSON record
// beside it written last. The record is what makes the image exist: it
// holds the name, formats, size, sha256 (computed on the way: an upload
// need not announce it), the uploader's project and visibility, and the
// labels; lists read the records, so an upload that died between its data
// and its record is never an image. The data object carries the same
// facts known at its start as S3 user metadata, for whoever browses the
// bucket. Native ids are "cimg-" and 24 hex digits, never an AMI's.
//
// A container cloud that lacks such an image pulls it through canopy
// (server/container_pull.go): NewImageReader streams the object, checking
// its sha256 against the record as it goes.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/canopy-cloud/canopy/providers"
)

const (
	// containerImagePrefix is where in the bucket the images live.
	containerImagePrefix = "canopy-container-images/"
	// containerImageIDPrefix starts every container image's native id.
	containerImageIDPrefix = "cimg-"
	// recordSuffix names an image's record beside its data.
	recordSuffix = ".json"
	// maxRecordBytes bounds a record read back (labels included, a record
	// is a few KiB): a larger object is not canopy's.
	maxRecordBytes = 1 << 20
)

var containerImageIDRE = regexp.MustCompile(`^cimg-[0-9a-f]{24}$`)

// isContainerImageID says whether a native id names a container image.
func isContainerImageID(id string) bool { return strings.HasPrefix(id, containerImageIDPrefix) }

// containerImageRecord is the JSON beside an image's data.
type containerImageRecord struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	ContainerFormat string            `json:"container_format"`
	DiskFormat      string            `json:"disk_format"`
	SizeBytes       int64             `json:"size_bytes"`
	SHA256          string            `json:"sha256"`
	Project         string            `json:"project,omitempty"`
	Visibility      string            `json:"visibility,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	MinDiskGiB      int64             `json:"min_disk_gib,omitempty"`
	MinRAMMiB       int64             `json:"min_ram_mib,omitempty"`
	Created         time.Time         `json:"created"`
}

func dataKey(id string) string   { return containerImagePrefix + id }
func recordKey(id string) string { return containerImagePrefix + id + recordSuffix }

// containerBucket is the configured bucket, or why there is none.
func (c *Cloud) containerBucket(format string) (string, error) {
	if c.opts.ContainerImageBucket == "" {
		return "", fmt.Errorf("aws: cloud %q: container format %q: %w: container images are stored in S3; set the cloud's option container_image_bucket", c.name, format, providers.ErrUnsupported)
	}
	return c.opts.ContainerImageBucket, nil
}

// ensureContainerBucket creates the bucket in the first region when it is
// missing (the first container upload of a fresh account).
func (c *Cloud) ensureContainerBucket(ctx context.Context, bucket string) error {
	_, err := c.GetBucket(ctx, bucket)
	if !errors.Is(err, providers.ErrNotFound) {
		return err
	}
	_, err = c.CreateBucket(ctx, bucket, c.regions[0], map[string]string{"canopy": "container-images"})
	if errors.Is(err, providers.ErrAlreadyExists) {
		return nil // a concurrent upload made it
	}
	return err
}

// newContainerImageWriter starts a container image upload.
func (c *Cloud) newContainerImageWriter(ctx context.Context, spec providers.ImageSpec) (providers.ImageWriter, error) {
	if spec.DiskFormat != "" && spec.DiskFormat != "raw" {
		return nil, fmt.Errorf("aws: disk format %q: %w: a %s container image is stored as it is (raw)", spec.DiskFormat, providers.ErrInvalid, spec.ContainerFormat)
	}
	if spec.SHA256 != "" {
		if b, err := hex.DecodeString(spec.SHA256); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("aws: image %s: sha256 %q: %w: not 64 hex digits", spec.Name, spec.SHA256, providers.ErrInvalid)
		}
	}
	bucket, err := c.containerBucket(spec.ContainerFormat)
	if err != nil {
		return nil, err
	}
	if err := c.ensureContainerBucket(ctx, bucket); err != nil {
		return nil, fmt.Errorf("aws: container image bucket %s: %w", bucket, err)
	}
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("aws: container image id: %w", err)
	}
	id := containerImageIDPrefix + hex.EncodeToString(raw[:])
	meta := map[string]string{
		"canopy-image-id": id, "canopy-name": url.QueryEscape(spec.Name), "canopy-container-format": spec.ContainerFormat,
	}
	if spec.Project != "" {
		meta["canopy-project"] = spec.Project
	}
	if spec.Visibility != "" {
		meta["canopy-visibility"] = spec.Visibility
	}
	ow, err := c.NewWriter(ctx, bucket, dataKey(id), providers.WriteOptions{
		ContentType: "application/x-tar", Metadata: meta, SHA256: strings.ToLower(spec.SHA256), Size: spec.Size,
	})
	if err != nil {
		return nil, fmt.Errorf("aws: upload container image %s: %w", spec.Name, err)
	}
	return &containerImageWriter{c: c, ctx: ctx, bucket: bucket, id: id, spec: spec, ow: ow, h: sha256.New()}, nil
}

// containerImageWriter streams the data, hashing it; Commit writes the
// record that makes it an image.
type containerImageWriter struct {
	c        *Cloud
	ctx      context.Context
	bucket   string
	id       string
	spec     providers.ImageSpec
	ow       providers.ObjectWriter
	h        hash.Hash
	n        int64
	finished bool
}

func (w *containerImageWriter) Write(p []byte) (int, error) {
	if w.finished {
		return 0, errors.New("aws: write after commit or abort")
	}
	if w.spec.Size >= 0 && w.n+int64(len(p)) > w.spec.Size {
		return 0, fmt.Errorf("aws: image %s: %w: more than the %d bytes announced", w.spec.Name, providers.ErrInvalid, w.spec.Size)
	}
	n, err := w.ow.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

func (w *containerImageWriter) Commit() (providers.Image, error) {
	if w.finished {
		return providers.Image{}, errors.New("aws: commit after commit or abort")
	}
	w.finished = true
	if w.spec.Size >= 0 && w.n != w.spec.Size {
		_ = w.ow.Abort()
		return providers.Image{}, fmt.Errorf("aws: image %s: %w: %d bytes of the %d announced", w.spec.Name, providers.ErrInvalid, w.n, w.spec.Size)
	}
	sum := hex.EncodeToString(w.h.Sum(nil))
	if w.spec.SHA256 != "" && !strings.EqualFold(w.spec.SHA256, sum) {
		_ = w.ow.Abort()
		return providers.Image{}, fmt.Errorf("aws: image %s: %w: the bytes' sha256 is %s, the upload said %s", w.spec.Name, providers.ErrIntegrity, sum, w.spec.SHA256)
	}
	ctx := context.WithoutCancel(w.ctx)
	if _, err := w.ow.Commit(); err != nil {
		return providers.Image{}, fmt.Errorf("aws: upload container image %s: %w", w.spec.Name, err)
	}
	rec := containerImageRecord{
		ID: w.id, Name: w.spec.Name, ContainerFormat: w.spec.ContainerFormat, DiskFormat: "raw", SizeBytes: w.n, SHA256: sum,
		Project: w.spec.Project, Visibility: w.spec.Visibility, Labels: w.spec.Labels,
		MinDiskGiB: w.spec.MinDiskGiB, MinRAMMiB: w.spec.MinRAMMiB, Created: time.Now().UTC(),
	}
	if err := w.c.putRecord(ctx, w.bucket, rec); err != nil {
		_ = w.c.deleteKey(ctx, w.bucket, dataKey(w.id))
		return providers.Image{}, err
	}
	return w.c.containerImageOf(ctx, w.bucket, rec), nil
}

// Abort implements providers.ImageWriter: the object writer frees the
// multipart upload; no record was written, so there is no image.
func (w *containerImageWriter) Abort() error {
	if w.finished {
		return nil
	}
	w.finished = true
	return w.ow.Abort()
}

// putRecord writes an image's record (one PutObject: it is small).
func (c *Cloud) putRecord(ctx context.Context, bucket string, rec containerImageRecord) error {
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("aws: container image %s: record: %w", rec.ID, err)
	}
	cl, err := c.bucketClient(ctx, bucket)
	if err != nil {
		return err
	}
	_, err = cl.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: awssdk.String(recordKey(rec.ID)), Body: bytes.NewReader(body),
		ContentType: awssdk.String("application/json"), ContentLength: awssdk.Int64(int64(len(body)))})
	if err != nil {
		return s3fail(err, "write the record of container image %s to %s", rec.ID, bucket)
	}
	return nil
}

// getRecord reads an image's record; a missing one (or bucket) is
// ErrNotFound.
func (c *Cloud) getRecord(ctx context.Context, bucket, id string) (containerImageRecord, error) {
	if !containerImageIDRE.MatchString(id) {
		return containerImageRecord{}, fmt.Errorf("aws: image %q: %w", id, providers.ErrNotFound)
	}
	cl, err := c.bucketClient(ctx, bucket)
	if err != nil {
		return containerImageRecord{}, err
	}
	out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: awssdk.String(recordKey(id))})
	if err != nil {
		return containerImageRecord{}, s3fail(err, "container image %s", id)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxRecordBytes+1))
	if err != nil {
		return containerImageRecord{}, s3fail(err, "read the record of container image %s", id)
	}
	var rec containerImageRecord
	if len(body) > maxRecordBytes || json.Unmarshal(body, &rec) != nil || rec.ID != id {
		return containerImageRecord{}, fmt.Errorf("aws: container image %s: %w: its record in %s is not canopy's", id, providers.ErrConflict, bucket)
	}
	return rec, nil
}

// deleteKey deletes one object; one already gone is no error.
func (c *Cloud) deleteKey(ctx context.Context, bucket, key string) error {
	cl, err := c.bucketClient(ctx, bucket)
	if err != nil {
		return err
	}
	if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil {
		if err = s3fail(err, "delete %s/%s", bucket, key); !errors.Is(err, providers.ErrNotFound) {
			return err
		}
	}
	return nil
}

// containerImageOf is the Image a record describes.
func (c *Cloud) containerImageOf(ctx context.Context, bucket string, rec containerImageRecord) providers.Image {
	region := c.regions[0]
	c.s3.mu.Lock()
	if r, ok := c.s3.where[bucket]; ok && r != "" {
		region = r
	}
	c.s3.mu.Unlock()
	props := map[string]string{
		"sha256": rec.SHA256, "digest": "sha256:" + rec.SHA256, "s3_bucket": bucket, "s3_key": dataKey(rec.ID),
	}
	if rec.Project != "" {
		props["project"] = rec.Project
	}
	if rec.Visibility != "" {
		props["visibility"] = rec.Visibility
	}
	if rec.MinDiskGiB > 0 {
		props["min_disk_gib"] = strconv.FormatInt(rec.MinDiskGiB, 10)
	}
	labels := make(map[string]string, len(rec.Labels))
	for k, v := range rec.Labels {
		labels[k] = v
	}
	return providers.Image{
		Common: providers.Common{
			NativeID: rec.ID, Name: rec.Name, Region: region, Status: providers.StatusActive, ProviderStatus: "available",
			Created: rec.Created, Updated: rec.Created, Labels: labels, Properties: props,
		},
		SizeBytes: rec.SizeBytes, DiskFormat: rec.DiskFormat, ContainerFormat: rec.ContainerFormat,
		MinDiskGiB: rec.MinDiskGiB, MinRAMMiB: rec.MinRAMMiB,
	}
}

// getContainerImage is GetImage of a container image.
func (c *Cloud) getContainerImage(ctx context.Context, id string) (providers.Image, error) {
	bucket := c.opts.ContainerImageBucket
	if bucket == "" {
		return providers.Image{}, fmt.Errorf("aws: image %q: %w", id, providers.ErrNotFound)
	}
	rec, err := c.getRecord(ctx, bucket, id)
	if err != nil {
		return providers.Image{}, err
	}
	return c.containerImageOf(ctx, bucket, rec), nil
}

// listContainerImages reads every record in the bucket; no bucket yet is
// no images.
func (c *Cloud) listContainerImages(ctx context.Context) ([]providers.Image, error) {
	bucket := c.opts.ContainerImageBucket
	if bucket == "" {
		return nil, nil
	}
	var out []providers.Image
	token := ""
	for {
		page, err := c.ListObjects(ctx, bucket, providers.ListObjectsOptions{Prefix: containerImagePrefix, PageToken: token, PageSize: 1000})
		if errors.Is(err, providers.ErrNotFound) && token == "" {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("aws: list container images: %w", err)
		}
		for _, o := range page.Objects {
			id, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, containerImagePrefix), recordSuffix)
			if !ok || !containerImageIDRE.MatchString(id) {
				continue
			}
			rec, err := c.getRecord(ctx, bucket, id)
			if errors.Is(err, providers.ErrNotFound) {
				continue // deleted since the listing
			}
			if err != nil {
				return nil, err
			}
			out = append(out, c.containerImageOf(ctx, bucket, rec))
		}
		if token = page.NextToken; token == "" {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NativeID < out[j].NativeID })
	return out, nil
}

// newContainerImageReader streams a container image's object, checking
// its length and sha256 against the record: a short or altered object is
// ErrIntegrity at its end, not a clean EOF.
func (c *Cloud) newContainerImageReader(ctx context.Context, id string) (io.ReadCloser, providers.Image, error) {
	im, err := c.getContainerImage(ctx, id)
	if err != nil {
		return nil, providers.Image{}, err
	}
	bucket := c.opts.ContainerImageBucket
	r, _, err := c.NewRangeReader(ctx, bucket, dataKey(id), 0, -1)
	if err != nil {
		if errors.Is(err, providers.ErrNotFound) {
			return nil, providers.Image{}, fmt.Errorf("aws: container image %s: %w: its record is in %s but its data is gone", id, providers.ErrConflict, bucket)
		}
		return nil, providers.Image{}, err
	}
	return &checkedReader{r: r, id: id, want: im.Properties["sha256"], size: im.SizeBytes, h: sha256.New()}, im, nil
}

// checkedReader passes bytes through, and at EOF compares their count
// and sha256 with the record's.
type checkedReader struct {
	r    io.ReadCloser
	id   string
	want string
	size int64
	n    int64
	h    hash.Hash
}

func (r *checkedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if r.n > r.size {
		return n, fmt.Errorf("aws: container image %s: %w: more than its %d bytes", r.id, providers.ErrIntegrity, r.size)
	}
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(r.h.Sum(nil)); r.n != r.size || got != r.want {
			return n, fmt.Errorf("aws: container image %s: %w: read %d bytes with sha256 %s, its record says %d with %s", r.id, providers.ErrIntegrity, r.n, got, r.size, r.want)
		}
	}
	return n, err
}

func (r *checkedReader) Close() error { return r.r.Close() }

// deleteContainerImage deletes the data, then the record: a delete that
// stops half way leaves a record whose next delete finishes the job.
func (c *Cloud) deleteContainerImage(ctx context.Context, id string) error {
	bucket := c.opts.ContainerImageBucket
	if bucket == "" {
		return fmt.Errorf("aws: image %q: %w", id, providers.ErrNotFound)
	}
	if _, err := c.getRecord(ctx, bucket, id); err != nil {
		return err
	}
	if err := c.deleteKey(ctx, bucket, dataKey(id)); err != nil {
		return fmt.Errorf("aws: delete container image %s: %w", id, err)
	}
	if err := c.deleteKey(ctx, bucket, recordKey(id)); err != nil {
		return fmt.Errorf("aws: delete container image %s: its data is gone, its record stays: %w", id, err)
	}
	return nil
}
