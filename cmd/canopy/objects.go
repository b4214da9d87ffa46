package main

import (
	"context"
	"crypto/md5" //nolint:gosec // checking the cloud's md5 ETag
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

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// chunk is what the CLI streams per message.
const chunk = 1 << 20

func (a *app) objects(ctx context.Context) (canopyv1.ObjectServiceClient, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	return canopyv1.NewObjectServiceClient(conn), nil
}

func (a *app) imageTransfer(ctx context.Context) (canopyv1.ImageTransferServiceClient, error) {
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	return canopyv1.NewImageTransferServiceClient(conn), nil
}

// splitObject reads BUCKET/KEY.
func splitObject(v string) (bucket, key string, err error) {
	bucket, key, ok := strings.Cut(v, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", usageErrorf("%q: want BUCKET/KEY", v)
	}
	return bucket, key, nil
}

// transferFlags choose how bytes travel and what is shown.
type transferFlags struct {
	via      string
	progress bool
}

func (t *transferFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.via, "via", "auto", "how the bytes travel: url (a presigned URL, straight to the cloud), stream (through canopyd), or auto (url when the cloud can sign)")
	cmd.Flags().BoolVar(&t.progress, "progress", true, "show a progress bar on stderr")
}

func (t *transferFlags) check() error {
	switch t.via {
	case "auto", "url", "stream":
		return nil
	}
	return usageErrorf("--via %q: want auto, url or stream", t.via)
}

// bar is a progress bar with throughput on stderr (or nothing).
func (a *app) bar(show bool, size int64, what string) *progressbar.ProgressBar {
	if !show {
		return progressbar.DefaultBytesSilent(size, what)
	}
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.stderr) }),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionFullWidth(),
	)
}

// summary prints size, time, throughput and the path taken.
func (a *app) summary(verb string, n int64, start time.Time, via string) {
	d := time.Since(start)
	rate := float64(n) / d.Seconds() / (1 << 20)
	fmt.Fprintf(a.stderr, "%s %s in %s (%.1f MiB/s) via %s\n", verb, byteSize(n), d.Round(time.Millisecond), rate, via)
}

func isCapabilityMissing(err error) bool {
	return status.Code(err) == codes.FailedPrecondition && strings.Contains(status.Convert(err).Message(), "presigned-urls")
}

func (a *app) bucketCmd() *cobra.Command {
	var (
		loc    locFlags
		labels []string
		lf     listFlags
	)
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a bucket in the cloud the location routes to",
		Args:  args(1, 1, "one bucket NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
			if err != nil {
				return err
			}
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			b, err := c.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: args[0], Location: loc.pb(), Labels: lm})
			if err != nil {
				return err
			}
			return a.emit(b, func(w io.Writer) { bucketRows(w, []*canopyv1.Bucket{b}) })
		}),
	}
	loc.add(create, "in", true)
	create.Flags().StringArrayVar(&labels, "label", nil, "a label `key=value` (repeatable)")
	var listLoc locFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List buckets of every cloud",
		Long:  "List buckets of every cloud (or one)." + listHelp,
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			req := &canopyv1.ListBucketsRequest{Location: listLoc.pb()}
			all, errs, err := listAll(cmd.Context(), a, lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Bucket], error) {
				req.PageSize, req.PageToken = size, token
				r, err := c.ListBuckets(ctx, req)
				return page[*canopyv1.Bucket]{items: r.GetBuckets(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
			})
			if err != nil {
				return err
			}
			a.warnCloudErrors(errs)
			return a.emit(&canopyv1.ListBucketsResponse{Buckets: all, CloudErrors: errs}, func(w io.Writer) { bucketRows(w, all) })
		}),
	}
	lf.add(list)
	listLoc.add(list, "only", false)
	get := &cobra.Command{
		Use:   "get BUCKET",
		Short: "Show a bucket",
		Args:  args(1, 1, "one BUCKET (id or name)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			b, err := c.GetBucket(ctx, &canopyv1.GetBucketRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(b, func(w io.Writer) { bucketRows(w, []*canopyv1.Bucket{b}) })
		}),
	}
	del := &cobra.Command{
		Use:   "delete BUCKET",
		Short: "Delete an empty bucket",
		Args:  args(1, 1, "one BUCKET (id or name)"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			r, err := c.DeleteBucket(ctx, &canopyv1.DeleteBucketRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(r, func(w io.Writer) { fmt.Fprintf(w, "deleted bucket %s\n", r.Id) })
		}),
	}
	return group("bucket", "Buckets (S3 buckets, Swift containers): create, list, get, delete", create, list, get, del)
}

func bucketRows(w io.Writer, bs []*canopyv1.Bucket) {
	var rs [][]string
	for _, b := range bs {
		objs, size := "-", "-"
		if b.ObjectCount >= 0 {
			objs, size = fmt.Sprint(b.ObjectCount), byteSize(b.SizeBytes)
		}
		rs = append(rs, []string{b.Id, b.Name, b.Location.GetCloud(), b.Location.GetRegion(), objs, size})
	}
	rows(w, []string{"ID", "NAME", "CLOUD", "REGION", "OBJECTS", "SIZE"}, rs)
}

func objectRows(w io.Writer, os []*canopyv1.Object, prefixes []string) {
	var rs [][]string
	for _, p := range prefixes {
		rs = append(rs, []string{p, "-", "", ""})
	}
	for _, o := range os {
		rs = append(rs, []string{o.Key, byteSize(o.SizeBytes), when(o.UpdateTime), o.Etag})
	}
	rows(w, []string{"KEY", "SIZE", "UPDATED", "ETAG"}, rs)
}

func (a *app) objectCmd() *cobra.Command {
	return group("object", "Objects: put, get, ls, rm, head, cp, url",
		a.objectPutCmd(), a.objectGetCmd(), a.objectLsCmd(), a.objectRmCmd(), a.objectHeadCmd(), a.objectCpCmd(), a.objectURLCmd())
}

func (a *app) objectLsCmd() *cobra.Command {
	var (
		delim string
		lf    listFlags
	)
	cmd := &cobra.Command{
		Use:   "ls BUCKET[/PREFIX]",
		Short: "List objects (with --delimiter /: one level, directories as prefixes)",
		Args:  args(1, 1, "one BUCKET[/PREFIX]"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			bucket, prefix, _ := strings.Cut(args[0], "/")
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			var objs []*canopyv1.Object
			var prefixes []string
			token := ""
			for {
				ctx, cancel := a.rpcCtx(cmd.Context(), false)
				r, err := c.ListObjects(ctx, &canopyv1.ListObjectsRequest{Bucket: bucket, Prefix: prefix, Delimiter: delim, PageToken: token})
				cancel()
				if err != nil {
					return err
				}
				objs, prefixes = append(objs, r.Objects...), append(prefixes, r.Prefixes...)
				if token = r.NextPageToken; token == "" || (lf.limit > 0 && len(objs)+len(prefixes) >= lf.limit) {
					break
				}
			}
			if lf.limit > 0 && len(objs) > lf.limit {
				objs = objs[:lf.limit]
			}
			return a.emit(&canopyv1.ListObjectsResponse{Objects: objs, Prefixes: prefixes}, func(w io.Writer) { objectRows(w, objs, prefixes) })
		}),
	}
	cmd.Flags().StringVarP(&delim, "delimiter", "d", "", "group keys by this separator (e.g. /)")
	lf.add(cmd)
	return cmd
}

func (a *app) objectRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm BUCKET/KEY...",
		Short: "Delete objects",
		Args:  args(1, -1, "BUCKET/KEY to delete"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			for _, v := range args {
				bucket, key, err := splitObject(v)
				if err != nil {
					return err
				}
				ctx, cancel := a.rpcCtx(cmd.Context(), false)
				_, err = c.DeleteObject(ctx, &canopyv1.DeleteObjectRequest{Bucket: bucket, Key: key})
				cancel()
				if err != nil {
					return err
				}
				if a.output == "table" {
					fmt.Fprintf(a.stdout, "deleted %s\n", v)
				}
			}
			return nil
		}),
	}
}

func (a *app) objectHeadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "head BUCKET/KEY",
		Short: "Show an object's metadata",
		Args:  args(1, 1, "one BUCKET/KEY"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			bucket, key, err := splitObject(args[0])
			if err != nil {
				return err
			}
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			o, err := c.GetObject(ctx, &canopyv1.GetObjectRequest{Bucket: bucket, Key: key})
			if err != nil {
				return err
			}
			return a.emit(o, func(w io.Writer) {
				details(w, []field{{"Key", o.Key}, {"Bucket", o.Bucket}, {"Cloud", o.Location.GetCloud()}, {"Size", byteSize(o.SizeBytes)},
					{"Content type", o.ContentType}, {"Updated", when(o.UpdateTime)}, {"ETag", o.Etag}, {"MD5", o.Md5}, {"SHA256", o.Sha256},
					{"Metadata", kv(o.Metadata)}})
			})
		}),
	}
}

func (a *app) objectCpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cp SRC_BUCKET/KEY DST_BUCKET[/KEY]",
		Short: "Copy an object, within a cloud or to another cloud",
		Args:  args(2, 2, "SRC_BUCKET/KEY and DST_BUCKET[/KEY]"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			sb, sk, err := splitObject(args[0])
			if err != nil {
				return err
			}
			db, dk, _ := strings.Cut(args[1], "/")
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 24*time.Hour)
			defer cancel()
			o, err := c.CopyObject(ctx, &canopyv1.CopyObjectRequest{SourceBucket: sb, SourceKey: sk, DestinationBucket: db, DestinationKey: dk})
			if err != nil {
				return err
			}
			return a.emit(o, func(w io.Writer) { objectRows(w, []*canopyv1.Object{o}, nil) })
		}),
	}
}

func (a *app) objectURLCmd() *cobra.Command {
	var (
		put         bool
		ttl         time.Duration
		contentType string
	)
	cmd := &cobra.Command{
		Use:   "url BUCKET/KEY",
		Short: "Presign a download (or, with --put, an upload) URL",
		Args:  args(1, 1, "one BUCKET/KEY"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			bucket, key, err := splitObject(args[0])
			if err != nil {
				return err
			}
			c, err := a.objects(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			var u *canopyv1.SignedURL
			if put {
				u, err = c.CreateUploadURL(ctx, &canopyv1.CreateUploadURLRequest{Bucket: bucket, Key: key, ContentType: contentType, Ttl: durationpb.New(ttl)})
			} else {
				u, err = c.CreateDownloadURL(ctx, &canopyv1.CreateDownloadURLRequest{Bucket: bucket, Key: key, Ttl: durationpb.New(ttl)})
			}
			if err != nil {
				return err
			}
			return a.emit(u, func(w io.Writer) { fmt.Fprintln(w, u.Url) })
		}),
	}
	cmd.Flags().BoolVar(&put, "put", false, "presign an upload instead of a download")
	cmd.Flags().DurationVar(&ttl, "ttl", 15*time.Minute, "how long the URL stays valid")
	cmd.Flags().StringVar(&contentType, "content-type", "", "the content type an upload must send")
	return cmd
}

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

func (a *app) objectPutCmd() *cobra.Command {
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
func (a *app) putURL(ctx context.Context, u *canopyv1.SignedURL, in io.Reader, size int64, progress bool) error {
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
	resp, err := http.DefaultClient.Do(req)
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
func (a *app) putStream(ctx context.Context, c canopyv1.ObjectServiceClient, bucket, key, contentType string, in io.Reader, size int64, sum string, partSize int64, progress bool) (*canopyv1.Object, error) {
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

func (a *app) objectGetCmd() *cobra.Command {
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
func (a *app) getObject(ctx context.Context, c canopyv1.ObjectServiceClient, bucket, key string, offset, length int64, out io.Writer, tf transferFlags) (int64, string, error) {
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
func (a *app) getURL(ctx context.Context, u *canopyv1.SignedURL, head *canopyv1.Object, offset, length, want int64, out io.Writer, progress bool) (int64, error) {
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
	resp, err := http.DefaultClient.Do(req)
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

func (a *app) imageUploadCmd() *cobra.Command {
	var (
		loc                         locFlags
		diskFormat, containerFormat string
		minDisk, minRAM             int64
		labels                      []string
		progress, wait              bool
	)
	cmd := &cobra.Command{
		Use:     "upload FILE NAME",
		Short:   "Upload an image (- for stdin), streamed through canopyd",
		Example: "  canopy image upload cirros.qcow2 cirros --disk-format qcow2 --cloud local",
		Args:    args(2, 2, "FILE and the image NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			lm, err := parseLabels("label", labels)
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
			c, err := a.imageTransfer(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			start := time.Now()
			st, err := c.UploadImage(ctx)
			if err != nil {
				return err
			}
			hdr := &canopyv1.ImageUploadHeader{Name: args[1], Location: loc.pb(), DiskFormat: diskFormat, ContainerFormat: containerFormat,
				MinDiskGib: minDisk, MinRamMib: minRAM, Labels: lm, Sha256: sum, Wait: wait}
			if size >= 0 {
				hdr.SizeBytes = &size
			}
			if err := st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Header{Header: hdr}}); err != nil {
				_, err = st.CloseAndRecv()
				return err
			}
			bar := a.bar(progress, size, "uploading")
			buf := make([]byte, chunk)
			var n int64
			for {
				k, rerr := io.ReadFull(in, buf)
				if k > 0 {
					if err := st.Send(&canopyv1.UploadImageRequest{Data: &canopyv1.UploadImageRequest_Chunk{Chunk: buf[:k]}}); err != nil {
						_, err = st.CloseAndRecv()
						return err
					}
					n += int64(k)
					_ = bar.Add(k)
				}
				if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
					break
				}
				if rerr != nil {
					return rerr
				}
			}
			_ = bar.Finish()
			im, err := st.CloseAndRecv()
			if err != nil {
				return err
			}
			a.summary("uploaded", n, start, "canopyd stream")
			if im.GetOperation() != "" && !wait {
				fmt.Fprintf(cmd.ErrOrStderr(), "the cloud is still processing the image: operation %s (canopy operation wait %s)\n", im.GetOperation(), im.GetOperation())
			}
			return a.emit(im, func(w io.Writer) { imageRows(w, []*canopyv1.Image{im}) })
		}),
	}
	loc.add(cmd, "in", true)
	cmd.Flags().StringVar(&diskFormat, "disk-format", "qcow2", "disk format: raw, qcow2, vmdk, vdi, iso, vhd, vhdx, ami")
	cmd.Flags().StringVar(&containerFormat, "container-format", "bare", "container format: bare, ovf, ova, docker, ami")
	cmd.Flags().Int64Var(&minDisk, "min-disk", 0, "smallest root disk it needs, GiB")
	cmd.Flags().Int64Var(&minRAM, "min-ram", 0, "smallest memory it needs, MiB")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "a label `key=value` (repeatable)")
	cmd.Flags().BoolVar(&progress, "progress", true, "show a progress bar on stderr")
	cmd.Flags().BoolVar(&wait, "wait", false, "where the cloud processes the image after the upload, wait until it is ACTIVE")
	return cmd
}

func (a *app) imageDownloadCmd() *cobra.Command {
	var progress bool
	cmd := &cobra.Command{
		Use:   "download IMAGE FILE",
		Short: "Download an image's bytes to FILE (- for stdout)",
		Args:  args(2, 2, "IMAGE (id or name) and FILE"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.imageTransfer(cmd.Context())
			if err != nil {
				return err
			}
			out := io.Writer(a.stdout)
			var f *os.File
			if args[1] != "-" {
				if f, err = os.Create(args[1]); err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			start := time.Now()
			n, err := a.downloadImage(cmd.Context(), c, args[0], out, progress)
			if err == nil && f != nil {
				err = f.Close()
			}
			if err != nil {
				if f != nil {
					os.Remove(args[1])
				}
				return err
			}
			a.summary("downloaded", n, start, "canopyd stream")
			return nil
		}),
	}
	cmd.Flags().BoolVar(&progress, "progress", true, "show a progress bar on stderr")
	return cmd
}

func (a *app) downloadImage(ctx context.Context, c canopyv1.ImageTransferServiceClient, id string, out io.Writer, progress bool) (int64, error) {
	st, err := c.DownloadImage(ctx, &canopyv1.DownloadImageRequest{Id: id})
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	var n int64
	var bar *progressbar.ProgressBar
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		switch d := msg.Data.(type) {
		case *canopyv1.DownloadImageResponse_Image:
			bar = a.bar(progress, d.Image.SizeBytes, "downloading")
		case *canopyv1.DownloadImageResponse_Chunk:
			h.Write(d.Chunk)
			if _, err := out.Write(d.Chunk); err != nil {
				return n, err
			}
			n += int64(len(d.Chunk))
			if bar != nil {
				_ = bar.Add(len(d.Chunk))
			}
		case *canopyv1.DownloadImageResponse_Sha256:
			if got := hex.EncodeToString(h.Sum(nil)); got != d.Sha256 {
				return n, fmt.Errorf("received bytes hash to %s, canopyd sent %s", got, d.Sha256)
			}
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return n, nil
}
