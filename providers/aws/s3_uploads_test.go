//go:build aws || s3

package aws_test

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// pendingS3Uploads is providertest.UploadInspector for S3 engines: the
// multipart uploads of key the engine still holds, each with its parts.
func pendingS3Uploads(ctx context.Context, endpoint, accessKey, secretKey, bucket, key string) ([]string, error) {
	sc := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: awssdk.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""), DisableLogOutputChecksumValidationSkipped: true})
	out, err := sc.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: awssdk.String(bucket), Prefix: awssdk.String(key)})
	if err != nil {
		return nil, fmt.Errorf("list multipart uploads of %s/%s: %w", bucket, key, err)
	}
	var left []string
	for _, u := range out.Uploads {
		if awssdk.ToString(u.Key) != key {
			continue
		}
		parts, err := sc.ListParts(ctx, &s3.ListPartsInput{Bucket: awssdk.String(bucket), Key: u.Key, UploadId: u.UploadId})
		n := -1
		if err == nil {
			n = len(parts.Parts)
		}
		left = append(left, fmt.Sprintf("upload %s of %s with %d parts", awssdk.ToString(u.UploadId), key, n))
	}
	return left, nil
}
