package server

import (
	"bytes"
	"io"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// restMarshaler is the REST JSON: protojson with proto (snake_case) names,
// request bodies decoded strictly (restDecoder), and list responses that
// always carry their lists.
type restMarshaler struct{ runtime.JSONPb }

func newRESTMarshaler() *restMarshaler {
	return &restMarshaler{runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
}

// Marshal implements runtime.Marshaler.
func (m *restMarshaler) Marshal(v any) ([]byte, error) {
	b, err := m.JSONPb.Marshal(v)
	if msg, ok := v.(proto.Message); ok && err == nil {
		b = withEmptyLists(msg, b)
	}
	return b, err
}

// NewDecoder implements runtime.Marshaler.
func (m *restMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return restDecoder{r: r, fallback: m.JSONPb.NewDecoder(r)}
}

// restJSON is a response message as REST sends it (the byte routes' own
// answers, the same as the gateway's).
func restJSON(msg proto.Message) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return withEmptyLists(msg, b), nil
}

// withEmptyLists adds the empty lists of a List…Response to its JSON:
// protojson leaves an empty repeated field out, so an empty listing was
// `{}` and `resp["servers"]` failed in scripts and Ansible. Only the
// response's own top-level lists are added — EmitUnpopulated (or
// EmitDefaultValues) would also fill every resource in every listing with
// its unset fields, making a listed server differ from the same server got
// by id — and only for list responses, whose lists are what callers index.
func withEmptyLists(msg proto.Message, b []byte) []byte {
	m := msg.ProtoReflect()
	md := m.Descriptor()
	name := string(md.Name())
	if !strings.HasPrefix(name, "List") || !strings.HasSuffix(name, "Response") {
		return b
	}
	var extra []byte
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !(fd.IsList() || fd.IsMap()) || m.Has(fd) {
			continue
		}
		extra = append(extra, '"')
		extra = append(extra, fd.Name()...)
		extra = append(extra, emptyJSON(fd)...)
	}
	open := bytes.IndexByte(b, '{')
	if len(extra) == 0 || open < 0 {
		return b
	}
	rest := b[open+1:]
	if len(bytes.TrimSpace(rest)) > 0 && bytes.TrimSpace(rest)[0] == '}' {
		extra = extra[:len(extra)-1] // no member follows: drop the comma
	}
	out := make([]byte, 0, len(b)+len(extra))
	out = append(out, b[:open+1]...)
	out = append(out, extra...)
	return append(out, rest...)
}

func emptyJSON(fd protoreflect.FieldDescriptor) string {
	if fd.IsMap() {
		return `":{},`
	}
	return `":[],`
}
