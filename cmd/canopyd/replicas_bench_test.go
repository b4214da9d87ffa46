//go:build etcd

package main

// P11: canopyd replicas on etcd — how long a cloud stays unowned after its
// owner is killed, and how many cached reads per second 1 and 3 replicas
// answer. Run with test/etcd/up.sh and
//
//	CANOPY_ETCD_ENDPOINTS=… go test -tags etcd -run '^$' -bench P11 -benchtime 1x ./cmd/canopyd/

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// benchReplicas starts n canopyd on one etcd prefix over a sim cloud
// "local"; start(i) (re)starts replica i on its data dir.
func benchReplicas(b *testing.B, n int, ttl int) (cli *clientv3.Client, root string, ds []*canopydtest.Daemon, start func(i int) *canopydtest.Daemon) {
	b.Helper()
	cli, root, storeURL := etcdStore(b, "p11")
	cfg := canopydtest.WriteConfig(b, `
auth: {issuer_url: "http://canopy.p11.test"}
clouds:
  - name: local
    kind: sim
    zones: [local-1a]
`)
	dirs := make([]string, n)
	ds = make([]*canopydtest.Daemon, n)
	start = func(i int) *canopydtest.Daemon {
		var env []string // a token any replica issued works on all
		for _, d := range ds {
			if d != nil && d.Token != "" {
				env = []string{canopydtest.TokenEnv + "=" + d.Token}
				break
			}
		}
		d := canopydtest.StartEnv(b, dirs[i], env, "--config", cfg, "--store", storeURL,
			"--replica-id", fmt.Sprintf("r%d", i), "--lease-ttl", strconv.Itoa(ttl))
		ds[i] = d
		return d
	}
	for i := range n {
		dirs[i] = b.TempDir()
		start(i)
	}
	return cli, root, ds, start
}

// ownerOf returns the replica that owns cloud now ("" when none).
func ownerOf(ctx context.Context, cli *clientv3.Client, root, cloud string) string {
	resp, err := cli.Get(ctx, root+"/v1/owner/"+cloud+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

// BenchmarkP11Takeover: three replicas; the owner of cloud "local" is
// killed with SIGKILL, the time until another replica owns it is taken,
// the killed one restarted; CANOPY_P11_KILLS times (default 20). Lease
// TTL 2 s.
func BenchmarkP11Takeover(b *testing.B) {
	const ttl = 2
	kills := 20
	if v, err := strconv.Atoi(os.Getenv("CANOPY_P11_KILLS")); err == nil && v > 0 {
		kills = v
	}
	cli, root, ds, start := benchReplicas(b, 3, ttl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(kills)*30*time.Second)
	defer cancel()
	var took []time.Duration
	for range b.N {
		for range kills {
			var gone string
			for gone = ownerOf(ctx, cli, root, "local"); gone == ""; gone = ownerOf(ctx, cli, root, "local") {
				if ctx.Err() != nil {
					b.Fatal("nobody owns cloud local")
				}
				time.Sleep(10 * time.Millisecond)
			}
			i, _ := strconv.Atoi(gone[1:])
			killed := time.Now()
			ds[i].Kill()
			for {
				if now := ownerOf(ctx, cli, root, "local"); now != "" && now != gone {
					break
				}
				if ctx.Err() != nil {
					b.Fatalf("cloud local not taken over after %v", time.Since(killed))
				}
				time.Sleep(5 * time.Millisecond)
			}
			took = append(took, time.Since(killed))
			start(i)
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	q := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Milliseconds()) }
	b.ReportMetric(q(0.5), "takeover-p50-ms")
	b.ReportMetric(q(0.99), "takeover-p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "takeover-max-ms")
	b.ReportMetric(float64(len(took)), "kills")
}

// BenchmarkP11CachedReads: ListFlavors (a cached read: flavors are kept
// 5 minutes, each read checks the cloud's write version in etcd) from 16
// goroutines spread over 1 or 3 replicas.
func BenchmarkP11CachedReads(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			_, _, ds, _ := benchReplicas(b, n, 5)
			ctx := context.Background()
			for _, d := range ds { // warm every replica's cache
				if _, err := d.Compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{}); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.ResetTimer()
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				d := ds[int(next.Add(1))%len(ds)]
				for pb.Next() {
					if _, err := d.Compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "reads/s")
		})
	}
}
