package containerd

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/canopy-cloud/canopy/providers"
)

// VolumeData: a volume's content is a tar of its files (the format Docker's
// volumes give too, so a copy of either restores into the other), which
// is what canopy's emulated snapshots and backups keep of it. The adapter
// runs on the containerd host and reads and writes the directory itself,
// streaming: a file at a time, never the volume in memory.

// ReadVolumeData streams the volume's files as a tar ("./"-relative names,
// as `docker cp` gives them); the walk runs until the caller closes the
// stream or reads it to the end.
func (a *Adapter) ReadVolumeData(ctx context.Context, volumeID string) (io.ReadCloser, error) {
	if _, err := a.readMeta(volumeID); err != nil {
		return nil, err
	}
	root := a.volumeDir(volumeID)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(ctx, root, pw)) }()
	return pr, nil
}

// writeTar writes the tree under root into w.
func writeTar(ctx context.Context, root string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = "./" + filepath.ToSlash(rel)
		if rel == "." {
			hdr.Name = "./"
		} else if fi.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("containerd: read volume %s: %w", filepath.Base(root), err)
	}
	return tw.Close()
}

// WriteVolumeData extracts the tar r yields into the volume. A stream
// that is not a tar, whose files hold more bytes than the volume's
// recorded size, or that names a path outside the volume (absolute, "..",
// through a symlink) or a device is ErrInvalid; what was extracted before
// stays (canopy writes only into volumes it has just made and deletes a
// restore that failed).
func (a *Adapter) WriteVolumeData(ctx context.Context, volumeID string, r io.Reader) error {
	m, err := a.readMeta(volumeID)
	if err != nil {
		return err
	}
	limit := int64(-1)
	if m.SizeGiB > 0 {
		limit = m.SizeGiB << 30
	}
	if err := extractTar(ctx, a.volumeDir(volumeID), r, limit); err != nil {
		return fmt.Errorf("containerd: write volume %s: %w", volumeID, err)
	}
	return nil
}

// badData is an ErrInvalid about the stream's content.
func badData(format string, args ...any) error {
	return fmt.Errorf("%w: %s", providers.ErrInvalid, fmt.Sprintf(format, args...))
}

func extractTar(ctx context.Context, root string, r io.Reader, limit int64) error {
	src := &readErr{r: r}
	tr := tar.NewReader(src)
	var total int64
	asRoot := os.Geteuid() == 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if src.err != nil {
				return src.err
			}
			return badData("the data is not a tar of the volume's files: %v", err)
		}
		total += hdr.Size
		if limit >= 0 && total > limit {
			return badData("the data's files hold more than the volume's %d GiB (at %s)", limit>>30, hdr.Name)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if strings.HasPrefix(hdr.Name, "/") || name == ".." || strings.HasPrefix(name, "../") {
			return badData("%q is outside the volume", hdr.Name)
		}
		if name == "." {
			continue // the volume's own directory
		}
		target := filepath.Join(root, filepath.FromSlash(name))
		if err := noSymlinkBetween(root, filepath.Dir(target)); err != nil {
			return err
		}
		mode := fs.FileMode(hdr.Mode).Perm() | fs.FileMode(hdr.Mode)&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := replaceable(target); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				if src.err != nil {
					return src.err
				}
				return err
			}
		case tar.TypeSymlink:
			if err := replaceable(target); err != nil {
				return err
			}
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
			if asRoot {
				_ = os.Lchown(target, hdr.Uid, hdr.Gid)
			}
			continue
		case tar.TypeLink:
			old := path.Clean(strings.TrimPrefix(hdr.Linkname, "./"))
			if path.IsAbs(hdr.Linkname) || old == ".." || strings.HasPrefix(old, "../") {
				return badData("hard link %q to %q is outside the volume", hdr.Name, hdr.Linkname)
			}
			oldPath := filepath.Join(root, filepath.FromSlash(old))
			if err := noSymlinkBetween(root, oldPath); err != nil {
				return err
			}
			if err := replaceable(target); err != nil {
				return err
			}
			if err := os.Link(oldPath, target); err != nil {
				return err
			}
			continue
		case tar.TypeFifo:
			if err := replaceable(target); err != nil {
				return err
			}
			if err := syscall.Mkfifo(target, uint32(mode.Perm())); err != nil {
				return err
			}
		default:
			return badData("%s: entries of type %q (devices and the like) are not restored into volumes", hdr.Name, hdr.Typeflag)
		}
		if asRoot {
			if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
				return err
			}
		}
		if err := os.Chmod(target, mode); err != nil {
			return err
		}
		_ = os.Chtimes(target, hdr.AccessTime, hdr.ModTime)
	}
}

// noSymlinkBetween refuses a path whose directories below root include a
// symlink: extracting through one could write outside the volume.
func noSymlinkBetween(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." {
		return err
	}
	p := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return badData("%s is reached through the symlink %s", dir, p)
		}
	}
	return nil
}

// replaceable removes what is at target unless it is a directory (a file
// is replaced, never written through a symlink).
func replaceable(target string) error {
	fi, err := os.Lstat(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return badData("%s is a directory in the volume and a file in the data", target)
	}
	return os.Remove(target)
}

// readErr remembers the source's read error, to tell it from bad data.
type readErr struct {
	r   io.Reader
	err error
}

func (s *readErr) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}
