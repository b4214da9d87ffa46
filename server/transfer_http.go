package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
)

// restTransfer serves the byte endpoints over the object and image
// services, authenticating each request as the RPC it stands for.
type restTransfer struct {
	objects *objectService
	images  *imageService
	rt      router.Resolver // the clouds whose signed URLs canopyd serves
	urls    *signedBase
	log     *slog.Logger
	authn   func(ctx context.Context, fullMethod string) (context.Context, error)
}

// Plain HTTP endpoints for object and image bytes, beside the gateway's
// JSON routes (grpc-gateway buffers request bodies; these stream):
//
//	PUT  /v1/buckets/{bucket}/objects/{key...}            upload (body = bytes)
//	GET  /v1/buckets/{bucket}/objects/{key...}?alt=media  download (Range honored)
//	GET  /download/v1/buckets/{bucket}/objects/{key...}   the same download, on a
//	                                                      path of its own (as GCS's
//	                                                      /download/storage/v1/…), for
//	                                                      clients generated from
//	                                                      /openapi.json, which tell
//	                                                      operations apart by path
//	POST /v1/images:upload?name=&disk_format=&...         upload an image
//	GET  /v1/images/{id}/file                             download an image
//	GET|PUT /signed/{cloud}/{bucket}/{key...}             URLs the simulator signs
//
// They authenticate exactly as the RPCs they stand for (same bearer token,
// same scope rule, same project checks).
const (
	headerSHA256   = "X-Canopy-Sha256"
	headerMetaPref = "X-Canopy-Meta-"
	headerPartSize = "X-Canopy-Part-Size"
)

// registerTransfer mounts the byte endpoints on mux; gw is the gateway, to
// which a GET of an object without alt=media (its metadata) goes.
func (s *restTransfer) registerTransfer(mux *http.ServeMux, gw http.Handler, rest net.Addr, useTLS bool) {
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	host := rest.String()
	if h, port, err := net.SplitHostPort(host); err == nil && (h == "0.0.0.0" || h == "::" || h == "") {
		host = net.JoinHostPort("127.0.0.1", port)
	}
	s.urls.set(scheme + "://" + host)

	// ListObjects is served here: the gateway's GetObject route
	// ({key=**}, which matches zero segments) shadows its ListObjects route,
	// and the {key...} pattern below would redirect .../objects to
	// .../objects/ (an empty key).
	mux.HandleFunc("GET /v1/buckets/{bucket}/objects", s.httpListObjects)
	mux.HandleFunc("PUT /v1/buckets/{bucket}/objects/{key...}", s.httpPutObject)
	mux.HandleFunc("GET /v1/buckets/{bucket}/objects/{key...}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("alt") != "media" {
			gw.ServeHTTP(w, r)
			return
		}
		s.httpGetObject(w, r)
	})
	mux.HandleFunc("GET /download/v1/buckets/{bucket}/objects/{key...}", s.httpGetObject)
	mux.HandleFunc("POST /v1/images:upload", s.httpPutImage)
	mux.HandleFunc("GET /v1/images/{id}/file", s.httpGetImage)
	mux.HandleFunc(signedPath+"{cloud}/{path...}", s.httpSigned)
}

// httpAuth authenticates a REST request as the RPC it stands for.
func (s *restTransfer) httpAuth(r *http.Request, fullMethod string) (context.Context, error) {
	md := metadata.MD{}
	if v := r.Header.Get("Authorization"); v != "" {
		md.Set("authorization", v)
	}
	return s.authn(metadata.NewIncomingContext(r.Context(), md), fullMethod)
}

// httpError writes a gRPC status exactly as the gateway's routes do
// (rest_errors.go).
func httpError(w http.ResponseWriter, err error) { writeRESTError(w, err) }

func writeProto(w http.ResponseWriter, code int, m proto.Message) {
	body, err := restJSON(m)
	if err != nil {
		httpError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// bodyChunks reads an HTTP body in chunks.
func bodyChunks(body io.Reader) func() ([]byte, error) {
	buf := make([]byte, chunkSize)
	return func() ([]byte, error) {
		n, err := io.ReadFull(body, buf)
		if errors.Is(err, io.ErrUnexpectedEOF) || (errors.Is(err, io.EOF) && n > 0) {
			err = nil
		}
		if n == 0 && err == nil {
			err = io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, errClient(err)
		}
		return buf[:n], err
	}
}

func (s *restTransfer) httpPutObject(w http.ResponseWriter, r *http.Request) {
	const method = "/canopy.v1.ObjectService/UploadObject"
	ctx, err := s.httpAuth(r, method)
	if err != nil {
		httpError(w, err)
		return
	}
	if err := checkByteRoute(r, nil, "bucket", "key"); err != nil {
		httpError(w, err)
		return
	}
	spec := uploadSpec{key: r.PathValue("key"), contentType: r.Header.Get("Content-Type"), size: r.ContentLength, sha256: r.Header.Get(headerSHA256)}
	for k, v := range r.Header {
		if name, ok := strings.CutPrefix(k, headerMetaPref); ok && len(v) > 0 {
			if spec.metadata == nil {
				spec.metadata = map[string]string{}
			}
			spec.metadata[strings.ToLower(name)] = v[0]
		}
	}
	if v := r.Header.Get(headerPartSize); v != "" {
		if spec.partSize, err = strconv.ParseInt(v, 10, 64); err != nil {
			httpError(w, router.BadRequest(headerPartSize, "not a number of bytes"))
			return
		}
	}
	var ob *canopyv1.Object
	cl, o, m, err := s.objects.bucketOf(ctx, "bucket", r.PathValue("bucket"))
	if err == nil {
		// A sha256 known only at the end may come as an HTTP trailer, as
		// over gRPC with the last chunk.
		late := func() string { return r.Trailer.Get(headerSHA256) }
		ob, err = s.objects.putObject(ctx, cl, o, m, spec, bodyChunks(unboundedBody(r)), false, late)
	}
	audit(ctx, s.log, method, nil, nil, err)
	if err != nil {
		httpError(w, err)
		return
	}
	writeProto(w, http.StatusOK, ob)
}

// parseRange reads a single-range Range header ("bytes=a-b", "bytes=a-",
// "bytes=-n"); size is needed only for the suffix form.
func parseRange(h string, size func() (int64, error)) (off, n int64, ok bool, err error) {
	if h == "" {
		return 0, -1, false, nil
	}
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, router.BadRequest("Range", "only one range of bytes is supported")
	}
	a, b, dash := strings.Cut(spec, "-")
	if !dash || !digits(a) || !digits(b) { // RFC 9110: 1*DIGIT; ParseInt would take "+5"
		return 0, 0, false, router.BadRequest("Range", "malformed %q", h)
	}
	switch {
	case a == "":
		suffix, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || suffix <= 0 {
			return 0, 0, false, router.BadRequest("Range", "malformed %q", h)
		}
		total, err := size()
		if err != nil {
			return 0, 0, false, err
		}
		off = max(total-suffix, 0)
		return off, total - off, true, nil
	default:
		off, perr := strconv.ParseInt(a, 10, 64)
		if perr != nil || off < 0 {
			return 0, 0, false, router.BadRequest("Range", "malformed %q", h)
		}
		if b == "" {
			return off, -1, true, nil
		}
		end, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || end < off {
			return 0, 0, false, router.BadRequest("Range", "malformed %q", h)
		}
		if end == math.MaxInt64 { // the length, or offset + length, would pass int64: to the end
			return off, -1, true, nil
		}
		return off, end - off + 1, true, nil
	}
}

// digits reports whether s is ASCII digits only ("" included).
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// httpListObjects is ListObjects over REST (GET /v1/buckets/{bucket}/objects
// with prefix, delimiter, page_size and page_token in the query).
func (s *restTransfer) httpListObjects(w http.ResponseWriter, r *http.Request) {
	ctx, err := s.httpAuth(r, "/canopy.v1.ObjectService/ListObjects")
	if err != nil {
		httpError(w, err)
		return
	}
	req := &canopyv1.ListObjectsRequest{}
	if err := checkByteRoute(r, req, "bucket"); err != nil {
		httpError(w, err)
		return
	}
	req.Bucket = r.PathValue("bucket")
	out, err := s.objects.ListObjects(ctx, req)
	if err != nil {
		httpError(w, err)
		return
	}
	writeProto(w, http.StatusOK, out)
}

func (s *restTransfer) httpGetObject(w http.ResponseWriter, r *http.Request) {
	ctx, err := s.httpAuth(r, "/canopy.v1.ObjectService/DownloadObject")
	if err != nil {
		httpError(w, err)
		return
	}
	if err := checkByteRoute(r, nil, "bucket", "key"); err != nil {
		httpError(w, err)
		return
	}
	key := r.PathValue("key")
	if err := checkKey("key", key); err != nil {
		httpError(w, err)
		return
	}
	cl, o, m, err := s.objects.bucketOf(ctx, "bucket", r.PathValue("bucket"))
	if err != nil {
		httpError(w, err)
		return
	}
	off, n, ranged, err := parseRange(r.Header.Get("Range"), func() (int64, error) {
		ob, err := o.HeadObject(ctx, m.NativeID, key)
		if err != nil {
			return 0, router.CloudErr(cl.Name, "head object "+key, err)
		}
		return ob.Size, nil
	})
	if err != nil {
		httpError(w, err)
		return
	}
	d, err := s.objects.openDownload(ctx, cl, o, m, key, off, n)
	if err != nil {
		if ranged && status.Code(err) == codes.InvalidArgument {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		httpError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", d.obj.ContentType)
	h.Set("Content-Length", strconv.FormatInt(d.length, 10))
	h.Set("Accept-Ranges", "bytes")
	if d.obj.ETag != "" {
		h.Set("ETag", `"`+d.obj.ETag+`"`)
	}
	if d.obj.SHA256 != "" {
		h.Set(headerSHA256, d.obj.SHA256)
	}
	code := http.StatusOK
	if ranged {
		code = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", d.offset, d.offset+d.length-1, d.obj.Size))
		if d.length == 0 {
			d.r.Close()
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
	}
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		d.r.Close()
		return
	}
	if _, err := d.pump(cl.Name, func(b []byte) error { _, err := w.Write(b); return err }); err != nil {
		// Headers are gone: break the connection so the client sees a
		// failed transfer, never a short or wrong body that looks whole.
		s.log.Warn("object download failed mid-stream", "cloud", cl.Name, "key", key, "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (s *restTransfer) httpPutImage(w http.ResponseWriter, r *http.Request) {
	const method = "/canopy.v1.ImageTransferService/UploadImage"
	ctx, err := s.httpAuth(r, method)
	if err != nil {
		httpError(w, err)
		return
	}
	// The query is an ImageUploadHeader, as the gRPC upload's first message.
	hdr := &canopyv1.ImageUploadHeader{}
	if err := checkByteRoute(r, hdr); err != nil {
		httpError(w, err)
		return
	}
	sum := hdr.GetSha256()
	if v := r.Header.Get(headerSHA256); v != "" {
		sum = v
	}
	loc := hdr.GetLocation()
	if loc == nil {
		loc = &canopyv1.Location{}
	}
	size := r.ContentLength
	if hdr.SizeBytes != nil {
		size = hdr.GetSizeBytes()
	}
	up := imageUpload{size: size, wait: hdr.GetWait(), loc: loc, visibility: hdr.GetVisibility(), shared: hdr.GetSharedProjects(), placements: hdr.GetPlacements(),
		spec: providers.ImageSpec{Name: hdr.GetName(), DiskFormat: hdr.GetDiskFormat(), ContainerFormat: hdr.GetContainerFormat(),
			MinDiskGiB: hdr.GetMinDiskGib(), MinRAMMiB: hdr.GetMinRamMib(), Labels: hdr.GetLabels(), SHA256: strings.ToLower(sum)}}
	im, err := s.images.putImage(ctx, up, bodyChunks(unboundedBody(r)), nil)
	audit(ctx, s.log, method, nil, im, err)
	if err != nil {
		httpError(w, err)
		return
	}
	writeProto(w, http.StatusOK, im)
}

func (s *restTransfer) httpGetImage(w http.ResponseWriter, r *http.Request) {
	ctx, err := s.httpAuth(r, "/canopy.v1.ImageTransferService/DownloadImage")
	if err != nil {
		httpError(w, err)
		return
	}
	if err := checkByteRoute(r, nil, "id"); err != nil {
		httpError(w, err)
		return
	}
	im, rd, err := s.images.openImage(ctx, r.PathValue("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	defer rd.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(im.SizeBytes, 10))
	w.Header().Set("X-Canopy-Disk-Format", im.DiskFormat)
	w.Header().Set("X-Canopy-Container-Format", im.ContainerFormat)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, io.LimitReader(rd, im.SizeBytes)); err != nil {
		panic(http.ErrAbortHandler)
	}
}

// httpSigned serves the URLs that clouds sign for themselves (the
// simulator). The signature is the authorization: no bearer token.
func (s *restTransfer) httpSigned(w http.ResponseWriter, r *http.Request) {
	cl, ok := s.rt.Cloud(r.PathValue("cloud"))
	var srv providers.SignedURLServer
	if ok {
		srv, ok = cl.Provider.(providers.SignedURLServer)
	}
	if !ok {
		http.Error(w, "no such signed URL", http.StatusNotFound)
		return
	}
	if err := cl.Limiter.Wait(r.Context()); err != nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "rate limited", http.StatusServiceUnavailable)
		return
	}
	srv.ServeSignedURL(w, r, r.PathValue("path"))
}

// queryBool reads a boolean query parameter ("" is false).
func queryBool(q url.Values, key string) (bool, error) {
	v := q.Get(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, router.BadRequest(key, "want true or false, got %q", v)
	}
	return b, nil
}

// checkByteRoute checks a byte route's input as the gateway checks its
// routes': path parameters must be UTF-8, and the query is parsed into
// query (nil: the route takes none but alt=media) with the same strict
// parser, so a misspelt parameter is an error naming it.
func checkByteRoute(r *http.Request, query proto.Message, params ...string) error {
	vals := make(map[string]string, len(params))
	for _, p := range params {
		vals[p] = r.PathValue(p)
	}
	if err := checkUTF8Params(vals); err != nil {
		return err
	}
	q := r.URL.Query()
	if query != nil {
		return strictQuery{}.Parse(query, q, nil)
	}
	var vs []violation
	for _, k := range sortedKeys(q) {
		if k != "alt" {
			vs = append(vs, violation{quoteField(k), "unknown query parameter: this call takes none"})
		}
	}
	if len(vs) > 0 {
		return badRequest(vs)
	}
	return nil
}
