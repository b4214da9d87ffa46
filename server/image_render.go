package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/render"
	"github.com/canopy-cloud/canopy/router"
)

// RenderImage (Cloudlets): a manifest and a filesystem tarball become
// images. The handler checks everything it can before it answers — the
// manifest, the inputs against its schema, the target clouds and the
// formats they take — and streams a sent tarball into the render cache,
// checking every entry on the way; the rest (fetching a tarball by URL or
// from an object, rendering, converting, uploading) is an operation of
// kind image.render (image_render_jobs.go).

// renderer is the render side of the image service.
type renderer struct {
	rt  router.Resolver
	r   *render.Renderer
	cfg config.Render
	ops interface {
		submit(ctx context.Context, r opRequest) (*canopyv1.Operation, error)
	}
}

// newRenderer finds the tools and the scratch directory. Without the tools
// RenderImage answers FAILED_PRECONDITION saying what to install.
func newRenderer(cfg *config.Config, rt router.Resolver) (*renderer, error) {
	dir := cfg.Render.ScratchDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "canopy-render")
		if cfg.DataDir != "" {
			dir = filepath.Join(cfg.DataDir, "render")
		}
	}
	max := cfg.Render.MaxTarballBytes
	if max == 0 {
		max = 8 << 30
	}
	tools, err := render.FindTools()
	boot, _ := render.FindBootTools() // only syslinux manifests need them: check refuses those without
	return &renderer{rt: rt, cfg: cfg.Render, r: &render.Renderer{Dir: dir, Tools: tools, Boot: boot, MaxTreeBytes: max}}, err
}

// renderSpec is an image.render operation's request as its steps read it.
type renderSpec struct {
	Manifest      string            `json:"manifest"`
	Inputs        map[string]string `json:"inputs,omitempty"`
	Clouds        []string          `json:"clouds,omitempty"`
	TarballURL    string            `json:"tarball_url,omitempty"`
	TarballObject string            `json:"tarball_object,omitempty"`
	TarballSHA    string            `json:"tarball_sha256,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	// Moved is how many tarball bytes the request itself streamed in.
	Moved int64 `json:"moved,omitempty"`
}

var (
	hexSHA256  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	objectPath = regexp.MustCompile(`^[^/]+/.+$`)
)

// renderErr is a render.Error as the API says it: INVALID_ARGUMENT naming
// the field, and, inside an operation, the stage.
func renderErr(stage string, err error) error {
	e, ok := render.AsError(err)
	if !ok {
		return err
	}
	msg := e.Field + ": " + e.Reason
	if stage != "" {
		msg = "stage " + stage + ": " + msg
	}
	return router.Detailed(codes.InvalidArgument, msg,
		&errdetails.ErrorInfo{Reason: "RENDER_INVALID", Domain: "canopy", Metadata: map[string]string{"stage": stage, "field": e.Field}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: e.Field, Description: e.Reason}}})
}

// targets are the clouds each output goes to (request clouds replace the
// manifest's), each checked to exist and to take the format.
func (s *renderer) targets(m *render.Manifest, clouds []string) ([][]string, error) {
	out := make([][]string, len(m.Outputs))
	for i, o := range m.Outputs {
		list, field := o.Clouds, fmt.Sprintf("outputs[%d].clouds", i)
		if len(clouds) > 0 {
			list, field = clouds, "clouds"
		}
		seen := map[string]bool{}
		for j, name := range list {
			cl, ok := s.rt.Cloud(name)
			if !ok {
				return nil, router.BadRequest(fmt.Sprintf("%s[%d]", field, j), "no cloud %q is configured", name)
			}
			if err := acceptsFormat(cl, o.Format); err != nil {
				return nil, renderErr("", &render.Error{Field: fmt.Sprintf("outputs[%d].format", i), Reason: err.Error()})
			}
			if !seen[name] {
				seen[name] = true
				out[i] = append(out[i], name)
			}
		}
	}
	return out, nil
}

// check validates a render request without acting.
func (s *renderer) check(h *canopyv1.RenderImageHeader) (*render.Manifest, error) {
	if h.GetManifest() == "" {
		return nil, router.BadRequest("header.manifest", "required: the manifest, YAML or JSON")
	}
	m, err := render.Parse([]byte(h.GetManifest()))
	if err != nil {
		return nil, renderErr("", err)
	}
	// Undeclared inputs are refused as given; a required one may come
	// from a target cloud's presets.
	for _, k := range slices.Sorted(maps.Keys(h.GetInputs())) {
		if _, ok := m.Inputs[k]; !ok {
			return nil, renderErr("", &render.Error{Field: "inputs." + k, Reason: "not declared in the manifest's inputs"})
		}
	}
	if m.Bootloader == render.BootloaderSyslinux && m.HasDisk() && s.r.Boot.Syslinux == "" {
		why := render.ErrNoBootTools.Error() + " when it started"
		if _, err := render.FindBootTools(); err != nil {
			why = err.Error() // names the packages
		}
		return nil, router.Detailed(codes.FailedPrecondition, "bootloader: "+why,
			&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{Type: "RENDER_TOOLS", Subject: "bootloader", Description: why}}})
	}
	targets, err := s.targets(m, h.GetClouds())
	if err != nil {
		return nil, err
	}
	vs, err := s.variants(m, h.GetInputs(), targets) // image_render_presets.go
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if _, err := m.Values(v.Inputs); err != nil {
			return nil, renderErr("", err)
		}
	}
	if err := router.CheckLabels("header.labels", h.GetLabels()); err != nil {
		return nil, err
	}
	n := 0
	if u := h.GetTarballUrl(); u != "" {
		n++
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, router.BadRequest("header.tarball_url", "%q: an http(s) URL", u)
		}
	}
	if o := h.GetTarballObject(); o != "" {
		n++
		if !objectPath.MatchString(o) {
			return nil, router.BadRequest("header.tarball_object", "%q: bucket/key", o)
		}
	}
	if n > 1 {
		return nil, router.BadRequest("header.tarball_url", "give tarball_url or tarball_object, not both")
	}
	if sha := h.GetTarballSha256(); sha != "" && !hexSHA256.MatchString(sha) {
		return nil, router.BadRequest("header.tarball_sha256", "64 lower-case hex digits")
	}
	return m, nil
}

// RenderImage implements canopyv1.ImageTransferServiceServer.
func (s *imageService) RenderImage(stream canopyv1.ImageTransferService_RenderImageServer) error {
	ctx := stream.Context()
	op, err := s.renderImage(ctx, stream)
	audit(ctx, s.log, "/canopy.v1.ImageTransferService/RenderImage", nil, op, err)
	if err != nil {
		return err
	}
	return stream.SendAndClose(op)
}

func (s *imageService) renderImage(ctx context.Context, stream canopyv1.ImageTransferService_RenderImageServer) (*canopyv1.Operation, error) {
	if s.render == nil {
		return nil, status.Error(codes.Unimplemented, "rendering is not configured on this canopyd")
	}
	if s.renderErr != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "rendering needs e2fsprogs and qemu-utils on canopyd's host: %v", s.renderErr)
	}
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		// An empty stream, or an empty body over REST.
		return nil, router.BadRequest("header", "required: the request carries no message; the first one must be the header")
	}
	if err != nil {
		return nil, err
	}
	h := first.GetHeader()
	if h == nil {
		return nil, router.BadRequest("header", "the first message must carry the header")
	}
	if _, err := s.render.check(h); err != nil {
		return nil, err
	}
	spec := renderSpec{Manifest: h.GetManifest(), Inputs: h.GetInputs(), Clouds: h.GetClouds(), TarballURL: h.GetTarballUrl(),
		TarballObject: h.GetTarballObject(), TarballSHA: h.GetTarballSha256(), Labels: h.GetLabels()}
	// The tarball's bytes, if they come with the request, go into the
	// cache now: the operation then finds them there.
	next := func() ([]byte, error) {
		msg, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, status.Errorf(status.Code(err), "render: the tarball's upload broke off: %v: nothing was rendered", err)
		}
		if msg.GetHeader() != nil {
			return nil, router.BadRequest("header", "only the first message carries a header")
		}
		return msg.GetChunk(), nil
	}
	chunk, err := next()
	switch {
	case errors.Is(err, io.EOF): // no bytes: the tarball is elsewhere, or cached
		if spec.TarballURL == "" && spec.TarballObject == "" {
			if spec.TarballSHA == "" {
				return nil, router.BadRequest("header.tarball_sha256", "no tarball: send its bytes, or give tarball_url, tarball_object or the sha256 of a cached one")
			}
			if !s.render.r.HasTarball(spec.TarballSHA) {
				return nil, router.Detailed(codes.FailedPrecondition, fmt.Sprintf("tarball %s is not cached here: send its bytes", spec.TarballSHA),
					&errdetails.ErrorInfo{Reason: "TARBALL_NOT_CACHED", Domain: "canopy", Metadata: map[string]string{"sha256": spec.TarballSHA}})
			}
		}
	case err != nil:
		return nil, err
	default:
		if spec.TarballURL != "" || spec.TarballObject != "" {
			return nil, router.BadRequest("header.tarball_url", "the tarball is sent and named elsewhere: give one")
		}
		sha, n, err := s.render.r.Ingest(ctx, &chunkReader{first: chunk, next: next}, spec.TarballSHA)
		if err != nil {
			if _, ok := render.AsError(err); ok {
				return nil, renderErr("fetch", err)
			}
			if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
				return nil, err
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, status.FromContextError(err).Err()
			}
			return nil, status.Errorf(codes.Internal, "render: %v", err)
		}
		spec.TarballSHA, spec.Moved = sha, n
	}
	reqHash := ""
	if h.GetRequestId() != "" {
		reqHash = requestHash(opImageRender, h)
	}
	return s.render.ops.submit(ctx, opRequest{kind: opImageRender, target: "", spec: spec, wait: h.GetWait(), reqID: h.GetRequestId(), hash: reqHash})
}

// chunkReader reads a stream of chunks as one io.Reader.
type chunkReader struct {
	first []byte
	next  func() ([]byte, error)
	err   error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.first) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.first, c.err = c.next()
	}
	n := copy(p, c.first)
	c.first = c.first[n:]
	return n, nil
}

// mirrored rewrites a tarball URL through the configured mirrors, longest
// prefix first.
func mirrored(mirrors map[string]string, u string) string {
	keys := make([]string, 0, len(mirrors))
	for k := range mirrors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if rest, ok := strings.CutPrefix(u, k); ok {
			return mirrors[k] + rest
		}
	}
	return u
}

// openObject reads a whole object (a render's tarball_object) as the
// caller's project.
func (s *objectService) openObject(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	if err := checkKey("tarball_object", key); err != nil {
		return nil, err
	}
	cl, o, m, err := s.bucketOf(ctx, "tarball_object", bucket)
	if err != nil {
		return nil, err
	}
	r, _, err := o.NewRangeReader(ctx, m.NativeID, key, 0, -1)
	if err != nil {
		return nil, router.CloudErr(cl.Name, "read object "+key, err)
	}
	return r, nil
}
