package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// The shapes every networking resource shares, written once: reading all
// of a describe call's pages, listing a kind in every region, finding one
// by native id, and finding what an earlier create with the same token
// made.

// pager is an EC2 describe paginator (ec2.NewDescribe…Paginator) whose
// pages are O.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*ec2.Options)) (O, error)
}

// allPages collects the items of every page of a region's describe call;
// what names the resources for the error ("describe <what> in <region>").
func allPages[O, T any](ctx context.Context, region, what string, pages pager[O], items func(O) []T) ([]T, error) {
	var out []T
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, netFail(err, target, "describe %s in %s", what, region)
		}
		out = append(out, items(page)...)
	}
	return out, nil
}

// listEachRegion lists one kind of resource in every region at once: list
// returns a region's, converted. Each is remembered in its region (so a
// later get asks that region only), and the whole is sorted by native id
// (id returns it).
func listEachRegion[T any](ctx context.Context, c *Cloud, id func(T) string, list func(ctx context.Context, region string, api netAPI) ([]T, error)) ([]T, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var out []T
	err := c.eachRegion(ctx, func(ctx context.Context, region string, _ ec2API) error {
		api, err := c.netClient(region)
		if err != nil {
			return err
		}
		got, err := list(ctx, region, api)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, x := range got {
			c.remember(id(x), region)
		}
		out = append(out, got...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return id(out[i]) < id(out[j]) })
	return out, nil
}

// convertAll converts each of a region's resources with of.
func convertAll[S, T any](region string, in []S, of func(string, S) T) []T {
	out := make([]T, 0, len(in))
	for _, s := range in {
		out = append(out, of(region, s))
	}
	return out
}

// locateByID is locate for an id EC2 gives the prefix (vpc-, subnet-…):
// an id without it is ErrNotFound at once, without asking any region.
func locateByID[T any](ctx context.Context, c *Cloud, what, prefix, id string, describe func(ctx context.Context, region string, api netAPI) ([]T, error)) (string, T, error) {
	if !strings.HasPrefix(id, prefix) {
		var zero T
		return "", zero, fmt.Errorf("aws: %s %q: %w", what, id, providers.ErrNotFound)
	}
	return locate(ctx, c, what, id, describe)
}

// replayByToken is the find of providers.FindOrCreate for a create that
// tags what it makes with the token (EC2 has no client token for it): the
// first of what describe returns under the token's tag filter.
func replayByToken[T any](token string, describe func(ctx context.Context, filters []types.Filter) ([]T, error)) func(context.Context) (T, bool, error) {
	return func(ctx context.Context) (T, bool, error) {
		var zero T
		got, err := describe(ctx, tokenFilter(token))
		if err != nil || len(got) == 0 {
			return zero, false, err
		}
		return got[0], true, nil
	}
}
