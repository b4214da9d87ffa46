package providers

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
)

// CheckTar passes a volume's data stream — a tar of its files, as
// container runtimes' VolumeData give it — through unchanged while it
// checks it on the way: it must be a tar, and its files may hold at most
// limit bytes in all (< 0: any number). The check reads each header before
// the file's bytes pass on, so a stream too large is refused after one
// header block rather than after a gigabyte. A stream that fails a check
// ends with an error for its reader; Close (after the reader is done or
// has given up) returns that error, wrapping ErrInvalid, or the source's
// read error. Nothing is buffered beyond what tar reads ahead of a
// header.
func CheckTar(r io.Reader, limit int64) *TarCheck {
	pr, pw := io.Pipe()
	c := &TarCheck{pr: pr, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.err = checkTar(io.TeeReader(r, pw), limit)
		if c.err != nil {
			pw.CloseWithError(c.err)
			return
		}
		_, err := io.Copy(pw, r) // the padding after the end blocks
		pw.CloseWithError(err)
	}()
	return c
}

// TarCheck is CheckTar's stream.
type TarCheck struct {
	pr   *io.PipeReader
	done chan struct{}
	err  error
}

func (c *TarCheck) Read(p []byte) (int, error) { return c.pr.Read(p) }

// Close stops the check (a reader that gave up early unblocks it) and
// returns what it found.
func (c *TarCheck) Close() error {
	c.pr.CloseWithError(errClosed)
	<-c.done
	if errors.Is(c.err, errClosed) {
		return nil
	}
	return c.err
}

var errClosed = errors.New("volume data: the reader stopped")

// errSource marks a read error of the source, not of its content.
type errSource struct{ error }

func (e errSource) Unwrap() error { return e.error }

func checkTar(r io.Reader, limit int64) error {
	src := &sourceReader{r: r}
	tr := tar.NewReader(src)
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if src.err != nil {
				return src.err
			}
			return fmt.Errorf("%w: the volume data is not a tar of the volume's files: %v", ErrInvalid, err)
		}
		total += hdr.Size
		if limit >= 0 && total > limit {
			return fmt.Errorf("%w: the volume data's files hold more than the volume's %d GiB (at %s)", ErrInvalid, limit>>30, hdr.Name)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			if src.err != nil {
				return src.err
			}
			return fmt.Errorf("%w: the volume data is not a tar of the volume's files: %v", ErrInvalid, err)
		}
	}
}

// sourceReader remembers a read error that is the source's (or the
// pipe's: the reader stopped), to tell it from a malformed tar.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = errSource{err}
	}
	return n, err
}
