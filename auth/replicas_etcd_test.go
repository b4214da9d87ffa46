//go:build etcd

package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/store/etcd"
)

// replica is one canopyd's token side on the shared etcd store.
type replica struct {
	iss *Issuer
	ver *Verifier
}

func etcdReplicas(t *testing.T, n int) []replica {
	t.Helper()
	v := os.Getenv("CANOPY_ETCD_ENDPOINTS")
	if v == "" {
		t.Skip("CANOPY_ETCD_ENDPOINTS is not set: run test/etcd/test.sh")
	}
	eps := strings.Split(v, ",")
	prefix := fmt.Sprintf("/canopy-test/auth-%s-%x", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
		if err != nil {
			return
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = cli.Delete(ctx, prefix+"/", clientv3.WithPrefix())
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var out []replica
	for range n {
		st, err := etcd.Open(ctx, eps, etcd.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		iss, err := NewIssuer(ctx, st, IssuerOptions{URL: "https://canopy.test"})
		if err != nil {
			t.Fatal(err)
		}
		ver, err := NewVerifier(iss, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, replica{iss, ver})
	}
	return out
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

// A token one replica issues verifies on another, including one signed
// with a key the other has never loaded (it was made after the other
// started, and no watch is running): the unknown kid reloads the keys.
func TestTokensVerifyOnEveryReplica(t *testing.T) {
	rs := etcdReplicas(t, 2)
	a, b := rs[0], rs[1]
	ctx := context.Background()
	tok, _, err := a.iss.Issue("c1", "p1", []string{"compute"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := b.ver.Verify(ctx, tok); err != nil || p.Project != "p1" {
		t.Fatalf("B verifying A's token: %+v, %v", p, err)
	}
	kid, _, err := a.iss.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok2, _, err := a.iss.Issue("c1", "p1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, tok2) != kid {
		t.Fatalf("A signs with %s after rotating to %s", kidOf(t, tok2), kid)
	}
	if _, err := b.ver.Verify(ctx, tok2); err != nil {
		t.Fatalf("B verifying A's token under the new key: %v", err)
	}
	// A forged kid is still refused after the reload it causes.
	if _, err := b.ver.Verify(ctx, tok2[:len(tok2)-4]+"AAAA"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("tampered token: %v, want ErrInvalidToken", err)
	}
}

// A rotation on A reaches B's signing side through the store's watch:
// B signs with A's new key, and publishes it, without any call to B.
func TestRotationReachesEveryReplica(t *testing.T) {
	rs := etcdReplicas(t, 2)
	a, b := rs[0], rs[1]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); b.iss.Follow(fctx, func(err error) { t.Error(err) }) }()
	defer func() { stop(); <-done }()

	// Two replicas started on a new store may each have made a key; one
	// rotation leaves exactly one unretired key, the one A made.
	kid, _, err := a.iss.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		tok, _, err := b.iss.Issue("c1", "p1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if kidOf(t, tok) == kid {
			if _, err := a.ver.Verify(ctx, tok); err != nil {
				t.Fatalf("A verifying B's token under the new key: %v", err)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("B still signs with %s, not A's new key %s", kidOf(t, tok), kid)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("rotation reached B in %v", time.Since(start))
	found := false
	for _, k := range b.iss.JWKS().Keys {
		found = found || k.KeyID == kid
	}
	if !found {
		t.Fatalf("B's JWKS lacks %s", kid)
	}
	// The retirements are written after the new key: B's view settles on
	// one unretired key once the watch has reported them.
	for {
		unretired := 0
		b.iss.mu.RLock()
		for _, k := range b.iss.keys {
			if k.meta.Retired.IsZero() {
				unretired++
			}
		}
		b.iss.mu.RUnlock()
		if unretired == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d unretired keys on B after a rotation, want 1", unretired)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
