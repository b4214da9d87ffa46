package render

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSyslinuxBootsUnderQEMU boots the syslinux disk rendered from
// test/render/rootfs.sh's busybox tree and Debian kernel the way a cloud
// boots an image: firmware, MBR, syslinux, kernel; no kernel given to the
// hypervisor. It runs when CANOPY_RENDER_DIR names rootfs.sh's output
// (test/render/test.sh sets it); the marker the init template prints, with
// the render-time hostname, must reach the serial console.
func TestSyslinuxBootsUnderQEMU(t *testing.T) {
	dir := os.Getenv("CANOPY_RENDER_DIR")
	if dir == "" {
		t.Skip("CANOPY_RENDER_DIR (test/render/rootfs.sh's output) runs the QEMU boot: test/render/test.sh")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatalf("qemu-system-x86_64: %v", err)
	}
	tl, bt := tools(t), bootTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The test manifest, with the bootloader and the root in partition 2.
	doc := strings.Replace(string(manifest), "root=/dev/vda ", "root=/dev/vda2 ", 1) + "bootloader: syslinux\n"
	doc = strings.Replace(doc, "  - format: oci\n", "", 1)
	m, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	host := fmt.Sprintf("boot-%d", time.Now().UnixNano()%100000)
	vals, err := m.Values(map[string]string{"hostname": host})
	if err != nil {
		t.Fatal(err)
	}
	r := &Renderer{Dir: t.TempDir(), Tools: tl, Boot: bt}
	f, err := os.Open(filepath.Join(dir, "rootfs.tar"))
	if err != nil {
		t.Fatal(err)
	}
	sha, _, err := r.Ingest(ctx, f, "")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := r.Render(ctx, m, sha, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	q, err := r.Convert(ctx, key, "qcow2")
	if err != nil {
		t.Fatal(err)
	}
	// TCG, not KVM: under nested KVM (this project's CI machines) real
	// mode code such as syslinux's stops with "emulation failure".
	accel, deadline := "tcg", 300*time.Second
	serial := filepath.Join(t.TempDir(), "serial.log")
	bctx, bcancel := context.WithTimeout(ctx, deadline)
	defer bcancel()
	cmd := exec.CommandContext(bctx, qemu, "-machine", "q35,accel="+accel, "-cpu", "max", "-m", "256", "-nographic", "-no-reboot", "-nodefaults",
		"-serial", "file:"+serial, "-drive", "file="+q.Path+",format=qcow2,if=virtio,snapshot=on")
	out, err := cmd.CombinedOutput()
	log, _ := os.ReadFile(serial)
	want := "canopy-render-marker: hello from " + host
	if !strings.Contains(string(log), want) {
		t.Fatalf("no %q on the serial console (qemu: %v %s); the console's end:\n%s", want, err, out, tail(string(log), 2000))
	}
	t.Logf("booted through syslinux (%s): %s", accel, want)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
