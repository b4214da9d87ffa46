package containerd

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// writeTree makes a host's /proc and /sys under a temp dir: path → content.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const meminfo = "MemTotal:        4027428 kB\nMemFree:          123456 kB\n"

func TestHostCapacity(t *testing.T) {
	const hostMem = int64(4027428) << 10
	for _, tc := range []struct {
		name    string
		files   map[string]string
		cpus    float64
		memory  int64
		wantErr bool
	}{
		{"no cgroup of the namespace yet (v1)", map[string]string{"sys/devices/system/cpu/online": "0-3,8\n", "proc/meminfo": meminfo}, 5, hostMem, false},
		{"v1 limits", map[string]string{"sys/devices/system/cpu/online": "0-3", "proc/meminfo": meminfo,
			"sys/fs/cgroup/cpu/canopy/cpu.cfs_quota_us": "150000\n", "sys/fs/cgroup/cpu/canopy/cpu.cfs_period_us": "100000\n",
			"sys/fs/cgroup/memory/canopy/memory.limit_in_bytes": "1073741824\n"}, 1.5, 1 << 30, false},
		{"v1 unlimited", map[string]string{"sys/devices/system/cpu/online": "0-1", "proc/meminfo": meminfo,
			"sys/fs/cgroup/cpu/canopy/cpu.cfs_quota_us": "-1", "sys/fs/cgroup/cpu/canopy/cpu.cfs_period_us": "100000",
			"sys/fs/cgroup/memory/canopy/memory.limit_in_bytes": "9223372036854771712"}, 2, hostMem, false},
		{"v1 limit above the host", map[string]string{"sys/devices/system/cpu/online": "0-1", "proc/meminfo": meminfo,
			"sys/fs/cgroup/cpu/canopy/cpu.cfs_quota_us": "800000", "sys/fs/cgroup/cpu/canopy/cpu.cfs_period_us": "100000",
			"sys/fs/cgroup/memory/canopy/memory.limit_in_bytes": "68719476736"}, 2, hostMem, false},
		{"v2 limits", map[string]string{"sys/devices/system/cpu/online": "0-7", "proc/meminfo": meminfo, "sys/fs/cgroup/cgroup.controllers": "cpu memory",
			"sys/fs/cgroup/canopy/cpu.max": "50000 100000\n", "sys/fs/cgroup/canopy/memory.max": "536870912\n"}, 0.5, 512 << 20, false},
		{"v2 max", map[string]string{"sys/devices/system/cpu/online": "0", "proc/meminfo": meminfo, "sys/fs/cgroup/cgroup.controllers": "cpu memory",
			"sys/fs/cgroup/canopy/cpu.max": "max 100000", "sys/fs/cgroup/canopy/memory.max": "max"}, 1, hostMem, false},
		{"v2 garbage", map[string]string{"sys/devices/system/cpu/online": "0", "proc/meminfo": meminfo, "sys/fs/cgroup/cgroup.controllers": "",
			"sys/fs/cgroup/canopy/cpu.max": "lots"}, 0, 0, true},
		{"v1 garbage", map[string]string{"sys/devices/system/cpu/online": "0", "proc/meminfo": meminfo,
			"sys/fs/cgroup/memory/canopy/memory.limit_in_bytes": "much"}, 0, 0, true},
		{"bad cpu list", map[string]string{"sys/devices/system/cpu/online": "3-1", "proc/meminfo": meminfo}, 0, 0, true},
		{"no meminfo", map[string]string{"sys/devices/system/cpu/online": "0"}, 0, 0, true},
		{"meminfo without MemTotal", map[string]string{"sys/devices/system/cpu/online": "0", "proc/meminfo": "MemFree: 1 kB\n"}, 0, 0, true},
		{"no cpu list", map[string]string{"proc/meminfo": meminfo}, float64(runtime.NumCPU()), hostMem, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := hostCapacity(writeTree(t, tc.files), "canopy")
			if tc.wantErr {
				if err == nil {
					t.Errorf("hostCapacity = %+v, want an error", c)
				}
				return
			}
			if err != nil || c.cpus != tc.cpus || c.memory != tc.memory {
				t.Errorf("hostCapacity = %+v, %v; want %v cpus, %d bytes", c, err, tc.cpus, tc.memory)
			}
		})
	}
}

func TestParseOptionsLabels(t *testing.T) {
	o, err := ParseOptions(map[string]any{"labels": map[string]any{"zone": "z2", "ssd": "yes"}}, nil, nil)
	if err != nil || o.Labels["zone"] != "z2" || o.Labels["ssd"] != "yes" {
		t.Errorf("labels option: %+v, %v", o.Labels, err)
	}
	for _, bad := range []any{"zone=z2", map[string]any{"n": 3}} {
		if _, err := ParseOptions(map[string]any{"labels": bad}, nil, nil); err == nil {
			t.Errorf("labels %v: no error", bad)
		}
	}
}
