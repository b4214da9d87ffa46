package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
)

const objectsLocal = `
clouds:
  - name: local
    kind: sim
    options: {part_size: 65536}
  - name: unsigned
    kind: cli-test-nosign
    zones: [u-1a]
  - name: importing
    kind: sim
    zones: [i-1a]
    options: {image_import_delay: 300ms}
`

// noSign is a cloud with objects but no URL signing: the CLI must fall
// back to streaming.
type noSign struct {
	providers.Provider
	providers.Objects
}

func init() {
	providers.Register("cli-test-nosign", func(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
		c := sim.New(sim.Options{Regions: []string{"u-1"}, Zones: []string{"u-1a"}, PartSize: 65536})
		return noSign{c, c}, nil
	})
}

func TestObjectCommands(t *testing.T) {
	addr := startCanopyd(t, objectsLocal)
	dir := t.TempDir()
	data := make([]byte, 300000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	src := filepath.Join(dir, "src.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}

	ok(t, addr, "bucket", "create", "signed", "--cloud", "local")
	ok(t, addr, "bucket", "create", "plain", "--cloud", "unsigned")
	if out := ok(t, addr, "bucket", "list").stdout; !strings.Contains(out, "signed") || !strings.Contains(out, "plain") {
		t.Errorf("bucket list:\n%s", out)
	}

	// The sim cloud signs: put and get go through presigned URLs.
	res := ok(t, addr, "object", "put", src, "signed/dir/a.bin", "--progress=false")
	if !strings.Contains(res.stderr, "via presigned URL (local)") || !strings.Contains(res.stderr, "MiB/s") {
		t.Errorf("put via URL: stderr %q", res.stderr)
	}
	out := filepath.Join(dir, "a.bin")
	res = ok(t, addr, "object", "get", "signed/dir/a.bin", out, "--progress=false")
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) || !strings.Contains(res.stderr, "via presigned URL") {
		t.Errorf("get via URL: %d bytes; stderr %q", len(got), res.stderr)
	}
	// Forced streaming, with a range, to stdout.
	res = ok(t, addr, "object", "get", "signed/dir/a.bin", "-", "--via", "stream", "--offset", "1000", "--length", "10", "--progress=false")
	if res.stdout != string(data[1000:1010]) || !strings.Contains(res.stderr, "via canopyd stream") {
		t.Errorf("ranged stream get: %q; stderr %q", res.stdout, res.stderr)
	}

	// A cloud that cannot sign: the CLI falls back to streaming. stderr is
	// no terminal here, so it gets the summary and no progress bar.
	res = ok(t, addr, "object", "put", src, "plain/b.bin")
	if !strings.Contains(res.stderr, "uploaded 293.0 KiB in") || !strings.Contains(res.stderr, "via canopyd stream") || strings.Contains(res.stderr, "uploading") || strings.Contains(res.stderr, "\r") {
		t.Errorf("fallback put: stderr %q", res.stderr)
	}
	head := jsonOf(t, ok(t, addr, "object", "head", "plain/b.bin", "-o", "json"))
	if head["size_bytes"] != "300000" || head["parts"] != float64(5) || head["sha256"] == "" {
		t.Errorf("head: %v", head)
	}
	fails(t, addr, 1, []string{"object", "put", src, "plain/c.bin", "--via", "url"}, "unsigned", "presigned-urls")
	res = ok(t, addr, "object", "get", "plain/b.bin", filepath.Join(dir, "b.bin"), "--progress=false")
	if got, _ := os.ReadFile(filepath.Join(dir, "b.bin")); !bytes.Equal(got, data) || !strings.Contains(res.stderr, "via canopyd stream") {
		t.Errorf("fallback get: %d bytes; %q", len(got), res.stderr)
	}
	// From stdin (size unknown: sha256 sent at the end).
	if r := cliIn(t, addr, "hello from stdin", "object", "put", "-", "plain/stdin.txt", "--progress=false"); r.code != 0 {
		t.Fatalf("put from stdin: %d %s", r.code, r.stderr)
	}
	if got := ok(t, addr, "object", "get", "plain/stdin.txt", "-", "--progress=false").stdout; got != "hello from stdin" {
		t.Errorf("stdin round trip: %q", got)
	}

	ok(t, addr, "object", "cp", "signed/dir/a.bin", "plain/copied.bin")
	ls := ok(t, addr, "object", "ls", "plain").stdout
	for _, k := range []string{"b.bin", "copied.bin", "stdin.txt"} {
		if !strings.Contains(ls, k) {
			t.Errorf("ls does not list %s:\n%s", k, ls)
		}
	}
	if ls := ok(t, addr, "object", "ls", "signed", "-d", "/").stdout; !strings.Contains(ls, "dir/") {
		t.Errorf("ls -d /:\n%s", ls)
	}
	if u := ok(t, addr, "object", "url", "signed/dir/a.bin").stdout; !strings.Contains(u, "/signed/local/signed/dir/a.bin?") {
		t.Errorf("url: %s", u)
	}
	ok(t, addr, "object", "rm", "plain/b.bin", "plain/copied.bin", "plain/stdin.txt")
	ok(t, addr, "bucket", "delete", "plain")
	fails(t, addr, 1, []string{"object", "get", "signed/missing", filepath.Join(dir, "m")}, "not found")
	if _, err := os.Stat(filepath.Join(dir, "m")); err == nil {
		t.Errorf("a failed get left its file behind")
	}
	fails(t, addr, 2, []string{"object", "put", src, "no-key"}, "BUCKET/KEY")

	// Images.
	res = ok(t, addr, "image", "upload", src, "my-image", "--cloud", "local", "--disk-format", "raw", "--progress=false")
	if !strings.Contains(res.stdout, "my-image") {
		t.Errorf("image upload:\n%s", res.stdout)
	}
	// A cloud that processes images after the upload: the CLI names the
	// operation, or waits for it with --wait.
	res = ok(t, addr, "image", "upload", src, "slow-image", "--cloud", "importing", "--disk-format", "raw", "--progress=false")
	if !strings.Contains(res.stdout, "pending") || !strings.Contains(res.stderr, "canopy operation wait ") {
		t.Errorf("image upload to an importing cloud:\n%s\n%s", res.stdout, res.stderr)
	}
	res = ok(t, addr, "image", "upload", src, "waited-image", "--cloud", "importing", "--disk-format", "raw", "--progress=false", "--wait")
	if !strings.Contains(res.stdout, "active") || strings.Contains(res.stderr, "canopy operation wait") {
		t.Errorf("image upload --wait:\n%s\n%s", res.stdout, res.stderr)
	}
	imgOut := filepath.Join(dir, "img.raw")
	ok(t, addr, "image", "download", "my-image", imgOut, "--progress=false")
	if got, _ := os.ReadFile(imgOut); !bytes.Equal(got, data) {
		t.Errorf("image download: %d bytes", len(got))
	}
}
