package server

import (
	"context"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

func init() {
	// test-split is the simulator split into one cloud per region, as the
	// OpenStack adapter splits a clouds.yaml cloud.
	providers.Register("test-split", func(ctx context.Context, cfg providers.Config) (providers.Provider, error) {
		return providers.Open(ctx, "sim", cfg)
	})
	providers.RegisterExpander("test-split", func(cfg providers.Config) ([]providers.Config, error) {
		var out []providers.Config
		for _, r := range cfg.Regions {
			c := cfg
			c.Name, c.Regions, c.Zones = cfg.Name+"-"+r, []string{r}, []string{r + "a"}
			c.Options = map[string]any{"regions": []string{r}}
			out = append(out, c)
		}
		return out, nil
	})
}

// A cloud split by region keeps its configured settings (cache TTLs,
// backup_bucket) in every part.
func TestSplitCloudsKeepTheirConfig(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: split
    kind: test-split
    regions: [r1, r2]
    cache: {volumes: 7s}
    backup_bucket: store/copies
  - name: store
    kind: sim
    zones: [s1]
`)
	for _, name := range []string{"split-r1", "split-r2"} {
		cc := e.srv.rt.CloudConfig(name)
		if cc.BackupBucket != "store/copies" || cc.TTL("volumes").Seconds() != 7 {
			t.Errorf("%s: config %+v: want the split entry's backup_bucket and cache", name, cc)
		}
		cl, _ := e.srv.rt.Cloud(name)
		// The router builds each cloud's emulation layer with its stack.
		if cl == nil || cl.Emulation == nil {
			t.Fatalf("%s: no emulation layer", name)
		}
		b := cl.Emulation.Bucket()
		var bc, bn string
		if b != nil {
			bc, bn = b.Where()
		}
		if b == nil || bc != "store" || bn != "copies" {
			t.Errorf("%s: emulated copies go to %s/%s, want store/copies", name, bc, bn)
		}
	}
}
