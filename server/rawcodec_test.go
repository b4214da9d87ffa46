package server

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// The raw form of a chunk must be byte for byte what proto.Marshal makes of
// the generated message, and the chunk must come back to its owner exactly
// once, only when gRPC frees what Marshal returned.
func TestRawCodecChunkIsTheGeneratedWireForm(t *testing.T) {
	c := newRawCodec(newChunkPool())
	for _, size := range []int{0, 1, 127, 128, 16 << 10, chunkSize} {
		data := bytes.Repeat([]byte{0xa5}, size)
		data = append(make([]byte, 0, chunkSize), data...) // pooled: cap above gRPC's threshold
		released := 0
		bs, err := c.Marshal(&rawBytesField{field: downloadChunkField, data: data, release: func() { released++ }})
		if err != nil {
			t.Fatal(err)
		}
		want, err := proto.Marshal(&canopyv1.DownloadObjectResponse{Data: &canopyv1.DownloadObjectResponse_Chunk{Chunk: data}})
		if err != nil {
			t.Fatal(err)
		}
		if got := bs.Materialize(); !bytes.Equal(got, want) {
			t.Fatalf("size %d: raw form differs from proto.Marshal (%d vs %d bytes)", size, len(got), len(want))
		}
		var back canopyv1.DownloadObjectResponse
		if err := c.Unmarshal(bs, &back); err != nil || !bytes.Equal(back.GetChunk(), data) {
			t.Fatalf("size %d: round trip: %v", size, err)
		}
		if released != 0 {
			t.Fatalf("size %d: released before gRPC freed the buffers", size)
		}
		bs.Free()
		if released != 1 {
			t.Fatalf("size %d: released %d times after Free, want 1", size, released)
		}
	}
}

func TestRawCodecOtherMessagesAreProto(t *testing.T) {
	c := newRawCodec(newChunkPool())
	in := &canopyv1.Object{Key: "k", SizeBytes: 3}
	bs, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out canopyv1.Object
	if err := c.Unmarshal(bs, &out); err != nil || !proto.Equal(in, &out) {
		t.Fatalf("round trip: %v %v", err, &out)
	}
	if _, err := c.Marshal(&rawBytesField{field: 0}); err == nil {
		t.Fatal("field 0 accepted")
	}
	if c.Name() != "proto" {
		t.Fatalf("name %q", c.Name())
	}
}

// Upload messages decode to what proto.Unmarshal makes of them, whichever
// way rawCodec takes, and chunks split over several receive buffers too.
func TestRawCodecUploadMessages(t *testing.T) {
	c := newRawCodec(newChunkPool())
	size := int64(5)
	msgs := []*canopyv1.UploadObjectRequest{
		{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: bytes.Repeat([]byte{7}, chunkSize)}},
		{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: []byte("x")}, Sha256: strings.Repeat("ab", 32)},
		{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: bytes.Repeat([]byte{1}, chunkSize+3)}}, // above the pool's size
		{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: []byte{}}},
		{Sha256: strings.Repeat("cd", 32)},
		{Data: &canopyv1.UploadObjectRequest_Header{Header: &canopyv1.ObjectUploadHeader{Bucket: "b", Key: "k", SizeBytes: &size}}},
		{},
	}
	for i, in := range msgs {
		raw, err := proto.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, split := range []int{0, 1, 3, 4096} {
			var bs mem.BufferSlice
			rest := raw
			for split > 0 && len(rest) > split {
				bs = append(bs, mem.SliceBuffer(rest[:split]))
				rest = rest[split:]
			}
			bs = append(bs, mem.SliceBuffer(rest))
			var out canopyv1.UploadObjectRequest
			if err := c.Unmarshal(bs, &out); err != nil {
				t.Fatalf("message %d split %d: %v", i, split, err)
			}
			if !proto.Equal(in, &out) {
				t.Fatalf("message %d split %d: decoded %v, want %v", i, split, &out, in)
			}
			if i == 1 && cap(out.GetChunk()) < chunkSize {
				t.Fatalf("split %d: a small chunk was not decoded into a pooled buffer (cap %d)", split, cap(out.GetChunk()))
			}
		}
	}
	// What proto refuses, rawCodec refuses too.
	bad := protowire.AppendTag(nil, uploadSHA256Field, protowire.BytesType)
	bad = protowire.AppendBytes(bad, []byte{0xff, 0xfe})
	var out canopyv1.UploadObjectRequest
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(bad)}, &out); err == nil {
		t.Error("a sha256 that is not UTF-8 was accepted")
	}
	trunc := protowire.AppendTag(nil, uploadChunkField, protowire.BytesType)
	trunc = protowire.AppendVarint(trunc, 10)
	trunc = append(trunc, 1, 2, 3)
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(trunc)}, &out); err == nil {
		t.Error("a truncated chunk was accepted")
	}
}
