package server

import (
	"context"
	"fmt"
	"sync"
	"testing"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// Benchmarks through real gRPC on loopback, authenticated, against the sim.
// `go test -bench . -run ^$ ./server` — canopy-bench prints the same
// figures compared with a bare grpc-go server (BENCHMARKS.md).

func benchEnv(b *testing.B, servers int) (*env, []*canopyv1.Server) {
	e := newEnv(b, fmt.Sprintf(`
clouds:
  - name: local
    kind: sim
    options: {servers: %d}
    cache: {servers: 1h}
    rate_limit: {rate: -1}
`, servers))
	list, err := e.compute.ListServers(context.Background(), &canopyv1.ListServersRequest{PageSize: 1000})
	if err != nil {
		b.Fatal(err)
	}
	return e, list.Servers
}

func BenchmarkCachedGetServer(b *testing.B) {
	e, servers := benchEnv(b, 100)
	ctx := context.Background()
	before := e.sim("local").Calls("")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: servers[i%len(servers)].Id}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(e.sim("local").Calls("")-before), "upstream-calls")
}

func BenchmarkCachedListServers100(b *testing.B) {
	e, _ := benchEnv(b, 100)
	ctx := context.Background()
	before := e.sim("local").Calls("")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 100})
			if err != nil || len(resp.Servers) != 100 {
				b.Errorf("%v %d", err, len(resp.GetServers()))
				return
			}
		}
	})
	b.ReportMetric(float64(e.sim("local").Calls("")-before), "upstream-calls")
}

// BenchmarkColdListStorm: 200 concurrent identical lists on a cold cache,
// per iteration; reports upstream list calls per storm (goal 1).
func BenchmarkColdListStorm(b *testing.B) {
	e := newEnv(b, `
clouds:
  - name: local
    kind: sim
    options: {servers: 50, latency: 20ms}
    cache: {servers: 0s}
    rate_limit: {rate: -1}
`)
	ctx := context.Background()
	s := e.sim("local")
	before := s.Calls("ListServers")
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for j := 0; j < 200; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{}); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(s.Calls("ListServers")-before)/float64(b.N), "upstream-lists/storm")
}
