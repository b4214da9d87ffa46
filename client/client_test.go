package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"

	"reflect"

	"github.com/canopy-cloud/canopy/client"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// tokenServer issues tokens that expire in expiresIn seconds and counts
// how many it issued; it checks the client credentials arrive in basic auth.
func tokenServer(t *testing.T, expiresIn int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "cid" || secret != "sec" || r.FormValue("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		k := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", k), "token_type": "Bearer", "expires_in": expiresIn})
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestTokenReusedUntilNearExpiry(t *testing.T) {
	srv, n := tokenServer(t, 3600)
	src := client.Credentials{ClientID: "cid", ClientSecret: "sec", TokenURL: srv.URL}.TokenSource(context.Background())
	for range 3 {
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("a token valid for an hour was fetched %d times", n.Load())
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	// A token that expires within RefreshBefore is replaced at once.
	srv, n := tokenServer(t, int(client.RefreshBefore.Seconds())-5)
	src := client.Credentials{ClientID: "cid", ClientSecret: "sec", TokenURL: srv.URL}.TokenSource(context.Background())
	a, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if a.AccessToken == b.AccessToken || n.Load() != 2 {
		t.Fatalf("a token about to expire was reused: %s then %s (%d fetched)", a.AccessToken, b.AccessToken, n.Load())
	}
}

func TestCachedTokenSourceSharesTheToken(t *testing.T) {
	srv, n := tokenServer(t, 3600)
	c := client.Credentials{ClientID: "cid", ClientSecret: "sec", TokenURL: srv.URL}
	path := filepath.Join(t.TempDir(), "token.json")
	for range 3 { // three "processes", each with its own source
		if _, err := c.CachedTokenSource(context.Background(), path).Token(); err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("token fetched %d times, want 1 (cached on disk)", n.Load())
	}
}

func TestBadCredentialsNameTheFailure(t *testing.T) {
	srv, _ := tokenServer(t, 3600)
	src := client.Credentials{ClientID: "cid", ClientSecret: "wrong", TokenURL: srv.URL}.TokenSource(context.Background())
	if _, err := src.Token(); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("err = %v, want invalid_client", err)
	}
}

func TestTokenNotSentInPlaintextBeyondLoopback(t *testing.T) {
	_, err := client.Dial(context.Background(), "canopy.example.com:8470", client.WithToken("x"))
	if err == nil || !strings.Contains(err.Error(), "plaintext") {
		t.Fatalf("err = %v, want a refusal to send a token in plaintext", err)
	}
	c, err := client.Dial(context.Background(), "canopy.example.com:8470", client.WithToken("x"), client.WithInsecureToken())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, "10.0.0.1:1": false, "nohost": false} {
		if got := client.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func TestNoTokenIsUnauthenticated(t *testing.T) {
	c, err := client.Dial(context.Background(), mustEnv(t, "CANOPY_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Compute.ListFlavors(context.Background(), &canopyv1.ListFlavorsRequest{})
	if client.Code(err) != codes.Unauthenticated {
		t.Fatalf("err = %v, want UNAUTHENTICATED", err)
	}
	if client.FromError(err) == nil {
		t.Fatalf("%T is not a *client.Error", err)
	}
}

func TestOperationErrorIsTyped(t *testing.T) {
	op := &canopyv1.Operation{Id: "op", Done: true, Result: &canopyv1.Operation_Error{Error: &canopyv1.OperationError{
		Code: int32(codes.FailedPrecondition), Message: `cloud "x" does not support snapshots`, Reason: "CAPABILITY_MISSING",
		Metadata: map[string]string{"cloud": "x"}}}}
	_, err := client.Result[*canopyv1.Volume](op)
	e := client.FromError(err)
	if e == nil || e.Code != codes.FailedPrecondition || e.Reason() != "CAPABILITY_MISSING" || e.Info.GetMetadata()["cloud"] != "x" {
		t.Fatalf("err = %#v", err)
	}
	if _, err := client.Result[*canopyv1.Volume](&canopyv1.Operation{Id: "op"}); err == nil {
		t.Fatal("Result of an unfinished operation did not fail")
	}
}

func TestPagesFollowTokens(t *testing.T) {
	ctx := context.Background()
	c, err := client.DialEnv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pages, flavors := 0, 0
	for page, err := range client.Pages(ctx, c.Compute.ListFlavors, &canopyv1.ListFlavorsRequest{PageSize: 4}) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		flavors += len(page.GetFlavors())
	}
	if pages != 2 || flavors != 6 {
		t.Fatalf("%d pages, %d flavors; want 2 pages of the sim's 6 flavors", pages, flavors)
	}
	// Breaking out of the loop stops the paging.
	n := 0
	for range c.AllFlavors(ctx, &canopyv1.ListFlavorsRequest{PageSize: 1}) {
		n++
		if n == 2 {
			break
		}
	}
}

func mustEnv(t *testing.T, k string) string {
	t.Helper()
	v := lookupEnv(k)
	if v == "" {
		t.Fatalf("$%s is not set", k)
	}
	return v
}

// Every service canopy serves has its stub on Client: a service added to
// the protos without one fails here.
func TestClientHasEveryService(t *testing.T) {
	have := map[string]bool{}
	ct := reflect.TypeOf(client.Client{})
	for i := range ct.NumField() {
		have[ct.Field(i).Type.Name()] = true
	}
	n := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("canopy.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			name := string(fd.Services().Get(i).Name()) + "Client"
			n++
			if !have[name] {
				t.Errorf("client.Client has no %s field", name)
			}
		}
		return true
	})
	if n < 9 {
		t.Fatalf("found %d canopy.v1 services: the generated code is not linked in", n)
	}
}
