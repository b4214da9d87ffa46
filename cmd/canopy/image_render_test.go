package main

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// canopy image render: the first render sends the tarball, the second
// offers its sha256 only and moves nothing; bad input names the field.
func TestImageRender(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img not installed")
	}
	dir := t.TempDir()
	addr := startCanopyd(t, "clouds:\n  - {name: local, kind: sim}\nrender:\n  scratch_dir: "+filepath.Join(dir, "scratch")+"\n")
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range []struct{ name, body string }{{"./", ""}, {"./boot/", ""}, {"./boot/vmlinuz", "k"}, {"./etc/", ""}, {"./etc/hostname", "{{.hostname}}\n"}} {
		h := &tar.Header{Name: e.name, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(0, 0)}
		if !strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Size, h.Mode = tar.TypeReg, int64(len(e.body)), 0o644
		}
		_ = tw.WriteHeader(h)
		_, _ = tw.Write([]byte(e.body))
	}
	_ = tw.Close()
	tb, man := filepath.Join(dir, "rootfs.tar"), filepath.Join(dir, "manifest.yaml")
	_ = os.WriteFile(tb, b.Bytes(), 0o644)
	_ = os.WriteFile(man, []byte("name: web\nboot: {kernel: /boot/vmlinuz}\ntemplates: [/etc/hostname]\ninputs: {hostname: {}}\noutputs: [{format: qcow2}]\n"), 0o644)

	r := ok(t, addr, "image", "render", man, tb, "--input", "hostname=web1", "--cloud", "local", "--wait", "--progress=false")
	if !strings.Contains(r.stderr, "sent tarball") || tableRow(r.stdout, "qcow2", "local", "false") == "" {
		t.Fatalf("first render:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
	r = ok(t, addr, "image", "render", man, tb, "--input", "hostname=web1", "--cloud", "local", "--wait", "-o", "json")
	j := jsonOf(t, r)
	if !strings.Contains(r.stderr, "cached on canopyd: not sent") || j["cached"] != true {
		t.Fatalf("second render:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
	p := j["outputs"].([]any)[0].(map[string]any)["placements"].([]any)[0].(map[string]any)
	if p["reused"] != true || p["bytes_uploaded"] != nil && p["bytes_uploaded"] != "0" {
		t.Fatalf("second render's placement: %v", p)
	}
	fails(t, addr, 1, []string{"image", "render", man, tb, "--input", "colour=blue"}, "inputs.colour", "not declared")
	fails(t, addr, 2, []string{"image", "render", man}, "no tarball")
}
