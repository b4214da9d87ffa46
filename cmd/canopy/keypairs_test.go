package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestKeypairGenerateToFile(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	dir := t.TempDir()
	pem := filepath.Join(dir, "deploy.pem")

	r := ok(t, addr, "keypair", "create", "deploy", "--private-key-file", pem)
	fi, err := os.Stat(pem)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(pem)
	key, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatalf("not an OpenSSH private key: %v\n%s", err, b)
	}
	if strings.Contains(r.stdout, "PRIVATE KEY") {
		t.Errorf("private key also printed:\n%s", r.stdout)
	}
	// The public key canopy registered is the file's.
	signer, _ := ssh.NewSignerFromKey(key)
	got := jsonOf(t, ok(t, addr, "keypair", "get", "deploy", "-o", "json"))
	if want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))); got["public_key"] != want || got["private_key"] != "" {
		t.Errorf("registered public key %v, file's is %s; private_key %q", got["public_key"], want, got["private_key"])
	}

	// An existing file is refused before any key is made.
	fails(t, addr, 1, []string{"keypair", "create", "other", "--private-key-file", pem}, "file exists")
	fails(t, addr, 1, []string{"keypair", "get", "other"}, "NOT_FOUND")

	// Without a file: stdout is just the key, with a warning on stderr.
	r = ok(t, addr, "keypair", "create", "once", "--type", "ssh-rsa")
	if !strings.HasPrefix(r.stdout, "-----BEGIN OPENSSH PRIVATE KEY-----") || !strings.HasSuffix(r.stdout, "-----END OPENSSH PRIVATE KEY-----\n") {
		t.Errorf("stdout is not just the private key:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, "ssh-rsa") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if _, err := ssh.ParseRawPrivateKey([]byte(r.stdout)); err != nil {
		t.Errorf("stdout key: %v", err)
	}
	r = ok(t, addr, "keypair", "create", "once-json", "-o", "json")
	if k, _ := jsonOf(t, r)["private_key"].(string); !strings.Contains(k, "PRIVATE KEY") || !strings.Contains(r.stderr, "warning") {
		t.Errorf("json create: private_key %q, stderr %s", k, r.stderr)
	}
}

func TestKeypairImportListDelete(t *testing.T) {
	addr := startCanopyd(t, fastLocal)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spub, _ := ssh.NewPublicKey(pub)
	file := filepath.Join(t.TempDir(), "id.pub")
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spub)))
	if err := os.WriteFile(file, []byte(authorized+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := ok(t, addr, "keypair", "create", "mine", "--public-key-file", file, "-o", "yaml")
	if !strings.Contains(r.stdout, "public_key: "+authorized) || !strings.Contains(r.stdout, "type: ssh-ed25519") {
		t.Errorf("import:\n%s", r.stdout)
	}
	r = ok(t, addr, "keypair", "list")
	if tableRow(r.stdout, "mine", "ssh-ed25519", ssh.FingerprintLegacyMD5(spub), "local") == "" &&
		tableRow(r.stdout, "mine", "ssh-ed25519", ssh.FingerprintSHA256(spub), "local") == "" {
		t.Errorf("keypair list:\n%s", r.stdout)
	}
	fails(t, addr, 2, []string{"keypair", "create", "x", "--public-key-file", file, "--type", "ssh-rsa"}, "public-key-file")
	ok(t, addr, "keypair", "delete", "mine")
	fails(t, addr, 1, []string{"keypair", "get", "mine"}, "NOT_FOUND")
}
