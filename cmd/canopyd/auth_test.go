package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

func TestFirstRunCredentials(t *testing.T) {
	data := t.TempDir()
	d := canopydtest.Start(t, data)
	path := filepath.Join(data, "config", "canopy", "credentials.json")
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v mode %v, want 0600", err, st.Mode())
	}
	first, _ := os.ReadFile(path)
	// Unauthenticated calls are refused, over gRPC and REST alike.
	cc, _ := grpc.NewClient(d.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer cc.Close()
	_, err = canopyv1.NewComputeServiceClient(cc).ListServers(context.Background(), &canopyv1.ListServersRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token over gRPC: %v", err)
	}
	resp, err := http.Get("http://" + d.RESTAddr + "/v1/servers")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token over REST: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	// A restart keeps the admin client and does not rewrite the file.
	d.Stop()
	canopydtest.Start(t, data)
	again, _ := os.ReadFile(path)
	if string(again) != string(first) {
		t.Errorf("second start rewrote the credentials")
	}
}

func TestPlaintextOnlyOnLoopback(t *testing.T) {
	cmd := exec.Command(canopydtest.Binary(t), "--grpc-addr", "0.0.0.0:0", "--rest-addr", canopydtest.FreePort(t))
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--insecure") {
		t.Fatalf("plaintext on 0.0.0.0: err %v, output %s", err, out)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and returns its paths.
func selfSigned(t *testing.T) (certPath, keyPath string, pool *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "canopy-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}

func TestTLS(t *testing.T) {
	certPath, keyPath, pool := selfSigned(t)
	data := t.TempDir()
	grpcAddr, restAddr := canopydtest.FreePort(t), canopydtest.FreePort(t)
	cmd := exec.Command(canopydtest.Binary(t), "--grpc-addr", grpcAddr, "--rest-addr", restAddr, "--tls-cert", certPath, "--tls-key", keyPath)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+data, "XDG_CONFIG_HOME="+filepath.Join(data, "config"), "CANOPY_CONFIG=", "CANOPY_CREDENTIALS=")
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var resp *http.Response
	var err error
	for i := 0; i < 200; i++ {
		if resp, err = hc.Get("https://" + restAddr + "/healthz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("https: %v\n%s", err, logs.String())
	}
	resp.Body.Close()
	// The token endpoint and the API over TLS, REST and gRPC.
	raw, _ := os.ReadFile(filepath.Join(data, "config", "canopy", "credentials.json"))
	if !strings.Contains(string(raw), `"token_url": "https://`+restAddr+`/oauth2/token"`) {
		t.Errorf("credentials name the https token URL? %s", raw)
	}
	oldClient := http.DefaultClient
	http.DefaultClient = hc
	tok := canopydtest.AdminToken(t, data, "https://"+restAddr+"/oauth2/token")
	http.DefaultClient = oldClient
	cc, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})), grpc.WithPerRPCCredentials(canopydtest.Bearer(tok)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := canopyv1.NewComputeServiceClient(cc).ListFlavors(context.Background(), &canopyv1.ListFlavorsRequest{}); err != nil {
		t.Errorf("gRPC over TLS: %v", err)
	}
	req, _ := http.NewRequest("GET", "https://"+restAddr+"/v1/flavors", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("REST over TLS: %v %v", resp, err)
	}
	// Plaintext gRPC is refused on the TLS port.
	pc, _ := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := canopyv1.NewComputeServiceClient(pc).ListFlavors(ctx, &canopyv1.ListFlavorsRequest{}); err == nil {
		t.Errorf("plaintext gRPC accepted on the TLS port")
	}
}
