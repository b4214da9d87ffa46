//go:build openstack

package openstack_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canopy-cloud/canopy/cache"
	"github.com/canopy-cloud/canopy/emulate"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/openstack"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// procStatusKiB reads a field of /proc/self/status (VmRSS, VmHWM) in KiB.
func procStatusKiB(tb testing.TB, field string) int64 {
	tb.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// BenchmarkEmulatedBackupRSS measures how much the resident memory of the
// process grows while canopy's stack — the same emulate.Layer, cache and
// OpenStack adapter canopyd builds for a cloud — makes an emulated backup
// of a 1 GiB lab volume: the volume's bytes through Glance (upload-to-image,
// streamed download) into a Swift bucket (8 MiB SLO segments, three in
// flight). The peak (VmHWM, reset through /proc/self/clear_refs) minus
// the resident size before is the figure; it must stay far below the
// volume's size (it was the volume's size, and more, when VolumeData moved
// []byte). A 2 GiB volume shows the growth does not follow the size. Run
// with -benchtime=1x: each backup moves gigabytes.
func BenchmarkEmulatedBackupRSS(b *testing.B) {
	for _, size := range []int64{1, 2} {
		b.Run(fmt.Sprintf("%dGiB", size), func(b *testing.B) { benchBackupRSS(b, size) })
	}
}

func benchBackupRSS(b *testing.B, sizeGiB int64) {
	path, cloud := labCloud(b)
	ctx := context.Background()
	p, err := providers.Open(ctx, openstack.Kind, providers.Config{Name: "os-bench", Options: map[string]any{"clouds_yaml": path, "cloud": cloud, "volume_backups": false}})
	if err != nil {
		b.Fatal(err)
	}
	c := p.(*openstack.Cloud)
	defer c.Close()
	st, err := bolt.Open(filepath.Join(b.TempDir(), "canopy.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bucket := fmt.Sprintf("canopy-rss-bench-%d-%s", sizeGiB, time.Now().UTC().Format("150405"))
	if _, err := c.CreateBucket(ctx, bucket, "", nil); err != nil {
		b.Fatal(err)
	}
	lim := cache.NewLimiter("os-bench", 50, 50, nil)
	layer := emulate.New("os-bench", c, cache.NewStorage("os-bench", c, lim, cache.Options{Poll: time.Second}),
		emulate.Options{Records: st, Bucket: emulate.NewBucket("os-bench", bucket, cache.NewObjects("os-bench", c, lim, nil))})
	s := layer.Storage()

	v, err := s.CreateVolume(ctx, providers.VolumeSpec{Name: "rss-bench", SizeGiB: sizeGiB, IdempotencyToken: "rss-bench-" + bucket})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.DeleteVolume(context.Background(), v.NativeID) }()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		x, err := s.GetVolume(ctx, v.NativeID)
		if err == nil && x.Status == providers.StatusActive {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("volume not available: %+v, %v", x, err)
		}
		time.Sleep(time.Second)
	}
	// 64 MiB of non-zero bytes at the start (the rest of the GiB is zeros,
	// which Glance and Swift store and send like any other bytes).
	data := bytes.Repeat([]byte("canopy-rss-bench"), 4<<20)
	if err := s.WriteVolumeData(ctx, v.NativeID, bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	data = nil

	var copied, growth int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		debug.FreeOSMemory()
		before := procStatusKiB(b, "VmRSS")
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatalf("reset the peak RSS: %v", err)
		}
		bk, err := s.CreateBackup(ctx, providers.BackupSpec{Name: "rss", VolumeID: v.NativeID, IdempotencyToken: fmt.Sprintf("rss-%s-%d", bucket, i)})
		if err != nil {
			b.Fatal(err)
		}
		peak := procStatusKiB(b, "VmHWM")
		growth = max(growth, peak-before)
		rec, err := layer.Record(ctx, providers.KindBackup, bk.NativeID)
		if err != nil {
			b.Fatal(err)
		}
		copied = rec.Bytes
		b.StopTimer()
		if err := s.DeleteBackup(ctx, bk.NativeID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	if copied != sizeGiB<<30 {
		b.Errorf("the backup copied %d bytes, want the volume's %d GiB", copied, sizeGiB)
	}
	b.ReportMetric(float64(growth)/1024, "MiB-peak-RSS-growth")
	b.ReportMetric(float64(copied)/(1<<20), "MiB-copied")
	b.Logf("%d GiB emulated backup: peak RSS grew %d KiB (%.1f MiB); resident now %d KiB", sizeGiB, growth, float64(growth)/1024, procStatusKiB(b, "VmRSS"))
	if err := c.DeleteBucket(ctx, bucket); err != nil {
		b.Errorf("delete bucket %s: %v", bucket, err)
	}
}
