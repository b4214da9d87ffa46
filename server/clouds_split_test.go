package server

import (
	"context"
	"testing"
	"time"

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
		cc := e.srv.cloudConfig(name)
		if cc.BackupBucket != "store/copies" || cc.TTL("volumes").Seconds() != 7 {
			t.Errorf("%s: config %+v: want the split entry's backup_bucket and cache", name, cc)
		}
		cl := e.srv.clouds.byName[name]
		// The block-storage side starts with Serve, beside the listeners.
		var v any
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var ok bool
			if v, ok = emulators.Load(cl); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no emulation layer", name)
			}
		}
		if b := v.(*emulator).bucket; b == nil || b.cloud != "store" || b.bucket != "copies" {
			t.Errorf("%s: emulated copies go to %+v, want store/copies", name, b)
		}
	}
}
