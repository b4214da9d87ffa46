package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Disk images are made without root and without loop devices: mke2fs -d
// copies a directory tree into a new ext4 filesystem held in a plain file
// (the raw image, whose root a kernel mounts from /dev/vda), and qemu-img
// converts that file to the other formats. Where the renderer is not root
// and could not give extracted files their owners, debugfs sets them
// inside the filesystem afterwards.

// Tools are the programs the renderer runs (e2fsprogs, qemu-utils).
type Tools struct {
	Mke2fs, Debugfs, QemuImg string
}

// FindTools looks the programs up on PATH and in /sbin and /usr/sbin
// (where Debian puts e2fsprogs, outside a user's PATH).
func FindTools() (Tools, error) {
	var t Tools
	for _, x := range []struct {
		name string
		dst  *string
		pkg  string
	}{{"mke2fs", &t.Mke2fs, "e2fsprogs"}, {"debugfs", &t.Debugfs, "e2fsprogs"}, {"qemu-img", &t.QemuImg, "qemu-utils"}} {
		p, err := lookTool(x.name)
		if err != nil {
			return t, fmt.Errorf("render: %s not found (install %s)", x.name, x.pkg)
		}
		*x.dst = p
	}
	return t, nil
}

// lookTool finds a program on PATH or in the sbin directories Debian
// keeps outside a user's PATH.
func lookTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		if fi, serr := os.Stat(filepath.Join(d, name)); serr == nil && !fi.IsDir() {
			return filepath.Join(d, name), nil
		}
	}
	return "", err
}

// run runs a tool and returns its error with what it printed.
func run(ctx context.Context, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// fsSize is the filesystem size for a tree of n bytes when the manifest
// gives none: the tree, a third more for metadata and growth, 16 MiB, in
// whole MiB.
func fsSize(n int64) int64 {
	s := n + n/3 + 16<<20
	return (s + 1<<20 - 1) &^ (1<<20 - 1)
}

// buildExt4 makes the raw image out (which must not exist) from the tree
// at dir. uuid makes the filesystem reproducible: the same tree and uuid
// give the same bytes.
func buildExt4(ctx context.Context, t Tools, dir, out, label, uuid string, size int64, owners []Owner) error {
	args := []string{"-q", "-F", "-t", "ext4", "-d", dir, "-L", label, "-U", uuid, "-m", "0",
		"-E", "root_owner=0:0,hash_seed=" + uuid, out, strconv.FormatInt(size/1024, 10) + "k"}
	// E2FSPROGS_FAKE_TIME pins the superblock's times.
	if err := run(ctx, []string{"E2FSPROGS_FAKE_TIME=1", "MKE2FS_DEVICE_SECTSIZE=512"}, t.Mke2fs, args...); err != nil {
		if strings.Contains(err.Error(), "Could not allocate") || strings.Contains(err.Error(), "No space left") {
			return bad("size", "%d bytes do not hold the tree: %v", size, err)
		}
		return fmt.Errorf("render: mke2fs: %w", err)
	}
	if len(owners) == 0 {
		return nil
	}
	var cmds bytes.Buffer
	for _, o := range owners {
		if strings.ContainsAny(o.Path, "\"\n\\") {
			return bad("tarball: "+o.Path, "a name debugfs cannot set the owner of (quote, backslash or newline); render as root or rename it")
		}
		p := `"/` + o.Path + `"`
		if o.Path == "." {
			p = "/"
		}
		fmt.Fprintf(&cmds, "sif %s uid %d\nsif %s gid %d\n", p, o.UID, p, o.GID)
	}
	f := out + ".owners"
	if err := os.WriteFile(f, cmds.Bytes(), 0o600); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	defer os.Remove(f)
	if err := run(ctx, nil, t.Debugfs, "-w", "-f", f, out); err != nil {
		return fmt.Errorf("render: set owners: %w", err)
	}
	return nil
}

// convert writes raw as format to out with qemu-img.
func convert(ctx context.Context, t Tools, raw, format, out string) error {
	qf, ok := diskFormats[format]
	if !ok {
		return fmt.Errorf("render: no disk format %q", format)
	}
	tmp := out + ".tmp"
	_ = os.Remove(tmp)
	if err := run(ctx, nil, t.QemuImg, "convert", "-q", "-f", "raw", "-O", qf, raw, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("render: qemu-img: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return nil
}

// emptyVolatile removes what the tree holds under the volatile paths,
// keeping the directories themselves.
func emptyVolatile(dir string, m *Manifest) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	defer root.Close()
	for i, p := range m.Volatile {
		rel := strings.TrimPrefix(p, "/")
		fi, err := root.Lstat(rel)
		if err != nil {
			if err := root.MkdirAll(rel, 0o755); err != nil {
				return bad(fmt.Sprintf("volatile[%d]", i), "%s: %v", p, unwrapPath(err))
			}
			continue
		}
		if !fi.IsDir() {
			return bad(fmt.Sprintf("volatile[%d]", i), "%s is not a directory in the tarball", p)
		}
		d, err := root.Open(rel)
		if err != nil {
			return fmt.Errorf("render: %w", err)
		}
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return fmt.Errorf("render: %w", err)
		}
		for _, n := range names {
			if err := root.RemoveAll(rel + "/" + n); err != nil {
				return fmt.Errorf("render: empty %s: %w", p, err)
			}
		}
	}
	return nil
}

// checkBoot makes sure the kernel and initrd the manifest names are in
// the tree.
func checkBoot(dir string, m *Manifest) error {
	if m.Boot == nil {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	defer root.Close()
	for _, f := range []struct{ field, p string }{{"boot.kernel", m.Boot.Kernel}, {"boot.initrd", m.Boot.Initrd}} {
		if f.p == "" {
			continue
		}
		fi, err := root.Stat(strings.TrimPrefix(f.p, "/"))
		if err != nil || !fi.Mode().IsRegular() {
			return bad(f.field, "%s is not a file in the tarball", f.p)
		}
	}
	return nil
}
