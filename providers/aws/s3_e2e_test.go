//go:build aws

package aws_test

// End to end for objects: canopyd (the real binary) with an aws cloud on
// moto's S3 beside a sim cloud; bytes go up and down over gRPC, REST and
// presigned URLs, and every result is checked in moto with the SDK.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

func s3Client(t testing.TB) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: awssdk.String(motoEndpoint(t)), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""), DisableLogOutputChecksumValidationSkipped: true})
}

func TestCanopydObjectsOnS3(t *testing.T) {
	resetMoto(t)
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: aws
    kind: aws
    regions: [us-east-1]
    options: {endpoint: %s, access_key_id: testing, secret_access_key: testing}
  - name: local
    kind: sim
    options: {part_size: 65536}
`, motoEndpoint(t)))
	d := canopydtest.Start(t, t.TempDir(), "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	oc := canopyv1.NewObjectServiceClient(d.Conn)
	sc := s3Client(t)

	b, err := oc.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: "canopy-e2e", Location: &canopyv1.Location{Cloud: "aws"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: awssdk.String("canopy-e2e")}); err != nil {
		t.Fatalf("the bucket is not in moto: %v", err)
	}
	caps, _ := d.Clouds.GetCloud(ctx, &canopyv1.GetCloudRequest{Name: "aws"})
	if !contains(caps.GetCapabilities(), "objects") || !contains(caps.GetCapabilities(), "presigned-urls") {
		t.Errorf("aws capabilities = %v", caps.GetCapabilities())
	}

	// gRPC, three parts of 5 MiB.
	data := bytes.Repeat([]byte("0123456789abcdefghij"), 550000) // 11 MB
	sum := sha256.Sum256(data)
	st, err := oc.UploadObject(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(data))
	_ = st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Header{Header: &canopyv1.ObjectUploadHeader{
		Bucket: b.Id, Key: "big/blob", SizeBytes: &n, Sha256: hex.EncodeToString(sum[:]), ContentType: "application/x-e2e"}}})
	for off := 0; off < len(data); off += 1 << 20 {
		_ = st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: data[off:min(off+1<<20, len(data))]}})
	}
	ob, err := st.CloseAndRecv()
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if ob.Parts != 3 || !strings.HasSuffix(ob.Etag, "-3") || ob.Sha256 != hex.EncodeToString(sum[:]) {
		t.Errorf("uploaded %+v", ob)
	}
	head, err := sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: awssdk.String("canopy-e2e"), Key: awssdk.String("big/blob")})
	if err != nil {
		t.Fatalf("not in moto: %v", err)
	}
	if awssdk.ToInt64(head.ContentLength) != n || head.Metadata["canopy-sha256"] != hex.EncodeToString(sum[:]) || strings.Trim(awssdk.ToString(head.ETag), `"`) != ob.Etag {
		t.Errorf("moto has %d bytes, metadata %v, etag %s", awssdk.ToInt64(head.ContentLength), head.Metadata, awssdk.ToString(head.ETag))
	}
	ds, err := oc.DownloadObject(ctx, &canopyv1.DownloadObjectRequest{Bucket: "canopy-e2e", Key: "big/blob"})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	digest := ""
	for {
		msg, err := ds.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got.Write(msg.GetChunk())
		if s := msg.GetSha256(); s != "" {
			digest = s
		}
	}
	if !bytes.Equal(got.Bytes(), data) || digest != hex.EncodeToString(sum[:]) {
		t.Errorf("download: %d bytes, digest %q", got.Len(), digest)
	}

	// An upload that breaks off leaves nothing in S3, not even parts.
	cctx, ccancel := context.WithCancel(ctx)
	st, err = oc.UploadObject(cctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Header{Header: &canopyv1.ObjectUploadHeader{Bucket: b.Id, Key: "broken"}}})
	for off := 0; off < 8<<20; off += 1 << 20 {
		_ = st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: data[off : off+1<<20]}})
	}
	// Cancelled once S3 holds a part of it: the transfer had started.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if uploadHasParts(ctx, t, sc, "canopy-e2e", "broken") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the broken upload never reached S3 as a multipart upload with a part")
		}
	}
	ccancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ups, err := sc.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: awssdk.String("canopy-e2e")})
		if err != nil {
			t.Fatal(err)
		}
		_, herr := sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: awssdk.String("canopy-e2e"), Key: awssdk.String("broken")})
		if len(ups.Uploads) == 0 && herr != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a broken upload moto holds %d multipart uploads; head: %v", len(ups.Uploads), herr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Presigned: canopy signs, the bytes go straight to moto.
	up, err := oc.CreateUploadURL(ctx, &canopyv1.CreateUploadURLRequest{Bucket: b.Id, Key: "direct.txt", ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(up.Url, motoEndpoint(t)) || up.Cloud != "aws" {
		t.Errorf("upload URL %s (cloud %s) does not point at moto", up.Url, up.Cloud)
	}
	req, _ := http.NewRequestWithContext(ctx, up.Method, up.Url, strings.NewReader("straight to S3"))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT presigned: %v %v", resp, err)
	}
	resp.Body.Close()
	dl, err := oc.CreateDownloadURL(ctx, &canopyv1.CreateDownloadURLRequest{Bucket: b.Id, Key: "direct.txt"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(dl.Url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "straight to S3" {
		t.Errorf("GET presigned: %d %q", resp.StatusCode, body)
	}

	// REST bytes with the token; a range.
	req, _ = http.NewRequestWithContext(ctx, "GET", "http://"+d.RESTAddr+"/v1/buckets/canopy-e2e/objects/big/blob?alt=media", nil)
	req.Header.Set("Authorization", "Bearer "+d.Token)
	req.Header.Set("Range", "bytes=5242870-5242889")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || !bytes.Equal(body, data[5242870:5242890]) {
		t.Errorf("REST range across a part boundary: %d %q", resp.StatusCode, body)
	}

	// Across clouds: S3 → the sim, streamed through canopyd.
	lb, err := oc.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: "local-copy", Location: &canopyv1.Location{Cloud: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := oc.CopyObject(ctx, &canopyv1.CopyObjectRequest{SourceBucket: b.Id, SourceKey: "big/blob", DestinationBucket: lb.Id})
	if err != nil {
		t.Fatalf("copy to the sim: %v", err)
	}
	if cp.SizeBytes != n || cp.Sha256 != hex.EncodeToString(sum[:]) || cp.Location.GetCloud() != "local" {
		t.Errorf("copied %+v", cp)
	}

	// A non-empty bucket is not deleted; an empty one is, in moto too.
	if _, err := oc.DeleteBucket(ctx, &canopyv1.DeleteBucketRequest{Id: b.Id}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("delete non-empty bucket: %v", err)
	}
	for _, k := range []string{"big/blob", "direct.txt"} {
		if _, err := oc.DeleteObject(ctx, &canopyv1.DeleteObjectRequest{Bucket: b.Id, Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := oc.DeleteBucket(ctx, &canopyv1.DeleteBucketRequest{Id: b.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: awssdk.String("canopy-e2e")}); err == nil {
		t.Errorf("the bucket is still in moto")
	}
}

// uploadHasParts says whether bucket holds a multipart upload of key with at
// least one part.
func uploadHasParts(ctx context.Context, t *testing.T, sc *s3.Client, bucket, key string) bool {
	t.Helper()
	ups, err := sc.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: awssdk.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups.Uploads {
		if awssdk.ToString(u.Key) != key {
			continue
		}
		parts, err := sc.ListParts(ctx, &s3.ListPartsInput{Bucket: awssdk.String(bucket), Key: u.Key, UploadId: u.UploadId})
		if err != nil {
			t.Fatal(err)
		}
		if len(parts.Parts) > 0 {
			return true
		}
	}
	return false
}
