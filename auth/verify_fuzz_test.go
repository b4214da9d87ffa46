package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/canopy-cloud/canopy/store/bolt"
)

// FuzzVerify: the verifier, given any string as a bearer token, never
// panics and accepts only a token the issuer signed: the accepted token's
// ES256 signature verifies under one of the issuer's public keys, and its
// header and claims are byte for byte those of a token the issuer issued
// (so a fuzzed token can at most re-encode one, never change a claim).
// `go test` runs the seeds; `make fuzz` runs it for CANOPY_FUZZTIME.
func FuzzVerify(f *testing.F) {
	st, err := bolt.Open(f.TempDir() + "/a.db")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	iss, err := NewIssuer(context.Background(), st, IssuerOptions{URL: "http://canopy.test", TTL: 24 * time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(iss, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	type issued struct{ header, payload []byte }
	var good []issued
	var goodTokens []string
	for _, c := range []struct{ client, project, scope string }{{"c1", "p1", ScopeRead}, {"admin", "default", ScopeAdmin}} {
		tok, _, err := iss.Issue(c.client, c.project, []string{c.scope})
		if err != nil {
			f.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		h, _ := base64.RawURLEncoding.DecodeString(parts[0])
		p, _ := base64.RawURLEncoding.DecodeString(parts[1])
		good = append(good, issued{h, p})
		goodTokens = append(goodTokens, tok)
	}
	kid := iss.JWKS().Keys[0].KeyID

	// Forgeries: another key under the issuer's kid, no signature, a MAC
	// keyed with the public key, claims changed under a real signature.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sign := func(alg jose.SignatureAlgorithm, key any, claims map[string]any) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
		if err != nil {
			f.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(claims).Serialize()
		if err != nil {
			f.Fatal(err)
		}
		return tok
	}
	claims := map[string]any{"iss": "http://canopy.test", "aud": "canopy", "sub": "evil", "canopy_project": "default",
		"scope": ScopeAdmin, "exp": time.Now().Add(time.Hour).Unix()}
	forged := sign(jose.ES256, other, claims)
	b64 := base64.RawURLEncoding.EncodeToString
	parts := strings.Split(goodTokens[0], ".")
	for _, s := range append(goodTokens,
		"", "a.b.c", "..", "....", forged, goodTokens[0]+".", goodTokens[0][:len(goodTokens[0])-2],
		b64([]byte(`{"alg":"none"}`))+"."+parts[1]+".",
		b64([]byte(`{"alg":"HS256","kid":"`+kid+`"}`))+"."+parts[1]+"."+parts[2],
		parts[0]+"."+b64([]byte(strings.Replace(string(good[0].payload), `"p1"`, `"default"`, 1)))+"."+parts[2],
		parts[0]+"."+parts[1]+"."+b64(make([]byte, 64)),
		b64([]byte(`{"alg":"ES256","kid":"`+kid+`","crit":["x"]}`))+"."+parts[1]+"."+parts[2],
		b64([]byte(`{"alg":"ES256","jwk":{"kty":"EC"}}`))+"."+parts[1]+"."+parts[2],
		`{"payload":"`+parts[1]+`","signatures":[{"protected":"`+parts[0]+`","signature":"`+parts[2]+`"}]}`,
		strings.Repeat("A", 10000)+"."+parts[1]+"."+parts[2],
	) {
		f.Add(s)
	}

	for _, tok := range goodTokens {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			f.Fatalf("issued token refused: %v", err)
		}
	}
	if _, err := v.Verify(context.Background(), forged); err == nil {
		f.Fatal("token signed by another key accepted")
	}
	pubs := iss.JWKS().Keys
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Verify(context.Background(), raw)
		if err != nil {
			return
		}
		seg := strings.Split(raw, ".")
		if len(seg) != 3 {
			t.Fatalf("accepted %q: not a compact JWS", raw)
		}
		h, herr := base64.RawURLEncoding.DecodeString(seg[0])
		pl, perr := base64.RawURLEncoding.DecodeString(seg[1])
		sig, serr := base64.RawURLEncoding.DecodeString(seg[2])
		if herr != nil || perr != nil || serr != nil || len(sig) != 64 {
			t.Fatalf("accepted %q: segments do not decode", raw)
		}
		digest := sha256.Sum256([]byte(seg[0] + "." + seg[1]))
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		verified := false
		for _, k := range pubs {
			if ecdsa.Verify(k.Key.(*ecdsa.PublicKey), digest[:], r, s) {
				verified = true
			}
		}
		if !verified {
			t.Fatalf("accepted %q: not signed by the issuer", raw)
		}
		same := false
		for _, g := range good {
			if bytes.Equal(g.header, h) && bytes.Equal(g.payload, pl) {
				same = true
			}
		}
		if !same {
			t.Fatalf("accepted %q (%+v): header or claims not as issued", raw, p)
		}
		if p.Issuer != "http://canopy.test" || p.Project == "" {
			t.Fatalf("accepted %q as %+v", raw, p)
		}
	})
}
