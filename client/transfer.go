package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// ChunkSize is how many bytes each streamed message carries.
const ChunkSize = 1 << 20

// UploadObject streams r into the object hdr names (UploadObject): the
// header, then r in ChunkSize chunks, then the sha256 of what was sent
// (unless hdr carries one), which canopyd checks before it commits.
func (c *Client) UploadObject(ctx context.Context, hdr *canopyv1.ObjectUploadHeader, r io.Reader) (*canopyv1.Object, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Objects.UploadObject(ctx)
	if err != nil {
		return nil, err
	}
	send := func(m *canopyv1.UploadObjectRequest) error {
		if err := st.Send(m); err != nil {
			// The server's reason is in CloseAndRecv; Send only says EOF.
			_, rerr := st.CloseAndRecv()
			if rerr != nil {
				return rerr
			}
			return err
		}
		return nil
	}
	if err := send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Header{Header: hdr}}); err != nil {
		return nil, err
	}
	h := sha256.New()
	buf := make([]byte, ChunkSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			if err := send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				return nil, err
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	if hdr.GetSha256() == "" {
		if err := send(&canopyv1.UploadObjectRequest{Sha256: hex.EncodeToString(h.Sum(nil))}); err != nil {
			return nil, err
		}
	}
	return st.CloseAndRecv()
}

// DownloadObject streams the object req names into w and returns its
// metadata. When canopyd sends the digest (an object whose sha256 was
// recorded at upload) the bytes written are checked against it.
func (c *Client) DownloadObject(ctx context.Context, req *canopyv1.DownloadObjectRequest, w io.Writer) (*canopyv1.Object, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Objects.DownloadObject(ctx, req)
	if err != nil {
		return nil, err
	}
	var obj *canopyv1.Object
	h := sha256.New()
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return obj, nil
		}
		if err != nil {
			return obj, err
		}
		switch d := msg.GetData().(type) {
		case *canopyv1.DownloadObjectResponse_Object:
			obj = d.Object
		case *canopyv1.DownloadObjectResponse_Chunk:
			h.Write(d.Chunk)
			if _, err := w.Write(d.Chunk); err != nil {
				return obj, err
			}
		case *canopyv1.DownloadObjectResponse_Sha256:
			if got := hex.EncodeToString(h.Sum(nil)); got != d.Sha256 {
				return obj, fmt.Errorf("download %s/%s: received bytes hash to %s, canopyd sent %s", req.GetBucket(), req.GetKey(), got, d.Sha256)
			}
		}
	}
}
