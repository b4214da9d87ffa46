package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// replicaClouds: "src" holds uploads; "qc" takes qcow2 only, so what
// goes there is converted; "any" takes every format as it is; "rawonly"
// takes raw alone (as EBS does).
const replicaClouds = `
clouds:
  - name: src
    kind: sim
    zones: [src-1a]
  - name: qc
    kind: sim
    zones: [qc-1a]
    disk_formats: {preferred: qcow2, accepted: [qcow2]}
  - name: any
    kind: sim
    zones: [any-1a]
  - name: rawonly
    kind: sim
    zones: [raw-1a]
    disk_formats: {preferred: raw}
`

func uploadFormat(ctx context.Context, c imgClients, cloud, name, format string, data []byte, placements ...string) (*canopyv1.Image, error) {
	st, err := c.img.UploadImage(ctx)
	if err != nil {
		return nil, err
	}
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: &canopyv1.ImageUploadHeader{
		Name: name, Location: &canopyv1.Location{Cloud: cloud}, DiskFormat: format, Placements: placements, Wait: len(placements) > 0}}})
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: data}})
	return st.CloseAndRecv()
}

func downloadAll(ctx context.Context, c imgClients, id string) ([]byte, error) {
	st, err := c.img.DownloadImage(ctx, &canopyv1.DownloadImageRequest{Id: id})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		buf.Write(msg.GetChunk())
	}
}

// diskBytes is a 2 MiB raw disk with something in it.
func diskBytes() []byte {
	b := make([]byte, 2<<20)
	for i := 0; i < len(b); i += 4096 {
		copy(b[i:], "canopy replication test block ")
		b[i+40] = byte(i / 4096)
	}
	return b
}

func placementsOf(t *testing.T, op *canopyv1.Operation) map[string]*canopyv1.ImagePlacement {
	t.Helper()
	if e := op.GetError(); e != nil {
		t.Fatalf("operation failed: %v", e)
	}
	if !op.Done {
		t.Fatalf("operation %s not done", op.Id)
	}
	var res canopyv1.ListImagePlacementsResponse
	if err := op.GetResponse().UnmarshalTo(&res); err != nil {
		t.Fatal(err)
	}
	out := map[string]*canopyv1.ImagePlacement{}
	for _, p := range res.Placements {
		out[p.Cloud] = p
	}
	return out
}

func TestReplicateImage(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img (Debian's qemu-utils) is not installed: scripts/tools.sh installs it")
	}
	e := newEnv(t, replicaClouds)
	c := imageClients(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := diskBytes()
	sum := sha256.Sum256(data)
	im, err := uploadFormat(ctx, c, "src", "disk", "raw", data)
	if err != nil {
		t.Fatal(err)
	}
	before := e.srv.repl.moved.Load()
	op, err := c.img.ReplicateImage(ctx, &canopyv1.ReplicateImageRequest{Image: im.Id, Clouds: []string{"qc", "any"}, Wait: true, RequestId: "rep-1"})
	if err != nil {
		t.Fatal(err)
	}
	pl := placementsOf(t, op)
	if len(pl) != 3 || !pl["src"].Origin || pl["src"].Sha256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("placements: %v", pl)
	}
	if pl["qc"].DiskFormat != "qcow2" || pl["any"].DiskFormat != "raw" || pl["any"].Sha256 != pl["src"].Sha256 {
		t.Fatalf("formats: qc %v any %v", pl["qc"], pl["any"])
	}
	moved := e.srv.repl.moved.Load() - before
	if moved != pl["qc"].BytesMoved+int64(len(data)) || pl["any"].BytesMoved != int64(len(data)) {
		t.Fatalf("moved %d bytes; placements say qc %d any %d", moved, pl["qc"].BytesMoved, pl["any"].BytesMoved)
	}
	stages := op.GetMetadata().GetStages()
	if len(stages) != 2 || stages[0].Name != "replicate:qc" || stages[0].State != "done" || stages[1].State != "done" || stages[1].BytesDone != int64(len(data)) {
		t.Fatalf("stages: %v", stages)
	}

	// The qcow2 replica holds the same disk: converted back, the bytes.
	q, err := downloadAll(ctx, c, pl["qc"].ImageId)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "q.qcow2"), q, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qemu-img", "convert", "-f", "qcow2", "-O", "raw", filepath.Join(dir, "q.qcow2"), filepath.Join(dir, "q.raw")).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	back, err := os.ReadFile(filepath.Join(dir, "q.raw"))
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("the qcow2 replica converted back differs from the upload (%d bytes, %v)", len(back), err)
	}
	if h := sha256.Sum256(q); hex.EncodeToString(h[:]) != pl["qc"].Sha256 {
		t.Fatalf("qc's sha256 %s, its bytes %x", pl["qc"].Sha256, h)
	}

	// Images show their placements, from the origin and from a replica.
	got, err := e.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: pl["qc"].ImageId})
	if err != nil {
		t.Fatal(err)
	}
	if got.Placements["src"] != im.Id || got.Placements["any"] != pl["any"].ImageId || len(got.Placements) != 3 {
		t.Fatalf("replica's placements: %v", got.Placements)
	}
	// By name, the image and its replicas are one image: the origin.
	if byName, err := e.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: "disk"}); err != nil || byName.Id != im.Id || len(byName.Placements) != 3 {
		t.Fatalf("GetImage by name: %v %v", byName, err)
	}
	lp, err := c.img.ListImagePlacements(ctx, &canopyv1.ListImagePlacementsRequest{Image: pl["any"].ImageId})
	if err != nil || lp.OriginId != im.Id || len(lp.Placements) != 3 {
		t.Fatalf("ListImagePlacements: %v %v", lp, err)
	}
	list, err := e.compute.ListImages(ctx, &canopyv1.ListImagesRequest{Location: &canopyv1.Location{Cloud: "any"}})
	if err != nil {
		t.Fatal(err)
	}
	var listed bool
	for _, x := range list.Images {
		listed = listed || (x.Id == pl["any"].ImageId && x.Placements["qc"] == pl["qc"].ImageId)
	}
	if !listed {
		t.Fatalf("ListImages does not show the replica with its placements: %v", list.Images)
	}

	// The second time moves nothing.
	before = e.srv.repl.moved.Load()
	op2, err := c.img.ReplicateImage(ctx, &canopyv1.ReplicateImageRequest{Image: im.Id, Clouds: []string{"qc", "any"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	pl2 := placementsOf(t, op2)
	if d := e.srv.repl.moved.Load() - before; d != 0 {
		t.Fatalf("the second replication moved %d bytes", d)
	}
	if pl2["qc"].ImageId != pl["qc"].ImageId || op2.Metadata.Stages[0].State != "reused" {
		t.Fatalf("second replication: %v, stages %v", pl2, op2.Metadata.Stages)
	}
	// The same request id is the same operation.
	again, err := c.img.ReplicateImage(ctx, &canopyv1.ReplicateImageRequest{Image: im.Id, Clouds: []string{"qc", "any"}, Wait: true, RequestId: "rep-1"})
	if err != nil || again.Id != op.Id {
		t.Fatalf("replayed request: %v %v (first %s)", again.GetId(), err, op.Id)
	}

	// Another image with the same bytes finds them in the target: reused.
	twin, err := uploadFormat(ctx, c, "src", "twin", "raw", data)
	if err != nil {
		t.Fatal(err)
	}
	before = e.srv.repl.moved.Load()
	op3, err := c.img.ReplicateImage(ctx, &canopyv1.ReplicateImageRequest{Image: twin.Id, Clouds: []string{"qc", "any"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	pl3 := placementsOf(t, op3)
	if d := e.srv.repl.moved.Load() - before; d != 0 || pl3["qc"].NativeId != pl["qc"].NativeId || pl3["any"].NativeId != pl["any"].NativeId {
		t.Fatalf("the twin moved %d bytes: %v", d, pl3)
	}
}

func TestReplicateImageUploadPlacements(t *testing.T) {
	e := newEnv(t, replicaClouds)
	c := imageClients(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	im, err := uploadFormat(ctx, c, "src", "placed", "raw", diskBytes(), "any", "rawonly")
	if err != nil {
		t.Fatal(err)
	}
	if im.Operation == "" || len(im.Placements) != 3 || im.Placements["src"] != im.Id {
		t.Fatalf("upload with placements: operation %q placements %v", im.Operation, im.Placements)
	}
	op, err := c.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: im.Operation})
	if err != nil || op.Metadata.Kind != opImageReplicate {
		t.Fatalf("the image's operation: %v %v", op, err)
	}
}

func TestReplicateImageErrors(t *testing.T) {
	e := newEnv(t, replicaClouds)
	c := imageClients(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	im, err := uploadFormat(ctx, c, "src", "disk", "raw", diskBytes())
	if err != nil {
		t.Fatal(err)
	}
	iso, err := uploadFormat(ctx, c, "src", "cd", "iso", []byte("not a disk"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  *canopyv1.ReplicateImageRequest
		code codes.Code
		want string
	}{
		{"no image", &canopyv1.ReplicateImageRequest{Clouds: []string{"qc"}}, codes.InvalidArgument, "image"},
		{"no clouds", &canopyv1.ReplicateImageRequest{Image: im.Id}, codes.InvalidArgument, "clouds"},
		{"unknown cloud", &canopyv1.ReplicateImageRequest{Image: im.Id, Clouds: []string{"qc", "nowhere"}}, codes.InvalidArgument, `clouds[1]: no cloud "nowhere"`},
		{"twice", &canopyv1.ReplicateImageRequest{Image: im.Id, Clouds: []string{"qc", "qc"}}, codes.InvalidArgument, "clouds[1]"},
		{"missing image", &canopyv1.ReplicateImageRequest{Image: "00000000-0000-4000-8000-000000000000", Clouds: []string{"qc"}}, codes.NotFound, ""},
		{"format refused", &canopyv1.ReplicateImageRequest{Image: iso.Id, Clouds: []string{"qc"}}, codes.FailedPrecondition, `cloud "qc" cannot take the image`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.img.ReplicateImage(ctx, tc.req)
			if status.Code(err) != tc.code || !bytes.Contains([]byte(status.Convert(err).Message()), []byte(tc.want)) {
				t.Fatalf("got %v, want %v containing %q", err, tc.code, tc.want)
			}
		})
	}
	// An upload naming a cloud that does not exist moves no bytes.
	if _, err := uploadFormat(ctx, c, "src", "x", "raw", diskBytes(), "nowhere"); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("upload with an unknown placement: %v", err)
	}
	list, err := e.compute.ListImages(ctx, &canopyv1.ListImagesRequest{Name: "x"})
	if err != nil || len(list.Images) != 0 {
		t.Fatalf("a refused upload left %v (%v)", list.GetImages(), err)
	}
	if e.srv.repl.moved.Load() != 0 {
		t.Fatalf("refused requests moved %d bytes", e.srv.repl.moved.Load())
	}
}

// CreateServer with an image of another cloud places it first, then
// boots from the placement; a second server moves no bytes.
func TestCreateServerPlacesImage(t *testing.T) {
	e := newEnv(t, replicaClouds)
	c := imageClients(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := diskBytes()
	im, err := uploadFormat(ctx, c, "src", "bootme", "raw", data)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "web", Flavor: "m1.tiny", Image: im.Id, Location: &canopyv1.Location{Cloud: "any"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: im.Id})
	if err != nil {
		t.Fatal(err)
	}
	if sv.ImageId != got.Placements["any"] || sv.ImageId == "" || e.srv.repl.moved.Load() != int64(len(data)) {
		t.Fatalf("server boots %q; the image's placements %v; %d bytes moved", sv.ImageId, got.Placements, e.srv.repl.moved.Load())
	}
	if _, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "web2", Flavor: "m1.tiny", Image: "bootme", Location: &canopyv1.Location{Cloud: "any"}}); err != nil {
		t.Fatal(err)
	}
	if e.srv.repl.moved.Load() != int64(len(data)) {
		t.Fatalf("the second server moved %d more bytes", e.srv.repl.moved.Load()-int64(len(data)))
	}
	// A cloud that cannot take the image's format: FAILED_PRECONDITION
	// naming both clouds, and no server.
	iso, err := uploadFormat(ctx, c, "src", "cd", "iso", []byte("iso"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "nope", Flavor: "m1.tiny", Image: iso.Id, Location: &canopyv1.Location{Cloud: "rawonly"}})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), `cloud "rawonly"`) {
		t.Fatalf("boot an iso in a raw-only cloud: %v", err)
	}
}

// Deleting the origin makes a replica the origin: the rest still find
// each other, and replication reads from it.
func TestReplicateImageOriginDeleted(t *testing.T) {
	e := newEnv(t, replicaClouds)
	c := imageClients(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := diskBytes()
	im, err := uploadFormat(ctx, c, "src", "disk", "raw", data, "any", "rawonly")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: im.Id}); err != nil {
		t.Fatal(err)
	}
	lp, err := c.img.ListImagePlacements(ctx, &canopyv1.ListImagePlacementsRequest{Image: im.Placements["rawonly"]})
	if err != nil || lp.OriginId != im.Placements["any"] || len(lp.Placements) != 2 || !lp.Placements[0].Origin {
		t.Fatalf("after the origin's delete: %v %v", lp, err)
	}
	op, err := c.img.ReplicateImage(ctx, &canopyv1.ReplicateImageRequest{Image: im.Placements["rawonly"], Clouds: []string{"src"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	pl := placementsOf(t, op)
	got, err := downloadAll(ctx, c, pl["src"].ImageId)
	if err != nil || !bytes.Equal(got, data) || len(pl) != 3 {
		t.Fatalf("replicated back to src: %d bytes, %v; placements %v", len(got), err, pl)
	}
}

// REST: POST /v1/images/{image}:replicate and GET /v1/images/{image}/placements.
func TestReplicateImageREST(t *testing.T) {
	e := newEnv(t, replicaClouds)
	c := imageClients(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	im, err := uploadFormat(ctx, c, "src", "disk", "raw", diskBytes())
	if err != nil {
		t.Fatal(err)
	}
	r := e.restDo(t, "POST", "/v1/images/"+im.Id+":replicate", strings.NewReader(`{"clouds": ["any"], "wait": true}`), map[string]string{"Content-Type": "application/json"})
	if r.status != 200 || r.json["done"] != true {
		t.Fatalf("POST :replicate = %d %s", r.status, r.raw)
	}
	if md, _ := r.json["metadata"].(map[string]any); md["kind"] != opImageReplicate || len(md["stages"].([]any)) != 1 {
		t.Errorf("operation metadata %v", md)
	}
	r = e.restDo(t, "GET", "/v1/images/"+im.Id+"/placements", nil, nil)
	if pl, _ := r.json["placements"].([]any); r.status != 200 || len(pl) != 2 || r.json["origin_id"] != im.Id {
		t.Fatalf("GET placements = %d %s", r.status, r.raw)
	}
	r = e.restDo(t, "POST", "/v1/images/"+im.Id+":replicate", strings.NewReader(`{"clouds": ["nowhere"]}`), map[string]string{"Content-Type": "application/json"})
	if r.status != 400 || !strings.Contains(string(r.raw), "clouds[0]") {
		t.Fatalf("POST :replicate to an unknown cloud = %d %s", r.status, r.raw)
	}
}
