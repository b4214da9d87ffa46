package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/canopy-cloud/canopy/config"
)

// REST request bodies: bounded while read, decoded strictly.
//
// grpc-gateway reads a JSON body whole before the gRPC limit can refuse
// it, so a few 50 MB bodies took canopyd's RSS from 31 to ~500 MiB. Every
// REST request's body is therefore read through a restBody, which stops at
// rest.max_body_bytes (413 naming the limit) — at once when the request
// declares a bigger Content-Length, else once that much has been read.
// Object and image uploads stream their bytes to the cloud and take the
// unbounded body (unboundedBody).

// restBody is a REST request's body as canopyd's handlers read it. It also
// carries what the JSON decoder found wrong: the generated gateway handlers
// flatten a decoder's error to a bare message, and the error handler
// (gatewayError) takes the detailed one from here.
type restBody struct {
	limited  io.ReadCloser // http.MaxBytesReader over raw
	raw      io.ReadCloser
	declared int64 // Content-Length, -1 when unknown
	limit    int64
	query    url.Values
	failure  error // set by restDecoder
}

func (b *restBody) Read(p []byte) (int, error) {
	if b.declared > b.limit {
		return 0, tooLarge(b.limit)
	}
	n, err := b.limited.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = tooLarge(b.limit)
	}
	return n, err
}

func (b *restBody) Close() error { return b.limited.Close() }

// tooLarge is the 413 of a body over the limit.
func tooLarge(limit int64) error {
	return &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestEntityTooLarge,
		Err: status.Errorf(codes.ResourceExhausted, "request body larger than %d bytes, canopyd's limit (rest.max_body_bytes)", limit)}
}

// limitBodies puts every request's body behind a restBody of limit bytes.
func limitBodies(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &restBody{limited: http.MaxBytesReader(w, r.Body, limit), raw: r.Body, declared: r.ContentLength, limit: limit, query: r.URL.Query()}
		}
		next.ServeHTTP(w, r)
	})
}

// unboundedBody is the request's own body, for the routes whose body is
// bytes streamed to a cloud (object and image uploads).
func unboundedBody(r *http.Request) io.Reader {
	if rb, ok := r.Body.(*restBody); ok {
		return rb.raw
	}
	return r.Body
}

// restDecoder decodes a gateway request body. Every gateway route with a
// body takes the whole request message from it (http.yaml: body "*"), so
// a query parameter there is one the call does not have.
type restDecoder struct {
	r        io.Reader
	fallback runtime.Decoder
}

func (d restDecoder) Decode(v any) error {
	msg, ok := v.(proto.Message)
	if !ok {
		return d.fallback.Decode(v)
	}
	rb, _ := d.r.(*restBody)
	var query url.Values
	if rb != nil {
		query = rb.query
	}
	err := decodeBody(d.r, msg, query)
	if err != nil && !errors.Is(err, io.EOF) && rb != nil {
		rb.failure = err
	}
	return err
}

// decodeBody reads a JSON request body into msg: INVALID_ARGUMENT with
// field violations (wire names) for what is wrong (rest_json.go); io.EOF
// for an empty body (the gateway's "no body").
func decodeBody(r io.Reader, msg proto.Message, query url.Values) error {
	if len(query) > 0 {
		vs := make([]violation, 0, len(query))
		for _, k := range sortedKeys(query) {
			vs = append(vs, violation{quoteField(k), "unknown query parameter: this call takes its parameters in the JSON body"})
		}
		return badRequest(vs)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		var hs *runtime.HTTPStatusError
		if errors.As(err, &hs) {
			return err
		}
		return status.Errorf(codes.InvalidArgument, "reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return io.EOF
	}
	norm, err := checkJSON(data, msg.ProtoReflect().Descriptor())
	if err != nil {
		return err
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(norm, msg); err != nil {
		// checkJSON passed it: what is left is a well-known type's own
		// syntax (a timestamp, a duration).
		return badRequest([]violation{{"body", strings.TrimPrefix(err.Error(), "proto: ")}})
	}
	return nil
}

// checkPathParams is gateway middleware: a path parameter that is not
// UTF-8 once percent-decoded is 400 naming it (the gRPC hop cannot carry
// it: it answered 500 "error while marshaling").
func checkPathParams(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if key, ok := objectKeyParam(r, params); ok {
			params["key"] = key
		}
		if err := checkUTF8Params(params); err != nil {
			writeRESTError(w, err)
			return
		}
		next(w, r, params)
	}
}

// objectKeyParam is an object key taken whole from the escaped path. An
// object key is the one multi-segment parameter ({key=**}), which the
// gateway leaves with reserved characters still escaped (x%2Fy.txt stays
// so): the key is the rest of the path after /objects/, percent-decoded
// once, so x/y.txt and x%2Fy.txt both name the object x/y.txt (as S3 and
// Swift read them) and %252F names a key with a literal %2F.
func objectKeyParam(r *http.Request, params map[string]string) (string, bool) {
	if _, ok := params["key"]; !ok {
		return "", false
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v1/buckets/")
	if !ok {
		return "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) != 3 || parts[1] != "objects" {
		return "", false
	}
	key, err := url.PathUnescape(parts[2])
	if err != nil {
		return "", false
	}
	return key, true
}

// checkUTF8Params names every parameter that is not UTF-8.
func checkUTF8Params(params map[string]string) error {
	var vs []violation
	for _, k := range sortedKeys(params) {
		if !utf8.ValidString(params[k]) {
			vs = append(vs, violation{k, fmt.Sprintf("%q is not UTF-8: percent-encode the UTF-8 bytes of the name", params[k])})
		}
	}
	if len(vs) > 0 {
		return badRequest(vs)
	}
	return nil
}

// maxBodyBytes is the configured REST body limit (a Config made without
// config.Parse has none: the default then).
func (s *Server) maxBodyBytes() int64 {
	if n := s.cfg.REST.MaxBodyBytes; n > 0 {
		return n
	}
	return config.DefaultMaxBodyBytes
}
