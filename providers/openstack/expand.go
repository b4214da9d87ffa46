package openstack

import (
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/canopy-cloud/canopy/providers"
)

func init() { providers.RegisterExpander(Kind, Expand) }

// Expand makes one canopy cloud per region of a cloud that has several
// (listed in canopy's config, or in the clouds.yaml entry's `regions`) and
// no region option: OpenStack regions are separate Nova endpoints with their
// own zones, ids and quotas, which is what a canopy cloud is. Each is named
// <name>-<region> and pinned with the region option. split_regions: false
// keeps the cloud whole (it then uses one region, see Options.Region).
func Expand(cfg providers.Config) ([]providers.Config, error) {
	o, err := ParseOptions(cfg.Options)
	if err != nil {
		return nil, err
	}
	if o.Region != "" || (o.SplitRegions != nil && !*o.SplitRegions) {
		return []providers.Config{cfg}, nil
	}
	regions := cfg.Regions
	if len(regions) == 0 {
		// The clouds.yaml entry may list them; a file that cannot be read
		// here is reported by Open with its full context.
		if cc, err := loadCloudConfig(o, cfg); err == nil && str(cc.Extra, "region_name") == "" {
			regions = cc.Regions
		}
	}
	if len(regions) < 2 {
		return []providers.Config{cfg}, nil
	}
	out := make([]providers.Config, 0, len(regions))
	seen := map[string]string{}
	for _, r := range regions {
		c := cfg
		c.Name = cfg.Name + "-" + slug(r)
		if other, dup := seen[c.Name]; dup {
			return nil, fmt.Errorf("regions %q and %q both make cloud %q", other, r, c.Name)
		}
		seen[c.Name] = r
		c.Regions = []string{r}
		c.Zones = nil // each region discovers its own
		c.Options = maps.Clone(cfg.Options)
		if c.Options == nil {
			c.Options = map[string]any{}
		}
		c.Options["region"] = r
		out = append(out, c)
	}
	return out, nil
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes a region name fit a canopy cloud name: RegionOne → regionone.
func slug(s string) string {
	return strings.Trim(notSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}
