package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// bare is a grpc-go server that returns canned responses: the floor any
// gRPC service pays for the same payload.
type bare struct {
	canopyv1.UnimplementedComputeServiceServer
	get  *canopyv1.Server
	list *canopyv1.ListServersResponse
}

func (b *bare) GetServer(context.Context, *canopyv1.GetServerRequest) (*canopyv1.Server, error) {
	return b.get, nil
}

func (b *bare) ListServers(context.Context, *canopyv1.ListServersRequest) (*canopyv1.ListServersResponse, error) {
	return b.list, nil
}

func serveBare(b *bare) (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	gs := grpc.NewServer()
	canopyv1.RegisterComputeServiceServer(gs, b)
	go func() { _ = gs.Serve(l) }()
	return l.Addr().String(), gs.Stop, nil
}

// throughput runs call from conc goroutines for dur and returns calls/s.
func throughput(dur time.Duration, conc int, call func(i int) error) (float64, error) {
	var n atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := call(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	start := time.Now()
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// p3Env is what both P3 runs measure: canopyd on a sim cloud of 100
// servers with every read cached, one server's id, and a bare grpc-go
// server answering that server and the 100-server list canopyd answered.
func p3Env(ctx context.Context, conns int) (d *daemon, id, bareAddr string, stop func(), err error) {
	d, err = start(ctx, `
clouds:
  - {name: c1, kind: sim, options: {servers: 100}, cache: {servers: 1h}, rate_limit: {rate: -1}}
`, 0, conns)
	if err != nil {
		return nil, "", "", nil, err
	}
	list, err := d.compute(0).ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 100})
	if err != nil || len(list.Servers) != 100 {
		d.stop()
		return nil, "", "", nil, fmt.Errorf("list: %v (%d)", err, len(list.GetServers()))
	}
	id = list.Servers[42].Id
	one, err := d.compute(0).GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
	if err != nil {
		d.stop()
		return nil, "", "", nil, err
	}
	bareAddr, stopBare, err := serveBare(&bare{get: one, list: list})
	if err != nil {
		d.stop()
		return nil, "", "", nil, err
	}
	return d, id, bareAddr, func() { stopBare(); d.stop() }, nil
}

// p3: cached reads through canopyd vs the bare server, same payloads.
func p3(ctx context.Context, dur time.Duration, conc int) error {
	d, id, addr, stop, err := p3Env(ctx, 4)
	if err != nil {
		return err
	}
	defer stop()
	var bareConns []canopyv1.ComputeServiceClient
	for i := 0; i < 4; i++ {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer cc.Close()
		bareConns = append(bareConns, canopyv1.NewComputeServiceClient(cc))
	}
	upstreamBefore := d.sim("c1").Calls("")
	type run struct {
		name string
		via  func(i int) error
		bare func(i int) error
	}
	for _, r := range []run{
		{"GetServer", func(i int) error {
			_, err := d.compute(i).GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
			return err
		}, func(i int) error {
			_, err := bareConns[i%4].GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
			return err
		}},
		{"ListServers(100)", func(i int) error {
			_, err := d.compute(i).ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 100})
			return err
		}, func(i int) error {
			_, err := bareConns[i%4].ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 100})
			return err
		}},
	} {
		viaOps, err := throughput(dur, conc, r.via)
		if err != nil {
			return err
		}
		bareOps, err := throughput(dur, conc, r.bare)
		if err != nil {
			return err
		}
		fmt.Printf("P3 %s cached canopyd=%.0f/s bare_grpc=%.0f/s ratio=%.2f (goal >=0.7) concurrency=%d\n", r.name, viaOps, bareOps, viaOps/bareOps, conc)
	}
	fmt.Printf("P3 upstream calls during the cached runs: %d\n", d.sim("c1").Calls("")-upstreamBefore)
	return nil
}

// p4: uncached GetServer through canopyd vs the adapter called in-process.
func p4(ctx context.Context, samples, conc int, latency time.Duration) error {
	for _, lat := range []time.Duration{latency, 0} {
		d, err := start(ctx, fmt.Sprintf(`
clouds:
  - {name: c1, kind: sim, options: {servers: 10, latency: %s}, cache: {servers: 0s}, rate_limit: {rate: -1}}
`, lat), 0, 4)
		if err != nil {
			return err
		}
		list, err := d.compute(0).ListServers(ctx, &canopyv1.ListServersRequest{})
		if err != nil {
			d.stop()
			return err
		}
		id, native := list.Servers[3].Id, list.Servers[3].NativeId
		s := d.sim("c1")
		measure := func(call func() error) ([]time.Duration, error) {
			out := make([]time.Duration, samples)
			var next atomic.Int64
			var wg sync.WaitGroup
			var firstErr atomic.Value
			for w := 0; w < conc; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(samples) {
							return
						}
						t := time.Now()
						if err := call(); err != nil {
							firstErr.CompareAndSwap(nil, err)
						}
						out[i] = time.Since(t)
					}
				}()
			}
			wg.Wait()
			if err, _ := firstErr.Load().(error); err != nil {
				return nil, err
			}
			return sortDur(out), nil
		}
		before := s.Calls("GetServer")
		via, err := measure(func() error {
			_, err := d.compute(0).GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
			return err
		})
		if err != nil {
			d.stop()
			return err
		}
		upstream := s.Calls("GetServer") - before
		direct, err := measure(func() error { _, err := s.GetServer(ctx, native); return err })
		d.stop()
		if err != nil {
			return err
		}
		fmt.Printf("P4 uncached GetServer cloud_latency=%s canopyd p50=%s p99=%s direct_adapter p50=%s p99=%s ratio p50=%.2f p99=%.2f (upstream GetServer calls %d for %d requests)\n",
			lat, ms(pct(via, 50)), ms(pct(via, 99)), ms(pct(direct, 50)), ms(pct(direct, 99)),
			float64(pct(via, 50))/float64(max(pct(direct, 50), time.Microsecond)), float64(pct(via, 99))/float64(max(pct(direct, 99), time.Microsecond)), upstream, samples)
	}
	return nil
}
