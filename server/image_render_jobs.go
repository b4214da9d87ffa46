package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/jobs"
	"github.com/canopy-cloud/canopy/render"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// An image.render operation runs four stages, each a step recorded before
// it acts (package jobs):
//
//	fetch    the tarball into the render cache (already there when the
//	         request streamed it, or cached from before: no bytes move)
//	render   extract, fill the templates, mke2fs -d / the OCI tarball
//	convert  one disk format per run of the step (qemu-img)
//	upload   one (output, cloud) per run of the step, through placer
//
// Every product is cached by content hash, so a resumed or repeated
// render redoes nothing it finished. What a step learned is in op.State:
// tarball, moved, key, out.<format> ("sha256 size cached") and
// place.<format>.<cloud> ("image-id moved reused"). A failure names the
// stage and, for bad input, the manifest field.

const opImageRender = "image.render"

// renderJobs are the steps of image.render.
type renderJobs struct {
	*renderer
	place   placer
	objects interface { // a tarball_object's bytes
		openObject(ctx context.Context, bucket, key string) (io.ReadCloser, error)
	}
	images interface { // the images placements became
		GetImage(ctx context.Context, req *canopyv1.GetImageRequest) (*canopyv1.Image, error)
	}
	http *http.Client
	// ready is closed once the fields above are wired (serve.go builds the
	// services after the runner has resumed operations).
	ready chan struct{}
}

// wait holds a step until the services it uses are wired.
func (j *renderJobs) wait(ctx context.Context) error {
	select {
	case <-j.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (j *renderJobs) register(r *jobs.Runner) {
	r.Register(opImageRender, jobs.Kind{First: "fetch", Steps: map[string]jobs.Step{
		"fetch": j.fetch, "render": j.render, "convert": j.convert, "upload": j.upload,
	},
		// Until the uploads begin a cancel stops it (interrupting mke2fs or
		// qemu-img): what it made is only cache, nothing to undo.
		Undoable: func(_ store.Operation, step string) bool { return step != "upload" },
	})
}

// stageErr says which stage failed: bad input names its field; a cloud's
// or the host's failure keeps its code.
func stageErr(stage string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := render.AsError(err); ok {
		return renderErr(stage, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, render.ErrNoBootTools) {
		return status.Errorf(codes.FailedPrecondition, "stage %s: %v", stage, err)
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return status.ErrorProto(withStage(st, stage))
	}
	return router.Detailed(codes.Internal, "stage "+stage+": "+err.Error(),
		&errdetails.ErrorInfo{Reason: "RENDER_FAILED", Domain: "canopy", Metadata: map[string]string{"stage": stage}})
}

func withStage(st *status.Status, stage string) *spb.Status {
	p := st.Proto()
	p.Message = "stage " + stage + ": " + p.Message
	return p
}

func (j *renderJobs) spec(op *store.Operation) (renderSpec, *render.Manifest, error) {
	var s renderSpec
	if err := json.Unmarshal(op.Spec, &s); err != nil {
		return s, nil, status.Errorf(codes.Internal, "operation %s: corrupt spec: %v", op.ID, err)
	}
	m, err := render.Parse([]byte(s.Manifest))
	return s, m, err
}

// plan is an operation's outputs and clouds grouped by the input values
// the clouds' presets give (image_render_presets.go).
func (j *renderJobs) plan(op *store.Operation) (renderSpec, *render.Manifest, [][]string, []renderVariant, error) {
	s, m, err := j.spec(op)
	if err != nil {
		return s, nil, nil, nil, err
	}
	targets, err := j.targets(m, s.Clouds)
	if err != nil {
		return s, nil, nil, nil, err
	}
	vs, err := j.variants(m, s.Inputs, targets)
	return s, m, targets, vs, err
}

// stateKey is where op.State keeps what a step learned of variant n: the
// first variant's under the names operations have always used (key,
// built, out.<format>), the others' with the variant's number.
func stateKey(n int, name, format string) string {
	if n > 0 {
		name += "." + strconv.Itoa(n)
	}
	if format != "" {
		name += "." + format
	}
	return name
}

// asProject is the operation's project as the request's principal: the
// steps read objects and upload images as the caller did.
func asProject(ctx context.Context, op *store.Operation) context.Context {
	return auth.NewContext(ctx, auth.Principal{Subject: "operation " + op.ID, Project: op.Project, Scopes: []string{auth.ScopeWrite}})
}

func (j *renderJobs) fetch(ctx context.Context, op *store.Operation) (jobs.Result, error) {
	if err := j.wait(ctx); err != nil {
		return jobs.Result{}, err
	}
	s, _, err := j.spec(op)
	if err != nil {
		return jobs.Result{}, stageErr("fetch", err)
	}
	if op.State == nil {
		op.State = map[string]string{}
	}
	next := jobs.Result{Next: "render", Progress: 25}
	if s.TarballSHA != "" && j.r.HasTarball(s.TarballSHA) {
		op.State["tarball"], op.State["moved"] = s.TarballSHA, strconv.FormatInt(s.Moved, 10)
		return next, nil
	}
	var body io.ReadCloser
	switch {
	case s.TarballURL != "":
		u := mirrored(j.cfg.Mirrors, s.TarballURL)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return jobs.Result{}, renderErr("fetch", &render.Error{Field: "tarball_url", Reason: err.Error()})
		}
		resp, err := j.http.Do(req)
		if err != nil {
			return jobs.Result{}, status.Errorf(codes.Unavailable, "stage fetch: GET %s: %v", u, err) // retried
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			code := codes.FailedPrecondition
			if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				code = codes.Unavailable
			}
			return jobs.Result{}, router.Detailed(code, fmt.Sprintf("stage fetch: tarball_url: GET %s: %s", u, resp.Status),
				&errdetails.ErrorInfo{Reason: "RENDER_FETCH", Domain: "canopy", Metadata: map[string]string{"stage": "fetch", "field": "tarball_url", "url": u}})
		}
		body = resp.Body
	case s.TarballObject != "":
		bucket, key, _ := strings.Cut(s.TarballObject, "/")
		body, err = j.objects.openObject(asProject(ctx, op), bucket, key)
		if err != nil {
			return jobs.Result{}, stageErr("fetch", err)
		}
	default:
		return jobs.Result{}, status.Errorf(codes.FailedPrecondition, "stage fetch: tarball %s is no longer cached here: render again with its bytes", s.TarballSHA)
	}
	defer body.Close()
	sha, n, err := j.r.Ingest(ctx, body, s.TarballSHA)
	if err != nil {
		return jobs.Result{}, stageErr("fetch", err)
	}
	op.State["tarball"], op.State["moved"] = sha, strconv.FormatInt(n, 10)
	return next, nil
}

// render makes one variant not rendered yet per run.
func (j *renderJobs) render(ctx context.Context, op *store.Operation) (jobs.Result, error) {
	if err := j.wait(ctx); err != nil {
		return jobs.Result{}, err
	}
	_, m, _, vs, err := j.plan(op)
	if err != nil {
		return jobs.Result{}, stageErr("render", err)
	}
	for n, v := range vs {
		if op.State[stateKey(n, "key", "")] != "" {
			continue
		}
		values, err := m.Values(v.Inputs)
		if err != nil {
			return jobs.Result{}, stageErr("render", err)
		}
		key, built, err := j.r.Render(ctx, m, op.State["tarball"], values)
		if err != nil {
			return jobs.Result{}, stageErr("render", err)
		}
		op.State[stateKey(n, "key", "")], op.State[stateKey(n, "built", "")] = key, strconv.FormatBool(built)
		return jobs.Result{Next: "render", Progress: int32(25 + 25*(n+1)/len(vs))}, nil
	}
	return jobs.Result{Next: "convert", Progress: 50}, nil
}

// convert makes one output not made yet per run.
func (j *renderJobs) convert(ctx context.Context, op *store.Operation) (jobs.Result, error) {
	if err := j.wait(ctx); err != nil {
		return jobs.Result{}, err
	}
	_, _, _, vs, err := j.plan(op)
	if err != nil {
		return jobs.Result{}, stageErr("convert", err)
	}
	total, done := 0, 0
	for _, v := range vs {
		total += len(v.Formats)
	}
	for n, v := range vs {
		for _, format := range v.Formats {
			k := stateKey(n, "out", format)
			if op.State[k] != "" {
				done++
				continue
			}
			f, err := j.r.Convert(ctx, op.State[stateKey(n, "key", "")], format)
			if err != nil {
				return jobs.Result{}, stageErr("convert", err)
			}
			if !render.IsConverted(format) { // made by the render stage
				f.Cached = op.State[stateKey(n, "built", "")] == "false"
			}
			op.State[k] = fmt.Sprintf("%s %d %t", f.SHA256, f.Size, f.Cached)
			return jobs.Result{Next: "convert", Progress: int32(50 + 25*(done+1)/total)}, nil
		}
	}
	return jobs.Result{Next: "upload", Progress: 75}, nil
}

// upload puts one (output, cloud) not placed yet per run. A cloud takes
// one variant of a format, so place.<format>.<cloud> names it.
func (j *renderJobs) upload(ctx context.Context, op *store.Operation) (jobs.Result, error) {
	if err := j.wait(ctx); err != nil {
		return jobs.Result{}, err
	}
	s, m, _, vs, err := j.plan(op)
	if err != nil {
		return jobs.Result{}, stageErr("upload", err)
	}
	total, done := 0, 0
	for _, v := range vs {
		for _, cs := range v.Clouds {
			total += len(cs)
		}
	}
	for n, v := range vs {
		for _, format := range v.Formats {
			for _, cloud := range v.Clouds[format] {
				k := "place." + format + "." + cloud
				if op.State[k] != "" {
					done++
					continue
				}
				f, err := j.file(op, n, format)
				if err != nil {
					return jobs.Result{}, stageErr("upload", err)
				}
				im, moved, reused, err := j.place.place(asProject(ctx, op), cloud, f, outputName(m, f), s.Labels)
				if err != nil {
					return jobs.Result{}, stageErr("upload", prefixErr(fmt.Sprintf("cloud %s: outputs[%d] (%s): ", cloud, outputIndex(m, format), format), err))
				}
				op.State[k] = fmt.Sprintf("%s %d %t", im.GetId(), moved, reused)
				return jobs.Result{Next: "upload", Progress: int32(75 + 24*(done+1)/total)}, nil
			}
		}
	}
	res, err := j.result(ctx, op, m, vs)
	if err != nil {
		return jobs.Result{}, stageErr("upload", err)
	}
	return jobs.Result{Done: true, Progress: 100, Response: anyBytes(res)}, nil
}

// outputIndex is the manifest's index of the output in format.
func outputIndex(m *render.Manifest, format string) int {
	for i, o := range m.Outputs {
		if o.Format == format {
			return i
		}
	}
	return -1
}

// outputName is the name of a rendered output's images. A container
// image's name is the reference it runs by, so it is tagged with its
// bytes' hash (lower case, as references are): two renders of one
// manifest with other inputs are two images, neither retagging the other.
func outputName(m *render.Manifest, f render.File) string {
	if f.Format == render.FormatOCI {
		return strings.ToLower(m.Name) + ":" + f.SHA256[:12]
	}
	return m.Name + "-" + f.Format
}

// prefixErr puts prefix before err's message, keeping its gRPC status.
func prefixErr(prefix string, err error) error {
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		p := st.Proto()
		p.Message = prefix + p.Message
		return status.ErrorProto(p)
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// file is variant n's output in format as the convert step recorded it.
func (j *renderJobs) file(op *store.Operation, n int, format string) (render.File, error) {
	var f render.File
	var cached bool
	if _, err := fmt.Sscanf(op.State[stateKey(n, "out", format)], "%s %d %t", &f.SHA256, &f.Size, &cached); err != nil {
		return f, status.Errorf(codes.Internal, "operation %s: no record of the %s output", op.ID, format)
	}
	f.Format, f.Path, f.Cached = format, j.r.Path(op.State[stateKey(n, "key", "")], format), cached
	return f, nil
}

// result is the operation's response: one output per variant and format.
func (j *renderJobs) result(ctx context.Context, op *store.Operation, m *render.Manifest, vs []renderVariant) (*canopyv1.RenderImageResult, error) {
	moved, _ := strconv.ParseInt(op.State["moved"], 10, 64)
	res := &canopyv1.RenderImageResult{Key: op.State["key"], TarballSha256: op.State["tarball"], TarballBytesMoved: moved, Cached: true}
	for n, v := range vs {
		res.Cached = res.Cached && op.State[stateKey(n, "built", "")] == "false"
		for _, format := range v.Formats {
			f, err := j.file(op, n, format)
			if err != nil {
				return nil, err
			}
			ro := &canopyv1.RenderedOutput{Format: format, Sha256: f.SHA256, SizeBytes: f.Size, Cached: f.Cached,
				Inputs: withDefaults(m, v.Inputs), Key: op.State[stateKey(n, "key", "")]}
			clouds := append([]string(nil), v.Clouds[format]...)
			sort.Strings(clouds)
			for _, cloud := range clouds {
				var id string
				var n int64
				var reused bool
				if _, err := fmt.Sscanf(op.State["place."+format+"."+cloud], "%s %d %t", &id, &n, &reused); err != nil {
					return nil, status.Errorf(codes.Internal, "operation %s: no record of %s in %s", op.ID, format, cloud)
				}
				p := &canopyv1.RenderedPlacement{Cloud: cloud, BytesUploaded: n, Reused: reused, Image: &canopyv1.Image{Id: id}}
				if j.images != nil {
					if im, err := j.images.GetImage(asProject(ctx, op), &canopyv1.GetImageRequest{Id: id}); err == nil {
						p.Image = im
					}
				}
				ro.Placements = append(ro.Placements, p)
			}
			res.Outputs = append(res.Outputs, ro)
		}
	}
	return res, nil
}
