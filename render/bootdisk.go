package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A manifest with `bootloader: syslinux` renders a disk a cloud boots as
// it is, with no kernel given from outside: an MBR partition table with
// syslinux's boot code, partition 1 a FAT16 filesystem holding the kernel,
// the initrd and syslinux.cfg (made with mkfs.fat and mtools, and made
// bootable by syslinux's mtools installer — no mount, no root), partition 2
// the ext4 root filesystem (the same mke2fs -d image a direct-boot render
// makes). BIOS boot only; the kernel's root is partition 2 (/dev/vda2 on
// virtio, /dev/xvda2 on Xen, /dev/nvme0n1p2 on NVMe), which the manifest's
// cmdline names.

// ErrNoBootTools: the host cannot make a disk with a bootloader.
var ErrNoBootTools = errors.New("canopyd's host lacks dosfstools, mtools or syslinux")

// diskSignature is the MBR's disk signature for a render key: the same
// render gives the same disk.
func diskSignature(key string) uint32 {
	sum := sha256.Sum256([]byte("mbr:" + key))
	return binary.BigEndian.Uint32(sum[:4])
}

// BootTools are the programs a disk with a bootloader needs. They are
// looked up only when a manifest asks for one, so a renderer without them
// still renders everything else.
type BootTools struct {
	MkfsFat, Mcopy, Syslinux, MBR string
}

// FindBootTools looks up dosfstools' mkfs.fat, mtools' mcopy, syslinux's
// installer and its MBR boot code.
func FindBootTools() (BootTools, error) {
	var t BootTools
	var missing []string
	for _, x := range []struct {
		name string
		dst  *string
		pkg  string
	}{{"mkfs.fat", &t.MkfsFat, "dosfstools"}, {"mcopy", &t.Mcopy, "mtools"}, {"syslinux", &t.Syslinux, "syslinux"}} {
		p, err := lookTool(x.name)
		if err != nil {
			missing = append(missing, x.pkg)
			continue
		}
		*x.dst = p
	}
	for _, p := range []string{"/usr/lib/syslinux/mbr/mbr.bin", "/usr/share/syslinux/mbr.bin", "/usr/lib/SYSLINUX/mbr.bin"} {
		if fi, err := os.Stat(p); err == nil && fi.Size() >= 440 {
			t.MBR = p
			break
		}
	}
	if t.MBR == "" {
		missing = append(missing, "syslinux-common")
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("render: bootloader syslinux needs %s on canopyd's host", strings.Join(missing, ", "))
	}
	return t, nil
}

const (
	sector       = 512
	bootStartLBA = 2048 // partition 1 at 1 MiB, as partitioning tools align
	minBootBytes = 16 << 20
)

// bootDisk writes out, a partitioned disk booting m's kernel through
// syslinux, from the tree (for the kernel and initrd) and the root
// filesystem image rootImg. sig is the MBR's disk signature (from the
// render key: the same render gives the same MBR and boot partition).
func bootDisk(ctx context.Context, t BootTools, tree string, m *Manifest, rootImg, out string, sig uint32) error {
	work := out + ".boot"
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	defer os.RemoveAll(work)

	// The kernel and initrd, copied out through the tree's root so a
	// symlink cannot reach outside it.
	files := [][2]string{{m.Boot.Kernel, "vmlinuz"}}
	if m.Boot.Initrd != "" {
		files = append(files, [2]string{m.Boot.Initrd, "initrd.img"})
	}
	var payload int64
	for _, f := range files {
		n, err := copyFromTree(tree, f[0], filepath.Join(work, f[1]))
		if err != nil {
			return err
		}
		payload += n
	}
	cfg := "DEFAULT canopy\nPROMPT 0\nTIMEOUT 0\nLABEL canopy\n  LINUX /vmlinuz\n"
	if m.Boot.Initrd != "" {
		cfg += "  INITRD /initrd.img\n"
	}
	if m.Boot.Cmdline != "" {
		cfg += "  APPEND " + m.Boot.Cmdline + "\n"
	}
	if err := os.WriteFile(filepath.Join(work, "syslinux.cfg"), []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if err := os.Chtimes(filepath.Join(work, "syslinux.cfg"), fatEpoch, fatEpoch); err != nil {
		return fmt.Errorf("render: %w", err)
	}

	// Partition 1: FAT16 with room for the payload and syslinux's own
	// files. Its hidden-sectors field is the partition's start, which the
	// boot sector adds to find ldlinux.sys on the whole disk.
	bootBytes := roundMiB(max(payload+payload/8+4<<20, minBootBytes))
	fat := filepath.Join(work, "boot.fat")
	if err := run(ctx, nil, t.MkfsFat, "-F", "16", "-C", "-n", "CANOPYBOOT", "-i", fmt.Sprintf("%08x", sig),
		"-h", strconv.Itoa(bootStartLBA), "--invariant", fat, strconv.FormatInt(bootBytes/1024, 10)); err != nil {
		return fmt.Errorf("render: boot partition: %w", err)
	}
	// Fixed times make the same render give the same bytes: the files
	// carry FAT's first representable time (mcopy -m; a tarball's own
	// times may be missing, then extraction's), and what mtools and
	// syslinux stamp themselves takes SOURCE_DATE_EPOCH.
	env := []string{"MTOOLS_SKIP_CHECK=1", "SOURCE_DATE_EPOCH=" + strconv.FormatInt(fatEpoch.Unix(), 10)}
	for _, f := range append(files, [2]string{"", "syslinux.cfg"}) {
		if err := run(ctx, env, t.Mcopy, "-i", fat, "-m", filepath.Join(work, f[1]), "::/"+f[1]); err != nil {
			return fmt.Errorf("render: boot partition: %w", err)
		}
	}
	if err := run(ctx, env, t.Syslinux, "--install", fat); err != nil {
		return fmt.Errorf("render: install syslinux: %w", err)
	}

	// The disk: MBR, partition 1 at 1 MiB, partition 2 (the root) after
	// it at a MiB boundary.
	fi, err := os.Stat(rootImg)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	rootBytes := roundMiB(fi.Size())
	rootStart := int64(bootStartLBA) + bootBytes/sector
	code, err := os.ReadFile(t.MBR)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	mbr := mbrSector(code[:440], sig, []mbrPart{
		{active: true, kind: 0x0e, start: bootStartLBA, sectors: bootBytes / sector},
		{kind: 0x83, start: rootStart, sectors: rootBytes / sector},
	})
	d, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	err = func() error {
		if err := d.Truncate((rootStart*sector + rootBytes)); err != nil {
			return err
		}
		if _, err := d.WriteAt(mbr, 0); err != nil {
			return err
		}
		if err := copySparse(ctx, d, bootStartLBA*sector, fat); err != nil {
			return err
		}
		return copySparse(ctx, d, rootStart*sector, rootImg)
	}()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(out)
		return fmt.Errorf("render: assemble the disk: %w", err)
	}
	return nil
}

// mbrPart is one primary partition of an MBR.
type mbrPart struct {
	active         bool
	kind           byte
	start, sectors int64
}

// mbrSector is a master boot record: boot code, disk signature, up to four
// LBA-addressed partitions (their CHS fields say "use LBA"), and 55 AA.
func mbrSector(code []byte, sig uint32, parts []mbrPart) []byte {
	b := make([]byte, sector)
	copy(b, code)
	binary.LittleEndian.PutUint32(b[440:], sig)
	for i, p := range parts {
		e := b[446+16*i : 446+16*(i+1)]
		if p.active {
			e[0] = 0x80
		}
		copy(e[1:4], []byte{0xfe, 0xff, 0xff})
		e[4] = p.kind
		copy(e[5:8], []byte{0xfe, 0xff, 0xff})
		binary.LittleEndian.PutUint32(e[8:], uint32(p.start))
		binary.LittleEndian.PutUint32(e[12:], uint32(p.sectors))
	}
	b[510], b[511] = 0x55, 0xaa
	return b
}

// copySparse writes the file src into d at off, skipping blocks of zeros
// (the disk was truncated to size, so they read as zeros already and stay
// holes on disk).
func copySparse(ctx context.Context, d *os.File, off int64, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	zero := make([]byte, 64<<10)
	for pos := int64(0); ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := io.ReadFull(f, buf)
		for i := 0; i < n; i += len(zero) {
			blk := buf[i:min(i+len(zero), n)]
			if !bytes.Equal(blk, zero[:len(blk)]) {
				if _, err := d.WriteAt(blk, off+pos+int64(i)); err != nil {
					return err
				}
			}
		}
		pos += int64(n)
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// copyFromTree copies the tree's file p (absolute within the tree) to
// dst and returns its size.
func copyFromTree(tree, p, dst string) (int64, error) {
	root, err := os.OpenRoot(tree)
	if err != nil {
		return 0, fmt.Errorf("render: %w", err)
	}
	defer root.Close()
	in, err := root.Open(strings.TrimPrefix(p, "/"))
	if err != nil {
		return 0, fmt.Errorf("render: %s: %w", p, unwrapPath(err))
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, fmt.Errorf("render: %w", err)
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(dst, fatEpoch, fatEpoch)
	}
	if err != nil {
		return 0, fmt.Errorf("render: copy %s: %w", p, err)
	}
	return n, nil
}

// fatEpoch is the earliest time a FAT directory entry holds.
var fatEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func roundMiB(n int64) int64 { return (n + 1<<20 - 1) &^ (1<<20 - 1) }
