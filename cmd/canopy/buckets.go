package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a objectCmds) bucketCmd() *cobra.Command {
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
			all, errs, err := listAll(cmd.Context(), a.app, lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Bucket], error) {
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
