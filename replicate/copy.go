package replicate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/canopy-cloud/canopy/providers"
)

// The marks an image carries of its content, as labels (the simulator,
// EC2 tags) or properties (Glance): the sha256 of its own bytes, and of
// the bytes it was converted from. Copy looks for both in the target.
const (
	SHA256Key       = "canopy_sha256"
	SourceSHA256Key = "canopy_source_sha256"
)

// Sums are the sha256 values an image is known by: of its own bytes
// (canopy's mark, or Glance's os_hash_value when its algorithm is
// sha256) and of its source's ("" when it is no conversion).
func Sums(im providers.Image) (own, source string) {
	get := func(k string) string {
		if v := im.Labels[k]; v != "" {
			return strings.ToLower(v)
		}
		return strings.ToLower(im.Properties[k])
	}
	own = get(SHA256Key)
	if own == "" && im.Properties["os_hash_algo"] == "sha256" {
		own = strings.ToLower(im.Properties["os_hash_value"])
	}
	return own, get(SourceSHA256Key)
}

// Source is the image to copy.
type Source struct {
	Transfer providers.ImageTransfer
	ID       string // the cloud's id
	Format   string // its disk format
	// SHA256 (hex) of its bytes, when known: Copy checks the bytes it
	// reads against it. Unknown, Copy reads the image once to learn it
	// before it looks for it in the target.
	SHA256 string
	Size   int64 // -1: unknown
}

// Target is the cloud to copy to.
type Target struct {
	Transfer providers.ImageTransfer
	// List lists the target's images, where Copy looks for one with the
	// same content.
	List    func(ctx context.Context) ([]providers.Image, error)
	Formats Formats
	// Spec names the new image (name, container format, minimums,
	// labels); Copy sets its disk format, sha256 and size.
	Spec providers.ImageSpec
}

// Progress is where a copy is.
type Progress struct {
	State  string // "reading", "converting", "uploading"
	Done   int64
	Total  int64 // 0: unknown
	Detail string
}

// Result is what Copy did.
type Result struct {
	Image  providers.Image // in the target
	Reused bool            // an image the target held already
	Format string          // its disk format
	SHA256 string          // of its bytes
	Size   int64
	// SourceSHA256 and SourceSize are the source's, as read (or given).
	SourceSHA256 string
	SourceSize   int64
	// Read counts the bytes read from the source; Moved those written to
	// the target (0 when Reused).
	Read, Moved int64
}

// Copier copies images.
type Copier struct {
	// Scratch is the directory conversions use ("" the system's temp dir).
	Scratch string
	// QemuImg is the qemu-img binary ("" finds it in PATH).
	QemuImg string
	// BufSize is the copy buffer (default 1 MiB).
	BufSize int
}

func (c *Copier) buf() []byte {
	if c.BufSize > 0 {
		return make([]byte, c.BufSize)
	}
	return make([]byte, 1<<20)
}

// Copy places src in dst, converted to a format dst takes, unless dst
// already holds an image with the same content. Nothing half-written
// stays in dst on failure: the upload is aborted.
func (c *Copier) Copy(ctx context.Context, src Source, dst Target, progress func(Progress)) (Result, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	format, convert, err := dst.Formats.Choose(src.Format)
	if err != nil {
		return Result{}, err
	}
	res := Result{Format: format, SourceSHA256: strings.ToLower(src.SHA256), SourceSize: src.Size}
	var local string // the source's bytes on scratch disk
	defer func() {
		if local != "" {
			_ = os.Remove(local)
		}
	}()
	if res.SourceSHA256 == "" {
		if convert {
			local, err = c.download(ctx, src, &res, progress)
		} else {
			err = c.hashSource(ctx, src, &res, progress)
		}
		if err != nil {
			return res, err
		}
	}
	if im, ok, err := findSame(ctx, dst, format, res.SourceSHA256); err != nil {
		return res, err
	} else if ok {
		own, _ := Sums(im)
		res.Image, res.Reused, res.SHA256, res.Size = im, true, own, im.SizeBytes
		return res, nil
	}
	if !convert {
		return res, c.stream(ctx, src, dst, format, &res, progress)
	}
	if local == "" {
		if local, err = c.download(ctx, src, &res, progress); err != nil {
			return res, err
		}
	}
	out, err := c.convert(ctx, local, src.Format, format, progress)
	if err != nil {
		return res, err
	}
	defer os.Remove(out)
	_ = os.Remove(local)
	local = ""
	return res, c.uploadFile(ctx, out, dst, format, &res, progress)
}

// findSame looks for an ACTIVE image in dst holding the content whose
// source sha256 is sum: in format, the same bytes; or converted from them.
func findSame(ctx context.Context, dst Target, format, sum string) (providers.Image, bool, error) {
	if dst.List == nil || sum == "" {
		return providers.Image{}, false, nil
	}
	list, err := dst.List(ctx)
	if err != nil {
		return providers.Image{}, false, fmt.Errorf("list the target's images: %w", err)
	}
	for _, im := range list {
		if im.Status != providers.StatusActive {
			continue
		}
		own, source := Sums(im)
		if source == sum || (own == sum && (im.DiskFormat == format || im.DiskFormat == "ami")) {
			return im, true, nil
		}
	}
	return providers.Image{}, false, nil
}

// meter counts and hashes what passes, and reports progress at most
// every 200ms.
type meter struct {
	h        hash.Hash
	n, total int64
	state    string
	last     time.Time
	report   func(Progress)
}

func newMeter(state string, total int64, report func(Progress)) *meter {
	m := &meter{h: sha256.New(), total: max(total, 0), state: state, report: report}
	report(Progress{State: state, Total: m.total})
	return m
}

func (m *meter) Write(p []byte) (int, error) {
	m.h.Write(p)
	m.n += int64(len(p))
	if now := time.Now(); now.Sub(m.last) >= 200*time.Millisecond {
		m.last = now
		m.report(Progress{State: m.state, Done: m.n, Total: m.total})
	}
	return len(p), nil
}

func (m *meter) sum() string {
	m.report(Progress{State: m.state, Done: m.n, Total: max(m.total, m.n)})
	return hex.EncodeToString(m.h.Sum(nil))
}

// copyCtx copies r to w with buf, stopping when ctx ends.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader, buf []byte) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// checkSum compares what was read with what the source said.
func checkSum(res *Result, got string, n int64) error {
	if res.SourceSHA256 != "" && got != res.SourceSHA256 {
		return fmt.Errorf("%w: the %d bytes read from the source hash to %s, the source says %s", providers.ErrIntegrity, n, got, res.SourceSHA256)
	}
	res.SourceSHA256, res.SourceSize = got, n
	return nil
}

// hashSource reads the source once, to learn its sha256 and size.
func (c *Copier) hashSource(ctx context.Context, src Source, res *Result, progress func(Progress)) error {
	r, _, err := src.Transfer.NewImageReader(ctx, src.ID)
	if err != nil {
		return fmt.Errorf("read source image %s: %w", src.ID, err)
	}
	defer r.Close()
	m := newMeter("reading", src.Size, progress)
	if err := copyCtx(ctx, m, r, c.buf()); err != nil {
		return fmt.Errorf("read source image %s: %w", src.ID, err)
	}
	res.Read += m.n
	return checkSum(res, m.sum(), m.n)
}

// stream copies the source's bytes straight into the target.
func (c *Copier) stream(ctx context.Context, src Source, dst Target, format string, res *Result, progress func(Progress)) error {
	r, _, err := src.Transfer.NewImageReader(ctx, src.ID)
	if err != nil {
		return fmt.Errorf("read source image %s: %w", src.ID, err)
	}
	defer r.Close()
	spec := dst.Spec
	spec.DiskFormat, spec.SHA256, spec.Size = format, res.SourceSHA256, res.SourceSize
	if spec.Size == 0 && src.Size > 0 {
		spec.Size = src.Size
	}
	if spec.Size <= 0 {
		spec.Size = -1
	}
	w, err := dst.Transfer.NewImageWriter(ctx, spec)
	if err != nil {
		return fmt.Errorf("create target image: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = w.Abort()
		}
	}()
	m := newMeter("uploading", spec.Size, progress)
	if err := copyCtx(ctx, io.MultiWriter(m, w), r, c.buf()); err != nil {
		return fmt.Errorf("copy image %s: %w", src.ID, err)
	}
	res.Read += m.n
	sum := m.sum()
	if err := checkSum(res, sum, m.n); err != nil {
		return err
	}
	committed = true
	im, err := w.Commit()
	if err != nil {
		return fmt.Errorf("commit target image: %w", err)
	}
	res.Image, res.SHA256, res.Size, res.Moved = im, sum, m.n, m.n
	return nil
}

// scratchFile makes an empty file in the scratch directory.
func (c *Copier) scratchFile(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(c.Scratch, pattern)
	if err != nil {
		return nil, fmt.Errorf("scratch file: %w", err)
	}
	return f, nil
}

// download writes the source's bytes to a scratch file (for qemu-img).
func (c *Copier) download(ctx context.Context, src Source, res *Result, progress func(Progress)) (string, error) {
	r, _, err := src.Transfer.NewImageReader(ctx, src.ID)
	if err != nil {
		return "", fmt.Errorf("read source image %s: %w", src.ID, err)
	}
	defer r.Close()
	f, err := c.scratchFile("canopy-replicate-src-*")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		f.Close()
		if !ok {
			_ = os.Remove(f.Name())
		}
	}()
	m := newMeter("reading", src.Size, progress)
	if err := copyCtx(ctx, io.MultiWriter(m, f), r, c.buf()); err != nil {
		return "", fmt.Errorf("read source image %s: %w", src.ID, err)
	}
	res.Read += m.n
	if err := checkSum(res, m.sum(), m.n); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("scratch file: %w", err)
	}
	ok = true
	return f.Name(), nil
}

// uploadFile uploads a converted image from scratch disk; its sha256 is
// learned first, so the target records it.
func (c *Copier) uploadFile(ctx context.Context, path string, dst Target, format string, res *Result, progress func(Progress)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("converted image: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("converted image: %w", err)
	}
	h := sha256.New()
	if err := copyCtx(ctx, h, f, c.buf()); err != nil {
		return fmt.Errorf("hash converted image: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("converted image: %w", err)
	}
	spec := dst.Spec
	spec.DiskFormat, spec.SHA256, spec.Size = format, sum, st.Size()
	spec.Labels = withLabel(spec.Labels, SourceSHA256Key, res.SourceSHA256)
	w, err := dst.Transfer.NewImageWriter(ctx, spec)
	if err != nil {
		return fmt.Errorf("create target image: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = w.Abort()
		}
	}()
	m := newMeter("uploading", st.Size(), progress)
	if err := copyCtx(ctx, io.MultiWriter(m, w), f, c.buf()); err != nil {
		return fmt.Errorf("upload converted image: %w", err)
	}
	m.sum()
	committed = true
	im, err := w.Commit()
	if err != nil {
		return fmt.Errorf("commit target image: %w", err)
	}
	res.Image, res.SHA256, res.Size, res.Moved = im, sum, m.n, m.n
	return nil
}

func withLabel(labels map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for lk, lv := range labels {
		out[lk] = lv
	}
	out[k] = v
	return out
}
