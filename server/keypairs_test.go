package server

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

func TestKeypairs(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	gen, err := e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(gen.PrivateKey))
	if err != nil {
		t.Fatalf("generated private key does not parse: %v", err)
	}
	if got := string(ssh.MarshalAuthorizedKey(signer.PublicKey())); got[:len(got)-1] != gen.PublicKey {
		t.Errorf("private key does not match public key %q", gen.PublicKey)
	}
	if gen.Type != "ssh-ed25519" || gen.Fingerprint == "" {
		t.Errorf("generated = %v", gen)
	}
	rsaKey, err := e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: "rsa", Type: "ssh-rsa"})
	if err != nil || rsaKey.Type != "ssh-rsa" {
		t.Fatalf("rsa = %v, %v", rsaKey, err)
	}
	imp, err := e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: "imp", PublicKey: gen.PublicKey})
	if err != nil || imp.PrivateKey != "" || imp.Fingerprint != gen.Fingerprint {
		t.Fatalf("import = %v, %v", imp, err)
	}
	got, err := e.compute.GetKeypair(ctx, &canopyv1.GetKeypairRequest{Id: "imp"})
	if err != nil || got.Id != imp.Id || got.PrivateKey != "" {
		t.Errorf("get by name = %v, %v", got, err)
	}
	list, err := e.compute.ListKeypairs(ctx, &canopyv1.ListKeypairsRequest{})
	if err != nil || len(list.Keypairs) != 3 {
		t.Errorf("list = %v, %v", list, err)
	}
	// Servers can use it by name.
	if _, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "k", Flavor: "m1.tiny", Image: "cirros-0.6.2", Keypair: "imp"}); err != nil {
		t.Errorf("create server with keypair: %v", err)
	}

	_, err = e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: "imp", PublicKey: gen.PublicKey})
	wantErr(t, err, codes.AlreadyExists, "", `cloud "local"`)
	_, err = e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: "bad", PublicKey: "ssh-rsa AAAA!!"})
	wantErr(t, err, codes.InvalidArgument, "public_key")
	_, err = e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: "dsa", Type: "ssh-dss"})
	wantErr(t, err, codes.InvalidArgument, "type")
	_, err = e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: ""})
	wantErr(t, err, codes.InvalidArgument, "name")
	_, err = e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: "both", PublicKey: gen.PublicKey, Type: "ssh-rsa"})
	wantErr(t, err, codes.InvalidArgument, "type")

	del, err := e.compute.DeleteKeypair(ctx, &canopyv1.DeleteKeypairRequest{Id: imp.Id})
	if err != nil || del.Id != imp.Id {
		t.Fatalf("delete = %v, %v", del, err)
	}
	_, err = e.compute.GetKeypair(ctx, &canopyv1.GetKeypairRequest{Id: imp.Id})
	wantErr(t, err, codes.NotFound, "")
	_, err = e.compute.DeleteKeypair(ctx, &canopyv1.DeleteKeypairRequest{Id: "imp"})
	wantErr(t, err, codes.NotFound, "")
}

// A keypair create replayed after a crash between the cloud's answer and
// the bind: the cloud has the keypair, canopy's id is still pending. An
// import of the same key binds to it; a different key is ALREADY_EXISTS
// naming the keypair, and the id is released.
func TestKeypairReplayAfterCrash(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	const pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFjcHPkaD2b9N6rNqNyN1vq7kqV5yjzO2Ez8Gf9X2d1H crash@test"
	for _, tc := range []struct {
		name, key string
		code      codes.Code
	}{
		{"same", pub, codes.OK},
		{"other", "", codes.AlreadyExists}, // generated: another key
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, reqID := "kp-"+tc.name, "replay-"+tc.name
			m, created, err := e.st.Reserve(ctx, store.Mapping{Cloud: "local", Kind: providers.KindKeypair, Project: "default", RequestID: reqID})
			if err != nil || !created {
				t.Fatalf("reserve: %v, %v", created, err)
			}
			if _, err := e.sim("local").CreateKeypair(ctx, name, pub); err != nil {
				t.Fatal(err)
			}
			got, err := e.compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: name, PublicKey: tc.key, RequestId: reqID})
			if status.Code(err) != tc.code {
				t.Fatalf("replay = %v, %v; want %v", got, err, tc.code)
			}
			if tc.code != codes.OK {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %v does not name the keypair", err)
				}
				if _, err := e.st.Get(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("the pending id was kept: %v", err)
				}
				return
			}
			if got.Id != m.ID {
				t.Errorf("replay answered id %s, want the reserved %s", got.Id, m.ID)
			}
			if b, err := e.st.Get(ctx, m.ID); err != nil || b.Pending() || b.NativeID != name {
				t.Errorf("mapping after replay = %+v, %v", b, err)
			}
		})
	}
}
