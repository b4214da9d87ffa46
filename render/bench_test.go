package render

import (
	"archive/tar"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRender256 is P10 of BENCHMARKS.md: rendering a 256 MiB root
// filesystem tarball to qcow2 through the renderer (ingest with its tar
// checks and sha256, extraction, templates, mke2fs -d, qemu-img convert,
// hashing of the outputs) against doing the same by hand (tar -x, mke2fs
// -d, qemu-img convert). It runs only with CANOPY_BENCH_RENDER=1 (make
// bench-render): it writes about 1.5 GiB per iteration.
func BenchmarkRender256(b *testing.B) {
	if os.Getenv("CANOPY_BENCH_RENDER") == "" {
		b.Skip("set CANOPY_BENCH_RENDER=1 (make bench-render)")
	}
	tl, err := FindTools()
	if err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "rootfs.tar")
	writeRootfs(b, src, 256<<20)
	m, err := Parse([]byte(`{"name": "bench", "bootloader": "none", "templates": ["/etc/hostname"], "inputs": {"hostname": {}}, "outputs": [{"format": "qcow2"}]}`))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("canopy", func(b *testing.B) {
		for i := range b.N {
			r := &Renderer{Dir: filepath.Join(dir, "canopy-"+strconv.Itoa(i)), Tools: tl}
			f, err := os.Open(src)
			if err != nil {
				b.Fatal(err)
			}
			sha, _, err := r.Ingest(ctx, f, "")
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			key, _, err := r.Render(ctx, m, sha, map[string]any{"hostname": "bench"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Convert(ctx, key, "qcow2"); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			os.RemoveAll(r.Dir)
			b.StartTimer()
		}
	})
	b.Run("by-hand", func(b *testing.B) {
		for i := range b.N {
			w := filepath.Join(dir, "hand-"+strconv.Itoa(i))
			tree := filepath.Join(w, "tree")
			if err := os.MkdirAll(tree, 0o755); err != nil {
				b.Fatal(err)
			}
			fi, _ := os.Stat(src)
			for _, c := range [][]string{
				{"tar", "-C", tree, "-xf", src},
				{tl.Mke2fs, "-q", "-F", "-t", "ext4", "-d", tree, "-m", "0", filepath.Join(w, "disk.raw"), strconv.FormatInt(fsSize(fi.Size())/1024, 10) + "k"},
				{tl.QemuImg, "convert", "-q", "-f", "raw", "-O", "qcow2", filepath.Join(w, "disk.raw"), filepath.Join(w, "disk.qcow2")},
			} {
				if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
					b.Fatalf("%v: %v: %s", c, err, out)
				}
			}
			b.StopTimer()
			os.RemoveAll(w)
			b.StartTimer()
		}
	})
}

// writeRootfs writes a tarball of about size bytes: directories of files
// from 4 KiB to 1 MiB of pseudo-random (incompressible) bytes, as a root
// filesystem's mix of small and large files.
func writeRootfs(b *testing.B, p string, size int64) {
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	mt := time.Unix(0, 0)
	_ = tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt})
	_ = tw.WriteHeader(&tar.Header{Name: "./etc/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt})
	_ = tw.WriteHeader(&tar.Header{Name: "./etc/hostname", Typeflag: tar.TypeReg, Mode: 0o644, Size: 15, ModTime: mt})
	_, _ = tw.Write([]byte("{{.hostname}}\n\n")[:15])
	var n int64
	for d := 0; n < size; d++ {
		dn := "./usr/lib/d" + strconv.Itoa(d) + "/"
		if d == 0 {
			_ = tw.WriteHeader(&tar.Header{Name: "./usr/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt})
			_ = tw.WriteHeader(&tar.Header{Name: "./usr/lib/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt})
		}
		_ = tw.WriteHeader(&tar.Header{Name: dn, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt})
		for j := 0; j < 64 && n < size; j++ {
			sz := int64(4096) << rng.IntN(9) // 4 KiB .. 1 MiB
			if err := tw.WriteHeader(&tar.Header{Name: dn + "f" + strconv.Itoa(j), Typeflag: tar.TypeReg, Mode: 0o644, Size: sz, ModTime: mt}); err != nil {
				b.Fatal(err)
			}
			if _, err := tw.Write(buf[:sz]); err != nil {
				b.Fatal(err)
			}
			n += sz
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
}
