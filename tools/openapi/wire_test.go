package main

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/canopy-cloud/canopy/gen/go/canopy/v1" // registers the messages the document describes
	"github.com/canopy-cloud/canopy/gen/openapi"
)

// schema is the part of a JSON Schema these tests read.
type schema struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Format     string             `json:"format"`
	Enum       []string           `json:"enum"`
	Required   []string           `json:"required"`
	Properties map[string]*schema `json:"properties"`
	Items      *schema            `json:"items"`
}

type document struct {
	Components struct {
		Schemas         map[string]*schema `json:"schemas"`
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
			Flows  struct {
				ClientCredentials *struct {
					TokenURL string `json:"tokenUrl"`
				} `json:"clientCredentials"`
			} `json:"flows"`
		} `json:"securitySchemes"`
	} `json:"components"`
	Info  struct{ Title, Version string } `json:"info"`
	Paths map[string]map[string]struct {
		OperationID string                 `json:"operationId"`
		Security    *[]map[string][]string `json:"security"`
	} `json:"paths"`
}

func served(t *testing.T) document {
	t.Helper()
	var d document
	if err := json.Unmarshal(openapi.Spec, &d); err != nil {
		t.Fatalf("gen/openapi/openapi.json: %v", err)
	}
	return d
}

// descriptorOf finds the proto a component schema was made from
// ("Server", "Cloud.Health", "v1.Status"); nil for the request bodies the
// gateway cuts from a request (…Body) and the schemas tools/openapi adds.
func descriptorOf(name string) protoreflect.Descriptor {
	for _, full := range []string{"canopy.v1." + name, "canopy." + name, "google." + name, "google.protobuf." + name} {
		if d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(full)); err == nil {
			return d
		}
	}
	return nil
}

// TestDocumentIsTheWire checks every schema made from a proto against the
// proto as protojson with UseProtoNames (the gateway's marshaler) writes it:
// the same field names, 64-bit integers as strings, enums by name.
func TestDocumentIsTheWire(t *testing.T) {
	d := served(t)
	checked := 0
	for name, s := range d.Components.Schemas {
		switch desc := descriptorOf(name).(type) {
		case protoreflect.MessageDescriptor:
			if desc.FullName().Parent() == "google.protobuf" {
				continue // Any: "@type" and the message's own fields
			}
			checked++
			var fields []string
			for i := range desc.Fields().Len() {
				fd := desc.Fields().Get(i)
				fields = append(fields, string(fd.Name()))
				p := s.Properties[string(fd.Name())]
				if p == nil {
					continue
				}
				if fd.IsList() && p.Items != nil {
					p = p.Items
				}
				switch fd.Kind() {
				case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
					if p.Type != "string" {
						t.Errorf("%s.%s is a 64-bit integer, sent as a string; the document says %q", name, fd.Name(), p.Type)
					}
				case protoreflect.EnumKind:
					if p.Ref == "" {
						t.Errorf("%s.%s is an enum; the document has no $ref to it", name, fd.Name())
					}
				}
			}
			var props []string
			for p := range s.Properties {
				props = append(props, p)
			}
			sort.Strings(fields)
			sort.Strings(props)
			if !slices.Equal(fields, props) {
				t.Errorf("schema %s has properties %v; the proto's fields (as sent) are %v", name, props, fields)
			}
		case protoreflect.EnumDescriptor:
			checked++
			var names []string
			for i := range desc.Values().Len() {
				names = append(names, string(desc.Values().Get(i).Name()))
			}
			if !slices.Equal(names, s.Enum) {
				t.Errorf("enum %s is %v in the document; sent as %v", name, s.Enum, names)
			}
		}
	}
	t.Logf("%d schemas checked against their protos", checked)
	if checked < 100 {
		t.Errorf("only %d schemas matched a proto: the document's names changed?", checked)
	}
}

// TestDocumentCompletes checks what tools/openapi adds: title, version,
// security on every operation, the required fields, the token endpoint and
// the byte routes.
func TestDocumentCompletes(t *testing.T) {
	d := served(t)
	if d.Info.Title != "canopy API" || d.Info.Version == "" || strings.Contains(d.Info.Version, "not set") {
		t.Errorf("info = %+v", d.Info)
	}
	ss := d.Components.SecuritySchemes
	if cc := ss[schemeOAuth2].Flows.ClientCredentials; cc == nil || cc.TokenURL != "/oauth2/token" {
		t.Errorf("oauth2 scheme = %+v", ss[schemeOAuth2])
	}
	if ss[schemeBearer].Type != "http" || ss[schemeBearer].Scheme != "bearer" {
		t.Errorf("bearer scheme = %+v", ss[schemeBearer])
	}
	for path, ops := range d.Paths {
		for method, op := range ops {
			if op.Security == nil {
				t.Errorf("%s %s has no security", method, path)
				continue
			}
			public := strings.HasPrefix(path, "/signed/") || strings.HasPrefix(path, "/.well-known/") || path == "/oauth2/token"
			bearer := slices.ContainsFunc(*op.Security, func(r map[string][]string) bool { _, ok := r[schemeBearer]; return ok })
			if bearer == public {
				t.Errorf("%s %s (%s): security %v", method, path, op.OperationID, *op.Security)
			}
		}
	}
	for path, method := range map[string]string{
		"/oauth2/token": "post", "/v1/buckets/{bucket}/objects/{key}": "put", "/download/v1/buckets/{bucket}/objects/{key}": "get",
		"/v1/images:upload": "post", "/v1/images/{id}/file": "get", "/signed/{cloud}/{path}": "get",
	} {
		if _, ok := d.Paths[path][method]; !ok {
			t.Errorf("no %s %s", method, path)
		}
	}
	for name, want := range map[string][]string{
		"CreateServerRequest": {"flavor", "name"}, "CreateBucketRequest": {"name"}, "ListServersResponse": {"cloud_errors", "servers", "unreachable"},
		"TokenResponse": {"access_token", "expires_in", "scope", "token_type"},
	} {
		got := slices.Clone(d.Components.Schemas[name].Required)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s requires %v, want %v", name, got, want)
		}
	}
}

func TestRequiredNote(t *testing.T) {
	for desc, want := range map[string]bool{
		"The server name (required).":                                        true,
		"The bucket name (required; the cloud's naming rules apply).":        true,
		"The image: canopy id or name (required unless boot_volume is set).": false,
		"Size in GiB: required for an empty volume.":                         false,
	} {
		if got := requiredNote.MatchString(desc); got != want {
			t.Errorf("%q: required = %v, want %v", desc, got, want)
		}
	}
}
