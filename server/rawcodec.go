package server

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// downloadChunkField is the number of the `bytes chunk` field in
// DownloadObjectResponse's oneof.
const downloadChunkField protowire.Number = 2

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
type rawCodec struct{ proto encoding.CodecV2 }

func newRawCodec() rawCodec {
	c := encoding.GetCodecV2(proto.Name)
	if c == nil {
		panic("grpc's proto codec is not registered")
	}
	return rawCodec{proto: c}
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
	return mem.BufferSlice{mem.SliceBuffer(hdr), mem.NewBuffer(&r.data, releasePool(r.release))}, nil
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

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
