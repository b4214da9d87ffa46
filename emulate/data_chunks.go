package emulate

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/canopy-cloud/canopy/store"
)

// Copies kept in canopy's own store (no backup_bucket) are cut into
// records of chunkSize bytes under "<key>#<n>", so that neither making nor
// restoring one holds more than a chunk. Record.Chunks says how many;
// copies made before chunking have Chunks 0 and their bytes in one record
// under the key itself.
const chunkSize = 4 << 20

func chunkKey(key string, n int) string { return fmt.Sprintf("%s#%08d", key, n) }

// putChunks writes r as chunks and returns how many; an empty stream is
// one empty chunk, so Chunks 0 always means the unchunked layout.
func (e *Layer) putChunks(ctx context.Context, key string, r io.Reader) (int, error) {
	buf := make([]byte, chunkSize)
	for n := 0; ; n++ {
		m, err := io.ReadFull(r, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return 0, err
		}
		if m > 0 || n == 0 {
			if perr := e.st.PutRecord(ctx, NSData, chunkKey(key, n), buf[:m]); perr != nil {
				return 0, perr
			}
		}
		if err != nil { // the stream ended
			if m == 0 && n > 0 {
				return n, nil
			}
			return n + 1, nil
		}
	}
}

// chunkReader reads chunks back in order (chunks 0: the one old record).
func (e *Layer) chunkReader(ctx context.Context, key string, chunks int) io.ReadCloser {
	return &chunkStream{ctx: ctx, e: e, key: key, total: chunks}
}

type chunkStream struct {
	ctx   context.Context
	e     *Layer
	key   string
	total int
	next  int
	cur   []byte
}

func (c *chunkStream) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		last := c.total
		if last == 0 {
			last = 1
		}
		if c.next >= last {
			return 0, io.EOF
		}
		k := c.key
		if c.total > 0 {
			k = chunkKey(c.key, c.next)
		}
		data, err := c.e.st.GetRecord(c.ctx, NSData, k)
		if err != nil {
			return 0, fmt.Errorf("data of emulated copy %s (chunk %d): %w", c.key, c.next, err)
		}
		c.cur, c.next = data, c.next+1
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

func (c *chunkStream) Close() error { return nil }

// deleteChunks deletes a copy's chunks (and the unchunked record); what
// is already gone is fine.
func (e *Layer) deleteChunks(ctx context.Context, key string, chunks int) error {
	keys := []string{key}
	for n := 0; n < chunks; n++ {
		keys = append(keys, chunkKey(key, n))
	}
	for _, k := range keys {
		if err := e.st.DeleteRecord(ctx, NSData, k); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
