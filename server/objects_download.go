package server

import (
	"context"
	"crypto/md5" //nolint:gosec // clouds' ETags are md5
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
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

// download is a read in progress: the bytes, what the cloud said of the
// object, and the checks to make at the end.
type download struct {
	ctx    context.Context // the request's
	r      io.ReadCloser
	obj    providers.Object
	offset int64
	length int64 // bytes to send
	whole  bool
	sha    hash.Hash
	md5    hash.Hash
}

// openDownload opens a range of an object (length < 0: to the end).
func (s *objectService) openDownload(ctx context.Context, cl *router.Cloud, o *cache.Objects, m store.Mapping, key string, offset, length int64) (*download, error) {
	if offset < 0 {
		return nil, router.BadRequest("offset", "must not be negative")
	}
	r, ob, err := o.NewRangeReader(ctx, m.NativeID, key, offset, length)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "read object "+key, err)
	}
	if offset > ob.Size {
		r.Close()
		return nil, router.BadRequest("offset", "%d is past the end of the %d-byte object", offset, ob.Size)
	}
	n := ob.Size - offset
	if length >= 0 && length < n {
		n = length
	}
	d := &download{ctx: ctx, r: r, obj: ob, offset: offset, length: n, whole: offset == 0 && n == ob.Size}
	// Hashing costs CPU at every byte (sha256 ~1 ns, md5 ~2 ns here): canopy
	// checks one digest of the source, the sha256 recorded at upload, else
	// the cloud's md5 (one-part objects).
	switch {
	case d.whole && ob.SHA256 != "":
		d.sha = sha256.New()
	case d.whole && ob.MD5 != "":
		d.md5 = md5.New() //nolint:gosec
	}
	return d, nil
}

// pump reads the download in chunks and hands each to send, which is done
// with the chunk when it returns (an HTTP body).
func (d *download) pump(cloud string, send func([]byte) error) (string, error) {
	return d.pumpOwned(cloud, func(b []byte, release func()) error {
		defer release()
		return send(b)
	})
}

// pumpOwned reads the download in chunks and hands each to send, which
// owns the chunk until it calls release (once, from any goroutine): gRPC
// releases a chunk only when its transport has written it (rawcodec.go),
// so no copy is made on the way to the socket. One goroutine reads and
// sends in turn: the sockets' buffers already let the cloud send while the
// client receives, and a hand-off between goroutines per chunk cost more
// (scheduler wake-ups) than it overlapped. Memory is inFlight chunks.
//
// The last chunk is held back until the digests of a whole object are
// checked (the recorded sha256, else the cloud's md5; a mismatch is
// DATA_LOSS), so a client of a corrupt object never receives every byte:
// over plain HTTP, a body cut short is the only way to say "wrong".
func (d *download) pumpOwned(cloud string, send func(b []byte, release func()) error) (string, error) {
	defer d.r.Close()
	const inFlight = 4
	// free has room for every chunk, so a release never blocks.
	free := make(chan []byte, inFlight)
	for range inFlight {
		free <- make([]byte, chunkSize)
	}
	releaser := func(b []byte) func() {
		var once sync.Once
		return func() { once.Do(func() { free <- b[:cap(b)] }) }
	}
	var held []byte
	var read int64
	for read < d.length {
		var buf []byte
		select {
		case buf = <-free:
		case <-d.ctx.Done():
			return "", status.FromContextError(d.ctx.Err()).Err()
		}
		n, err := d.fill(cloud, buf, read)
		read += int64(n)
		if err != nil {
			return "", err
		}
		if held != nil {
			if err := send(held, releaser(held)); err != nil {
				return "", err
			}
		}
		held = buf[:n]
	}
	return d.finish(cloud, func() error {
		if len(held) == 0 {
			return nil
		}
		return send(held, releaser(held))
	})
}

// fill reads the next chunk into buf (read bytes came before it) and hashes
// it; a cloud that ends early is DATA_LOSS naming it.
func (d *download) fill(cloud string, buf []byte, read int64) (int, error) {
	want := min(int64(len(buf)), d.length-read)
	n, err := io.ReadFull(d.r, buf[:want])
	if n > 0 {
		if d.sha != nil {
			d.sha.Write(buf[:n])
		}
		if d.md5 != nil {
			d.md5.Write(buf[:n])
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, status.Errorf(codes.DataLoss, "cloud %q sent %d of the %d bytes of %q", cloud, read+int64(n), d.length, d.obj.Key)
		}
		return n, router.CloudErr(cloud, "read object "+d.obj.Key, err)
	}
	return n, nil
}

// finish checks the digests of a whole object, then sends the chunk held
// back; it returns the sha256 checked ("" when none was recorded).
func (d *download) finish(cloud string, sendLast func() error) (string, error) {
	got := ""
	if d.sha != nil {
		got = hex.EncodeToString(d.sha.Sum(nil))
		if !strings.EqualFold(d.obj.SHA256, got) {
			return "", status.Errorf(codes.DataLoss, "object %q in cloud %q: sha256 of the bytes read is %s, recorded at upload %s", d.obj.Key, cloud, got, d.obj.SHA256)
		}
	}
	if d.md5 != nil {
		if m := hex.EncodeToString(d.md5.Sum(nil)); !strings.EqualFold(m, d.obj.MD5) {
			return "", status.Errorf(codes.DataLoss, "object %q in cloud %q: md5 of the bytes read is %s, the cloud's is %s", d.obj.Key, cloud, m, d.obj.MD5)
		}
	}
	if err := sendLast(); err != nil {
		return "", err
	}
	return got, nil
}

// DownloadObject implements canopyv1.ObjectServiceServer.
func (s *objectService) DownloadObject(req *canopyv1.DownloadObjectRequest, stream canopyv1.ObjectService_DownloadObjectServer) error {
	ctx := stream.Context()
	if err := checkKey("key", req.GetKey()); err != nil {
		return err
	}
	length := int64(-1)
	if req.Length != nil {
		if length = req.GetLength(); length < 0 {
			return router.BadRequest("length", "must not be negative")
		}
	}
	cl, o, m, err := s.bucketOf(ctx, "bucket", req.GetBucket())
	if err != nil {
		return err
	}
	d, err := s.openDownload(ctx, cl, o, m, req.GetKey(), req.GetOffset(), length)
	if err != nil {
		return err
	}
	if err := stream.Send(&canopyv1.DownloadObjectResponse{Data: &canopyv1.DownloadObjectResponse_Object{Object: objectPB(cl, m, bucketRegion(cl), d.obj)}}); err != nil {
		d.r.Close()
		return err
	}
	// The chunks go out as raw chunk fields (rawcodec.go): the gRPC
	// transport writes them from pump's buffers, without a marshalled copy.
	sum, err := d.pumpOwned(cl.Name, func(b []byte, release func()) error {
		return stream.SendMsg(&rawBytesField{field: downloadChunkField, data: b, release: release})
	})
	if err != nil || sum == "" {
		return err
	}
	return stream.Send(&canopyv1.DownloadObjectResponse{Data: &canopyv1.DownloadObjectResponse_Sha256{Sha256: sum}})
}
