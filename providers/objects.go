package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// KindBucket names buckets (containers on Swift) in the id map. Objects have
// no canopy id of their own: they are addressed by bucket id and key.
const KindBucket = "bucket"

// ErrIntegrity means bytes did not arrive as they were sent: a checksum the
// cloud or canopy computed does not match. It maps to DATA_LOSS.
var ErrIntegrity = errors.New("integrity check failed")

// Bucket is an object container (S3 bucket, Swift container). Its NativeID
// is its name in the cloud.
type Bucket struct {
	Common
	// Objects and Bytes are the cloud's counts where it keeps them (Swift);
	// -1 when unknown (S3).
	Objects int64
	Bytes   int64
}

// Object is what a head or a list says about one object.
type Object struct {
	Key         string
	Size        int64
	ContentType string
	Modified    time.Time
	// ETag is the cloud's entity tag, unquoted (S3: the md5 of a one-part
	// object, md5-of-md5s "-N" of a multipart one; Swift: likewise for SLO).
	ETag string
	// MD5 is the hex md5 of the whole content when the cloud states it
	// (a one-part ETag); empty otherwise.
	MD5 string
	// SHA256 is the hex sha256 of the content canopy recorded at upload
	// (object metadata); empty for objects uploaded without canopy.
	SHA256 string
	// Parts is how many parts the object was uploaded in (0: unknown).
	Parts int
	// Metadata is the user metadata (without canopy's own keys).
	Metadata map[string]string
}

// ListObjectsOptions narrow and page a listing.
type ListObjectsOptions struct {
	Prefix    string
	Delimiter string
	// PageToken continues a listing (the cloud's own marker); PageSize 0
	// lets the adapter choose.
	PageToken string
	PageSize  int
}

// ObjectPage is one page of a listing: objects, and with a delimiter the
// common prefixes ("directories") that stand for the objects below them.
type ObjectPage struct {
	Objects   []Object
	Prefixes  []string
	NextToken string
}

// WriteOptions describe an object being written.
type WriteOptions struct {
	ContentType string
	Metadata    map[string]string
	// SHA256 (hex), when the writer knows it up front, is stored with the
	// object; canopy verifies it against the bytes before the commit.
	SHA256 string
	// Size is the length if known, -1 otherwise. Adapters use it only as a
	// hint (one request for a small object).
	Size int64
	// PartSize overrides the adapter's part size (0: its default).
	PartSize int64
	// Gate, when set, is called before every request the writer makes to
	// the cloud (each part): canopy's rate limiter.
	Gate func(context.Context) error
}

// ObjectWriter streams one object into the cloud. Nothing is visible until
// Commit succeeds; Abort (or an ended context) leaves no object and frees
// what the cloud holds (multipart parts, segments). Adapters buffer at most
// a few parts: memory never grows with the object.
type ObjectWriter interface {
	io.Writer
	// Commit completes the upload and returns the object as the cloud
	// now has it. The adapter checks the cloud's checksum (ETag) against
	// the bytes it sent and aborts with ErrIntegrity on a mismatch.
	Commit() (Object, error)
	// Abort cancels the upload; it is safe after Commit (then a no-op).
	Abort() error
}

// SHA256Committer is an ObjectWriter that can store a sha256 learnt only
// once every byte has been sent — a client that hashes while it uploads
// sends it with its last chunk — as WriteOptions.SHA256 is stored, so that
// downloads are checked against it alike. Adapters whose metadata goes to
// the cloud with the commit implement it (the sim, Swift); S3's leaves with
// the first request of the upload.
type SHA256Committer interface {
	// CommitWithSHA256 is Commit, storing sha256 (hex) with the object.
	CommitWithSHA256(sha256 string) (Object, error)
}

// Objects is buckets and objects: S3, Swift, the simulator.
type Objects interface {
	ListBuckets(ctx context.Context) ([]Bucket, error)
	GetBucket(ctx context.Context, name string) (Bucket, error)
	// CreateBucket makes a bucket in region ("" the default one); a name
	// taken is ErrAlreadyExists.
	CreateBucket(ctx context.Context, name, region string, labels map[string]string) (Bucket, error)
	// DeleteBucket deletes an empty bucket; a non-empty one is ErrConflict.
	DeleteBucket(ctx context.Context, name string) error

	ListObjects(ctx context.Context, bucket string, opts ListObjectsOptions) (ObjectPage, error)
	HeadObject(ctx context.Context, bucket, key string) (Object, error)
	DeleteObject(ctx context.Context, bucket, key string) error
	// CopyObject copies within the cloud (server side).
	CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string) (Object, error)
	// NewWriter starts an upload.
	NewWriter(ctx context.Context, bucket, key string, opts WriteOptions) (ObjectWriter, error)
	// NewRangeReader reads length bytes from offset (length < 0: to the
	// end). The Object is the head of what is being read.
	NewRangeReader(ctx context.Context, bucket, key string, offset, length int64) (io.ReadCloser, Object, error)
}

// SignOptions ask for a presigned URL.
type SignOptions struct {
	// Method is http.MethodGet or http.MethodPut.
	Method string
	// Expiry is how long the URL stays valid.
	Expiry time.Duration
	// ContentType a PUT must send (signed where the cloud can).
	ContentType string
	// BaseURL is where canopyd serves URLs that an adapter signs for
	// itself (the simulator): canopyd's REST address plus a path prefix.
	BaseURL string
}

// SignedURL is a presigned request: anyone holding it can do Method on the
// object until Expires, sending Headers, without canopy in the path.
type SignedURL struct {
	URL     string
	Method  string
	Expires time.Time
	Headers map[string]string
}

// URLSigner is implemented by clouds that can presign object requests (S3
// presign, Swift TempURL, the simulator's HMAC URLs).
type URLSigner interface {
	SignURL(ctx context.Context, bucket, key string, opts SignOptions) (SignedURL, error)
}

// SignedURLServer is implemented by adapters whose signed URLs canopyd
// serves itself (the simulator): requests under SignOptions.BaseURL are
// handed to it; it checks the signature and the expiry.
type SignedURLServer interface {
	ServeSignedURL(w http.ResponseWriter, r *http.Request, path string)
}

// ImageSpec describes an image being uploaded.
type ImageSpec struct {
	Name            string
	DiskFormat      string
	ContainerFormat string
	MinDiskGiB      int64
	MinRAMMiB       int64
	Labels          map[string]string
	SHA256          string
	Size            int64
	// Project and Visibility are the uploader's project and the image's
	// visibility, for clouds that keep them beside the bytes (an AWS
	// container image's S3 record). canopy's store is the authority on
	// both; the cloud's copy tells an operator browsing the bucket.
	Project    string
	Visibility string
}

// ImageWriter streams an image's bytes; Commit returns the image (which may
// still be PENDING where the cloud processes it asynchronously). Abort, or
// a Commit that fails, leaves no image; Abort after Commit is a no-op.
type ImageWriter interface {
	io.Writer
	Commit() (Image, error)
	Abort() error
}

// ImageTransfer is uploading and downloading image data (Glance, the
// simulator).
type ImageTransfer interface {
	// NewImageWriter starts an upload; a spec the cloud cannot take (an
	// unknown disk or container format) is ErrInvalid.
	NewImageWriter(ctx context.Context, spec ImageSpec) (ImageWriter, error)
	// NewImageReader reads an image's bytes; the Image says its size and
	// formats. A missing image is ErrNotFound; an image without data (a
	// record whose upload never happened) is ErrConflict.
	NewImageReader(ctx context.Context, id string) (io.ReadCloser, Image, error)
}

// ImageDeleter deletes images (Glance, EC2, the simulator): the image
// record and what holds its data (Glance's stored bytes; an AMI's EBS
// snapshots). A missing image is ErrNotFound, so a caller can tell a
// repeated delete from a first one; an image the cloud will not let go
// (protected, in use where the cloud forbids that) is ErrConflict.
type ImageDeleter interface {
	DeleteImage(ctx context.Context, id string) error
}
