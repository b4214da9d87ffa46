package server

import (
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// Field numbers of the messages rawCodec frames or decodes itself.
const (
	downloadChunkField protowire.Number = 2 // DownloadObjectResponse.chunk
	uploadChunkField   protowire.Number = 2 // UploadObjectRequest.chunk
	uploadSHA256Field  protowire.Number = 3 // UploadObjectRequest.sha256
)

// rawBytesField is a response message holding a single bytes field, sent
// with stream.SendMsg instead of the generated Send. Its wire form is
// exactly what proto.Marshal makes of a message with only that field set
// (tag, length, bytes), so clients decode it as the generated type; but
// rawCodec frames it without copying data, and calls release when the
// transport is done with data. A 1 GiB download through the proto codec
// would copy every byte once more, and allocate and zero a 1 MiB buffer
// per message.
type rawBytesField struct {
	field   protowire.Number
	data    []byte
	release func()
}

// rawCodec is gRPC's proto codec, plus rawBytesField.
type rawCodec struct {
	proto  encoding.CodecV2
	chunks *chunkPool // what upload chunks are decoded into
}

func newRawCodec(chunks *chunkPool) rawCodec {
	c := encoding.GetCodecV2(proto.Name)
	if c == nil {
		panic("grpc's proto codec is not registered")
	}
	return rawCodec{proto: c, chunks: chunks}
}

func (c rawCodec) Name() string { return proto.Name }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	r, ok := v.(*rawBytesField)
	if !ok {
		return c.proto.Marshal(v)
	}
	if r.field <= 0 {
		return nil, fmt.Errorf("raw codec: field number %d", r.field)
	}
	hdr := protowire.AppendTag(make([]byte, 0, 16), r.field, protowire.BytesType)
	hdr = protowire.AppendVarint(hdr, uint64(len(r.data)))
	if mem.IsBelowBufferPoolingThreshold(cap(r.data)) {
		// gRPC would hold so small a buffer as a plain slice and never
		// call release: copy it (cheap at this size) and release now.
		out := append(hdr, r.data...)
		if r.release != nil {
			r.release()
		}
		return mem.BufferSlice{mem.SliceBuffer(out)}, nil
	}
	return mem.BufferSlice{mem.SliceBuffer(hdr), mem.NewBuffer(&r.data, releasePool(r.release))}, nil
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*canopyv1.UploadObjectRequest); ok {
		if done, err := unmarshalUploadChunk(data, m, c.chunks); done || err != nil {
			return err
		}
	}
	return c.proto.Unmarshal(data, v)
}

// unmarshalUploadChunk decodes an upload message that holds a chunk (and
// perhaps the trailing sha256) straight from gRPC's receive buffers into a
// pooled buffer, which putObject recycles once the chunk is written:
// one copy and no garbage per MiB, where proto.Unmarshal makes two copies
// and a fresh 1 MiB slice each time (1 GiB of garbage per GiB uploaded,
// which the GC pays for in CPU and in RSS). Anything else (the header, an
// odd encoding) is left to proto (done false).
func unmarshalUploadChunk(data mem.BufferSlice, m *canopyv1.UploadObjectRequest, chunks *chunkPool) (done bool, err error) {
	r := data.Reader()
	defer r.Close()
	var chunk []byte
	var sum string
	giveBack := func() {
		if chunk != nil {
			chunks.put(chunk)
		}
	}
	for r.Remaining() > 0 {
		tag, err := binary.ReadUvarint(r)
		if err != nil {
			giveBack()
			return false, nil
		}
		num, typ := protowire.DecodeTag(tag)
		n, err := binary.ReadUvarint(r)
		if typ != protowire.BytesType || err != nil || n > uint64(r.Remaining()) ||
			(num != uploadChunkField && num != uploadSHA256Field) || (num == uploadChunkField && chunk != nil) {
			giveBack()
			return false, nil
		}
		if num == uploadChunkField {
			chunk = chunks.buf(int(n))
			if _, err := io.ReadFull(r, chunk); err != nil {
				giveBack()
				return false, nil
			}
			continue
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil || !utf8.Valid(b) {
			giveBack()
			return false, nil
		}
		sum = string(b)
	}
	if chunk != nil {
		m.Data = &canopyv1.UploadObjectRequest_Chunk{Chunk: chunk}
	}
	m.Sha256 = sum
	return true, nil
}

// releasePool hands a buffer back to its owner when gRPC frees it; gRPC
// never asks it for a buffer (Get is only for completeness).
type releasePool func()

func (f releasePool) Get(n int) *[]byte {
	b := make([]byte, n)
	return &b
}

func (f releasePool) Put(*[]byte) {
	if f != nil {
		f()
	}
}
