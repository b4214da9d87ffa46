package server

import (
	"testing"

	"golang.org/x/crypto/ssh"
	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
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
