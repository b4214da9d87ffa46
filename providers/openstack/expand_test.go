package openstack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

func TestExpandPerRegion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(path, []byte(`
clouds:
  multi:
    auth: {auth_url: "http://127.0.0.1:5000/v3", username: u, password: p, project_name: p}
    regions: [RegionOne, {name: Region-Two, values: {interface: internal}}]
  single:
    auth: {auth_url: "http://127.0.0.1:5000/v3", username: u, password: p, project_name: p}
    region_name: RegionOne
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cfg   providers.Config
		names []string
	}{
		{"from canopy's regions", providers.Config{Name: "os", Regions: []string{"RegionOne", "RegionTwo"}, Options: map[string]any{"clouds_yaml": path, "cloud": "multi"}}, []string{"os-regionone", "os-regiontwo"}},
		{"from clouds.yaml regions", providers.Config{Name: "os", Options: map[string]any{"clouds_yaml": path, "cloud": "multi"}}, []string{"os-regionone", "os-region-two"}},
		{"region_name pins one", providers.Config{Name: "os", Options: map[string]any{"clouds_yaml": path, "cloud": "single"}}, []string{"os"}},
		{"region option pins one", providers.Config{Name: "os", Options: map[string]any{"clouds_yaml": path, "cloud": "multi", "region": "RegionOne"}}, []string{"os"}},
		{"split_regions false", providers.Config{Name: "os", Regions: []string{"A", "B"}, Options: map[string]any{"clouds_yaml": path, "cloud": "multi", "split_regions": false}}, []string{"os"}},
	} {
		got, err := Expand(tc.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var names []string
		for _, c := range got {
			names = append(names, c.Name)
			if len(got) > 1 && (len(c.Regions) != 1 || c.Options["region"] != c.Regions[0]) {
				t.Errorf("%s: %s not pinned to its region: %+v", tc.name, c.Name, c)
			}
		}
		if len(names) != len(tc.names) || (len(names) > 0 && names[0] != tc.names[0]) || names[len(names)-1] != tc.names[len(tc.names)-1] {
			t.Errorf("%s: clouds %v, want %v", tc.name, names, tc.names)
		}
	}
	if _, err := Expand(providers.Config{Name: "os", Regions: []string{"R 1", "r-1"}, Options: map[string]any{"clouds_yaml": path, "cloud": "multi"}}); err == nil {
		t.Errorf("two regions with one slug accepted")
	}
	if tc, _ := Expand(providers.Config{Name: "os", Regions: []string{"A", "B"}, Options: map[string]any{"clouds_yaml": path, "cloud": "multi"}}); tc[0].Options["region"] != "A" || tc[1].Options["region"] != "B" {
		t.Errorf("options not per region: %v", tc)
	}
}
