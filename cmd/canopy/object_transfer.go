package main

import (
	"context"
	"crypto/md5" //nolint:gosec // clouds' ETags are md5
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// hashFile returns the sha256 of a regular file (so it is stored with the
// object and checked end to end), or "" for a stream.
func hashFile(r io.Reader) (string, int64, error) {
	f, ok := r.(*os.File)
	if !ok {
		return "", -1, nil
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return "", -1, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), st.Size(), nil
}

func (a objectCmds) objectPutCmd() *cobra.Command {
	var (
		tf          transferFlags
		contentType string
		partSize    int64
	)
	cmd := &cobra.Command{
		Use:   "put FILE BUCKET/KEY",
		Short: "Upload a file (- for stdin), through a presigned URL when the cloud can sign, else streamed through canopyd",
		Long: `Upload a file. With --via auto (the default) canopy asks for a presigned URL
and sends the bytes straight to the cloud; a cloud that cannot sign makes it
stream them through canopyd instead. Either way the content is checked: the
sha256 (computed first for a regular file) is stored with the object when
streamed and checked by canopyd, and the cloud's md5 is checked after a
presigned upload. A progress bar with the throughput goes to stderr.`,
		Example: "  canopy object put disk.img backups/2024/disk.img\n  tar c . | canopy object put - backups/site.tar --via stream",
		Args:    args(2, 2, "FILE and BUCKET/KEY"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			bucket, key, err := splitObject(args[1])
			if err != nil {
				return err
			}
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			sum, size, err := hashFile(in)
			if err != nil {
				return err
			}
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			start := time.Now()
			if tf.via != "stream" && size >= 0 {
				rctx, cancel := a.rpcCtx(ctx, false)
				u, err := c.CreateUploadURL(rctx, &canopyv1.CreateUploadURLRequest{Bucket: bucket, Key: key, ContentType: contentType})
				cancel()
				switch {
				case err == nil:
					if err := a.putURL(ctx, u, in, size, tf.progress); err != nil {
						return err
					}
					a.summary("uploaded", size, start, "presigned URL ("+u.Cloud+")")
					rctx, cancel := a.rpcCtx(ctx, false)
					defer cancel()
					o, err := c.GetObject(rctx, &canopyv1.GetObjectRequest{Bucket: bucket, Key: key})
					if err != nil {
						return err
					}
					if o.SizeBytes != size {
						return fmt.Errorf("the cloud holds %d bytes, %d were sent", o.SizeBytes, size)
					}
					return a.emit(o, func(w io.Writer) { objectRows(w, []*canopyv1.Object{o}, nil) })
				case tf.via == "url" || !isCapabilityMissing(err):
					return err
				}
			}
			o, err := a.putStream(ctx, c, bucket, key, contentType, in, size, sum, partSize, tf.progress)
			if err != nil {
				return err
			}
			a.summary("uploaded", o.SizeBytes, start, "canopyd stream")
			return a.emit(o, func(w io.Writer) { objectRows(w, []*canopyv1.Object{o}, nil) })
		}),
	}
	tf.add(cmd)
	cmd.Flags().StringVar(&contentType, "content-type", "", "the object's content type")
	cmd.Flags().Int64Var(&partSize, "part-size", 0, "multipart part size in bytes (0: the cloud's default)")
	return cmd
}

// putURL PUTs the file to a presigned URL and checks the md5 the cloud
// answers with (its ETag, for a one-part upload).
func (a objectCmds) putURL(ctx context.Context, u *canopyv1.SignedURL, in io.Reader, size int64, progress bool) error {
	bar := a.bar(progress, size, "uploading")
	h := md5.New() //nolint:gosec
	req, err := http.NewRequestWithContext(ctx, u.Method, u.Url, io.TeeReader(io.TeeReader(in, h), bar))
	if err != nil {
		return err
	}
	req.ContentLength = size
	for k, v := range u.Headers {
		req.Header.Set(k, v)
	}
	hc, err := a.urlClient()
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = bar.Finish()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("upload to the presigned URL: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if etag := strings.Trim(resp.Header.Get("ETag"), `"`); len(etag) == 32 && !strings.EqualFold(etag, hex.EncodeToString(h.Sum(nil))) {
		return fmt.Errorf("the cloud's md5 %s is not the md5 of the bytes sent: the object is corrupt", etag)
	}
	return nil
}

// putStream streams through canopyd: header, then chunks, the sha256 at the
// end when it was not known up front.
func (a objectCmds) putStream(ctx context.Context, c canopyv1.ObjectServiceClient, bucket, key, contentType string, in io.Reader, size int64, sum string, partSize int64, progress bool) (*canopyv1.Object, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.UploadObject(ctx)
	if err != nil {
		return nil, err
	}
	hdr := &canopyv1.ObjectUploadHeader{Bucket: bucket, Key: key, ContentType: contentType, Sha256: sum, PartSizeBytes: partSize}
	if size >= 0 {
		hdr.SizeBytes = &size
	}
	if err := st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Header{Header: hdr}}); err != nil {
		_, err = st.CloseAndRecv()
		return nil, err
	}
	bar := a.bar(progress, size, "uploading")
	h := sha256.New()
	buf := make([]byte, chunk)
	for {
		n, rerr := io.ReadFull(in, buf)
		if n > 0 {
			h.Write(buf[:n])
			if err := st.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				_, err = st.CloseAndRecv()
				return nil, err
			}
			_ = bar.Add(n)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, rerr // cancel() tells canopyd: nothing is stored
		}
	}
	if sum == "" {
		if err := st.Send(&canopyv1.UploadObjectRequest{Sha256: hex.EncodeToString(h.Sum(nil))}); err != nil {
			_, err = st.CloseAndRecv()
			return nil, err
		}
	}
	_ = bar.Finish()
	return st.CloseAndRecv()
}

func (a objectCmds) objectGetCmd() *cobra.Command {
	var (
		tf             transferFlags
		offset, length int64
	)
	cmd := &cobra.Command{
		Use:   "get BUCKET/KEY [FILE]",
		Short: "Download an object to FILE (default: the key's base name; - for stdout)",
		Long: `Download an object, or a range of it (--offset, --length). With --via auto
the bytes come straight from the cloud through a presigned URL when it can
sign, else through canopyd. The sha256 recorded at upload and the cloud's md5
are checked; a mismatch is an error and the file is removed.`,
		Args: args(1, 2, "BUCKET/KEY and an optional FILE"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			bucket, key, err := splitObject(args[0])
			if err != nil {
				return err
			}
			file := path.Base(key)
			if len(args) == 2 {
				file = args[1]
			}
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			out := io.Writer(a.stdout)
			var f *os.File
			if file != "-" {
				if f, err = os.Create(file); err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			fail := func(err error) error {
				if f != nil {
					f.Close()
					os.Remove(file)
				}
				return err
			}
			ctx := cmd.Context()
			start := time.Now()
			n, via, err := a.getObject(ctx, c, bucket, key, offset, length, out, tf)
			if err != nil {
				return fail(err)
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return fail(err)
				}
			}
			a.summary("downloaded", n, start, via)
			return nil
		}),
	}
	tf.add(cmd)
	cmd.Flags().Int64Var(&offset, "offset", 0, "first byte to download")
	cmd.Flags().Int64Var(&length, "length", -1, "bytes to download (-1: to the end)")
	return cmd
}

// getObject downloads through a presigned URL or the stream; it returns
// the bytes written and the path taken.
func (a objectCmds) getObject(ctx context.Context, c canopyv1.ObjectServiceClient, bucket, key string, offset, length int64, out io.Writer, tf transferFlags) (int64, string, error) {
	rctx, cancel := a.rpcCtx(ctx, false)
	head, err := c.GetObject(rctx, &canopyv1.GetObjectRequest{Bucket: bucket, Key: key})
	cancel()
	if err != nil {
		return 0, "", err
	}
	want := head.SizeBytes - offset
	if length >= 0 && length < want {
		want = length
	}
	if tf.via != "stream" {
		rctx, cancel := a.rpcCtx(ctx, false)
		u, err := c.CreateDownloadURL(rctx, &canopyv1.CreateDownloadURLRequest{Bucket: bucket, Key: key})
		cancel()
		switch {
		case err == nil:
			n, err := a.getURL(ctx, u, head, offset, length, want, out, tf.progress)
			return n, "presigned URL (" + u.Cloud + ")", err
		case tf.via == "url" || !isCapabilityMissing(err):
			return 0, "", err
		}
	}
	req := &canopyv1.DownloadObjectRequest{Bucket: bucket, Key: key, Offset: offset}
	if length >= 0 {
		req.Length = &length
	}
	st, err := c.DownloadObject(ctx, req)
	if err != nil {
		return 0, "", err
	}
	bar := a.bar(tf.progress, want, "downloading")
	h := sha256.New()
	var n int64
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, "", err
		}
		switch d := msg.Data.(type) {
		case *canopyv1.DownloadObjectResponse_Chunk:
			h.Write(d.Chunk)
			if _, err := out.Write(d.Chunk); err != nil {
				return n, "", err
			}
			n += int64(len(d.Chunk))
			_ = bar.Add(len(d.Chunk))
		case *canopyv1.DownloadObjectResponse_Sha256:
			if got := hex.EncodeToString(h.Sum(nil)); got != d.Sha256 {
				return n, "", fmt.Errorf("received bytes hash to %s, canopyd sent %s", got, d.Sha256)
			}
		}
	}
	_ = bar.Finish()
	if n != want {
		return n, "", fmt.Errorf("received %d of %d bytes", n, want)
	}
	return n, "canopyd stream", nil
}

// getURL downloads from a presigned URL and checks what it can: the size,
// and for a whole object the sha256 recorded at upload and the md5.
func (a objectCmds) getURL(ctx context.Context, u *canopyv1.SignedURL, head *canopyv1.Object, offset, length, want int64, out io.Writer, progress bool) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, u.Method, u.Url, nil)
	if err != nil {
		return 0, err
	}
	for k, v := range u.Headers {
		req.Header.Set(k, v)
	}
	whole := offset == 0 && want == head.SizeBytes
	if !whole {
		r := fmt.Sprintf("bytes=%d-", offset)
		if length >= 0 {
			r += fmt.Sprint(offset + want - 1)
		}
		req.Header.Set("Range", r)
	}
	if want == 0 {
		return 0, nil
	}
	hc, err := a.urlClient()
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("download from the presigned URL: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	bar := a.bar(progress, want, "downloading")
	var hs []hash.Hash
	var shaH, md5H hash.Hash
	if whole && head.Sha256 != "" {
		shaH = sha256.New()
		hs = append(hs, shaH)
	}
	if whole && head.Md5 != "" {
		md5H = md5.New() //nolint:gosec
		hs = append(hs, md5H)
	}
	ws := []io.Writer{out, bar}
	for _, h := range hs {
		ws = append(ws, h)
	}
	n, err := io.Copy(io.MultiWriter(ws...), resp.Body)
	_ = bar.Finish()
	if err != nil {
		return n, err
	}
	if n != want {
		return n, fmt.Errorf("received %d of %d bytes", n, want)
	}
	if shaH != nil && hex.EncodeToString(shaH.Sum(nil)) != head.Sha256 {
		return n, fmt.Errorf("sha256 of the bytes received is not the %s recorded at upload", head.Sha256)
	}
	if md5H != nil && !strings.EqualFold(hex.EncodeToString(md5H.Sum(nil)), head.Md5) {
		return n, fmt.Errorf("md5 of the bytes received is not the cloud's %s", head.Md5)
	}
	return n, nil
}
