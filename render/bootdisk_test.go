package render

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func bootTools(t *testing.T) BootTools {
	t.Helper()
	bt, err := FindBootTools()
	if err != nil {
		t.Skipf("%v (test/render/test.sh installs them)", err)
	}
	return bt
}

const syslinuxManifest = `
name: t2
bootloader: syslinux
boot: {kernel: /boot/vmlinuz, initrd: /boot/initrd.img, cmdline: console=ttyS0 root=/dev/vda2}
templates: [/etc/hostname]
inputs: {hostname: {default: canopy}}
outputs: [{format: raw}, {format: qcow2}]
`

// TestSyslinuxDisk: the raw output is an MBR disk whose active first
// partition is a FAT filesystem with the kernel, the initrd, syslinux.cfg
// naming them and syslinux's loader, and whose second partition is the
// rendered root filesystem; the same render gives the same MBR and boot
// partition.
func TestSyslinuxDisk(t *testing.T) {
	tl, bt := tools(t), bootTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tree := tarOf(t, dir("./"), dir("./etc/"), dir("./boot/"),
		file("./boot/vmlinuz", "kernel bytes"), file("./boot/initrd.img", "initrd bytes"),
		file("./etc/hostname", "{{.hostname}}\n"))
	disk := func() (string, []byte) {
		r := &Renderer{Dir: t.TempDir(), Tools: tl, Boot: bt}
		sha, _, err := r.Ingest(ctx, bytes.NewReader(tree), "")
		if err != nil {
			t.Fatal(err)
		}
		m := Must(Parse([]byte(syslinuxManifest)))
		vals, err := m.Values(map[string]string{"hostname": "boot1"})
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := r.Render(ctx, m, sha, vals)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		raw, err := r.Convert(ctx, key, "raw")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Convert(ctx, key, "qcow2"); err != nil {
			t.Fatalf("qcow2 from the partitioned disk: %v", err)
		}
		b, err := os.ReadFile(raw.Path)
		if err != nil {
			t.Fatal(err)
		}
		return raw.Path, b
	}
	path, b := disk()
	if b[510] != 0x55 || b[511] != 0xaa {
		t.Fatalf("no MBR signature")
	}
	code, _ := os.ReadFile(bt.MBR)
	if !bytes.Equal(b[:440], code[:440]) {
		t.Errorf("the MBR's boot code is not syslinux's mbr.bin")
	}
	part := func(i int) (active bool, kind byte, start, size int64) {
		e := b[446+16*i:]
		return e[0] == 0x80, e[4], int64(binary.LittleEndian.Uint32(e[8:])) * 512, int64(binary.LittleEndian.Uint32(e[12:])) * 512
	}
	a1, k1, s1, n1 := part(0)
	a2, k2, s2, n2 := part(1)
	if !a1 || k1 != 0x0e || s1 != 1<<20 || a2 || k2 != 0x83 || s2 != s1+n1 || s2+n2 != int64(len(b)) {
		t.Fatalf("partitions: 1 active=%v type=%#x at %d+%d; 2 active=%v type=%#x at %d+%d; disk %d bytes", a1, k1, s1, n1, a2, k2, s2, n2, len(b))
	}
	// Partition 1 through mtools, as a firmware would read it.
	mdir, err := lookTool("mdir")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(mdir, "-a", "-b", "-i", path+"@@1M", "::/").CombinedOutput()
	if err != nil {
		t.Fatalf("mdir: %v: %s", err, out)
	}
	for _, f := range []string{"VMLINUZ", "INITRD.IMG", "SYSLINUX.CFG", "LDLINUX.SYS", "LDLINUX.C32"} {
		if !strings.Contains(strings.ToUpper(string(out)), f) {
			t.Errorf("the boot partition lacks %s: %s", f, out)
		}
	}
	cfg, err := exec.Command(bt.Mcopy, "-i", path+"@@1M", "::/syslinux.cfg", "-").Output()
	if err != nil || !strings.Contains(string(cfg), "LINUX /vmlinuz") || !strings.Contains(string(cfg), "INITRD /initrd.img") ||
		!strings.Contains(string(cfg), "APPEND console=ttyS0 root=/dev/vda2") {
		t.Errorf("syslinux.cfg: %v\n%s", err, cfg)
	}
	kernel, _ := exec.Command(bt.Mcopy, "-i", path+"@@1M", "::/vmlinuz", "-").Output()
	if string(kernel) != "kernel bytes" {
		t.Errorf("the boot partition's kernel is %q", kernel)
	}
	// Partition 2 is the rendered root filesystem.
	root := filepath.Join(t.TempDir(), "root.ext4")
	f, _ := os.Create(root)
	_, _ = io.Copy(f, bytes.NewReader(b[s2:s2+n2]))
	f.Close()
	if got := debugfsCat(t, tl, root, "/etc/hostname"); got != "boot1\n" {
		t.Errorf("root partition /etc/hostname = %q", got)
	}
	// FAT stamps times in 2-second steps: render again in another step, so
	// a time taken from the clock (not fixed) shows as a difference. Only
	// what bootDisk makes is compared — the MBR and the boot partition;
	// the root filesystem holds the extracted tree's own times.
	time.Sleep(2100 * time.Millisecond)
	if _, again := disk(); !bytes.Equal(b[:s2], again[:s2]) {
		for i := range b[:s2] {
			if b[i] != again[i] {
				t.Errorf("a second render of the same inputs differs at byte %d (boot partition at %d)", i, s1)
				break
			}
		}
	}
}

func TestMBRSector(t *testing.T) {
	code := bytes.Repeat([]byte{0x90}, 440)
	b := mbrSector(code, 0xdeadbeef, []mbrPart{{active: true, kind: 0x0e, start: 2048, sectors: 32768}, {kind: 0x83, start: 34816, sectors: 1 << 20}})
	if len(b) != 512 || b[440] != 0xef || b[443] != 0xde || b[510] != 0x55 || b[511] != 0xaa {
		t.Fatalf("signature or boot marker wrong: % x", b[440:446])
	}
	if b[446] != 0x80 || b[446+16] != 0 || b[450] != 0x0e || b[466] != 0x83 {
		t.Errorf("entries: % x", b[446:478])
	}
	if binary.LittleEndian.Uint32(b[454:]) != 2048 || binary.LittleEndian.Uint32(b[458:]) != 32768 ||
		binary.LittleEndian.Uint32(b[470:]) != 34816 || binary.LittleEndian.Uint32(b[474:]) != 1<<20 {
		t.Errorf("LBA fields: % x", b[446:478])
	}
	if !bytes.Equal(b[:440], code) || !bytes.Equal(b[478:510], make([]byte, 32)) {
		t.Errorf("boot code or unused entries touched")
	}
}
