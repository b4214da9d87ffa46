package aws

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/canopy-cloud/canopy/providers"
)

// copyLimits are S3's: one CopyObject request copies at most 5 GiB; larger
// objects are copied part by part (UploadPartCopy), as the AWS CLI does.
// Parts are a variable so tests can copy in parts on small objects.
var copyLimits = struct {
	single int64 // largest object copied in one request
	part   int64 // part size of a multipart copy
}{single: 5 << 30, part: 512 << 20}

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

// CopyObject implements providers.Objects, server side: one CopyObject up
// to 5 GiB, a multipart copy above (each part copied by S3 itself, so no
// byte passes through canopy). Metadata, content type and the sha256
// canopy recorded go with the copy.
func (c *Cloud) CopyObject(ctx context.Context, sb, sk, db, dk string) (providers.Object, error) {
	scl, err := c.bucketClient(ctx, sb)
	if err != nil {
		return providers.Object{}, err
	}
	head, err := scl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &sb, Key: &sk})
	if err != nil {
		return providers.Object{}, s3fail(err, "head object %s/%s", sb, sk)
	}
	cl, err := c.bucketClient(ctx, db)
	if err != nil {
		return providers.Object{}, err
	}
	src := url.PathEscape(sb) + "/" + strings.ReplaceAll(url.PathEscape(sk), "%2F", "/")
	// The ETag pins the copy to the version that was looked at: if the
	// source changes in between, S3 refuses (PreconditionFailed) instead of
	// mixing two versions' parts.
	etag := awssdk.ToString(head.ETag)
	if size := awssdk.ToInt64(head.ContentLength); size > copyLimits.single {
		if err := c.copyInParts(ctx, cl, src, etag, size, head, db, dk); err != nil {
			return providers.Object{}, err
		}
	} else if _, err := cl.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &db, Key: &dk, CopySource: &src,
		CopySourceIfMatch: nonEmpty(etag), MetadataDirective: s3types.MetadataDirectiveCopy}); err != nil {
		return providers.Object{}, s3fail(err, "copy %s/%s to %s/%s", sb, sk, db, dk)
	}
	return c.HeadObject(ctx, db, dk)
}

// copyInParts copies size bytes of src into db/dk with UploadPartCopy;
// any failure aborts the upload, leaving no object and no parts.
func (c *Cloud) copyInParts(ctx context.Context, cl *s3.Client, src, etag string, size int64, head *s3.HeadObjectOutput, db, dk string) error {
	part := max(copyLimits.part, (size+maxParts-1)/maxParts)
	mu, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &db, Key: &dk,
		ContentType: head.ContentType, Metadata: head.Metadata})
	if err != nil {
		return s3fail(err, "copy %s to %s/%s: start multipart copy", src, db, dk)
	}
	done := false
	defer func() {
		if !done {
			actx := context.WithoutCancel(ctx)
			_, _ = cl.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &db, Key: &dk, UploadId: mu.UploadId})
		}
	}()
	var parts []s3types.CompletedPart
	for off, n := int64(0), int32(1); off < size; off, n = off+part, n+1 {
		end := min(off+part, size) - 1
		out, err := cl.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &db, Key: &dk, UploadId: mu.UploadId,
			PartNumber: awssdk.Int32(n), CopySource: &src, CopySourceIfMatch: nonEmpty(etag),
			CopySourceRange: awssdk.String(fmt.Sprintf("bytes=%d-%d", off, end))})
		if err != nil {
			return s3fail(err, "copy %s to %s/%s: part %d (bytes %d-%d)", src, db, dk, n, off, end)
		}
		if out.CopyPartResult == nil {
			return fmt.Errorf("aws: copy %s to %s/%s: part %d: %w: no part result", src, db, dk, n, providers.ErrUnavailable)
		}
		parts = append(parts, s3types.CompletedPart{PartNumber: awssdk.Int32(n), ETag: out.CopyPartResult.ETag})
	}
	if _, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &db, Key: &dk, UploadId: mu.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		return s3fail(err, "copy %s to %s/%s: complete multipart copy", src, db, dk)
	}
	done = true
	return nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
