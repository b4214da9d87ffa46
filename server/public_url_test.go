package server

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// URLs canopyd serves itself are built on public_url when it is set (a
// reverse proxy in front maps it to canopyd's REST root).
func TestSignedURLsUsePublicURL(t *testing.T) {
	e := newEnv(t, objectClouds+"public_url: https://canopy.example.com/api/\n")
	cc, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), boundUnary(), boundStream(), grpc.WithPerRPCCredentials(bearer(e.token)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	oe := &objEnv{env: e, obj: canopyv1.NewObjectServiceClient(cc)}
	ctx := ctxT(t)
	b := oe.bucket(t, "pub", "local")
	data := []byte("through the proxy")
	if _, err := oe.upload(ctx, b.Id, "k", data, 8, nil, ""); err != nil {
		t.Fatal(err)
	}
	u, err := oe.obj.CreateDownloadURL(ctx, &canopyv1.CreateDownloadURLRequest{Bucket: b.Id, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	const public = "https://canopy.example.com/api/signed/local/"
	if !strings.HasPrefix(u.GetUrl(), public) {
		t.Fatalf("signed URL %q: want it under %s", u.GetUrl(), public)
	}
	// What the proxy does: strip the prefix, forward to canopyd.
	resp, err := http.Get(e.rest + strings.TrimPrefix(u.GetUrl(), "https://canopy.example.com/api"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET through the proxy path: HTTP %d %q", resp.StatusCode, got)
	}
}
