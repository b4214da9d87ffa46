// Command openapi completes the OpenAPI document canopyd serves at
// /openapi.json. protoc-gen-openapiv2 describes the grpc-gateway's routes
// from proto/ and proto/canopy/v1/http.yaml as Swagger 2.0; this turns it
// into OpenAPI 3.0 and adds what the plugin cannot know: the title and
// version, the OAuth 2 security schemes, the fields the protos' comments
// call required, the lists a list response always carries, the token
// endpoint and the byte routes canopyd serves beside the gateway
// (server/transfer_http.go). scripts/gen.sh (`make gen`) runs it; its output
// is deterministic (sorted keys, no timestamps), so check-gen can diff it.
//
//	go run ./tools/openapi -in .cache/openapiv2/canopy.swagger.json \
//	    -descriptors .cache/openapiv2/canopy.binpb -out gen/openapi/openapi.json
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	in := flag.String("in", "", "the Swagger 2.0 document protoc-gen-openapiv2 wrote")
	descs := flag.String("descriptors", "", "the protos' descriptors with comments (buf build -o x.binpb)")
	out := flag.String("out", "", "where to write the OpenAPI 3 document")
	flag.Parse()
	if *in == "" || *out == "" || *descs == "" {
		fmt.Fprintln(os.Stderr, "usage: openapi -in swagger.json -descriptors canopy.binpb -out openapi.json")
		os.Exit(2)
	}
	if err := run(*in, *descs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
}

func run(in, descs, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	files, err := loadDescriptors(descs)
	if err != nil {
		return err
	}
	doc, err := build(raw, files)
	if err != nil {
		return err
	}
	b, err := render(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// build converts the plugin's document and completes it.
func build(swagger []byte, files *descriptors) (*openapi3.T, error) {
	var v2 openapi2.T
	if err := json.Unmarshal(swagger, &v2); err != nil {
		return nil, fmt.Errorf("read Swagger 2.0: %w", err)
	}
	doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("convert to OpenAPI 3: %w", err)
	}
	complete(doc)
	addTokenEndpoint(doc)
	addDiscovery(doc)
	imageQuery, err := files.queryParams("canopy.v1.ImageUploadHeader")
	if err != nil {
		return nil, fmt.Errorf("the image upload's query: %w", err)
	}
	if err := addByteRoutes(doc, imageQuery); err != nil {
		return nil, err
	}
	if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
		return nil, fmt.Errorf("resolve references: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the completed document is not valid OpenAPI 3: %w", err)
	}
	return doc, nil
}

// render writes doc as indented JSON: encoding/json sorts map keys, so the
// same protos always give the same bytes.
func render(doc *openapi3.T) ([]byte, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
