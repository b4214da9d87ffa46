package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"

	"github.com/canopy-cloud/canopy/client"
)

// target is where and how one invocation reaches canopyd, worked out once
// from the flags, the environment and the credentials profile. Flags and
// environment win; the profile fills in what they leave out (its
// grpc_addr, token_url, tls and ca_file), so `canopy --profile prod …`
// needs nothing else.
type target struct {
	// addr is canopyd's gRPC address.
	addr string
	// tls is the one TLS configuration of the gRPC channel and the token
	// endpoint; nil is plaintext.
	tls *tls.Config
	// caFile is the CA file tls trusts ("" for the system roots).
	caFile string
	// token is a raw bearer token (--token); creds the profile's client
	// otherwise (nil: none, and canopyd answers UNAUTHENTICATED).
	token string
	creds *client.Credentials
}

// target resolves (once) how to reach canopyd. A named profile
// (--profile, $CANOPY_PROFILE) must exist; the default one may be absent.
func (a *app) target() (*target, error) {
	if a.tgt != nil {
		return a.tgt, nil
	}
	prof, have, err := a.readProfile()
	if err != nil && (a.token == "" || a.profile != "") {
		return nil, err
	}
	t := &target{addr: a.addr, token: a.token}
	if t.addr == "" && have {
		t.addr = prof.GRPCAddr
	}
	if t.addr == "" {
		t.addr = defaultAddr
	}
	a.addr = t.addr // for messages
	switch {
	case a.caFile != "":
		t.caFile = a.caFile
	case a.tls:
		t.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	case have && prof.CAFile != "":
		t.caFile = prof.CAFile
	case have && prof.TLS:
		t.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if t.caFile != "" {
		if t.tls, err = client.LoadCAFile(t.caFile); err != nil {
			return nil, err
		}
	}
	if t.token == "" && have {
		if a.tokenURL != "" {
			prof.TokenURL = a.tokenURL
		}
		t.creds = &prof
	}
	a.tgt = t
	return t, nil
}

// readProfile reads the profile this invocation uses; have is false when
// the default profile is not there (no file yet, or only named profiles).
func (a *app) readProfile() (c client.Credentials, have bool, err error) {
	c, err = client.ReadProfile(a.credentials, a.profile)
	switch {
	case err == nil:
		return c, true, nil
	case a.profile == "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, client.ErrNoProfile)):
		return c, false, nil
	}
	return c, false, err
}

// profileName is the profile this invocation uses, for messages.
func (a *app) profileName() string {
	if a.profile == "" {
		return client.DefaultProfile
	}
	return a.profile
}

// urlClient is the HTTP client for presigned URLs. They may lead to
// canopyd itself (the URLs it signs for clouds without their own) or to a
// cloud's endpoint (S3), so with a CA file it trusts that CA and the
// system's roots.
func (a *app) urlClient() (*http.Client, error) {
	t, err := a.target()
	if err != nil || t.caFile == "" {
		return http.DefaultClient, err
	}
	pem, err := os.ReadFile(t.caFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(pem)
	return client.HTTPClient(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}), nil
}
