package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// loadDescriptors reads the image `buf build` writes (with its comments).
func loadDescriptors(path string) (*descriptors, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &descriptors{files}, nil
}

// descriptors are the protos' descriptors, comments included.
type descriptors struct{ files *protoregistry.Files }

// queryParams are the query parameters a message is read from, as the
// gateway's query parser (server/rest_query.go) reads it: a field by its
// proto name, a nested message's fields as parent.child, a map as
// name[key]=value (deepObject), enums by name.
func (f *descriptors) queryParams(message protoreflect.FullName) (openapi3.Parameters, error) {
	d, err := f.files.FindDescriptorByName(message)
	if err != nil {
		return nil, err
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a message", message)
	}
	var out openapi3.Parameters
	addQueryParams(&out, md, "")
	return out, nil
}

func addQueryParams(out *openapi3.Parameters, md protoreflect.MessageDescriptor, prefix string) {
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		name := prefix + string(fd.Name())
		desc := comment(fd)
		p := &openapi3.Parameter{In: openapi3.ParameterInQuery, Name: name, Description: desc}
		switch {
		case fd.IsMap():
			p.Style, p.Explode = "deepObject", openapi3.Ptr(true)
			p.Schema = openapi3.NewObjectSchema().WithAdditionalProperties(fieldSchema(fd.MapValue())).NewRef()
		case fd.Kind() == protoreflect.MessageKind:
			addQueryParams(out, fd.Message(), name+".")
			continue
		case fd.IsList():
			p.Schema = openapi3.NewArraySchema().WithItems(fieldSchema(fd)).NewRef()
		default:
			p.Schema = fieldSchema(fd).NewRef()
		}
		if requiredNote.MatchString(desc) {
			p.Required = true
			if p.Schema.Value.Type.Is(openapi3.TypeString) && p.Schema.Value.Format == "" {
				p.Schema.Value.MinLength = 1
			}
		}
		*out = append(*out, &openapi3.ParameterRef{Value: p})
	}
}

// fieldSchema is a scalar field's schema as protojson writes it: 64-bit
// integers are strings.
func fieldSchema(fd protoreflect.FieldDescriptor) *openapi3.Schema {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return openapi3.NewBoolSchema()
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return openapi3.NewInt32Schema()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return openapi3.NewIntegerSchema().WithFormat("int64").WithMin(0)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return openapi3.NewStringSchema().WithFormat("int64")
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return openapi3.NewStringSchema().WithFormat("uint64")
	case protoreflect.FloatKind:
		return openapi3.NewFloat64Schema().WithFormat("float")
	case protoreflect.DoubleKind:
		return openapi3.NewFloat64Schema()
	case protoreflect.BytesKind:
		return openapi3.NewBytesSchema()
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		names := make([]any, vals.Len())
		for i := range vals.Len() {
			names[i] = string(vals.Get(i).Name())
		}
		return openapi3.NewStringSchema().WithEnum(names...)
	default:
		return openapi3.NewStringSchema()
	}
}

// comment is a field's leading comment, one paragraph.
func comment(d protoreflect.Descriptor) string {
	loc := d.ParentFile().SourceLocations().ByDescriptor(d)
	return strings.Join(strings.Fields(loc.LeadingComments), " ")
}
