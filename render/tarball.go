package render

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// A filesystem tarball is untrusted input. Its entries must be relative
// paths without "..", regular files, directories, symlinks, hard links
// (to entries inside it) or FIFOs — never devices, which a renderer
// running without root could not make anyway and a tarball has no business
// smuggling into an image. Extraction goes through an os.Root, so a
// symlink in the tree cannot send a later entry outside the scratch
// directory either.

// entryName checks a tarball entry's name and returns it relative to the
// tree's root ("" for the root itself).
func entryName(field, name string) (string, error) {
	if name == "" {
		return "", bad(field, "an entry without a name")
	}
	if strings.ContainsRune(name, 0) {
		return "", bad(field, "%q holds a NUL byte", name)
	}
	if strings.HasPrefix(name, "/") {
		return "", bad(field, "%q is an absolute path: entries are relative to the image's root", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", bad(field, "%q climbs out of the tree with ..", name)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// checkHeader accepts one tarball entry, naming it when it refuses.
func checkHeader(h *tar.Header) (string, error) {
	name, err := entryName("tarball", h.Name)
	if err != nil {
		return "", err
	}
	field := "tarball: " + h.Name
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeFifo:
	case tar.TypeLink:
		if _, err := entryName(field+" (hard link)", h.Linkname); err != nil {
			return "", err
		}
		if h.Linkname == "" || path.Clean(h.Linkname) == "." {
			return "", bad(field, "a hard link to the root")
		}
	case tar.TypeChar, tar.TypeBlock:
		return "", bad(field, "is a device file (%d,%d): images are rendered without devices; the kernel's devtmpfs makes them at boot", h.Devmajor, h.Devminor)
	default:
		return "", bad(field, "entry type %q is not a file, directory, link or FIFO", h.Typeflag)
	}
	if name == "" && h.Typeflag != tar.TypeDir {
		return "", bad(field, "the root must be a directory")
	}
	if h.Size < 0 {
		return "", bad(field, "negative size")
	}
	return name, nil
}

// Check reads a whole tarball and refuses the first bad entry.
func Check(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return bad("tarball", "not a tar archive: %v", err)
		}
		if _, err := checkHeader(h); err != nil {
			return err
		}
	}
}

// Owner is the ownership a tarball entry asks for, kept when the renderer
// (not root) could not give it to the extracted file.
type Owner struct {
	Path     string // relative to the tree's root
	UID, GID int
}

// Extracted is what an extraction made.
type Extracted struct {
	// Owners lists entries whose owner is not the renderer's own, when it
	// could not chown them (fs.go sets them inside the filesystem).
	Owners []Owner
	// Bytes is the total size of regular files.
	Bytes int64
}

// Extract unpacks a tarball into dir (which must exist and be empty),
// refusing bad entries; maxBytes bounds the files' total size (0: none).
func Extract(ctx context.Context, r io.Reader, dir string, maxBytes int64) (*Extracted, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("render: open %s: %w", dir, err)
	}
	defer root.Close()
	asRoot := os.Geteuid() == 0
	uid, gid := os.Geteuid(), os.Getegid()
	out := &Extracted{}
	type dirTime struct {
		name string
		t    time.Time
	}
	var dirs []dirTime
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bad("tarball", "not a tar archive: %v", err)
		}
		name, err := checkHeader(h)
		if err != nil {
			return nil, err
		}
		field := "tarball: " + h.Name
		if name == "" {
			name = "."
		}
		if name != "." {
			if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
				return nil, bad(field, "cannot make its directory: %v", unwrapPath(err))
			}
		}
		mode := fs.FileMode(h.Mode).Perm()
		if h.Mode&0o4000 != 0 {
			mode |= fs.ModeSetuid
		}
		if h.Mode&0o2000 != 0 {
			mode |= fs.ModeSetgid
		}
		if h.Mode&0o1000 != 0 {
			mode |= fs.ModeSticky
		}
		if h.Typeflag != tar.TypeDir && name != "." {
			// A later entry replaces an earlier one of the same name.
			if fi, err := root.Lstat(name); err == nil && !(fi.IsDir() && h.Typeflag == tar.TypeDir) {
				if err := root.RemoveAll(name); err != nil {
					return nil, bad(field, "cannot replace the earlier entry: %v", unwrapPath(err))
				}
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if name != "." {
				if err := root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
					return nil, bad(field, "%v", unwrapPath(err))
				}
			}
			dirs = append(dirs, dirTime{name, h.ModTime})
		case tar.TypeReg:
			out.Bytes += h.Size
			if maxBytes > 0 && out.Bytes > maxBytes {
				return nil, bad("tarball", "its files hold more than %d bytes", maxBytes)
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, bad(field, "%v", unwrapPath(err))
			}
			_, cerr := io.Copy(f, tr)
			if err := f.Close(); cerr == nil {
				cerr = err
			}
			if cerr != nil {
				return nil, fmt.Errorf("render: extract %s: %w", h.Name, cerr)
			}
		case tar.TypeSymlink:
			if err := root.Symlink(h.Linkname, name); err != nil {
				return nil, bad(field, "%v", unwrapPath(err))
			}
		case tar.TypeLink:
			if err := root.Link(path.Clean(h.Linkname), name); err != nil {
				return nil, bad(field, "hard link to %q: %v", h.Linkname, unwrapPath(err))
			}
			continue // shares the target's inode, owner and mode
		case tar.TypeFifo:
			// os.Root makes no FIFOs; a regular placeholder keeps the
			// name, and mke2fs copies what it finds. Rare in a rootfs.
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, bad(field, "%v", unwrapPath(err))
			}
			f.Close()
		}
		if h.Typeflag != tar.TypeSymlink {
			if err := root.Chmod(name, mode); err != nil {
				return nil, fmt.Errorf("render: chmod %s: %w", h.Name, err)
			}
		}
		if h.Uid != uid || h.Gid != gid {
			if !asRoot || root.Lchown(name, h.Uid, h.Gid) != nil {
				out.Owners = append(out.Owners, Owner{Path: name, UID: h.Uid, GID: h.Gid})
			}
		}
		if h.Typeflag == tar.TypeReg {
			_ = root.Chtimes(name, h.ModTime, h.ModTime)
		}
	}
	// Directories last: writing into them moved their times.
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = root.Chtimes(dirs[i].name, dirs[i].t, dirs[i].t)
	}
	return out, nil
}

// unwrapPath drops the scratch directory from an error: the tarball's
// author knows the entry, not canopyd's disk.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
