package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// Uploads of objects: the gRPC stream and (through restTransfer) REST
// bodies, with bounded memory and every byte checked.

// chunkPool recycles upload chunks: the copies of chunks read into a reused
// buffer (REST bodies, copies across clouds) and the chunks the gRPC codec
// decodes into, so an upload does not make a megabyte of garbage per chunk.
// The server makes one and hands it to the codec and the object service.
type chunkPool struct{ p sync.Pool }

func newChunkPool() *chunkPool {
	return &chunkPool{p: sync.Pool{New: func() any { b := make([]byte, 0, chunkSize); return &b }}}
}

// get returns a chunk buffer of capacity chunkSize or more, length 0.
func (c *chunkPool) get() []byte { return (*(c.p.Get().(*[]byte)))[:0] }

// put takes a chunk back.
func (c *chunkPool) put(b []byte) { c.p.Put(&b) }

// buf returns an n-byte buffer, from the pool when one is big enough.
func (c *chunkPool) buf(n int) []byte {
	if n <= chunkSize {
		if b := c.get(); cap(b) >= n {
			return b[:n]
		}
	}
	return make([]byte, n)
}

// uploadSpec is an upload's header, whichever way it arrived.
type uploadSpec struct {
	key, contentType string
	metadata         map[string]string
	size             int64 // -1: unknown
	sha256           string
	partSize         int64
}

func checkSHA256(field, v string) error {
	if v == "" {
		return nil
	}
	if b, err := hex.DecodeString(v); err != nil || len(b) != sha256.Size {
		return router.BadRequest(field, "want 64 hex digits of a sha256")
	}
	return nil
}

// putObject streams chunks from next into a new object. next returns
// io.EOF at the end; trailer, when set, returns a sha256 the client sent
// at the end. Memory is one chunk here plus the adapter's parts in flight.
// Any failure aborts the upload: no object becomes visible.
//
// owned says whether next hands over each slice (gRPC messages: this
// function recycles them into chunkPool when written) or reuses one buffer
// (which is then copied into a chunkPool buffer).
func (s *objectService) putObject(ctx context.Context, cl *router.Cloud, o *cache.Objects, m store.Mapping, spec uploadSpec,
	next func() ([]byte, error), owned bool, trailer func() string) (*canopyv1.Object, error) {
	if err := checkKey("key", spec.key); err != nil {
		return nil, err
	}
	if err := checkSHA256("sha256", spec.sha256); err != nil {
		return nil, err
	}
	if spec.partSize < 0 {
		return nil, router.BadRequest("part_size_bytes", "must not be negative")
	}
	if spec.contentType == "" {
		spec.contentType = defaultType
	}
	w, err := o.NewWriter(ctx, m.NativeID, spec.key, providers.WriteOptions{
		ContentType: spec.contentType, Metadata: spec.metadata, SHA256: strings.ToLower(spec.sha256), Size: spec.size, PartSize: spec.partSize,
	})
	if err != nil {
		return nil, router.CloudErr(cl.Name, "upload "+spec.key, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = w.Abort()
		}
	}()
	// Two stages: this goroutine receives, a second one hashes and writes
	// to the cloud, so the two overlap. At most a few chunks wait between.
	h := sha256.New()
	chunks := make(chan []byte, 1)
	werrc := make(chan error, 1)
	go func() {
		var werr error
		for c := range chunks {
			if werr == nil {
				h.Write(c)
				if _, err := w.Write(c); err != nil {
					werr = router.CloudErr(cl.Name, "upload "+spec.key, err)
				}
			}
			// Writers copy what they are given: the chunk (a copy made
			// below, or a buffer rawCodec decoded into) goes back.
			s.chunks.put(c)
		}
		werrc <- werr
	}()
	var n int64
	var rerr error
	for {
		chunk, err := next()
		if len(chunk) > 0 {
			n += int64(len(chunk))
			if spec.size >= 0 && n > spec.size {
				rerr = router.BadRequest("size_bytes", "the stream holds more than the %d bytes announced", spec.size)
				break
			}
			if !owned {
				chunk = append(s.chunks.get(), chunk...)
			}
			select {
			case chunks <- chunk:
			case werr := <-werrc:
				werrc <- werr
				rerr = werr
			}
			if rerr != nil {
				break
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(chunks)
	if werr := <-werrc; rerr == nil {
		rerr = werr
	}
	if rerr != nil {
		return nil, rerr
	}
	if spec.size >= 0 && n != spec.size {
		return nil, router.BadRequest("size_bytes", "the stream ended after %d of the %d bytes announced: nothing was stored", n, spec.size)
	}
	got := hex.EncodeToString(h.Sum(nil))
	late := trailerOf(trailer)
	if err := checkSHA256("sha256", late); err != nil {
		return nil, err
	}
	for _, want := range []string{spec.sha256, late} {
		if want != "" && !strings.EqualFold(want, got) {
			return nil, status.Errorf(codes.DataLoss, "sha256 of the %d bytes received is %s, the client said %s: nothing was stored", n, got, want)
		}
	}
	var ob providers.Object
	if lc, ok := w.(providers.SHA256Committer); ok && spec.sha256 == "" && late != "" {
		ob, err = lc.CommitWithSHA256(got) // the client's, checked: stored as a header's would be
	} else {
		ob, err = w.Commit()
	}
	committed = true
	if err != nil {
		return nil, router.CloudErr(cl.Name, "commit "+spec.key, err)
	}
	if ob.Size != n {
		_ = o.DeleteObject(context.WithoutCancel(ctx), m.NativeID, spec.key)
		return nil, status.Errorf(codes.DataLoss, "cloud %q stored %d bytes of the %d sent: deleted it", cl.Name, ob.Size, n)
	}
	ob.SHA256 = got
	return objectPB(cl, m, bucketRegion(cl), ob), nil
}

func trailerOf(f func() string) string {
	if f == nil {
		return ""
	}
	return f()
}

// UploadObject implements canopyv1.ObjectServiceServer.
func (s *objectService) UploadObject(stream canopyv1.ObjectService_UploadObjectServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	hdr := first.GetHeader()
	if hdr == nil {
		return router.BadRequest("header", "the first message must carry the header")
	}
	spec := uploadSpec{key: hdr.GetKey(), contentType: hdr.GetContentType(), metadata: hdr.GetMetadata(), size: -1, sha256: hdr.GetSha256(), partSize: hdr.GetPartSizeBytes()}
	if hdr.SizeBytes != nil {
		if spec.size = hdr.GetSizeBytes(); spec.size < 0 {
			return router.BadRequest("header.size_bytes", "must not be negative")
		}
	}
	if err := checkKey("header.key", spec.key); err != nil {
		return err
	}
	cl, o, m, err := s.bucketOf(ctx, "header.bucket", hdr.GetBucket())
	if err != nil {
		return err
	}
	trailer := first.GetSha256()
	next := func() ([]byte, error) {
		msg, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, status.Errorf(status.Code(err), "upload broke off: %v: nothing was stored", err)
		}
		if msg.GetHeader() != nil {
			return nil, router.BadRequest("header", "only the first message carries a header")
		}
		if v := msg.GetSha256(); v != "" {
			if err := checkSHA256("sha256", v); err != nil {
				return nil, err
			}
			trailer = v
		}
		return msg.GetChunk(), nil
	}
	ob, err := s.putObject(ctx, cl, o, m, spec, next, true, func() string { return trailer })
	audit(ctx, s.log, "/canopy.v1.ObjectService/UploadObject", nil, nil, err)
	if err != nil {
		return err
	}
	return stream.SendAndClose(ob)
}
