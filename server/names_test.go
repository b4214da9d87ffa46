package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// TestNameTakenElsewhere: bucket and keypair names are one namespace per
// cloud account; a name another project holds is ALREADY_EXISTS "name
// unavailable", naming neither that project nor its resource's id.
func TestNameTakenElsewhere(t *testing.T) {
	e := newObjEnv(t)
	ctx := ctxT(t)
	alpha := withToken(ctx, mintToken(t, e.srv, "alpha", auth.ScopeWrite))
	beta := withToken(ctx, mintToken(t, e.srv, "beta", auth.ScopeWrite))
	local := &canopyv1.Location{Cloud: "local"}
	b, err := e.obj.CreateBucket(alpha, &canopyv1.CreateBucketRequest{Name: "taken", Location: local})
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.compute.CreateKeypair(alpha, &canopyv1.CreateKeypairRequest{Name: "taken-key", Location: local})
	if err != nil {
		t.Fatal(err)
	}
	secret := func(t *testing.T, err error, id string) {
		t.Helper()
		wantErr(t, err, codes.AlreadyExists, "name", "unavailable")
		msg := status.Convert(err).Message()
		for _, leak := range []string{"alpha", id, "sim"} {
			if strings.Contains(msg, leak) {
				t.Errorf("the refusal %q reveals %q", msg, leak)
			}
		}
	}
	_, err = e.obj.CreateBucket(beta, &canopyv1.CreateBucketRequest{Name: "taken", Location: local})
	secret(t, err, b.Id)
	_, err = e.compute.CreateKeypair(beta, &canopyv1.CreateKeypairRequest{Name: "taken-key", Location: local})
	secret(t, err, k.Id)

	// The owner hears which of its own resources holds the name.
	_, err = e.obj.CreateBucket(alpha, &canopyv1.CreateBucketRequest{Name: "taken", Location: local})
	wantErr(t, err, codes.AlreadyExists, "", b.Id)

	// A name the cloud has, but canopy never mapped (made outside canopy,
	// or by another account): unavailable, without the cloud's words.
	if _, err := e.sim("local").CreateBucket(ctx, "outside", "", nil); err != nil {
		t.Fatal(err)
	}
	_, err = e.obj.CreateBucket(beta, &canopyv1.CreateBucketRequest{Name: "outside", Location: local})
	secret(t, err, "outside:")
	// Nothing was left reserved by the refusals.
	list, err := e.obj.ListBuckets(beta, &canopyv1.ListBucketsRequest{})
	if err != nil || len(list.Buckets) != 0 {
		t.Errorf("beta's buckets after refusals = %v, %v", list, err)
	}
}
