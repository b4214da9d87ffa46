package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// p1: callers identical ListServers at once on a cold cache.
func p1(ctx context.Context, callers int, latency time.Duration) error {
	d, err := start(ctx, fmt.Sprintf(`
clouds:
  - {name: c1, kind: sim, options: {servers: 50, latency: %s}}
  - {name: c2, kind: sim, options: {servers: 50, latency: %s, seed: 2}}
`, latency, latency), 0, 16)
	if err != nil {
		return err
	}
	defer d.stop()
	lat := make([]time.Duration, callers)
	errs := make(chan error, callers)
	var ready, wg sync.WaitGroup
	ready.Add(1)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ready.Wait()
			t := time.Now()
			resp, err := d.compute(i).ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 1000})
			lat[i] = time.Since(t)
			if err == nil && len(resp.Servers) != 100 {
				err = fmt.Errorf("got %d servers", len(resp.Servers))
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	start := time.Now()
	ready.Done()
	wg.Wait()
	wall := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	sortDur(lat)
	fmt.Printf("P1 callers=%d clouds=2 cloud_latency=%s upstream_list_calls_per_cloud=%d,%d (goal 1) wall=%s caller_p50=%s caller_p99=%s\n",
		callers, latency, d.sim("c1").Calls("ListServers"), d.sim("c2").Calls("ListServers"), ms(wall), ms(pct(lat, 50)), ms(pct(lat, 99)))
	return nil
}

// p2: n servers booting, one waiter each (CreateServer wait=true).
func p2(ctx context.Context, n int, interval time.Duration) error {
	const boot = 3 * time.Second
	d, err := start(ctx, fmt.Sprintf(`
clouds:
  - {name: c1, kind: sim, options: {boot_delay: %s}, rate_limit: {rate: -1}}
`, boot), interval, 32)
	if err != nil {
		return err
	}
	defer d.stop()
	s := d.sim("c1")
	var wakeMu sync.Mutex
	var wakes []time.Duration
	d.srv.OnWake(func(_ string, changed, woke time.Time) {
		wakeMu.Lock()
		wakes = append(wakes, woke.Sub(changed))
		wakeMu.Unlock()
	})
	delays := make([]time.Duration, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	var listsAtStart int64
	var once sync.Once
	startAt := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			once.Do(func() { listsAtStart = s.Calls("ListServers") })
			sv, err := d.compute(i).CreateServer(ctx, &canopyv1.CreateServerRequest{
				Name: fmt.Sprintf("w%04d", i), Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
			woke := time.Now()
			if err == nil && sv.Status != canopyv1.Status_STATUS_ACTIVE {
				err = fmt.Errorf("%s woke in %v", sv.Name, sv.Status)
			}
			if err != nil {
				errs <- err
				return
			}
			// update_time is when the cloud flipped the server to ACTIVE.
			delays[i] = woke.Sub(sv.UpdateTime.AsTime())
		}()
	}
	wg.Wait()
	wall := time.Since(startAt)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	lists := s.Calls("ListServers") - listsAtStart
	gets := s.Calls("GetServer")
	intervals := float64(wall) / float64(interval)
	sortDur(delays)
	sortDur(wakes)
	fmt.Printf("P2 servers=%d waiters=%d interval=%s wall=%s upstream_list_calls=%d per_interval=%.2f (goal <=1) get_calls=%d\n",
		n, n, interval, ms(wall), lists, float64(lists)/intervals, gets)
	fmt.Printf("P2 wake delay, cloud change -> canopy wakes the waiter: p50=%s p99=%s max=%s (goal <= interval+50ms = %s) woken=%d\n",
		ms(pct(wakes, 50)), ms(pct(wakes, 99)), ms(wakes[len(wakes)-1]), ms(interval+50*time.Millisecond), len(wakes))
	fmt.Printf("P2 wake delay, cloud change -> client receives the reply: p50=%s p99=%s max=%s\n",
		ms(pct(delays, 50)), ms(pct(delays, 99)), ms(delays[len(delays)-1]))
	return nil
}
