package providers

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func tarBytes(t *testing.T, files map[string]int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for name, n := range files {
		if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(n)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(bytes.Repeat([]byte{'x'}, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// endless yields a tar header of a huge file, then zeros forever: a
// check that read the file's bytes before refusing would never end.
type endless struct{ hdr []byte }

func (e *endless) Read(p []byte) (int, error) {
	if len(e.hdr) > 0 {
		n := copy(p, e.hdr)
		e.hdr = e.hdr[n:]
		return n, nil
	}
	clear(p)
	return len(p), nil
}

type failing struct{}

var errBroken = errors.New("broken source")

func (failing) Read([]byte) (int, error) { return 0, errBroken }

func TestCheckTar(t *testing.T) {
	good := tarBytes(t, map[string]int{"a": 1000, "b": 5000})
	var hdr bytes.Buffer
	if err := tar.NewWriter(&hdr).WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "big", Mode: 0o644, Size: 3 << 30}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		src     io.Reader
		limit   int64
		want    []byte // what passes through, when it all should
		wantErr error
	}{
		"a tar passes unchanged":        {src: bytes.NewReader(good), limit: -1, want: good},
		"within the limit":              {src: bytes.NewReader(good), limit: 6000, want: good},
		"over the limit":                {src: bytes.NewReader(good), limit: 5999, wantErr: ErrInvalid},
		"not a tar":                     {src: strings.NewReader(strings.Repeat("not a tar ", 100)), limit: -1, wantErr: ErrInvalid},
		"a huge file refused at header": {src: &endless{hdr: hdr.Bytes()}, limit: 1 << 30, wantErr: ErrInvalid},
		"the source's error":            {src: failing{}, limit: -1, wantErr: errBroken},
	} {
		t.Run(name, func(t *testing.T) {
			c := CheckTar(tc.src, tc.limit)
			got, rerr := io.ReadAll(c)
			err := c.Close()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || rerr == nil {
					t.Errorf("Close = %v (read: %v), want %v and a failed read", err, rerr, tc.wantErr)
				}
				return
			}
			if err != nil || rerr != nil || !bytes.Equal(got, tc.want) {
				t.Errorf("read %d bytes (%v), Close = %v; want the %d bytes unchanged", len(got), rerr, err, len(tc.want))
			}
		})
	}
}

// TestCheckTarReaderStops: a reader that gives up early (the runtime
// failed) unblocks the check through Close.
func TestCheckTarReaderStops(t *testing.T) {
	c := CheckTar(bytes.NewReader(tarBytes(t, map[string]int{"a": 1 << 20})), -1)
	if _, err := c.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after an early stop = %v, want nil", err)
	}
}
