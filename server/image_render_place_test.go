package server

import (
	"errors"
	"testing"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/store"
)

// A render's images are image placements: ListImagePlacements shows every
// cloud a rendered output went to, and a later ReplicateImage of it skips
// the clouds that have it. A render placement recorded the older way
// (render.placement) is still found, reused and moved into the placements.
func TestRenderImagePlacements(t *testing.T) {
	e := newRenderEnv(t, "")
	ctx := ctxT(t)
	op, err := e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: renderManifest, Inputs: map[string]string{"hostname": "pl"},
		Clouds: []string{"local", "other"}}, testTarball(t))
	if err != nil {
		t.Fatal(err)
	}
	res := result(t, op)
	raw := res.GetOutputs()[0]
	if raw.GetFormat() != "raw" || len(raw.GetPlacements()) != 2 {
		t.Fatalf("raw output: %v", raw)
	}
	ids := map[string]string{}
	for _, p := range raw.GetPlacements() {
		ids[p.GetCloud()] = p.GetImage().GetId()
	}
	for _, asked := range []string{ids["local"], ids["other"]} {
		lp, err := e.img.ListImagePlacements(ctx, &canopyv1.ListImagePlacementsRequest{Image: asked})
		if err != nil {
			t.Fatal(err)
		}
		if lp.GetOriginId() != ids["local"] || lp.GetSha256() != raw.GetSha256() || len(lp.GetPlacements()) != 2 {
			t.Fatalf("placements of %s: %v, want origin %s (the first cloud's) and both clouds", asked, lp, ids["local"])
		}
		for _, p := range lp.GetPlacements() {
			if p.GetImageId() != ids[p.GetCloud()] || p.GetSha256() != raw.GetSha256() || p.GetBytesMoved() != raw.GetSizeBytes() {
				t.Errorf("placement %v, want image %s with the rendered bytes", p, ids[p.GetCloud()])
			}
		}
	}
	im, err := e.compute.GetImage(ctx, &canopyv1.GetImageRequest{Id: ids["other"]})
	if err != nil || im.GetPlacements()["local"] != ids["local"] || im.GetPlacements()["other"] != ids["other"] {
		t.Fatalf("Image.placements of the rendered image: %v %v", im.GetPlacements(), err)
	}

	// ReplicateImage to a cloud the render put it in moves nothing.
	before := e.srv.repl.moved.Load()
	rop, err := e.img.ReplicateImage(ctx, &canopyv1.ReplicateImageRequest{Image: ids["local"], Clouds: []string{"other"}, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if pl := placementsOf(t, rop); pl["other"].GetImageId() != ids["other"] {
		t.Fatalf("replicated to %v, want the render's image %s", pl["other"], ids["other"])
	}
	if d := e.srv.repl.moved.Load() - before; d != 0 {
		t.Fatalf("ReplicateImage of a rendered image moved %d bytes to a cloud that had it", d)
	}

	// An older canopyd's record: the qcow2 in local known only by
	// render.placement. The next render reuses it and records it anew.
	qc := res.GetOutputs()[1]
	qcLocal := qc.GetPlacements()[0].GetImage().GetId()
	if err := e.st.DeleteRecord(ctx, renderedNS, "qcow2/"+qc.GetSha256()); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteRecord(ctx, placementsNamespace, qcLocal); err != nil {
		t.Fatal(err)
	}
	legacy := "local/qcow2/" + qc.GetSha256()
	if err := e.st.PutRecord(ctx, legacyPlacementNS, legacy, []byte(qcLocal)); err != nil {
		t.Fatal(err)
	}
	op, err = e.renderOnce(ctx, t, &canopyv1.RenderImageHeader{Manifest: renderManifest, Inputs: map[string]string{"hostname": "pl"},
		Clouds: []string{"local"}, TarballSha256: res.GetTarballSha256()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	again := result(t, op).GetOutputs()[1].GetPlacements()[0]
	if again.GetImage().GetId() != qcLocal || !again.GetReused() || again.GetBytesUploaded() != 0 {
		t.Fatalf("with the legacy record: %v, want %s reused", again, qcLocal)
	}
	if _, err := e.st.GetRecord(ctx, legacyPlacementNS, legacy); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the legacy record is still there (%v)", err)
	}
	lp, err := e.img.ListImagePlacements(ctx, &canopyv1.ListImagePlacementsRequest{Image: qcLocal})
	if err != nil || lp.GetOriginId() != qcLocal || lp.GetSha256() != qc.GetSha256() {
		t.Fatalf("placements of the moved image: %v %v", lp, err)
	}
}
