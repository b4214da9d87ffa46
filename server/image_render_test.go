package server

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/cache"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/render"
	"github.com/canopy-cloud/canopy/router"
)

// The render tests run the real tools (mke2fs, qemu-img) on a tiny tree
// and upload to sim clouds; test/render/test.sh boots the result.

type renderEnv struct {
	*env
	img canopyv1.ImageTransferServiceClient
	ops canopyv1.OperationServiceClient
}

func newRenderEnv(t *testing.T, extra string) renderEnv {
	return newRenderEnvClouds(t, `
  - {name: local, kind: sim}
  - {name: other, kind: sim}`, extra)
}

// newRenderEnvClouds is a render env over clouds (YAML list items).
func newRenderEnvClouds(t *testing.T, clouds, extra string) renderEnv {
	t.Helper()
	if _, err := render.FindTools(); err != nil {
		t.Skipf("render tools: %v", err)
	}
	e := newEnv(t, `
clouds:`+clouds+`
render:
  scratch_dir: `+t.TempDir()+`
`+extra)
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(e.token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return renderEnv{env: e, img: canopyv1.NewImageTransferServiceClient(cc), ops: canopyv1.NewOperationServiceClient(cc)}
}

type entry struct {
	name, body string
	typ        byte
	link       string
}

func testTarball(t *testing.T, extra ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	all := append([]entry{{name: "./", typ: tar.TypeDir}, {name: "./boot/", typ: tar.TypeDir}, {name: "./etc/", typ: tar.TypeDir},
		{name: "./boot/vmlinuz", body: "kernel"}, {name: "./etc/hostname", body: "{{.hostname}}\n"}}, extra...)
	for _, e := range all {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link, ModTime: time.Unix(0, 0)}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			_, _ = tw.Write([]byte(e.body))
		}
	}
	_ = tw.Close()
	return b.Bytes()
}

const renderManifest = `
name: web
boot: {kernel: /boot/vmlinuz, cmdline: root=/dev/vda}
templates: [/etc/hostname]
inputs: {hostname: {default: canopy}}
outputs: [{format: raw}, {format: qcow2}]
`

// renderOnce streams a render request and waits for its operation.
func (e renderEnv) renderOnce(ctx context.Context, t *testing.T, hdr *canopyv1.RenderImageHeader, tarball []byte) (*canopyv1.Operation, error) {
	t.Helper()
	st, err := e.img.RenderImage(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&canopyv1.RenderImageRequest{Data: &canopyv1.RenderImageRequest_Header{Header: hdr}}); err != nil {
		return nil, err
	}
	for len(tarball) > 0 {
		n := min(len(tarball), 64<<10)
		if err := st.Send(&canopyv1.RenderImageRequest{Data: &canopyv1.RenderImageRequest_Chunk{Chunk: tarball[:n]}}); err != nil {
			break // the server answered early; CloseAndRecv says why
		}
		tarball = tarball[n:]
	}
	op, err := st.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	for !op.GetDone() {
		if op, err = e.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.GetId()}); err != nil {
			return nil, err
		}
	}
	return op, nil
}

func (e renderEnv) imageCount(t *testing.T, cloud string) int {
	t.Helper()
	l, err := e.sim(cloud).ListImages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

func result(t *testing.T, op *canopyv1.Operation) *canopyv1.RenderImageResult {
	t.Helper()
	if e := op.GetError(); e != nil {
		t.Fatalf("operation %s failed at %s: %s", op.GetId(), op.GetMetadata().GetStep(), e.GetMessage())
	}
	res := &canopyv1.RenderImageResult{}
	if err := op.GetResponse().UnmarshalTo(res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRenderImageCachedSecondTime(t *testing.T) {
	e := newRenderEnv(t, "")
	ctx := ctxT(t)
	tb := testTarball(t)
	sum := sha256.Sum256(tb)
	hdr := &canopyv1.RenderImageHeader{Manifest: renderManifest, Inputs: map[string]string{"hostname": "web1"}, Clouds: []string{"local"}}
	op, err := e.renderOnce(ctx, t, hdr, tb)
	if err != nil {
		t.Fatal(err)
	}
	first := result(t, op)
	if first.GetTarballBytesMoved() != int64(len(tb)) || first.GetCached() || first.GetTarballSha256() != hex.EncodeToString(sum[:]) {
		t.Fatalf("first render: %v", first)
	}
	if len(first.GetOutputs()) != 2 {
		t.Fatalf("outputs: %v", first.GetOutputs())
	}
	for _, o := range first.GetOutputs() {
		p := o.GetPlacements()
		if len(p) != 1 || p[0].GetCloud() != "local" || p[0].GetBytesUploaded() != o.GetSizeBytes() || p[0].GetReused() || o.GetCached() {
			t.Fatalf("first %s: %v", o.GetFormat(), o)
		}
		if p[0].GetImage().GetProperties()["sha256"] != o.GetSha256() && p[0].GetImage().GetProperties()["os_hash_value"] != o.GetSha256() {
			t.Errorf("%s image %v does not carry the output's sha256 %s", o.GetFormat(), p[0].GetImage(), o.GetSha256())
		}
	}
	before := e.imageCount(t, "local")

	// The same render by sha256 only: no tarball bytes, nothing rendered,
	// converted or uploaded.
	hdr.TarballSha256 = first.GetTarballSha256()
	op, err = e.renderOnce(ctx, t, hdr, nil)
	if err != nil {
		t.Fatal(err)
	}
	second := result(t, op)
	if second.GetTarballBytesMoved() != 0 || !second.GetCached() || second.GetKey() != first.GetKey() {
		t.Fatalf("second render: %v", second)
	}
	for i, o := range second.GetOutputs() {
		p := o.GetPlacements()
		if !o.GetCached() || len(p) != 1 || p[0].GetBytesUploaded() != 0 || !p[0].GetReused() ||
			p[0].GetImage().GetId() != first.GetOutputs()[i].GetPlacements()[0].GetImage().GetId() {
			t.Fatalf("second %s moved bytes: %v", o.GetFormat(), o)
		}
	}
	if after := e.imageCount(t, "local"); after != before {
		t.Errorf("images in the cloud: %d, then %d", before, after)
	}
	// Another input is another render.
	hdr.Inputs["hostname"] = "web2"
	op, err = e.renderOnce(ctx, t, hdr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if third := result(t, op); third.GetCached() || third.GetKey() == first.GetKey() || third.GetTarballBytesMoved() != 0 {
		t.Fatalf("third render: %v", third)
	}
}

func TestRenderImageUncachedSHA(t *testing.T) {
	e := newRenderEnv(t, "")
	_, err := e.renderOnce(ctxT(t), t, &canopyv1.RenderImageHeader{Manifest: renderManifest, TarballSha256: strings.Repeat("ab", 32)}, nil)
	wantErr(t, err, codes.FailedPrecondition, "", "not cached")
}

func TestRenderImageBadInput(t *testing.T) {
	e := newRenderEnv(t, "")
	ctx := ctxT(t)
	ok := testTarball(t)
	for _, c := range []struct {
		name     string
		manifest string
		inputs   map[string]string
		clouds   []string
		tarball  []byte
		field    string
		mentions string
	}{
		{"unknown field", renderManifest + "colour: blue\n", nil, nil, ok, "colour", "unknown field"},
		{"unknown nested field", strings.Replace(renderManifest, "cmdline:", "cmdlin:", 1), nil, nil, ok, "boot.cmdlin", "unknown field"},
		{"wrong type", strings.Replace(renderManifest, "templates: [/etc/hostname]", "templates: /etc/hostname", 1), nil, nil, ok, "templates", "must be a list"},
		{"duplicate key", renderManifest + "name: again\n", nil, nil, ok, "manifest", "already defined"},
		{"bad format", strings.Replace(renderManifest, "qcow2", "qcow3", 1), nil, nil, ok, "outputs[1].format", "qcow3"},
		{"undeclared input given", renderManifest, map[string]string{"colour": "x"}, nil, ok, "inputs.colour", "not declared"},
		{"unknown cloud", renderManifest, nil, []string{"nowhere"}, ok, "clouds[0]", "nowhere"},
		{"absolute path", renderManifest, nil, nil, testTarball(t, entry{name: "/etc/passwd", body: "x"}), "tarball", "absolute"},
		{"dotdot", renderManifest, nil, nil, testTarball(t, entry{name: "./etc/../../x", body: "x"}), "tarball", ".."},
		{"device", renderManifest, nil, nil, testTarball(t, entry{name: "./dev/sda", typ: tar.TypeBlock}), "tarball: ./dev/sda", "device"},
		{"not a tar", renderManifest, nil, nil, bytes.Repeat([]byte("x"), 2048), "tarball", "not a tar"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: c.manifest, Inputs: c.inputs, Clouds: c.clouds}, c.tarball)
			wantErr(t, err, codes.InvalidArgument, c.field, c.mentions)
		})
	}
}

// A template that references an undeclared input fails the render stage,
// naming the template; nothing is uploaded.
func TestRenderImageUndeclaredTemplateInput(t *testing.T) {
	e := newRenderEnv(t, "")
	ctx := ctxT(t)
	tb := testTarball(t, entry{name: "./etc/motd", body: "hello {{.colour}}\n"})
	m := strings.Replace(renderManifest, "templates: [/etc/hostname]", "templates: [/etc/hostname, /etc/motd]", 1)
	before := e.imageCount(t, "local")
	op, err := e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: m, Clouds: []string{"local"}}, tb)
	if err != nil {
		t.Fatal(err)
	}
	oe := op.GetError()
	if oe == nil || codes.Code(oe.GetCode()) != codes.InvalidArgument || !strings.Contains(oe.GetMessage(), "stage render") ||
		!strings.Contains(oe.GetMessage(), "templates[1]") || !strings.Contains(oe.GetMessage(), `"colour"`) {
		t.Fatalf("operation error = %v", oe)
	}
	if after := e.imageCount(t, "local"); after != before {
		t.Errorf("images: %d, then %d", before, after)
	}
}

// An upload the cloud fails leaves no image behind, and the operation
// names the upload stage and the cloud.
func TestRenderImageUploadFailureLeavesNothing(t *testing.T) {
	e := newRenderEnv(t, "")
	ctx := ctxT(t)
	before := e.imageCount(t, "other")
	e.sim("other").InjectFault("UploadImageData", providers.ErrQuota, 1)
	op, err := e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: renderManifest, Clouds: []string{"other"}}, testTarball(t))
	if err != nil {
		t.Fatal(err)
	}
	oe := op.GetError()
	if oe == nil || !strings.Contains(oe.GetMessage(), "stage upload") || !strings.Contains(oe.GetMessage(), "other") {
		t.Fatalf("operation error = %v", oe)
	}
	if n := e.imageCount(t, "other"); n != before {
		t.Errorf("%d images in the cloud, %d before", n, before)
	}
}

// A tarball URL is fetched through the mirror map.
func TestRenderImageTarballURLMirror(t *testing.T) {
	tb := testTarball(t)
	var hits []string
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, r.URL.Path)
		if r.URL.Path != "/local/base/rootfs.tar" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.Copy(w, bytes.NewReader(tb))
	}))
	defer mirror.Close()
	e := newRenderEnv(t, "  mirrors: {\"https://mirrors.cloudlets.example/\": \""+mirror.URL+"/local/\"}\n")
	ctx := ctxT(t)
	op, err := e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: renderManifest, TarballUrl: "https://mirrors.cloudlets.example/base/rootfs.tar"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := result(t, op)
	if res.GetTarballBytesMoved() != int64(len(tb)) || len(hits) != 1 {
		t.Fatalf("result %v, mirror hits %v", res, hits)
	}
	op, err = e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: renderManifest, TarballUrl: "https://mirrors.cloudlets.example/base/missing.tar"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if oe := op.GetError(); oe == nil || !strings.Contains(oe.GetMessage(), "stage fetch") || !strings.Contains(oe.GetMessage(), "404") {
		t.Fatalf("missing tarball: %v", oe)
	}
}

// A format a cloud refuses is named with the cloud and the reason.
func TestAcceptsFormat(t *testing.T) {
	tr := &cache.ImageTransfer{}
	for _, c := range []struct {
		kind, format string
		ok           bool
		mentions     string
	}{
		{"sim", "qcow2", true, ""},
		{"sim", "oci", true, ""},
		{"openstack", "qcow2", true, ""},
		{"openstack", "oci", false, "container clouds"},
		{"docker", "oci", true, ""},
		{"docker", "raw", false, "takes the oci output"},
		{"containerd", "qcow2", false, "takes the oci output"},
		{"aws", "qcow2", false, "takes disk formats raw (its disk_formats), not qcow2"},
		{"aws", "raw", true, ""},
	} {
		err := acceptsFormat(&router.Cloud{Name: "c1", Kind: c.kind, Transfer: tr}, c.format)
		if (err == nil) != c.ok || (err != nil && !strings.Contains(err.Error(), c.mentions)) {
			t.Errorf("%s takes %s: %v", c.kind, c.format, err)
		}
	}
	if err := acceptsFormat(&router.Cloud{Name: "c1", Kind: "sim"}, "raw"); err == nil || !strings.Contains(err.Error(), "no image uploads") {
		t.Errorf("a cloud without transfer: %v", err)
	}
}

// REST: POST /v1/images:render takes the header as JSON (the tarball by
// URL here) and answers with the operation; bad input is a 400 naming the
// field.
func TestRenderImageREST(t *testing.T) {
	tb := testTarball(t)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(tb) }))
	defer src.Close()
	e := newRenderEnv(t, "")
	ctx := ctxT(t)
	post := func(body string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.rest+"/v1/images:render", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	hdr := func(manifest string) string {
		b, _ := json.Marshal(map[string]any{"header": map[string]any{"manifest": manifest, "tarball_url": src.URL + "/rootfs.tar", "clouds": []string{"local"}, "wait": true}})
		return string(b)
	}
	code, body := post(hdr(renderManifest))
	if code != http.StatusOK || !strings.Contains(body, `"done":true`) || !strings.Contains(body, "RenderImageResult") || strings.Contains(body, `"error"`) {
		t.Fatalf("POST /v1/images:render: %d %s", code, body)
	}
	code, body = post(hdr(renderManifest + "colour: blue\n"))
	if code != http.StatusBadRequest || !strings.Contains(body, "colour") {
		t.Fatalf("bad manifest: %d %s", code, body)
	}
	// An empty body is a missing header, not a 500 "EOF" (schemathesis).
	code, body = post("")
	if code != http.StatusBadRequest || !strings.Contains(body, "header") {
		t.Fatalf("empty body: %d %s", code, body)
	}
}

// A tarball in a canopy object is read by the fetch stage as the
// requester's project.
func TestRenderImageTarballObject(t *testing.T) {
	e := newRenderEnv(t, "")
	ctx := ctxT(t)
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(e.token)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	oe := &objEnv{env: e.env, obj: canopyv1.NewObjectServiceClient(cc)}
	oe.bucket(t, "rootfs", "local")
	tb := testTarball(t)
	if _, err := oe.upload(ctx, "rootfs", "base/rootfs.tar", tb, 4096, nil, ""); err != nil {
		t.Fatal(err)
	}
	op, err := e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: renderManifest, TarballObject: "rootfs/base/rootfs.tar"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := result(t, op); res.GetTarballBytesMoved() != int64(len(tb)) || res.GetTarballSha256() != sha(tb) {
		t.Fatalf("result: %v", res)
	}
	op, err = e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: renderManifest, TarballObject: "rootfs/missing.tar"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if oe := op.GetError(); oe == nil || codes.Code(oe.GetCode()) != codes.NotFound || !strings.Contains(oe.GetMessage(), "stage fetch") {
		t.Fatalf("a missing object: %v", oe)
	}
}

// grpcImages reads images through the API, for steps driven by a test.
type grpcImages struct{ c canopyv1.ComputeServiceClient }

func (g grpcImages) GetImage(ctx context.Context, req *canopyv1.GetImageRequest) (*canopyv1.Image, error) {
	return g.c.GetImage(ctx, req)
}

// The upload step replayed after a crash between acting and recording its
// outcome (what jobs does on resume) puts nothing into the cloud again:
// the placement record the first run wrote makes it reuse the image.
func TestRenderImageUploadReplay(t *testing.T) {
	e := newRenderEnv(t, "")
	ctx := ctxT(t)
	op, err := e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: renderManifest, Clouds: []string{"local"}}, testTarball(t))
	if err != nil {
		t.Fatal(err)
	}
	first := result(t, op)
	rec, err := e.st.GetOperation(ctx, op.GetId())
	if err != nil {
		t.Fatal(err)
	}
	rend, err := newRenderer(e.srv.cfg, e.srv.rt)
	if err != nil {
		t.Fatal(err)
	}
	imgs := grpcImages{e.compute}
	j := &renderJobs{renderer: rend, images: imgs, ready: make(chan struct{}),
		place: &imageService{rt: e.srv.rt, store: e.st, log: e.srv.log, images: imgs, repl: e.srv.repl}}
	close(j.ready)
	// The step as it was resumed: the qcow2's outcome never recorded.
	replay := rec
	replay.Done, replay.Result, replay.State = false, nil, map[string]string{}
	for k, v := range rec.State {
		if k != "place.qcow2.local" {
			replay.State[k] = v
		}
	}
	before := e.imageCount(t, "local")
	res, err := j.upload(ctx, &replay)
	if err != nil || res.Done {
		t.Fatalf("replayed upload: %+v, %v", res, err)
	}
	var id string
	var moved int64
	var reused bool
	if _, err := fmt.Sscanf(replay.State["place.qcow2.local"], "%s %d %t", &id, &moved, &reused); err != nil || !reused || moved != 0 {
		t.Fatalf("replayed placement %q", replay.State["place.qcow2.local"])
	}
	if want := first.GetOutputs()[1].GetPlacements()[0].GetImage().GetId(); id != want {
		t.Fatalf("replay placed %s, the first run %s", id, want)
	}
	if after := e.imageCount(t, "local"); after != before {
		t.Errorf("images: %d, then %d", before, after)
	}
}

// A manifest asking for a bootloader on a canopyd whose host lacks its
// tools is refused before anything is streamed or recorded, naming the
// field and the packages (render.Manifest.HasDisk: only disks need them).
func TestRenderImageBootloaderNeedsItsTools(t *testing.T) {
	s := &renderer{r: &render.Renderer{}} // no BootTools found
	syslinux := strings.Replace(renderManifest, "name: web\n", "name: web\nbootloader: syslinux\n", 1)
	_, err := s.check(&canopyv1.RenderImageHeader{Manifest: syslinux})
	st, _ := status.FromError(err)
	if st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "bootloader") {
		t.Fatalf("err = %v, want FAILED_PRECONDITION naming bootloader", err)
	}
	if _, ferr := render.FindBootTools(); ferr != nil && !strings.Contains(st.Message(), "syslinux") {
		t.Errorf("the refusal does not name the packages: %v", st.Message())
	}
}
