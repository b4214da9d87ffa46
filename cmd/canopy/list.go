package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// pageSize is what list commands ask for per call.
const pageSize = 500

// listHelp is appended to every list command's help.
const listHelp = `

Every page is fetched unless --limit is set. Clouds that do not answer are
reported as warnings on stderr; the command still prints what the others
returned and exits 0 (the JSON/YAML output lists them under cloud_errors).`

// page is one response of a paged list.
type page[T any] struct {
	items []T
	next  string
	errs  []*canopyv1.CloudError
}

// listAll fetches pages until the end or until limit items (0: no limit),
// each call with its own deadline. Cloud errors are merged, one per cloud.
func listAll[T any](ctx context.Context, a *app, limit int, fetch func(ctx context.Context, size int32, token string) (page[T], error)) ([]T, []*canopyv1.CloudError, error) {
	var (
		all   []T
		errs  []*canopyv1.CloudError
		seen  = map[string]bool{}
		token string
	)
	for {
		size := pageSize
		if limit > 0 && limit-len(all) < size {
			size = limit - len(all)
		}
		rctx, cancel := a.rpcCtx(ctx, false)
		p, err := fetch(rctx, int32(size), token)
		cancel()
		if err != nil {
			return nil, nil, err
		}
		all = append(all, p.items...)
		for _, e := range p.errs {
			if !seen[e.GetCloud()] {
				seen[e.GetCloud()] = true
				errs = append(errs, e)
			}
		}
		if p.next == "" || (limit > 0 && len(all) >= limit) {
			break
		}
		token = p.next
	}
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, errs, nil
}

// warnCloudErrors reports clouds that did not answer a list.
func (a *app) warnCloudErrors(errs []*canopyv1.CloudError) {
	for _, e := range errs {
		fmt.Fprintf(a.stderr, "canopy: warning: cloud %q did not answer (%s: %s); the list is partial\n",
			e.GetCloud(), codeName(codes.Code(e.GetCode())), e.GetMessage())
	}
}

// listFlags are the flags every list command has.
type listFlags struct{ limit int }

func (l *listFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVar(&l.limit, "limit", 0, "at most this many results (0: all)")
}

func (l *listFlags) check() error {
	if l.limit < 0 {
		return usageErrorf("--limit must not be negative, got %d", l.limit)
	}
	return nil
}

// locFlags select a cloud, region and zone.
type locFlags struct{ cloud, region, zone string }

func (l *locFlags) add(cmd *cobra.Command, verb string, zone bool) {
	cmd.Flags().StringVar(&l.cloud, "cloud", "", verb+" this cloud (see 'canopy cloud list')")
	cmd.Flags().StringVar(&l.region, "region", "", verb+" this region")
	if zone {
		cmd.Flags().StringVar(&l.zone, "zone", "", verb+" this availability zone")
	}
}

// pb is the Location, or nil when no flag was set.
func (l *locFlags) pb() *canopyv1.Location {
	if l.cloud == "" && l.region == "" && l.zone == "" {
		return nil
	}
	return &canopyv1.Location{Cloud: l.cloud, Region: l.region, Zone: l.zone}
}

// parseLabels reads repeated --label k=v flags.
func parseLabels(flag string, vs []string) (map[string]string, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vs))
	for _, v := range vs {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--%s %q: want key=value", flag, v)
		}
		m[k] = val
	}
	return m, nil
}

// parseStatus reads a status word: "active", "ACTIVE" or "STATUS_ACTIVE".
func parseStatus(v string) (canopyv1.Status, error) {
	if v == "" {
		return canopyv1.Status_STATUS_UNSPECIFIED, nil
	}
	name := strings.ToUpper(v)
	if !strings.HasPrefix(name, "STATUS_") {
		name = "STATUS_" + name
	}
	if s, ok := canopyv1.Status_value[name]; ok && s != 0 {
		return canopyv1.Status(s), nil
	}
	return 0, usageErrorf("--status %q: want one of %s", v, statusWords())
}

// statusWords lists the status words --status accepts.
func statusWords() string {
	var words []string
	for i := 1; i < len(canopyv1.Status_name); i++ {
		words = append(words, statusWord(canopyv1.Status(i)))
	}
	return strings.Join(words, ", ")
}

// statusFlagHelp is the help of --status.
var statusFlagHelp = "only this status: " + statusWords()
