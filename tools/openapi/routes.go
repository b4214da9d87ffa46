package main

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/canopy-cloud/canopy/auth"
)

// The routes canopyd serves beside the gateway (auth/http.go and
// server/transfer_http.go), which no proto describes.

const statusRef = "#/components/schemas/rpc.Status"

func ref(name string) *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("#/components/schemas/"+name, nil)
}

func binary() *openapi3.SchemaRef { return openapi3.NewStringSchema().WithFormat("binary").NewRef() }

func stringParam(in, name, desc string, required bool) *openapi3.ParameterRef {
	return &openapi3.ParameterRef{Value: &openapi3.Parameter{In: in, Name: name, Description: desc, Required: required,
		Schema: openapi3.NewStringSchema().NewRef()}}
}

// pathParams are a byte route's path parameters; key is the object key,
// whose '/' a client sends as %2F or as is.
func pathParams(names ...string) openapi3.Parameters {
	var ps openapi3.Parameters
	for _, n := range names {
		desc := map[string]string{
			"bucket": "The bucket: canopy id or name.",
			"key":    "The object key (its '/' may be sent as is or as %2F).",
			"id":     "The image: canopy id or name.",
			"cloud":  "The cloud that signed the URL.",
			"path":   "bucket/key, as signed.",
		}[n]
		p := stringParam(openapi3.ParameterInPath, n, desc, true)
		p.Value.Schema.Value.MinLength = 1
		ps = append(ps, p)
	}
	return ps
}

func jsonResponse(desc string, schema *openapi3.SchemaRef) *openapi3.ResponseRef {
	return &openapi3.ResponseRef{Value: &openapi3.Response{Description: &desc, Content: openapi3.NewContentWithJSONSchemaRef(schema)}}
}

func bytesResponse(desc string, headers ...string) *openapi3.ResponseRef {
	r := &openapi3.Response{Description: &desc, Content: openapi3.Content{"application/octet-stream": {Schema: binary()}}}
	if len(headers) > 0 {
		r.Headers = openapi3.Headers{}
		for i := 0; i+1 < len(headers); i += 2 {
			r.Headers[headers[i]] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Description: headers[i+1], Schema: openapi3.NewStringSchema().NewRef()}}}
		}
	}
	return &openapi3.ResponseRef{Value: r}
}

func textResponse(desc string) *openapi3.ResponseRef {
	return &openapi3.ResponseRef{Value: &openapi3.Response{Description: &desc,
		Content: openapi3.Content{"text/plain": {Schema: openapi3.NewStringSchema().NewRef()}}}}
}

// responses is a response per status ("default" included).
func responses(rs map[string]*openapi3.ResponseRef) *openapi3.Responses {
	out := openapi3.NewResponses()
	out.Delete("default")
	for code, r := range rs {
		out.Set(code, r)
	}
	return out
}

func errorResponse() *openapi3.ResponseRef {
	return jsonResponse("An error: a google.rpc.Status, with the HTTP status of its gRPC code.", ref("rpc.Status"))
}

func bytesBody(desc string) *openapi3.RequestBodyRef {
	return &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{Description: desc, Required: true,
		Content: openapi3.Content{"application/octet-stream": {Schema: binary()}}}}
}

// op is an operation on a byte route, secured as the RPC it stands for.
func op(service, method, summary string, params openapi3.Parameters, rs map[string]*openapi3.ResponseRef) *openapi3.Operation {
	scope, _ := auth.MethodScope("/canopy.v1." + service + "/" + method)
	if _, ok := rs["default"]; !ok {
		rs["default"] = errorResponse()
	}
	return &openapi3.Operation{OperationID: service + "_" + method, Summary: summary, Tags: []string{service},
		Parameters: params, Responses: responses(rs), Security: bearerOr(scope)}
}

// item is the path item at path, made if the gateway has none there.
func item(doc *openapi3.T, path string) *openapi3.PathItem {
	if it := doc.Paths.Value(path); it != nil {
		return it
	}
	it := &openapi3.PathItem{}
	doc.Paths.Set(path, it)
	return it
}

// addByteRoutes describes the streamed object and image routes and the
// URLs the simulator signs.
func addByteRoutes(doc *openapi3.T, imageQuery openapi3.Parameters) error {
	const objectPath = "/v1/buckets/{bucket}/objects/{key}"
	obj := doc.Paths.Value(objectPath)
	if obj == nil || obj.Get == nil {
		return fmt.Errorf("the gateway has no GET %s to add the byte routes beside", objectPath)
	}
	objectHeaders := []string{"ETag", "The object's ETag, quoted.", "X-Canopy-Sha256", "Hex sha256 of the whole object, when the cloud keeps it."}
	rangeParam := stringParam(openapi3.ParameterInHeader, "Range", "One range of bytes: bytes=a-b, bytes=a- or bytes=-n.", false)

	// GET …?alt=media is the download on the metadata route: its 200 is
	// JSON without alt and the bytes with alt=media. A generated client
	// reads the first, so the bytes have their own path too (below).
	get := obj.Get
	get.Description = "Without `alt`, the object's metadata (JSON). With `alt=media`, its bytes (as GET /download" + objectPath + ")."
	get.Parameters = append(get.Parameters,
		&openapi3.ParameterRef{Value: &openapi3.Parameter{In: openapi3.ParameterInQuery, Name: "alt",
			Description: "media: answer with the object's bytes instead of its metadata.",
			Schema:      openapi3.NewStringSchema().WithEnum("media").NewRef()}},
		rangeParam)
	ok := get.Responses.Value("200").Value
	ok.Content["application/octet-stream"] = &openapi3.MediaType{Schema: binary()}
	get.Responses.Set("206", bytesResponse("alt=media with a Range: the range's bytes.", objectHeaders...))
	get.Responses.Set("416", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("The range is outside the object.")})

	obj.Put = op("ObjectService", "UploadObject", "Uploads an object: the body is its bytes, streamed (its Content-Type is kept).",
		append(pathParams("bucket", "key"),
			stringParam(openapi3.ParameterInHeader, "X-Canopy-Sha256", "Hex sha256 of the body: the upload fails if the bytes differ (may also come as a trailer).", false),
			&openapi3.ParameterRef{Value: &openapi3.Parameter{In: openapi3.ParameterInHeader, Name: "X-Canopy-Part-Size",
				Description: "Bytes per part of a multipart upload, where the cloud has one.",
				Schema:      openapi3.NewInt64Schema().WithMin(0).NewRef()}}),
		map[string]*openapi3.ResponseRef{"200": jsonResponse("The object stored.", ref("Object"))})
	obj.Put.Description = "Metadata comes as X-Canopy-Meta-<name> headers."
	obj.Put.RequestBody = bytesBody("The object's bytes.")

	item(doc, "/download"+objectPath).Get = op("ObjectService", "DownloadObject", "Downloads an object's bytes, streamed (a Range is honoured).",
		append(pathParams("bucket", "key"), rangeParam),
		map[string]*openapi3.ResponseRef{
			"200": bytesResponse("The object's bytes.", objectHeaders...),
			"206": bytesResponse("The range's bytes.", objectHeaders...),
			"416": {Value: openapi3.NewResponse().WithDescription("The range is outside the object.")},
		})

	up := op("ImageTransferService", "UploadImage", "Uploads an image: the body is its bytes, streamed; the query is its ImageUploadHeader.",
		append(imageQuery, stringParam(openapi3.ParameterInHeader, "X-Canopy-Sha256", "Hex sha256 of the body (instead of the sha256 parameter).", false)),
		map[string]*openapi3.ResponseRef{"200": jsonResponse("The image made.", ref("Image"))})
	up.RequestBody = bytesBody("The image's bytes.")
	item(doc, "/v1/images:upload").Post = up

	item(doc, "/v1/images/{id}/file").Get = op("ImageTransferService", "DownloadImage", "Downloads an image's bytes, streamed.",
		pathParams("id"),
		map[string]*openapi3.ResponseRef{"200": bytesResponse("The image's bytes.",
			"X-Canopy-Disk-Format", "The image's disk format.", "X-Canopy-Container-Format", "The image's container format.")})

	addSignedRoutes(doc)
	return nil
}

// addSignedRoutes describes /signed/…, the URLs CreateUploadURL and
// CreateDownloadURL give for clouds that cannot sign their own (the
// simulator): the signature is the authorization, and the answers are
// S3's, in plain text.
func addSignedRoutes(doc *openapi3.T) {
	query := openapi3.Parameters{
		stringParam(openapi3.ParameterInQuery, "expires", "Unix time the URL expires at, as signed.", true),
		stringParam(openapi3.ParameterInQuery, "signature", "The signature.", true),
		stringParam(openapi3.ParameterInQuery, "content_type", "The Content-Type an upload must have, as signed.", false),
	}
	failures := func(rs map[string]*openapi3.ResponseRef) *openapi3.Responses {
		rs["400"] = textResponse("The URL names no object, or the body is short.")
		rs["403"] = textResponse("The signature does not match, or the URL has expired.")
		rs["404"] = textResponse("No such cloud, bucket or object.")
		rs["503"] = textResponse("The cloud's rate limit: retry after Retry-After.")
		return responses(rs)
	}
	none := &openapi3.SecurityRequirements{}
	params := append(pathParams("cloud", "path"), query...)
	it := item(doc, "/signed/{cloud}/{path}")
	it.Get = &openapi3.Operation{OperationID: "SignedURL_Get", Summary: "Downloads through a signed URL.", Tags: []string{"SignedURL"},
		Parameters: params, Security: none,
		Responses: failures(map[string]*openapi3.ResponseRef{"200": bytesResponse("The object's bytes.", "ETag", "The object's ETag, quoted.")})}
	it.Put = &openapi3.Operation{OperationID: "SignedURL_Put", Summary: "Uploads through a signed URL.", Tags: []string{"SignedURL"},
		Parameters: params, Security: none, RequestBody: bytesBody("The object's bytes."),
		Responses: failures(map[string]*openapi3.ResponseRef{"200": {Value: openapi3.NewResponse().WithDescription("Stored.")}})}
}
