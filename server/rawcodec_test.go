package server

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// The raw form of a chunk must be byte for byte what proto.Marshal makes of
// the generated message, and the chunk must come back to its owner exactly
// once, only when gRPC frees what Marshal returned.
func TestRawCodecChunkIsTheGeneratedWireForm(t *testing.T) {
	c := newRawCodec()
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
	c := newRawCodec()
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
