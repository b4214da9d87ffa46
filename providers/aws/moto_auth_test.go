//go:build aws

package aws_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/canopy-cloud/canopy/providers"
	awsp "github.com/canopy-cloud/canopy/providers/aws"
)

// motoAuthEndpoint is the second moto, the one with IAM auth switched on
// (CANOPY_MOTO_AUTH=1 test/moto/up.sh; test/moto/test.sh starts it on
// port 5056). The shared moto accepts any credentials.
func motoAuthEndpoint(t testing.TB) string {
	t.Helper()
	e := os.Getenv("CANOPY_MOTO_AUTH_ENDPOINT")
	if e == "" {
		t.Fatal("CANOPY_MOTO_AUTH_ENDPOINT is not set: start a moto with IAM auth (CANOPY_MOTO_PORT=5056 CANOPY_MOTO_AUTH=1 test/moto/up.sh) or run test/moto/test.sh")
	}
	return strings.TrimRight(e, "/")
}

// motoAPI posts to one of moto's own endpoints (not authenticated).
func motoAPI(t testing.TB, endpoint, path, body string) {
	t.Helper()
	resp, err := http.Post(endpoint+path, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("moto %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto %s: HTTP %d", path, resp.StatusCode)
	}
}

// iamCall sends one IAM query-API action, SigV4-signed with moto's
// default credentials, and decodes the answer into out.
func iamCall(t testing.TB, endpoint string, params url.Values, out any) {
	t.Helper()
	params.Set("Version", "2010-05-08")
	body := params.Encode()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := awssdk.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("IAM %s: %v", params.Get("Action"), err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IAM %s: HTTP %d: %s", params.Get("Action"), resp.StatusCode, raw)
	}
	if out != nil {
		if err := xml.NewDecoder(bytes.NewReader(raw)).Decode(out); err != nil {
			t.Fatalf("IAM %s: %v in %s", params.Get("Action"), err, raw)
		}
	}
}

type accessKey struct {
	ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
	Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
}

// A moto that checks credentials (IAM auth on) refuses a wrong secret and
// an unknown key as ErrUnauthenticated, a user whose policy does not allow
// EC2 as ErrPermission, and serves a user whose policy does: the adapter
// maps what a real engine answers, not only what TestKindOf feeds it.
func TestBadCredentials(t *testing.T) {
	endpoint := motoAuthEndpoint(t)
	ctx := context.Background()
	motoAPI(t, endpoint, "/moto-api/reset", "")
	// Arrange two users without auth: moto lets the next 5 actions through,
	// then checks every request (signature, key, policy).
	motoAPI(t, endpoint, "/moto-api/reset-auth", "5")
	t.Cleanup(func() { motoAPI(t, endpoint, "/moto-api/reset-auth", "0") })
	var allowed, denied accessKey
	iamCall(t, endpoint, url.Values{"Action": {"CreateUser"}, "UserName": {"ec2-user"}}, nil)
	iamCall(t, endpoint, url.Values{"Action": {"CreateAccessKey"}, "UserName": {"ec2-user"}}, &allowed)
	iamCall(t, endpoint, url.Values{"Action": {"PutUserPolicy"}, "UserName": {"ec2-user"}, "PolicyName": {"ec2"},
		"PolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`}}, nil)
	iamCall(t, endpoint, url.Values{"Action": {"CreateUser"}, "UserName": {"no-rights"}}, nil)
	iamCall(t, endpoint, url.Values{"Action": {"CreateAccessKey"}, "UserName": {"no-rights"}}, &denied)
	if allowed.ID == "" || allowed.Secret == "" || denied.ID == "" {
		t.Fatalf("access keys = %+v, %+v", allowed, denied)
	}

	open := func(id, secret string) *awsp.Cloud {
		t.Helper()
		p, err := providers.Open(ctx, "aws", providers.Config{Name: "moto-auth", Regions: []string{"us-east-1"},
			Options: map[string]any{"endpoint": endpoint, "access_key_id": id, "secret_access_key": secret}})
		if err != nil {
			t.Fatalf("open with key %s: %v", id, err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return p.(*awsp.Cloud)
	}
	// The right key: served (so the refusals below are about the keys).
	if info, err := open(allowed.ID, allowed.Secret).Info(ctx); err != nil || len(info.Zones) == 0 {
		t.Fatalf("Info with a valid key allowed ec2:* = %+v, %v", info, err)
	}
	if _, err := open(allowed.ID, allowed.Secret).ListServers(ctx); err != nil {
		t.Fatalf("ListServers with a valid key allowed ec2:* = %v", err)
	}
	for _, tc := range []struct {
		what, id, secret string
		want             error
	}{
		{"a wrong secret", allowed.ID, allowed.Secret + "x", providers.ErrUnauthenticated},
		{"an unknown key", "AKIA" + strings.Repeat("Z", 16), allowed.Secret, providers.ErrUnauthenticated},
		{"moto's default test key (no such IAM user)", "testing", "testing", providers.ErrUnauthenticated},
		{"a key whose user may not use EC2", denied.ID, denied.Secret, providers.ErrPermission},
	} {
		c := open(tc.id, tc.secret)
		_, err := c.Info(ctx)
		t.Logf("%s: %v", tc.what, err)
		if !errors.Is(err, tc.want) {
			t.Errorf("Info with %s = %v, want %v", tc.what, err, tc.want)
		}
		if _, err := c.ListServers(ctx); !errors.Is(err, tc.want) {
			t.Errorf("ListServers with %s = %v, want %v", tc.what, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "moto-auth") && !strings.Contains(err.Error(), "aws") {
			t.Errorf("error with %s does not name the cloud: %v", tc.what, err)
		}
	}
}
