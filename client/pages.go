package client

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// ListResponse is a List RPC's response: one page and the token of the next.
type ListResponse interface {
	proto.Message
	GetNextPageToken() string
}

// ListFunc is a generated List method, e.g. c.Compute.ListServers.
type ListFunc[Req proto.Message, Resp ListResponse] func(context.Context, Req, ...grpc.CallOption) (Resp, error)

// Pages yields the pages of a List RPC, following next_page_token from req
// (whose page_token and page_size it honors; req itself is not changed),
// until the last page or the first error, which it yields and stops.
func Pages[Req proto.Message, Resp ListResponse](ctx context.Context, list ListFunc[Req, Resp], req Req, opts ...grpc.CallOption) iter.Seq2[Resp, error] {
	return func(yield func(Resp, error) bool) {
		cur := proto.Clone(req).(Req)
		fd := cur.ProtoReflect().Descriptor().Fields().ByName("page_token")
		if fd == nil || fd.Kind() != protoreflect.StringKind {
			var zero Resp
			yield(zero, fmt.Errorf("%s has no page_token", cur.ProtoReflect().Descriptor().FullName()))
			return
		}
		for {
			resp, err := list(ctx, cur, opts...)
			if err != nil {
				yield(resp, err)
				return
			}
			if !yield(resp, nil) {
				return
			}
			next := resp.GetNextPageToken()
			if next == "" {
				return
			}
			cur.ProtoReflect().Set(fd, protoreflect.ValueOfString(next))
		}
	}
}

// PartialError is what a list over several clouds yields after its last
// item when some clouds failed: the items of the clouds that answered were
// yielded, and CloudErrors says which clouds are missing and why. A caller
// content with a partial list skips it (errors.As).
type PartialError struct {
	CloudErrors []*canopyv1.CloudError
}

func (e *PartialError) Error() string {
	parts := make([]string, len(e.CloudErrors))
	for i, ce := range e.CloudErrors {
		parts[i] = fmt.Sprintf("cloud %q: %s: %s", ce.GetCloud(), CodeName(codes.Code(ce.GetCode())), ce.GetMessage())
	}
	return "partial result: " + strings.Join(parts, "; ")
}

type cloudErrors interface {
	GetCloudErrors() []*canopyv1.CloudError
}

// All yields every item of a List RPC across its pages (items picks them
// out of a page), then a *PartialError if a cloud failed to answer. It
// stops at the first error.
func All[Req proto.Message, Resp ListResponse, Item any](ctx context.Context, list ListFunc[Req, Resp], req Req, items func(Resp) []Item, opts ...grpc.CallOption) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		var zero Item
		var failed []*canopyv1.CloudError
		seen := map[string]bool{}
		for page, err := range Pages(ctx, list, req, opts...) {
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items(page) {
				if !yield(it, nil) {
					return
				}
			}
			if ce, ok := any(page).(cloudErrors); ok {
				for _, e := range ce.GetCloudErrors() {
					if !seen[e.GetCloud()] {
						seen[e.GetCloud()] = true
						failed = append(failed, e)
					}
				}
			}
		}
		if len(failed) > 0 {
			yield(zero, &PartialError{CloudErrors: failed})
		}
	}
}

// AllFlavors yields every flavor ListFlavors finds (see All).
func (c *Client) AllFlavors(ctx context.Context, req *canopyv1.ListFlavorsRequest) iter.Seq2[*canopyv1.Flavor, error] {
	return All(ctx, c.Compute.ListFlavors, req, (*canopyv1.ListFlavorsResponse).GetFlavors)
}

// AllImages yields every image ListImages finds (see All).
func (c *Client) AllImages(ctx context.Context, req *canopyv1.ListImagesRequest) iter.Seq2[*canopyv1.Image, error] {
	return All(ctx, c.Compute.ListImages, req, (*canopyv1.ListImagesResponse).GetImages)
}

// AllServers yields every server ListServers finds (see All).
func (c *Client) AllServers(ctx context.Context, req *canopyv1.ListServersRequest) iter.Seq2[*canopyv1.Server, error] {
	return All(ctx, c.Compute.ListServers, req, (*canopyv1.ListServersResponse).GetServers)
}

// AllKeypairs yields every keypair ListKeypairs finds (see All).
func (c *Client) AllKeypairs(ctx context.Context, req *canopyv1.ListKeypairsRequest) iter.Seq2[*canopyv1.Keypair, error] {
	return All(ctx, c.Compute.ListKeypairs, req, (*canopyv1.ListKeypairsResponse).GetKeypairs)
}

// AllVolumes yields every volume ListVolumes finds (see All).
func (c *Client) AllVolumes(ctx context.Context, req *canopyv1.ListVolumesRequest) iter.Seq2[*canopyv1.Volume, error] {
	return All(ctx, c.Volumes.ListVolumes, req, (*canopyv1.ListVolumesResponse).GetVolumes)
}

// AllSnapshots yields every snapshot ListSnapshots finds (see All).
func (c *Client) AllSnapshots(ctx context.Context, req *canopyv1.ListSnapshotsRequest) iter.Seq2[*canopyv1.Snapshot, error] {
	return All(ctx, c.Volumes.ListSnapshots, req, (*canopyv1.ListSnapshotsResponse).GetSnapshots)
}

// AllBackups yields every backup ListBackups finds (see All).
func (c *Client) AllBackups(ctx context.Context, req *canopyv1.ListBackupsRequest) iter.Seq2[*canopyv1.Backup, error] {
	return All(ctx, c.Volumes.ListBackups, req, (*canopyv1.ListBackupsResponse).GetBackups)
}

// AllContainers yields every container ListContainers finds (see All).
func (c *Client) AllContainers(ctx context.Context, req *canopyv1.ListContainersRequest) iter.Seq2[*canopyv1.Container, error] {
	return All(ctx, c.Containers.ListContainers, req, (*canopyv1.ListContainersResponse).GetContainers)
}

// AllBuckets yields every bucket ListBuckets finds (see All).
func (c *Client) AllBuckets(ctx context.Context, req *canopyv1.ListBucketsRequest) iter.Seq2[*canopyv1.Bucket, error] {
	return All(ctx, c.Objects.ListBuckets, req, (*canopyv1.ListBucketsResponse).GetBuckets)
}

// AllObjects yields every object of a bucket ListObjects finds (see All;
// with a delimiter, the common prefixes are in the pages: use Pages).
func (c *Client) AllObjects(ctx context.Context, req *canopyv1.ListObjectsRequest) iter.Seq2[*canopyv1.Object, error] {
	return All(ctx, c.Objects.ListObjects, req, (*canopyv1.ListObjectsResponse).GetObjects)
}

// AllOperations yields every operation ListOperations finds, newest first.
func (c *Client) AllOperations(ctx context.Context, req *canopyv1.ListOperationsRequest) iter.Seq2[*canopyv1.Operation, error] {
	return All(ctx, c.Operations.ListOperations, req, (*canopyv1.ListOperationsResponse).GetOperations)
}

// AllClouds yields every cloud ListClouds finds.
func (c *Client) AllClouds(ctx context.Context, req *canopyv1.ListCloudsRequest) iter.Seq2[*canopyv1.Cloud, error] {
	return All(ctx, c.Clouds.ListClouds, req, (*canopyv1.ListCloudsResponse).GetClouds)
}

// AllClients yields every OAuth client ListClients finds (admin scope).
func (c *Client) AllClients(ctx context.Context, req *canopyv1.ListClientsRequest) iter.Seq2[*canopyv1.Client, error] {
	return All(ctx, c.Auth.ListClients, req, (*canopyv1.ListClientsResponse).GetClients)
}
