//go:build etcd

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// tokenKid is the kid in a JWT's header.
func tokenKid(t *testing.T, tok string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// Two canopyd replicas on one etcd store (one issuer_url, as every replica
// must be configured): a token from either works on both, a signing-key
// rotation through one reaches the other's token endpoint, and when one is
// killed (SIGKILL) the other owns its cloud within the lease TTL + 1 s.
func TestCanopydReplicasOnEtcd(t *testing.T) {
	cli, root, storeURL := etcdStore(t, "replicas")
	cfg := canopydtest.WriteConfig(t, `
auth: {issuer_url: "http://canopy.replicas.test"}
clouds:
  - name: local
    kind: sim
    zones: [local-1a]
`)
	const ttl = 2
	dA := t.TempDir()
	a := canopydtest.Start(t, dA, "--config", cfg, "--store", storeURL, "--replica-id", "a", "--lease-ttl", fmt.Sprint(ttl))
	b := canopydtest.StartEnv(t, t.TempDir(), []string{canopydtest.TokenEnv + "=" + a.Token},
		"--config", cfg, "--store", storeURL, "--replica-id", "b", "--lease-ttl", fmt.Sprint(ttl))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	// 1. A's token on B.
	if _, err := b.Clouds.ListClouds(ctx, &canopyv1.ListCloudsRequest{}); err != nil {
		t.Fatalf("B refuses A's token: %v\n%s", err, b.Logs())
	}
	// 2. Rotate through A; B's token endpoint signs with the new key, and
	// A accepts that token.
	rot, err := a.Auth.RotateSigningKey(ctx, &canopyv1.RotateSigningKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var tokB string
	for {
		tokB = canopydtest.AdminToken(t, dA, "http://"+b.RESTAddr+"/oauth2/token")
		if tokenKid(t, tokB) == rot.KeyId {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("B still signs with %s after A rotated to %s", tokenKid(t, tokB), rot.KeyId)
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(canopydtest.Bearer(tokB)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := canopyv1.NewCloudServiceClient(conn).ListClouds(ctx, &canopyv1.ListCloudsRequest{}); err != nil {
		t.Fatalf("A refuses B's token under the rotated key: %v", err)
	}
	// 3. One owner of cloud "local"; kill it, the other takes over.
	leader := func() string {
		resp, err := cli.Get(ctx, root+"/v1/owner/local/", clientv3.WithFirstCreate()...)
		if err != nil || len(resp.Kvs) == 0 {
			return ""
		}
		return string(resp.Kvs[0].Value)
	}
	for leader() == "" {
		if ctx.Err() != nil {
			keys, _ := cli.Get(context.Background(), root+"/v1/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
			t.Fatalf("nobody owns cloud local; keys %v\n%s", keys.Kvs, a.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	owner, survivor := a, b
	if leader() == "b" {
		owner, survivor = b, a
	}
	gone := leader()
	killed := time.Now()
	owner.Kill()
	for leader() == gone || leader() == "" {
		if time.Since(killed) > ttl*time.Second+time.Second {
			t.Fatalf("cloud local still owned by %q %v after SIGKILL of its owner", leader(), time.Since(killed))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("cloud local: %s killed, %s owns it after %v (lease TTL %ds)", gone, leader(), time.Since(killed), ttl)
	survivor.Stop()
}
