package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// importClouds: "imp" processes uploaded images for an hour, until the
// test ends the import (FinishImports) once it has seen it pending; "quick"
// for 300ms (like Glance's image import), for uploads that only wait for
// it; "local" has them ACTIVE at once.
const importClouds = `
clouds:
  - name: imp
    kind: sim
    zones: [imp-1a]
    options: {image_import_delay: 1h}
  - name: quick
    kind: sim
    zones: [quick-1a]
    options: {image_import_delay: 300ms}
  - name: local
    kind: sim
    zones: [local-1a]
`

type imgClients struct {
	img canopyv1.ImageTransferServiceClient
	vclients
}

func imageClients(t *testing.T, e *env) imgClients {
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(e.token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return imgClients{img: canopyv1.NewImageTransferServiceClient(cc), vclients: e.volumes()}
}

func (c imgClients) upload(ctx context.Context, cloud, name string, data []byte, wait bool) (*canopyv1.Image, error) {
	st, err := c.img.UploadImage(ctx)
	if err != nil {
		return nil, err
	}
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: &canopyv1.ImageUploadHeader{
		Name: name, Location: &canopyv1.Location{Cloud: cloud}, DiskFormat: "raw", Wait: wait}}})
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: data}})
	return st.CloseAndRecv()
}

func TestImageUploadOperations(t *testing.T) {
	e := newEnv(t, importClouds)
	c := imageClients(t, e)
	ctx := ctxT(t)
	data := bytes.Repeat([]byte("disk "), 1000)

	// A cloud that has the image at once: no operation.
	im, err := c.upload(ctx, "local", "sync", data, false)
	if err != nil || im.Status != canopyv1.Status_STATUS_ACTIVE || im.Operation != "" {
		t.Fatalf("sync upload = %v, %v: want ACTIVE without an operation", im, err)
	}

	// A cloud that imports: PENDING, with the operation that waits for it.
	im, err = c.upload(ctx, "imp", "async", data, false)
	if err != nil || im.Status != canopyv1.Status_STATUS_PENDING || im.Operation == "" {
		t.Fatalf("async upload = %v, %v: want PENDING with an operation", im, err)
	}
	op, err := c.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: im.Operation})
	if err != nil || op.Metadata.GetKind() != opImageUpload || op.Metadata.GetTargetId() != im.Id || op.Metadata.GetLocation().GetCloud() != "imp" {
		t.Fatalf("operation = %v, %v", op, err)
	}
	if n := e.sim("imp").FinishImports(); n != 1 {
		t.Fatalf("%d imports in flight at the cloud, want 1", n)
	}
	done := resultOf(t, c.done(t, op, nil), &canopyv1.Image{})
	if done.Id != im.Id || done.Status != canopyv1.Status_STATUS_ACTIVE || done.Operation != im.Operation {
		t.Errorf("operation result = %v: want the image ACTIVE", done)
	}
	if got, err := e.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: im.Id}); err != nil || got.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Errorf("GetImage after the import = %v, %v", got, err)
	}

	// wait: the upload returns when the import is done.
	im, err = c.upload(ctx, "quick", "waited", data, true)
	if err != nil || im.Status != canopyv1.Status_STATUS_ACTIVE || im.Operation == "" {
		t.Fatalf("upload with wait = %v, %v: want ACTIVE, naming its operation", im, err)
	}

	// An import that fails fails its operation, naming cloud and image.
	im, err = c.upload(ctx, "imp", "doomed", data, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim("imp").FailImport(im.NativeId, "not a disk image"); err != nil {
		t.Fatal(err)
	}
	op, err = c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: im.Operation})
	wantOpError(t, c.vclients, op, err, codes.Aborted, "not a disk image")
	if m := op.GetError().GetMessage(); !bytes.Contains([]byte(m), []byte(`"imp"`)) || !bytes.Contains([]byte(m), []byte(im.NativeId)) {
		t.Errorf("failure %q does not name the cloud and the image", m)
	}
	im, err = c.upload(ctx, "quick", "doomed-waited", data, true)
	if err != nil || im.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Fatalf("upload with wait = %v, %v", im, err)
	}

	// REST: ?wait=true, and a bad value is refused naming the parameter.
	h := map[string]string{"Authorization": "Bearer " + e.token}
	resp, body := httpDo(t, "POST", e.rest+"/v1/images:upload?name=rest-imp&disk_format=raw&location.cloud=quick&wait=true", bytes.NewReader(data), h)
	var got canopyv1.Image
	if resp.StatusCode != 200 || protojson.Unmarshal(body, &got) != nil || got.Status != canopyv1.Status_STATUS_ACTIVE || got.Operation == "" {
		t.Fatalf("REST upload with wait: %d %s", resp.StatusCode, body)
	}
	resp, body = httpDo(t, "POST", e.rest+"/v1/images:upload?name=rest-imp2&disk_format=raw&location.cloud=quick&wait=perhaps", bytes.NewReader(data), h)
	var e400 struct{ Message string }
	_ = json.Unmarshal(body, &e400)
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("wait")) {
		t.Errorf("wait=perhaps: %d %s", resp.StatusCode, body)
	}
}

// The wait survives a restart: a canopyd that stops while an image imports
// finishes the operation when it comes back.
func TestImageImportSurvivesRestart(t *testing.T) {
	st, err := bolt.Open(t.TempDir() + "/canopy.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := testConfig(t, `
clouds:
  - name: imp
    kind: sim
    zones: [imp-1a]
    options: {image_import_delay: 1h, persist: true}
`)
	cfg.DataDir = t.TempDir()
	e := startEnv(t, cfg, st)
	c := imageClients(t, e)
	im, err := c.upload(ctxT(t), "imp", "across", []byte("bytes"), false)
	if err != nil || im.Operation == "" {
		t.Fatalf("upload = %v, %v", im, err)
	}
	e.stop() // returns once the server and its clouds are closed
	if got, err := st.GetOperation(ctxT(t), im.Operation); err != nil || got.Done {
		t.Fatalf("after the stop: %+v, %v; want the operation unfinished", got, err)
	}
	e2 := startEnv(t, cfg, st)
	defer e2.stop()
	if n := e2.sim("imp").FinishImports(); n != 1 {
		t.Fatalf("%d imports in flight at the cloud after the restart, want the one", n)
	}
	c2 := imageClients(t, e2)
	op, err := c2.ops.GetOperation(ctxT(t), &canopyv1.GetOperationRequest{Id: im.Operation})
	if err != nil {
		t.Fatal(err)
	}
	done := resultOf(t, c2.done(t, op, nil), &canopyv1.Image{})
	if done.Id != im.Id || done.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Errorf("after the restart: %v", done)
	}
}

// An import that ends in ERROR, or whose image disappears, fails its
// operation naming the cloud and the image; with wait, the upload itself
// fails with that code. "stuck" imports for an hour unless a case ends it.
func TestImageImportFailures(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: stuck
    kind: sim
    zones: [stuck-1a]
    options: {image_import_delay: 1h}
`)
	c := imageClients(t, e)
	ctx := ctxT(t)
	sc := e.sim("stuck")
	fail := func(id string) error { return sc.FailImport(id, "not a disk image") }
	// nativeOf finds the image an upload in flight made, by name.
	nativeOf := func(t *testing.T, name string) string {
		t.Helper()
		for end := time.Now().Add(testDeadline); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			list, err := sc.ListImages(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range list {
				if im.Name == name {
					return im.NativeID
				}
			}
		}
		t.Fatalf("image %q never reached the cloud", name)
		return ""
	}
	for _, tc := range []struct {
		name string
		end  func(native string) error
		wait bool
		code codes.Code
		want string
	}{
		{"error", fail, false, codes.Aborted, "not a disk image"},
		{"error-waited", fail, true, codes.Aborted, "not a disk image"},
		{"gone", sc.DropImage, false, codes.NotFound, "is gone"},
		{"gone-waited", sc.DropImage, true, codes.NotFound, "is gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte("bytes of " + tc.name)
			if !tc.wait {
				im, err := c.upload(ctx, "stuck", tc.name, data, false)
				if err != nil || im.Status != canopyv1.Status_STATUS_PENDING || im.Operation == "" {
					t.Fatalf("upload = %v, %v: want PENDING with an operation", im, err)
				}
				if err := tc.end(im.NativeId); err != nil {
					t.Fatal(err)
				}
				op, err := c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: im.Operation})
				wantOpError(t, c.vclients, op, err, tc.code, tc.want)
				if m := op.GetError().GetMessage(); !strings.Contains(m, `"stuck"`) || !strings.Contains(m, im.NativeId) {
					t.Errorf("failure %q does not name the cloud and the image", m)
				}
				return
			}
			type result struct {
				im  *canopyv1.Image
				err error
			}
			got := make(chan result, 1)
			go func() {
				im, err := c.upload(ctx, "stuck", tc.name, data, true)
				got <- result{im, err}
			}()
			native := nativeOf(t, tc.name)
			if err := tc.end(native); err != nil {
				t.Fatal(err)
			}
			r := <-got
			wantErr(t, r.err, tc.code, "", tc.want, `"stuck"`, native)
		})
	}

	// REST: ?wait=true on an import that fails answers with the HTTP
	// status of the failure.
	type httpResult struct {
		code int
		body []byte
		err  error
	}
	got := make(chan httpResult, 1)
	go func() { // not httpDo: it may call t.Fatal, which only the test's goroutine may
		req, err := http.NewRequestWithContext(ctx, "POST", e.rest+"/v1/images:upload?name=rest-doomed&disk_format=raw&location.cloud=stuck&wait=true", strings.NewReader("bytes"))
		if err != nil {
			got <- httpResult{err: err}
			return
		}
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- httpResult{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		got <- httpResult{resp.StatusCode, body, err}
	}()
	native := nativeOf(t, "rest-doomed")
	if err := fail(native); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.err != nil || r.code != http.StatusConflict || !strings.Contains(string(r.body), "not a disk image") {
		t.Errorf("REST upload with wait whose import fails: %d %s %v", r.code, r.body, r.err)
	}
}
