package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

// projectClients are one project's clients of a test canopyd.
type projectClients struct {
	token   string
	compute canopyv1.ComputeServiceClient
	img     canopyv1.ImageTransferServiceClient
}

func (e *env) as(t *testing.T, project string, scopes ...string) projectClients {
	t.Helper()
	tok := mintToken(t, e.srv, project, scopes...)
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(tok)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return projectClients{token: tok, compute: canopyv1.NewComputeServiceClient(cc), img: canopyv1.NewImageTransferServiceClient(cc)}
}

// upload uploads data as an image; hdr adjusts the header.
func (p projectClients) upload(ctx context.Context, name string, data []byte, hdr func(*canopyv1.ImageUploadHeader)) (*canopyv1.Image, error) {
	st, err := p.img.UploadImage(ctx)
	if err != nil {
		return nil, err
	}
	h := &canopyv1.ImageUploadHeader{Name: name, Location: &canopyv1.Location{Cloud: "local"}, DiskFormat: "raw"}
	if hdr != nil {
		hdr(h)
	}
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: h}})
	_ = st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: data}})
	return st.CloseAndRecv()
}

// download reads an image's bytes.
func (p projectClients) download(ctx context.Context, id string) ([]byte, error) {
	st, err := p.img.DownloadImage(ctx, &canopyv1.DownloadImageRequest{Id: id})
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

// imageIDs lists the ids of the images a project sees.
func (p projectClients) imageIDs(t *testing.T, ctx context.Context, req *canopyv1.ListImagesRequest) map[string]*canopyv1.Image {
	t.Helper()
	resp, err := p.compute.ListImages(ctx, req)
	if err != nil {
		t.Fatalf("ListImages(%v): %v", req, err)
	}
	out := map[string]*canopyv1.Image{}
	for _, im := range resp.GetImages() {
		out[im.Id] = im
	}
	return out
}

func (p projectClients) share(ctx context.Context, id string, v canopyv1.Visibility, projects ...string) (*canopyv1.Image, error) {
	return p.compute.UpdateImage(ctx, &canopyv1.UpdateImageRequest{Image: &canopyv1.Image{Id: id, Visibility: v, SharedProjects: projects}})
}

// TestImageOwnership: an uploaded image is its project's; others get
// NOT_FOUND by id, by name, in lists, for downloads and for booting,
// until the owner shares it; only the owner changes or deletes it.
func TestImageOwnership(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	alpha := e.as(t, "alpha", auth.ScopeWrite)
	beta := e.as(t, "beta", auth.ScopeWrite)
	gamma := e.as(t, "gamma", auth.ScopeWrite)
	data := []byte(strings.Repeat("alpha's disk ", 500))

	im, err := alpha.upload(ctx, "alpha-img", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if im.Location.GetProject() != "alpha" || im.Visibility != canopyv1.Visibility_VISIBILITY_PRIVATE || len(im.SharedProjects) != 0 {
		t.Fatalf("uploaded image: project %q visibility %v shared %v; want alpha, PRIVATE, none", im.Location.GetProject(), im.Visibility, im.SharedProjects)
	}
	if got, err := alpha.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: "alpha-img"}); err != nil || got.Id != im.Id || got.Visibility != canopyv1.Visibility_VISIBILITY_PRIVATE {
		t.Fatalf("owner GetImage by name = %v, %v", got, err)
	}
	if _, ok := alpha.imageIDs(t, ctx, &canopyv1.ListImagesRequest{})[im.Id]; !ok {
		t.Error("the owner's list lacks its image")
	}

	flavors, err := beta.compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{})
	if err != nil || len(flavors.Flavors) == 0 {
		t.Fatalf("ListFlavors: %v %v", flavors, err)
	}
	flavor := flavors.Flavors[0].Id
	hidden := func(who projectClients, name string) {
		t.Helper()
		_, err := who.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: im.Id})
		wantErr(t, err, codes.NotFound, "", im.Id)
		_, err = who.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: "alpha-img"})
		wantErr(t, err, codes.NotFound, "")
		if _, ok := who.imageIDs(t, ctx, &canopyv1.ListImagesRequest{})[im.Id]; ok {
			t.Errorf("%s lists alpha's private image", name)
		}
		if got := who.imageIDs(t, ctx, &canopyv1.ListImagesRequest{Name: "alpha-img"}); len(got) != 0 {
			t.Errorf("%s lists by name: %v", name, got)
		}
		_, err = who.download(ctx, im.Id)
		wantErr(t, err, codes.NotFound, "")
		_, err = who.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: name + "-vm", Flavor: flavor, Image: im.Id, Location: &canopyv1.Location{Cloud: "local"}})
		wantErr(t, err, codes.InvalidArgument, "image", "no image")
		_, err = who.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: name + "-vm", Flavor: flavor, Image: "alpha-img", Location: &canopyv1.Location{Cloud: "local"}})
		wantErr(t, err, codes.InvalidArgument, "image", "no image")
		_, err = who.compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: im.Id})
		wantErr(t, err, codes.NotFound, "")
		_, err = who.share(ctx, im.Id, canopyv1.Visibility_VISIBILITY_PUBLIC)
		wantErr(t, err, codes.NotFound, "")
	}
	hidden(beta, "beta")

	// Shared with beta: beta sees, downloads and boots it; gamma does not.
	sh, err := alpha.share(ctx, im.Id, canopyv1.Visibility_VISIBILITY_SHARED, "beta")
	if err != nil || sh.Visibility != canopyv1.Visibility_VISIBILITY_SHARED || len(sh.SharedProjects) != 1 || sh.SharedProjects[0] != "beta" {
		t.Fatalf("share with beta = %v, %v", sh, err)
	}
	if got, err := beta.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: "alpha-img"}); err != nil || got.Id != im.Id || got.Location.GetProject() != "alpha" {
		t.Errorf("beta GetImage of the shared image = %v, %v", got, err)
	}
	if got, err := beta.download(ctx, im.Id); err != nil || !bytes.Equal(got, data) {
		t.Errorf("beta download of the shared image: %d bytes, %v", len(got), err)
	}
	if _, ok := beta.imageIDs(t, ctx, &canopyv1.ListImagesRequest{})[im.Id]; !ok {
		t.Error("beta's list lacks the image shared with it")
	}
	if sv, err := beta.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "beta-vm", Flavor: flavor, Image: "alpha-img", Location: &canopyv1.Location{Cloud: "local"}}); err != nil {
		t.Errorf("beta boots the shared image: %v", err)
	} else if sv.ImageId != im.Id {
		t.Errorf("beta's server has image %q, want %q", sv.ImageId, im.Id)
	}
	hidden(gamma, "gamma")
	// Seen, but not beta's to change or delete.
	_, err = beta.compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: im.Id})
	wantErr(t, err, codes.PermissionDenied, "", "alpha", "delete")
	_, err = beta.share(ctx, im.Id, canopyv1.Visibility_VISIBILITY_PUBLIC)
	wantErr(t, err, codes.PermissionDenied, "", "alpha", "update")

	// Public: everyone sees it; back to private: only alpha.
	if _, err := alpha.share(ctx, im.Id, canopyv1.Visibility_VISIBILITY_PUBLIC); err != nil {
		t.Fatal(err)
	}
	if got, err := gamma.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: im.Id}); err != nil || got.Visibility != canopyv1.Visibility_VISIBILITY_PUBLIC || len(got.SharedProjects) != 0 {
		t.Errorf("gamma GetImage of the public image = %v, %v", got, err)
	}
	if _, err := alpha.share(ctx, im.Id, canopyv1.Visibility_VISIBILITY_PRIVATE); err != nil {
		t.Fatal(err)
	}
	hidden(beta, "beta")
	hidden(gamma, "gamma")

	// Delete: the image leaves the cloud and canopy's records; again is
	// NOT_FOUND, or DELETED with allow_missing.
	del, err := alpha.compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: "alpha-img"})
	if err != nil || del.Id != im.Id || del.Status != canopyv1.Status_STATUS_DELETED {
		t.Fatalf("DeleteImage = %v, %v", del, err)
	}
	if _, err := e.sim("local").GetImage(ctx, im.NativeId); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("the sim still has the deleted image: %v", err)
	}
	if _, err := e.st.Get(ctx, im.Id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the id map still has the deleted image: %v", err)
	}
	if _, err := e.st.GetRecord(ctx, "image-sharing", im.Id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted image's sharing is still recorded: %v", err)
	}
	_, err = alpha.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: im.Id})
	wantErr(t, err, codes.NotFound, "")
	_, err = alpha.compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: im.Id})
	wantErr(t, err, codes.NotFound, "")
	if got, err := alpha.compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: im.Id, AllowMissing: true}); err != nil || got.Status != canopyv1.Status_STATUS_DELETED {
		t.Errorf("DeleteImage with allow_missing = %v, %v", got, err)
	}
}

// TestImageUploadShared: visibility and shared projects set at upload.
func TestImageUploadShared(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	alpha := e.as(t, "alpha", auth.ScopeWrite)
	beta := e.as(t, "beta", auth.ScopeRead)
	im, err := alpha.upload(ctx, "for-beta", []byte("bytes"), func(h *canopyv1.ImageUploadHeader) {
		h.Visibility, h.SharedProjects = canopyv1.Visibility_VISIBILITY_SHARED, []string{"beta", "delta"}
	})
	if err != nil || im.Visibility != canopyv1.Visibility_VISIBILITY_SHARED || strings.Join(im.SharedProjects, ",") != "beta,delta" {
		t.Fatalf("upload shared = %v, %v", im, err)
	}
	if _, err := beta.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: im.Id}); err != nil {
		t.Errorf("beta GetImage: %v", err)
	}
	// Over REST, from the query string.
	resp, body := httpDo(t, "POST", e.rest+"/v1/images:upload?name=rest-pub&disk_format=raw&location.cloud=local&visibility=VISIBILITY_PUBLIC",
		strings.NewReader("rest bytes"), map[string]string{"Authorization": "Bearer " + alpha.token})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"visibility":"VISIBILITY_PUBLIC"`) {
		t.Errorf("REST upload, public: %d %s", resp.StatusCode, body)
	}
	resp, body = httpDo(t, "POST", e.rest+"/v1/images:upload?name=rest-bad&disk_format=raw&location.cloud=local&visibility=VISIBILITY_PRIVATE&shared_projects=beta",
		strings.NewReader("rest bytes"), map[string]string{"Authorization": "Bearer " + alpha.token})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "shared_projects") {
		t.Errorf("REST upload, private with shared projects: %d %s", resp.StatusCode, body)
	}
}

// TestImageSharingErrors: bad visibility values and project lists are
// INVALID_ARGUMENT naming the field, at upload and at update, and leave
// nothing behind.
func TestImageSharingErrors(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	alpha := e.as(t, "alpha", auth.ScopeWrite)
	for _, tc := range []struct {
		name, field string
		hdr         func(*canopyv1.ImageUploadHeader)
	}{
		{"unknown visibility", "visibility", func(h *canopyv1.ImageUploadHeader) { h.Visibility = 42 }},
		{"projects while private", "shared_projects", func(h *canopyv1.ImageUploadHeader) { h.SharedProjects = []string{"beta"} }},
		{"bad project name", "shared_projects[1]", func(h *canopyv1.ImageUploadHeader) {
			h.Visibility, h.SharedProjects = canopyv1.Visibility_VISIBILITY_SHARED, []string{"beta", "Not A Project"}
		}},
		{"the owner itself", "shared_projects[0]", func(h *canopyv1.ImageUploadHeader) {
			h.Visibility, h.SharedProjects = canopyv1.Visibility_VISIBILITY_SHARED, []string{"alpha"}
		}},
		{"twice", "shared_projects[1]", func(h *canopyv1.ImageUploadHeader) {
			h.Visibility, h.SharedProjects = canopyv1.Visibility_VISIBILITY_SHARED, []string{"beta", "beta"}
		}},
	} {
		_, err := alpha.upload(ctx, "bad-"+strings.ReplaceAll(tc.name, " ", "-"), []byte("x"), tc.hdr)
		t.Run("upload/"+tc.name, func(t *testing.T) { wantErr(t, err, codes.InvalidArgument, tc.field) })
	}
	if got := alpha.imageIDs(t, ctx, &canopyv1.ListImagesRequest{Location: &canopyv1.Location{Project: "alpha"}}); len(got) != 0 {
		t.Errorf("refused uploads left images: %v", got)
	}

	im, err := alpha.upload(ctx, "mine", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, field string
		req         *canopyv1.UpdateImageRequest
	}{
		{"no image", "image", &canopyv1.UpdateImageRequest{}},
		{"nothing to update", "update_mask", &canopyv1.UpdateImageRequest{Image: &canopyv1.Image{Id: im.Id}}},
		{"unknown visibility", "image.visibility", &canopyv1.UpdateImageRequest{Image: &canopyv1.Image{Id: im.Id, Visibility: 7}}},
		{"unset visibility in the mask", "image.visibility", &canopyv1.UpdateImageRequest{Image: &canopyv1.Image{Id: im.Id},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"visibility"}}}},
		{"field not updatable", "update_mask.paths[1]", &canopyv1.UpdateImageRequest{Image: &canopyv1.Image{Id: im.Id, Name: "renamed"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"visibility", "name"}}}},
		{"projects while private", "image.shared_projects", &canopyv1.UpdateImageRequest{Image: &canopyv1.Image{Id: im.Id, SharedProjects: []string{"beta"}}}},
		{"bad project", "image.shared_projects[0]", &canopyv1.UpdateImageRequest{Image: &canopyv1.Image{Id: im.Id,
			Visibility: canopyv1.Visibility_VISIBILITY_SHARED, SharedProjects: []string{"../etc"}}}},
	} {
		_, err := alpha.compute.UpdateImage(ctx, tc.req)
		t.Run("update/"+tc.name, func(t *testing.T) { wantErr(t, err, codes.InvalidArgument, tc.field) })
	}
	if got, err := alpha.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: im.Id}); err != nil || got.Visibility != canopyv1.Visibility_VISIBILITY_PRIVATE {
		t.Errorf("after refused updates: %v, %v; want PRIVATE", got, err)
	}
	// The mask limits the change: shared_projects alone keeps SHARED.
	if _, err := alpha.share(ctx, im.Id, canopyv1.Visibility_VISIBILITY_SHARED, "beta"); err != nil {
		t.Fatal(err)
	}
	got, err := alpha.compute.UpdateImage(ctx, &canopyv1.UpdateImageRequest{Image: &canopyv1.Image{Id: im.Id, Visibility: canopyv1.Visibility_VISIBILITY_PUBLIC, SharedProjects: []string{"gamma"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"shared_projects"}}})
	if err != nil || got.Visibility != canopyv1.Visibility_VISIBILITY_SHARED || strings.Join(got.SharedProjects, ",") != "gamma" {
		t.Errorf("masked update = %v, %v; want SHARED with gamma", got, err)
	}
}

// TestCatalogueAcrossProjects: the clouds' flavors and images are usable
// by id from every project, not only from the cloud's own project; only
// an admin deletes a catalogue image.
func TestCatalogueAcrossProjects(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	beta := e.as(t, "beta", auth.ScopeWrite)
	flavors, err := beta.compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{})
	if err != nil || len(flavors.Flavors) == 0 {
		t.Fatalf("ListFlavors: %v, %v", flavors, err)
	}
	images := beta.imageIDs(t, ctx, &canopyv1.ListImagesRequest{})
	if len(images) == 0 {
		t.Fatal("beta sees no catalogue image")
	}
	var img *canopyv1.Image
	for _, im := range images {
		img = im
		if im.Visibility != canopyv1.Visibility_VISIBILITY_PUBLIC {
			t.Errorf("catalogue image %s: visibility %v, want PUBLIC", im.Name, im.Visibility)
		}
	}
	f := flavors.Flavors[0]
	if got, err := beta.compute.GetFlavor(ctx, &canopyv1.GetFlavorRequest{Id: f.Id}); err != nil || got.Id != f.Id {
		t.Errorf("GetFlavor(%s) from beta = %v, %v", f.Id, got, err)
	}
	if got, err := beta.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: img.Id}); err != nil || got.Id != img.Id {
		t.Errorf("GetImage(%s) from beta = %v, %v", img.Id, got, err)
	}
	sv, err := beta.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "by-ids", Flavor: f.Id, Image: img.Id, Location: &canopyv1.Location{Cloud: "local"}})
	if err != nil || sv.FlavorId != f.Id || sv.ImageId != img.Id {
		t.Fatalf("CreateServer from beta with catalogue ids = %v, %v", sv, err)
	}
	// The cloud's project ("default") does not own the catalogue either.
	def := e.as(t, "default", auth.ScopeWrite)
	_, err = def.compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: img.Id})
	wantErr(t, err, codes.PermissionDenied, "", "catalogue", "admin")
	_, err = beta.share(ctx, img.Id, canopyv1.Visibility_VISIBILITY_PRIVATE)
	wantErr(t, err, codes.PermissionDenied, "", "catalogue")
	// An admin may.
	if got, err := e.compute.DeleteImage(ctx, &canopyv1.DeleteImageRequest{Id: img.Id}); err != nil || got.Status != canopyv1.Status_STATUS_DELETED {
		t.Errorf("admin DeleteImage of a catalogue image = %v, %v", got, err)
	}
	if _, ok := beta.imageIDs(t, ctx, &canopyv1.ListImagesRequest{})[img.Id]; ok {
		t.Error("the deleted catalogue image is still listed")
	}
}

// TestListProjectScope: location.project in a list is the caller's own
// project, or an admin's choice of project; anyone else is refused.
func TestListProjectScope(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	alpha := e.as(t, "alpha", auth.ScopeWrite)
	beta := e.as(t, "beta", auth.ScopeWrite)
	ops := e.as(t, "ops", auth.ScopeAdmin)
	im, err := alpha.upload(ctx, "alpha-only", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	flavors, _ := alpha.compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{})
	cat := alpha.imageIDs(t, ctx, &canopyv1.ListImagesRequest{})
	var catalogue string
	for id, x := range cat {
		if x.Visibility == canopyv1.Visibility_VISIBILITY_PUBLIC {
			catalogue = id
		}
	}
	sv, err := alpha.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "alpha-vm", Flavor: flavors.Flavors[0].Id, Image: catalogue, Location: &canopyv1.Location{Cloud: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	other := &canopyv1.Location{Project: "alpha"}

	_, err = beta.compute.ListImages(ctx, &canopyv1.ListImagesRequest{Location: other})
	wantErr(t, err, codes.PermissionDenied, "location.project", "alpha", "admin")
	_, err = beta.compute.ListServers(ctx, &canopyv1.ListServersRequest{Location: other})
	wantErr(t, err, codes.PermissionDenied, "location.project")
	resp, body := httpDo(t, "GET", e.rest+"/v1/servers?location.project=alpha", nil, map[string]string{"Authorization": "Bearer " + beta.token})
	if resp.StatusCode != 403 || !strings.Contains(string(body), "location.project") {
		t.Errorf("REST list of another project: %d %s", resp.StatusCode, body)
	}

	// Its own project: honoured, the same as none.
	own := alpha.imageIDs(t, ctx, &canopyv1.ListImagesRequest{Location: other})
	if _, ok := own[im.Id]; !ok || len(own) != 1 {
		t.Errorf("alpha's images with location.project=alpha: %v, want only %s (catalogue images are the cloud's project's)", own, im.Id)
	}
	if fl, err := alpha.compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{Location: other}); err != nil || len(fl.Flavors) != len(flavors.Flavors) {
		t.Errorf("flavors (no project owns them) with location.project=alpha: %d, %v; want %d", len(fl.GetFlavors()), err, len(flavors.Flavors))
	}

	// An admin of another project lists alpha's as alpha's.
	got := ops.imageIDs(t, ctx, &canopyv1.ListImagesRequest{Location: other})
	if _, ok := got[im.Id]; !ok || len(got) != 1 {
		t.Errorf("admin's list of alpha's images: %v, want only %s", got, im.Id)
	}
	servers, err := ops.compute.ListServers(ctx, &canopyv1.ListServersRequest{Location: other})
	if err != nil || len(servers.Servers) != 1 || servers.Servers[0].Id != sv.Id {
		t.Errorf("admin's list of alpha's servers = %v, %v", servers, err)
	}
	if mine, err := ops.compute.ListServers(ctx, &canopyv1.ListServersRequest{}); err != nil || len(mine.Servers) != 0 {
		t.Errorf("admin's own servers = %v, %v; want none", mine, err)
	}
}

// TestImageREST: PATCH and DELETE /v1/images/{id}, with the REST error
// shape for bad values and another project's image.
func TestImageREST(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	alpha := e.as(t, "alpha", auth.ScopeWrite)
	beta := e.as(t, "beta", auth.ScopeWrite)
	im, err := alpha.upload(ctx, "rest-img", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	as := func(p projectClients) map[string]string {
		return map[string]string{"Authorization": "Bearer " + p.token, "Content-Type": "application/json"}
	}
	url := e.rest + "/v1/images/" + im.Id
	for _, tc := range []struct {
		name, body, field string
		code              int
	}{
		{"unknown visibility", `{"image": {"visibility": "bogus"}}`, "image.visibility", 400},
		{"visibility of the wrong type", `{"image": {"visibility": []}}`, "image.visibility", 400},
		{"unknown field", `{"image": {"visibility": "public", "owner": "me"}}`, "image.owner", 400},
		{"projects while private", `{"image": {"visibility": "private", "shared_projects": ["beta"]}}`, "image.shared_projects", 400},
		{"not updatable", `{"image": {"name": "x"}, "update_mask": "name"}`, "update_mask.paths[0]", 400},
	} {
		resp, body := httpDo(t, "PATCH", url, strings.NewReader(tc.body), as(alpha))
		if resp.StatusCode != tc.code || !strings.Contains(string(body), `"field":"`+tc.field+`"`) {
			t.Errorf("PATCH %s: %d %s; want %d naming field %s", tc.name, resp.StatusCode, body, tc.code, tc.field)
		}
	}
	resp, body := httpDo(t, "PATCH", url, strings.NewReader(`{"image": {"visibility": "shared", "shared_projects": ["beta"]}}`), as(alpha))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"shared_projects":["beta"]`) {
		t.Fatalf("PATCH share with beta: %d %s", resp.StatusCode, body)
	}
	if resp, body := httpDo(t, "GET", url, nil, as(beta)); resp.StatusCode != 200 {
		t.Errorf("beta GET of the shared image: %d %s", resp.StatusCode, body)
	}
	if resp, body := httpDo(t, "DELETE", url, nil, as(beta)); resp.StatusCode != 403 {
		t.Errorf("beta DELETE of alpha's image: %d %s", resp.StatusCode, body)
	}
	if resp, body := httpDo(t, "DELETE", url, nil, as(alpha)); resp.StatusCode != 200 || !strings.Contains(string(body), "STATUS_DELETED") {
		t.Errorf("alpha DELETE: %d %s", resp.StatusCode, body)
	}
	if resp, body := httpDo(t, "GET", url, nil, as(beta)); resp.StatusCode != 404 {
		t.Errorf("GET after DELETE: %d %s", resp.StatusCode, body)
	}
}
