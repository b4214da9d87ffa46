package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

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
	cmd.Flags().BoolVar(&t.progress, "progress", true, "show a progress bar on stderr when it is a terminal")
}

func (t *transferFlags) check() error {
	switch t.via {
	case "auto", "url", "stream":
		return nil
	}
	return usageErrorf("--via %q: want auto, url or stream", t.via)
}

func isCapabilityMissing(err error) bool {
	return status.Code(err) == codes.FailedPrecondition && strings.Contains(status.Convert(err).Message(), "presigned-urls")
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

func (a objectCmds) objectCmd() *cobra.Command {
	return group("object", "Objects: put, get, ls, rm, head, cp, url",
		a.objectPutCmd(), a.objectGetCmd(), a.objectLsCmd(), a.objectRmCmd(), a.objectHeadCmd(), a.objectCpCmd(), a.objectURLCmd())
}

func (a objectCmds) objectLsCmd() *cobra.Command {
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

func (a objectCmds) objectRmCmd() *cobra.Command {
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

func (a objectCmds) objectHeadCmd() *cobra.Command {
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

func (a objectCmds) objectCpCmd() *cobra.Command {
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

func (a objectCmds) objectURLCmd() *cobra.Command {
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
