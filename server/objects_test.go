package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// testPart is the sim's part size in these tests: sizes are scaled down so
// "many parts" stays fast.
const testPart = 64 << 10

const objectClouds = `
clouds:
  - name: local
    kind: sim
    options: {part_size: 65536}
  - name: other
    kind: sim
    zones: [other-1a]
    options: {part_size: 65536, regions: [other-1]}
  - name: nosign
    kind: test-nosign
`

// noSign is a cloud with objects but no URL signing.
type noSign struct {
	providers.Provider
	providers.Objects
}

func init() {
	providers.Register("test-nosign", func(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
		c := sim.New(sim.Options{Regions: []string{"ns-1"}, Zones: []string{"ns-1a"}})
		return noSign{c, c}, nil
	})
}

type objEnv struct {
	*env
	obj canopyv1.ObjectServiceClient
	img canopyv1.ImageTransferServiceClient
}

func newObjEnv(t *testing.T) *objEnv {
	e := newEnv(t, objectClouds)
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(e.token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &objEnv{env: e, obj: canopyv1.NewObjectServiceClient(cc), img: canopyv1.NewImageTransferServiceClient(cc)}
}

func (e *objEnv) bucket(t *testing.T, name, cloud string) *canopyv1.Bucket {
	t.Helper()
	b, err := e.obj.CreateBucket(ctxT(t), &canopyv1.CreateBucketRequest{Name: name, Location: &canopyv1.Location{Cloud: cloud}})
	if err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
	return b
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// upload streams data in chunks of chunk bytes, sending sha256 up front or
// at the end.
func (e *objEnv) upload(ctx context.Context, bucket, key string, data []byte, chunk int, hdr func(*canopyv1.ObjectUploadHeader), trailer string) (*canopyv1.Object, error) {
	st, err := e.obj.UploadObject(ctx)
	if err != nil {
		return nil, err
	}
	h := &canopyv1.ObjectUploadHeader{Bucket: bucket, Key: key, ContentType: "application/x-test"}
	if hdr != nil {
		hdr(h)
	}
	if err := st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Header{Header: h}}); err != nil {
		return nil, err
	}
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		msg := &canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: data[off:end]}}
		if end == len(data) {
			msg.Sha256 = trailer
		}
		if err := st.Send(msg); err != nil {
			break // the server ended the stream: CloseAndRecv says why
		}
	}
	return st.CloseAndRecv()
}

func (e *objEnv) download(ctx context.Context, req *canopyv1.DownloadObjectRequest) (*canopyv1.Object, []byte, string, error) {
	st, err := e.obj.DownloadObject(ctx, req)
	if err != nil {
		return nil, nil, "", err
	}
	var obj *canopyv1.Object
	var buf bytes.Buffer
	sum := ""
	for {
		msg, err := st.Recv()
		if err == io.EOF {
			return obj, buf.Bytes(), sum, nil
		}
		if err != nil {
			return obj, buf.Bytes(), sum, err
		}
		switch d := msg.Data.(type) {
		case *canopyv1.DownloadObjectResponse_Object:
			obj = d.Object
		case *canopyv1.DownloadObjectResponse_Chunk:
			buf.Write(d.Chunk)
		case *canopyv1.DownloadObjectResponse_Sha256:
			sum = d.Sha256
		}
	}
}

func TestObjectRoundTrips(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	b := e.bucket(t, "roundtrip", "local")
	for _, tc := range []struct {
		name      string
		size      int
		parts     int32
		chunk     int
		upfront   bool
		withSize  bool
		multipart bool
	}{
		{"empty", 0, 1, 1024, true, true, false},
		{"one byte", 1, 1, 1024, false, true, false},
		{"one part", testPart, 1, 7000, true, false, false},
		{"many parts", 3*testPart + 12345, 4, 50000, false, true, true},
		{"many parts, big chunks", 5 * testPart, 5, 3 * testPart, true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := randBytes(tc.size, 1)
			key := "dir/" + strings.ReplaceAll(tc.name, " ", "-")
			want := sha(data)
			hdr := func(h *canopyv1.ObjectUploadHeader) {
				if tc.upfront {
					h.Sha256 = want
				}
				if tc.withSize {
					n := int64(tc.size)
					h.SizeBytes = &n
				}
				h.Metadata = map[string]string{"owner": "tests"}
			}
			trailer := ""
			if !tc.upfront {
				trailer = want
			}
			ob, err := e.upload(ctx, b.Id, key, data, tc.chunk, hdr, trailer)
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			if ob.SizeBytes != int64(tc.size) || ob.Sha256 != want || ob.Parts != tc.parts || ob.Bucket != b.Id || ob.ContentType != "application/x-test" {
				t.Errorf("uploaded %+v: want size %d, sha %s, %d parts", ob, tc.size, want, tc.parts)
			}
			if tc.multipart != strings.Contains(ob.Etag, "-") || (!tc.multipart && ob.Md5 == "") {
				t.Errorf("etag %q md5 %q for %d parts", ob.Etag, ob.Md5, ob.Parts)
			}
			head, err := e.obj.GetObject(ctx, &canopyv1.GetObjectRequest{Bucket: "roundtrip", Key: key})
			if err != nil || head.SizeBytes != int64(tc.size) || head.Etag != ob.Etag || head.Metadata["owner"] != "tests" {
				t.Errorf("GetObject = %+v, %v", head, err)
			}
			// A sha256 the client gave is recorded whether it came up front
			// or with the last chunk.
			if head.GetSha256() != want {
				t.Errorf("sha256 given (up front: %v) not recorded: %q", tc.upfront, head.GetSha256())
			}
			// The digest comes when canopy could check it: a sha256 was
			// recorded at upload.
			wantSum := want
			got, body, sum, err := e.download(ctx, &canopyv1.DownloadObjectRequest{Bucket: b.Id, Key: key})
			if err != nil || !bytes.Equal(body, data) || sum != wantSum || got.GetSizeBytes() != int64(tc.size) {
				t.Fatalf("download: %d bytes (want %d), sum %q (want %q), err %v", len(body), len(data), sum, wantSum, err)
			}
			if tc.size > 10 {
				off, n := int64(tc.size/3), int64(tc.size/2)
				_, body, sum, err := e.download(ctx, &canopyv1.DownloadObjectRequest{Bucket: b.Id, Key: key, Offset: off, Length: &n})
				if err != nil || !bytes.Equal(body, data[off:off+n]) || sum != "" {
					t.Errorf("range %d+%d: %d bytes, err %v", off, n, len(body), err)
				}
				_, body, _, err = e.download(ctx, &canopyv1.DownloadObjectRequest{Bucket: b.Id, Key: key, Offset: int64(tc.size - 5)})
				if err != nil || !bytes.Equal(body, data[tc.size-5:]) {
					t.Errorf("tail range: %d bytes, err %v", len(body), err)
				}
			}
		})
	}
	_, _, _, err := e.download(ctx, &canopyv1.DownloadObjectRequest{Bucket: b.Id, Key: "dir/one-byte", Offset: 5})
	wantErr(t, err, codes.InvalidArgument, "", "")
}

func TestObjectUploadFailuresLeaveNothing(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	b := e.bucket(t, "failures", "local")
	data := randBytes(4*testPart, 2)
	invisible := func(key string) {
		t.Helper()
		_, err := e.obj.GetObject(ctx, &canopyv1.GetObjectRequest{Bucket: b.Id, Key: key})
		wantErr(t, err, codes.NotFound, "", "")
	}

	// The client goes away mid-stream: once parts have reached the cloud
	// (the upload is under way there), and nothing is left of it after.
	cctx, cancel := context.WithCancel(ctx)
	st, err := e.obj.UploadObject(cctx)
	if err != nil {
		t.Fatal(err)
	}
	parts := e.sim("local").Calls("UploadPart")
	_ = st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Header{Header: &canopyv1.ObjectUploadHeader{Bucket: b.Id, Key: "cancelled"}}})
	for i := 0; i < 3; i++ {
		_ = st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: data[i*testPart : (i+1)*testPart]}})
	}
	eventually(t, "the cancelled upload's parts reach the cloud", func() bool {
		return e.sim("local").Calls("UploadPart") > parts && len(e.sim("local").PendingUploads(b.NativeId, "cancelled")) == 1
	})
	cancel()
	eventually(t, "the cancelled upload aborted at the cloud", func() bool {
		return len(e.sim("local").PendingUploads(b.NativeId, "cancelled")) == 0
	})
	invisible("cancelled")

	// The stream ends short of the announced size.
	n := int64(len(data))
	_, err = e.upload(ctx, b.Id, "short", data[:len(data)-1], testPart, func(h *canopyv1.ObjectUploadHeader) { h.SizeBytes = &n }, "")
	wantErr(t, err, codes.InvalidArgument, "size_bytes", "nothing was stored")
	invisible("short")
	_, err = e.upload(ctx, b.Id, "long", data, testPart, func(h *canopyv1.ObjectUploadHeader) { m := n - 1; h.SizeBytes = &m }, "")
	wantErr(t, err, codes.InvalidArgument, "size_bytes", "more than")
	invisible("long")

	// The bytes are not the ones the client hashed (up front or at the end).
	_, err = e.upload(ctx, b.Id, "corrupt", data, testPart, func(h *canopyv1.ObjectUploadHeader) { h.Sha256 = sha(data[1:]) }, "")
	wantErr(t, err, codes.DataLoss, "", "sha256", "nothing was stored")
	invisible("corrupt")
	_, err = e.upload(ctx, b.Id, "corrupt", data, testPart, nil, sha(data[1:]))
	wantErr(t, err, codes.DataLoss, "", "sha256")
	invisible("corrupt")
	_, err = e.upload(ctx, b.Id, "bad-hash", data, testPart, func(h *canopyv1.ObjectUploadHeader) { h.Sha256 = "xyz" }, "")
	wantErr(t, err, codes.InvalidArgument, "sha256", "")

	// The cloud fails a part.
	e.sim("local").InjectFault("UploadPart", providers.ErrUnavailable, 1)
	_, err = e.upload(ctx, b.Id, "cloud-fault", data, testPart, nil, "")
	wantErr(t, err, codes.Unavailable, "", "local")
	invisible("cloud-fault")

	// Bad requests.
	_, err = e.upload(ctx, b.Id, "", data[:10], 10, nil, "")
	wantErr(t, err, codes.InvalidArgument, "header.key", "")
	_, err = e.upload(ctx, "no-such-bucket", "k", data[:10], 10, nil, "")
	wantErr(t, err, codes.NotFound, "", "")
	st2, _ := e.obj.UploadObject(ctx)
	_ = st2.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: []byte("x")}})
	_, err = st2.CloseAndRecv()
	wantErr(t, err, codes.InvalidArgument, "header", "first message")

	list, err := e.obj.ListObjects(ctx, &canopyv1.ListObjectsRequest{Bucket: b.Id})
	if err != nil || len(list.Objects) != 0 {
		t.Errorf("after failed uploads the bucket lists %v (%v)", list.GetObjects(), err)
	}
}

func TestObjectListingAndCopy(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	b := e.bucket(t, "listing", "local")
	keys := []string{"a.txt", "docs/1.md", "docs/2.md", "docs/sub/3.md", "img/x.png", "z"}
	for _, k := range keys {
		if _, err := e.upload(ctx, b.Id, k, []byte("content of "+k), 100, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	token := ""
	for pages := 0; ; pages++ {
		resp, err := e.obj.ListObjects(ctx, &canopyv1.ListObjectsRequest{Bucket: b.Name, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range resp.Objects {
			all = append(all, o.Key)
		}
		if token = resp.NextPageToken; token == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(all) != fmt.Sprint(keys) {
		t.Errorf("paged listing = %v, want %v", all, keys)
	}
	resp, err := e.obj.ListObjects(ctx, &canopyv1.ListObjectsRequest{Bucket: b.Id, Delimiter: "/"})
	if err != nil || fmt.Sprint(resp.Prefixes) != "[docs/ img/]" || len(resp.Objects) != 2 {
		t.Errorf("delimited listing: prefixes %v, %d objects (%v)", resp.GetPrefixes(), len(resp.GetObjects()), err)
	}
	resp, err = e.obj.ListObjects(ctx, &canopyv1.ListObjectsRequest{Bucket: b.Id, Prefix: "docs/", Delimiter: "/"})
	if err != nil || fmt.Sprint(resp.Prefixes) != "[docs/sub/]" || len(resp.Objects) != 2 {
		t.Errorf("prefix listing: prefixes %v, %d objects (%v)", resp.GetPrefixes(), len(resp.GetObjects()), err)
	}

	// Copy within the cloud and to another cloud.
	data := randBytes(3*testPart+1, 3)
	if _, err := e.upload(ctx, b.Id, "big", data, 40000, func(h *canopyv1.ObjectUploadHeader) { h.Sha256 = sha(data) }, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.obj.CopyObject(ctx, &canopyv1.CopyObjectRequest{SourceBucket: b.Id, SourceKey: "big", DestinationBucket: b.Id, DestinationKey: "big-copy"}); err != nil {
		t.Fatalf("copy within a cloud: %v", err)
	}
	ob := e.bucket(t, "elsewhere", "other")
	cp, err := e.obj.CopyObject(ctx, &canopyv1.CopyObjectRequest{SourceBucket: b.Id, SourceKey: "big", DestinationBucket: ob.Id})
	if err != nil {
		t.Fatalf("copy across clouds: %v", err)
	}
	if cp.Location.GetCloud() != "other" || cp.Key != "big" || cp.Sha256 != sha(data) || cp.SizeBytes != int64(len(data)) {
		t.Errorf("copied = %+v", cp)
	}
	for _, where := range []struct{ bucket, key string }{{b.Id, "big-copy"}, {ob.Id, "big"}} {
		_, body, _, err := e.download(ctx, &canopyv1.DownloadObjectRequest{Bucket: where.bucket, Key: where.key})
		if err != nil || !bytes.Equal(body, data) {
			t.Errorf("copy %s/%s: %d bytes, %v", where.bucket, where.key, len(body), err)
		}
	}
	if e.sim("other").Calls("UploadPart") < 4 {
		t.Errorf("the copy across clouds went up in %d parts, want 4", e.sim("other").Calls("UploadPart"))
	}
}

func TestBuckets(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	b := e.bucket(t, "mine", "local")
	if b.Location.GetProject() != "default" || b.Status != canopyv1.Status_STATUS_ACTIVE || b.NativeId != "mine" {
		t.Errorf("bucket = %+v", b)
	}
	_, err := e.obj.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: "mine", Location: &canopyv1.Location{Cloud: "local"}})
	wantErr(t, err, codes.AlreadyExists, "", "local")
	_, err = e.obj.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: "Bad_Name", Location: &canopyv1.Location{Cloud: "local"}})
	wantErr(t, err, codes.InvalidArgument, "", "")
	_, err = e.obj.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: "x"})
	wantErr(t, err, codes.InvalidArgument, "location", "")
	byZone, err := e.obj.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: "zoned", Location: &canopyv1.Location{Zone: "other-1a"}})
	if err != nil || byZone.Location.GetCloud() != "other" || byZone.Location.GetRegion() != "other-1" {
		t.Errorf("zone-routed bucket = %+v, %v", byZone, err)
	}
	got, err := e.obj.GetBucket(ctx, &canopyv1.GetBucketRequest{Id: "mine"})
	if err != nil || got.Id != b.Id {
		t.Errorf("GetBucket by name = %v, %v", got, err)
	}
	list, err := e.obj.ListBuckets(ctx, &canopyv1.ListBucketsRequest{})
	if err != nil || len(list.Buckets) != 2 {
		t.Errorf("ListBuckets = %v, %v", list, err)
	}
	if _, err := e.upload(ctx, b.Id, "k", []byte("x"), 1, nil, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.obj.DeleteBucket(ctx, &canopyv1.DeleteBucketRequest{Id: b.Id})
	wantErr(t, err, codes.FailedPrecondition, "", "local")

	// Another project sees none of it.
	other := withToken(ctx, mintToken(t, e.srv, "elsewhere", auth.ScopeAdmin))
	for _, err := range []error{
		func() error { _, err := e.obj.GetBucket(other, &canopyv1.GetBucketRequest{Id: b.Id}); return err }(),
		func() error { _, err := e.obj.GetBucket(other, &canopyv1.GetBucketRequest{Id: "mine"}); return err }(),
		func() error {
			_, err := e.obj.GetObject(other, &canopyv1.GetObjectRequest{Bucket: b.Id, Key: "k"})
			return err
		}(),
		func() error {
			_, err := e.obj.DeleteObject(other, &canopyv1.DeleteObjectRequest{Bucket: b.Id, Key: "k"})
			return err
		}(),
		func() error {
			_, err := e.obj.CreateDownloadURL(other, &canopyv1.CreateDownloadURLRequest{Bucket: b.Id, Key: "k"})
			return err
		}(),
		func() error {
			_, _, _, err := e.download(other, &canopyv1.DownloadObjectRequest{Bucket: b.Id, Key: "k"})
			return err
		}(),
	} {
		wantErr(t, err, codes.NotFound, "", "")
	}
	if l, err := e.obj.ListBuckets(other, &canopyv1.ListBucketsRequest{}); err != nil || len(l.Buckets) != 0 {
		t.Errorf("another project lists %v (%v)", l.GetBuckets(), err)
	}

	if _, err := e.obj.DeleteObject(ctx, &canopyv1.DeleteObjectRequest{Bucket: b.Id, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.obj.DeleteBucket(ctx, &canopyv1.DeleteBucketRequest{Id: b.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = e.obj.GetBucket(ctx, &canopyv1.GetBucketRequest{Id: b.Id})
	wantErr(t, err, codes.NotFound, "", "")

	// A cloud without objects says which capability it lacks.
	e2 := newEnv(t, `
clouds:
  - name: plain
    kind: test-nocompute
`)
	cc, _ := grpc.NewClient(e2.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(e2.token)))
	defer cc.Close()
	_, err = canopyv1.NewObjectServiceClient(cc).CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: "abc"})
	wantErr(t, err, codes.FailedPrecondition, "", "plain", "objects")
}

func httpDo(t *testing.T, method, url string, body io.Reader, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Content-Length" {
			fmt.Sscan(v, &req.ContentLength)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestPresignedURLs(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	b := e.bucket(t, "signed", "local")
	data := randBytes(2*testPart+5, 4)

	up, err := e.obj.CreateUploadURL(ctx, &canopyv1.CreateUploadURLRequest{Bucket: b.Id, Key: "via/url", ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	if up.Method != "PUT" || up.Cloud != "local" || up.Headers["Content-Type"] != "text/plain" || time.Until(up.ExpireTime.AsTime()) < 14*time.Minute {
		t.Errorf("upload URL = %+v", up)
	}
	if !strings.HasPrefix(up.Url, e.rest+"/signed/local/signed/via/url?") {
		t.Errorf("upload URL %s is not served by canopyd", up.Url)
	}
	// No bearer token: the signature is the authorization.
	if resp, body := httpDo(t, "PUT", up.Url, bytes.NewReader(data), map[string]string{"Content-Type": "application/json"}); resp.StatusCode != 403 {
		t.Errorf("PUT with another content type than signed: %d %s", resp.StatusCode, body)
	}
	if resp, body := httpDo(t, "PUT", up.Url, bytes.NewReader(data), up.Headers); resp.StatusCode != 200 {
		t.Fatalf("PUT to signed URL: %d %s", resp.StatusCode, body)
	}
	head, err := e.obj.GetObject(ctx, &canopyv1.GetObjectRequest{Bucket: b.Id, Key: "via/url"})
	if err != nil || head.SizeBytes != int64(len(data)) || head.ContentType != "text/plain" || head.Parts != 3 {
		t.Errorf("object put through the URL: %+v, %v", head, err)
	}
	// The upload URL does not download.
	if resp, _ := httpDo(t, "GET", up.Url, nil, nil); resp.StatusCode != 403 {
		t.Errorf("GET with an upload URL: %d", resp.StatusCode)
	}

	down, err := e.obj.CreateDownloadURL(ctx, &canopyv1.CreateDownloadURLRequest{Bucket: b.Id, Key: "via/url", Ttl: durationpb.New(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := httpDo(t, "GET", down.Url, nil, nil); resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET signed URL: %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp, body := httpDo(t, "GET", down.Url, nil, map[string]string{"Range": "bytes=10-19"}); resp.StatusCode != 206 || !bytes.Equal(body, data[10:20]) {
		t.Errorf("ranged GET of signed URL: %d %q", resp.StatusCode, body)
	}
	// Tampered: another key, another expiry, another signature.
	for _, bad := range []string{
		strings.Replace(down.Url, "via/url", "via/other", 1),
		strings.Replace(down.Url, "expires=", "expires=9", 1),
		down.Url[:len(down.Url)-2] + otherHex(down.Url[len(down.Url)-2:]),
		strings.Replace(down.Url, "/signed/local/", "/signed/other/", 1),
	} {
		if resp, body := httpDo(t, "GET", bad, nil, nil); resp.StatusCode != 403 && resp.StatusCode != 404 {
			t.Errorf("tampered URL %s: %d %s", bad, resp.StatusCode, body)
		}
	}
	// Expired.
	short, err := e.obj.CreateDownloadURL(ctx, &canopyv1.CreateDownloadURLRequest{Bucket: b.Id, Key: "via/url", Ttl: durationpb.New(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(short.ExpireTime.AsTime()) + 1100*time.Millisecond)
	if resp, body := httpDo(t, "GET", short.Url, nil, nil); resp.StatusCode != 403 || !strings.Contains(string(body), "expired") {
		t.Errorf("expired URL: %d %s", resp.StatusCode, body)
	}

	_, err = e.obj.CreateDownloadURL(ctx, &canopyv1.CreateDownloadURLRequest{Bucket: b.Id, Key: "k", Ttl: durationpb.New(8 * 24 * time.Hour)})
	wantErr(t, err, codes.InvalidArgument, "ttl", "")
	// A cloud that cannot sign says so, naming itself and the capability.
	nb := e.bucket(t, "unsigned", "nosign")
	_, err = e.obj.CreateUploadURL(ctx, &canopyv1.CreateUploadURLRequest{Bucket: nb.Id, Key: "k"})
	wantErr(t, err, codes.FailedPrecondition, "", "nosign", "presigned-urls")
}

func TestObjectREST(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	b := e.bucket(t, "rest", "local")
	data := randBytes(3*testPart+77, 5)
	au := map[string]string{"Authorization": "Bearer " + e.token, "Content-Type": "application/x-rest", headerSHA256: sha(data), "X-Canopy-Meta-Color": "blue"}
	url := e.rest + "/v1/buckets/" + b.Id + "/objects/some/deep%20key.bin"
	resp, body := httpDo(t, "PUT", url, bytes.NewReader(data), au)
	if resp.StatusCode != 200 || !strings.Contains(string(body), sha(data)) {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	head, err := e.obj.GetObject(ctx, &canopyv1.GetObjectRequest{Bucket: b.Id, Key: "some/deep key.bin"})
	if err != nil || head.Metadata["color"] != "blue" || head.Sha256 != sha(data) || head.ContentType != "application/x-rest" {
		t.Errorf("object put over REST: %+v %v", head, err)
	}
	// Metadata through the gateway, bytes with alt=media.
	if resp, body := httpDo(t, "GET", url, nil, au); resp.StatusCode != 200 || !strings.Contains(string(body), `"size_bytes":"196685"`) {
		t.Errorf("GET metadata: %d %s", resp.StatusCode, body)
	}
	// The listing is the gateway's ListObjects, not a redirect to an empty key.
	if resp, body := httpDo(t, "GET", e.rest+"/v1/buckets/"+b.Id+"/objects?prefix=some/", nil, au); resp.StatusCode != 200 || !strings.Contains(string(body), `"key":"some/deep key.bin"`) {
		t.Errorf("GET listing: %d %s", resp.StatusCode, body)
	}
	resp, body = httpDo(t, "GET", url+"?alt=media", nil, au)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get(headerSHA256) != sha(data) {
		t.Errorf("GET bytes: %d, %d bytes", resp.StatusCode, len(body))
	}
	for rng, want := range map[string][]byte{"bytes=100-199": data[100:200], "bytes=196600-": data[196600:], "bytes=-10": data[len(data)-10:]} {
		h := map[string]string{"Authorization": au["Authorization"], "Range": rng}
		resp, body := httpDo(t, "GET", url+"?alt=media", nil, h)
		if resp.StatusCode != 206 || !bytes.Equal(body, want) {
			t.Errorf("Range %s: %d, %d bytes (want %d)", rng, resp.StatusCode, len(body), len(want))
		}
	}
	// Same auth as gRPC: no token, read-only upload, another project.
	if resp, _ := httpDo(t, "GET", url+"?alt=media", nil, nil); resp.StatusCode != 401 {
		t.Errorf("GET without a token: %d", resp.StatusCode)
	}
	ro := map[string]string{"Authorization": "Bearer " + mintToken(t, e.srv, "default", auth.ScopeRead)}
	if resp, _ := httpDo(t, "PUT", url, strings.NewReader("x"), ro); resp.StatusCode != 403 {
		t.Errorf("PUT with a read-only token: %d", resp.StatusCode)
	}
	other := map[string]string{"Authorization": "Bearer " + mintToken(t, e.srv, "elsewhere", auth.ScopeAdmin)}
	for _, m := range []string{"GET", "PUT"} {
		u := url
		if m == "GET" {
			u += "?alt=media"
		}
		if resp, _ := httpDo(t, m, u, strings.NewReader("x"), other); resp.StatusCode != 404 {
			t.Errorf("%s by another project: %d", m, resp.StatusCode)
		}
	}
	// A wrong hash stores nothing.
	bad := map[string]string{"Authorization": au["Authorization"], headerSHA256: sha(data[1:])}
	if resp, body := httpDo(t, "PUT", e.rest+"/v1/buckets/rest/objects/corrupt", bytes.NewReader(data), bad); resp.StatusCode != 500 || !strings.Contains(string(body), "sha256") {
		t.Errorf("PUT with a wrong hash: %d %s", resp.StatusCode, body)
	}
	_, err = e.obj.GetObject(ctx, &canopyv1.GetObjectRequest{Bucket: b.Id, Key: "corrupt"})
	wantErr(t, err, codes.NotFound, "", "")
}

func TestImageTransfer(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	data := randBytes(300000, 6)
	st, err := e.img.UploadImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(data))
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: &canopyv1.ImageUploadHeader{
		Name: "my-image", Location: &canopyv1.Location{Cloud: "local"}, DiskFormat: "qcow2", SizeBytes: &n, Sha256: sha(data)}}})
	for off := 0; off < len(data); off += 65536 {
		_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: data[off:min(off+65536, len(data))]}})
	}
	im, err := st.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if im.Name != "my-image" || im.SizeBytes != n || im.DiskFormat != "qcow2" || im.ContainerFormat != "bare" || im.Id == "" {
		t.Errorf("uploaded image = %+v", im)
	}
	got, err := e.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: im.Id})
	if err != nil || got.Name != "my-image" {
		t.Errorf("GetImage after upload = %v, %v", got, err)
	}
	ds, err := e.img.DownloadImage(ctx, &canopyv1.DownloadImageRequest{Id: im.Id})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	sum := ""
	for {
		msg, err := ds.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(msg.GetChunk())
		if s := msg.GetSha256(); s != "" {
			sum = s
		}
	}
	if !bytes.Equal(buf.Bytes(), data) || sum != sha(data) {
		t.Errorf("downloaded %d bytes, sum %s", buf.Len(), sum)
	}
	// REST, both ways.
	h := map[string]string{"Authorization": "Bearer " + e.token}
	resp, body := httpDo(t, "POST", e.rest+"/v1/images:upload?name=rest-image&disk_format=raw&location.cloud=local", bytes.NewReader(data[:1000]), h)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"disk_format":"raw"`) {
		t.Fatalf("REST image upload: %d %s", resp.StatusCode, body)
	}
	resp, body = httpDo(t, "GET", e.rest+"/v1/images/rest-image/file", nil, h)
	if resp.StatusCode != 200 || !bytes.Equal(body, data[:1000]) {
		t.Errorf("REST image download: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = httpDo(t, "POST", e.rest+"/v1/images:upload?name=x&disk_format=floppy&location.cloud=local", strings.NewReader("x"), h)
	if resp.StatusCode != 400 {
		t.Errorf("unknown disk format: %d", resp.StatusCode)
	}
	// A catalogue image has no bytes in the simulator.
	_, err = func() (*canopyv1.DownloadImageResponse, error) {
		l, err := e.compute.ListImages(ctx, &canopyv1.ListImagesRequest{Location: &canopyv1.Location{Cloud: "local"}, Name: "cirros-0.6.2"})
		if err != nil || len(l.Images) != 1 {
			t.Fatalf("cirros: %v %v", l, err)
		}
		ds, err := e.img.DownloadImage(ctx, &canopyv1.DownloadImageRequest{Id: l.Images[0].Id})
		if err != nil {
			return nil, err
		}
		return ds.Recv()
	}()
	wantErr(t, err, codes.FailedPrecondition, "", "local")
}

// Bytes that rot in the cloud are caught on the way out: the recorded
// sha256 (and the cloud's md5) do not match, and the download fails
// instead of handing over a wrong object.
func TestObjectCorruptionDetected(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	b := e.bucket(t, "rot", "local")
	data := randBytes(3*testPart+9, 7)
	if _, err := e.upload(ctx, b.Id, "multi", data, 65536, func(h *canopyv1.ObjectUploadHeader) { h.Sha256 = sha(data) }, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.upload(ctx, b.Id, "single", data[:1000], 1000, nil, ""); err != nil { // no sha256: the md5 checks it
		t.Fatal(err)
	}
	for _, k := range []string{"multi", "single"} {
		if err := e.sim("local").CorruptObject("rot", k); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := e.download(ctx, &canopyv1.DownloadObjectRequest{Bucket: b.Id, Key: k})
		wantErr(t, err, codes.DataLoss, "", "local", k)
	}
	// Over REST the body is cut: the client sees a broken transfer.
	req, _ := http.NewRequestWithContext(ctx, "GET", e.rest+"/v1/buckets/rot/objects/multi?alt=media", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("REST download of a corrupt object read to the end without error")
		}
	}
	// A range cannot be checked against the whole-object digests: served.
	n := int64(10)
	if _, body, _, err := e.download(ctx, &canopyv1.DownloadObjectRequest{Bucket: b.Id, Key: "multi", Offset: 5, Length: &n}); err != nil || !bytes.Equal(body, data[5:15]) {
		t.Errorf("range of a corrupt object (intact part): %v", err)
	}
}

// otherHex is two hex digits that differ from s (a tampered signature that
// is really another: "00" would not be when the signature ends in 00, one
// run in 256).
func otherHex(s string) string {
	if s == "00" {
		return "11"
	}
	return "00"
}
