package render

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// A Renderer keeps everything on scratch disk by content hash:
//
//	tarballs/<sha256>.tar          a fetched or uploaded tarball, checked
//	renders/<key>/disk.raw         the ext4 filesystem (the raw output)
//	renders/<key>/disk.<format>    each converted disk format
//	renders/<key>/oci.tar          the container output
//
// The key hashes the tarball, the manifest and the inputs, so a render of
// the same things finds its outputs and does nothing. Everything is
// written under a temporary name and renamed into place: a crash leaves
// garbage (cleared by the next render of the key), never a half output
// under the final name.
type Renderer struct {
	Dir   string
	Tools Tools
	// Boot are the tools of `bootloader: syslinux` (FindBootTools); zero
	// when the host lacks them, and such manifests are then refused.
	Boot BootTools
	// MaxTreeBytes bounds a tarball's files (0: unbounded).
	MaxTreeBytes int64

	mu    sync.Mutex
	locks map[string]*keyLock // renders in progress in this process, by key
}

type keyLock struct {
	sync.Mutex
	n int
}

// lock serialises the renders and conversions of one key in this process:
// two operations rendering the same thing do it once, the second finding
// the first's outputs.
func (r *Renderer) lock(key string) func() {
	r.mu.Lock()
	if r.locks == nil {
		r.locks = map[string]*keyLock{}
	}
	l := r.locks[key]
	if l == nil {
		l = &keyLock{}
		r.locks[key] = l
	}
	l.n++
	r.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		r.mu.Lock()
		if l.n--; l.n == 0 {
			delete(r.locks, key)
		}
		r.mu.Unlock()
	}
}

var hexSHA = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TarballPath is where a tarball with this sha256 is cached.
func (r *Renderer) TarballPath(sha string) string {
	return filepath.Join(r.Dir, "tarballs", sha+".tar")
}

// HasTarball reports whether the tarball with this sha256 is cached.
func (r *Renderer) HasTarball(sha string) bool {
	if !hexSHA.MatchString(sha) {
		return false
	}
	_, err := os.Stat(r.TarballPath(sha))
	return err == nil
}

// Ingest streams a tarball into the cache, checking every entry on the way
// (Check), and returns its sha256 and size. want, when set, is the sha256
// the bytes must have. A bad tarball leaves nothing behind.
func (r *Renderer) Ingest(ctx context.Context, src io.Reader, want string) (string, int64, error) {
	dir := filepath.Join(r.Dir, "tarballs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, fmt.Errorf("render: %w", err)
	}
	f, err := os.CreateTemp(dir, ".in-*")
	if err != nil {
		return "", 0, fmt.Errorf("render: %w", err)
	}
	defer func() { f.Close(); os.Remove(f.Name()) }()
	h := sha256.New()
	pr, pw := io.Pipe()
	checked := make(chan error, 1)
	go func() {
		err := Check(pr)
		if err == nil {
			_, err = io.Copy(io.Discard, pr) // what follows the archive's end
		}
		pr.CloseWithError(err)
		checked <- err
	}()
	n, cerr := io.Copy(io.MultiWriter(f, h, pw), ctxReader{ctx, src})
	pw.CloseWithError(cerr)
	if err := <-checked; err != nil {
		if _, ok := AsError(err); ok {
			return "", 0, err
		}
		if cerr == nil {
			cerr = err
		}
	}
	if cerr != nil {
		return "", 0, fmt.Errorf("render: receive tarball: %w", cerr)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && !strings.EqualFold(want, got) {
		return "", 0, bad("tarball_sha256", "the %d bytes received hash to %s, not %s", n, got, want)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("render: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("render: %w", err)
	}
	if err := os.Rename(f.Name(), r.TarballPath(got)); err != nil {
		return "", 0, fmt.Errorf("render: %w", err)
	}
	return got, n, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Key names a render: the tarball, the manifest, the inputs. The outputs'
// formats and clouds are not in it — they choose which files of the render
// are made and where they go, not their bytes — so a render asking for one
// more format reuses the rest.
func Key(m *Manifest, tarball string, values map[string]any) string {
	h := sha256.New()
	h.Write([]byte("canopy-render-v1\x00" + tarball + "\x00"))
	bare := *m
	bare.Outputs = nil
	h.Write(bare.Canonical())
	v, _ := json.Marshal(values) // maps marshal with sorted keys
	h.Write([]byte{0})
	h.Write(v)
	return hex.EncodeToString(h.Sum(nil))
}

// File is one rendered output file.
type File struct {
	Format string
	Path   string
	Size   int64
	SHA256 string
	// Cached says the file was there already: nothing was rendered.
	Cached bool
}

func (r *Renderer) dir(key string) string { return filepath.Join(r.Dir, "renders", key) }

// Path is where a render's output in format lives.
func (r *Renderer) Path(key, format string) string {
	switch format {
	case FormatOCI:
		return filepath.Join(r.dir(key), "oci.tar")
	}
	return filepath.Join(r.dir(key), "disk."+format)
}

// Render builds the tree's products that every output starts from — the
// raw ext4 filesystem when there are disk outputs, the container tarball
// when there is an oci output — unless they are cached. It reports
// whether anything was built.
func (r *Renderer) Render(ctx context.Context, m *Manifest, tarball string, values map[string]any) (key string, built bool, err error) {
	key = Key(m, tarball, values)
	defer r.lock(key)()
	wantDisk, wantOCI := false, false
	for _, o := range m.Outputs {
		wantDisk = wantDisk || IsDisk(o.Format)
		wantOCI = wantOCI || o.Format == FormatOCI
	}
	final := r.dir(key)
	if (!wantDisk || exists(r.Path(key, "raw"))) && (!wantOCI || exists(r.Path(key, FormatOCI))) {
		return key, false, nil
	}
	if !r.HasTarball(tarball) {
		return "", false, fmt.Errorf("render: tarball %s is not cached", tarball)
	}
	if err := os.MkdirAll(filepath.Join(r.Dir, "renders"), 0o700); err != nil {
		return "", false, fmt.Errorf("render: %w", err)
	}
	work, err := os.MkdirTemp(filepath.Join(r.Dir, "renders"), "."+key[:16]+"-*")
	if err != nil {
		return "", false, fmt.Errorf("render: %w", err)
	}
	defer os.RemoveAll(work)
	tree := filepath.Join(work, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return "", false, fmt.Errorf("render: %w", err)
	}
	f, err := os.Open(r.TarballPath(tarball))
	if err != nil {
		return "", false, fmt.Errorf("render: %w", err)
	}
	x, err := Extract(ctx, f, tree, r.MaxTreeBytes)
	f.Close()
	if err != nil {
		return "", false, err
	}
	filled, err := Fill(tree, m, values)
	if err != nil {
		return "", false, err
	}
	if err := emptyVolatile(tree, m); err != nil {
		return "", false, err
	}
	if err := checkBoot(tree, m); err != nil {
		return "", false, err
	}
	// Both products are made in the work directory and renamed into the
	// key's directory only when both are done: a failure leaves nothing.
	var done [][2]string
	if wantDisk && !exists(r.Path(key, "raw")) {
		size, _ := m.SizeBytes()
		if size == 0 {
			size = fsSize(x.Bytes)
		}
		raw := filepath.Join(work, "disk.raw")
		if err := buildExt4(ctx, r.Tools, tree, raw, label(m.Name), uuidOf(key), size, x.Owners); err != nil {
			return "", false, err
		}
		if m.Bootloader == BootloaderSyslinux {
			if r.Boot.Syslinux == "" {
				return "", false, fmt.Errorf("render: bootloader syslinux: %w", ErrNoBootTools)
			}
			disk := filepath.Join(work, "disk.boot")
			if err := bootDisk(ctx, r.Boot, tree, m, raw, disk, diskSignature(key)); err != nil {
				return "", false, err
			}
			raw = disk
		}
		done = append(done, [2]string{raw, r.Path(key, "raw")})
	}
	if wantOCI && !exists(r.Path(key, FormatOCI)) {
		oci := filepath.Join(work, "oci.tar")
		if err := writeOCI(r.TarballPath(tarball), work, oci, m, filled); err != nil {
			return "", false, err
		}
		done = append(done, [2]string{oci, r.Path(key, FormatOCI)})
	}
	if err := os.MkdirAll(final, 0o700); err != nil {
		return "", false, fmt.Errorf("render: %w", err)
	}
	for _, d := range done {
		if err := os.Rename(d[0], d[1]); err != nil {
			return "", false, fmt.Errorf("render: %w", err)
		}
	}
	return key, true, nil
}

// Convert makes the disk format from the render's raw filesystem, unless
// it is there already, and describes it.
func (r *Renderer) Convert(ctx context.Context, key, format string) (File, error) {
	defer r.lock(key)()
	out := r.Path(key, format)
	cached := exists(out)
	if !cached && format != FormatOCI && format != "raw" {
		if err := convert(ctx, r.Tools, r.Path(key, "raw"), format, out); err != nil {
			return File{}, err
		}
	}
	sha, size, err := r.digest(out)
	if err != nil {
		return File{}, err
	}
	return File{Format: format, Path: out, Size: size, SHA256: sha, Cached: cached}, nil
}

// digest hashes a file once and keeps the answer beside it.
func (r *Renderer) digest(p string) (string, int64, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", 0, fmt.Errorf("render: %w", err)
	}
	if b, err := os.ReadFile(p + ".sha256"); err == nil && hexSHA.Match(b) {
		return string(b), fi.Size(), nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", 0, fmt.Errorf("render: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", 0, fmt.Errorf("render: hash %s: %w", p, err)
	}
	s := hex.EncodeToString(h.Sum(nil))
	if err := writeAtomic(p+".sha256", []byte(s)); err != nil {
		return "", 0, err
	}
	return s, fi.Size(), nil
}

func writeAtomic(p string, b []byte) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := p + "." + hex.EncodeToString(rnd[:])
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("render: %w", err)
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// label is an ext4 volume label (16 bytes at most) from the image's name.
func label(name string) string {
	if len(name) > 16 {
		name = name[:16]
	}
	return name
}

// uuidOf is a filesystem UUID derived from the key.
func uuidOf(key string) string {
	k := key[:32]
	return k[0:8] + "-" + k[8:12] + "-4" + k[13:16] + "-8" + k[17:20] + "-" + k[20:32]
}
