//go:build openstack

package openstack_test

// The create window, measured: how long after a client sent a create can
// the resource it makes still be invisible to canopy's token look-up (a
// tags= list for Nova servers, a metadata list for Cinder volumes)? A
// client that dies right after sending (here: the request is cancelled as
// soon as it is written, as a SIGKILL would drop it) leaves the request to
// the API, which may still be queueing or processing it. N such creates
// run at once, as a crash under load would leave them; for each, the time
// from "written" until the look-up sees the resource is recorded, along
// with the latency of answered creates under the same load. The window
// canopy waits (Options.CreateWindow) must sit well above the maximum.
//
//	make measure-window   (CANOPY_MEASURE_WINDOW=1, -run TestCreateWindow)

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
)

// sendAndDrop POSTs body to url and drops the connection as soon as the
// request is written; it returns when it was written.
func sendAndDrop(sc *gophercloud.ServiceClient, url string, body any, headers map[string]string) (time.Time, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return time.Time{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wrote time.Time
	wroteCh := make(chan struct{})
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		wrote = time.Now()
		close(wroteCh)
	}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Auth-Token", sc.Token())
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	done := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-wroteCh:
		cancel() // the "crash": the connection goes, the request stays with the API
		<-done
		return wrote, nil
	case err := <-done:
		if err == nil {
			return time.Time{}, fmt.Errorf("answered before the write was seen")
		}
		return time.Time{}, err
	}
}

type windowStats struct {
	name   string
	values []time.Duration
}

func (w windowStats) String() string {
	v := append([]time.Duration(nil), w.values...)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	if len(v) == 0 {
		return w.name + ": none"
	}
	p := func(q float64) time.Duration { return v[int(q*float64(len(v)-1))] }
	return fmt.Sprintf("%s: n=%d min %s p50 %s p90 %s p99 %s max %s", w.name, len(v), v[0].Round(time.Millisecond),
		p(0.5).Round(time.Millisecond), p(0.9).Round(time.Millisecond), p(0.99).Round(time.Millisecond), v[len(v)-1].Round(time.Millisecond))
}

func TestCreateWindow(t *testing.T) {
	if os.Getenv("CANOPY_MEASURE_WINDOW") == "" {
		t.Skip("a measurement, not a test: make measure-window (CANOPY_MEASURE_WINDOW=1)")
	}
	n := 50
	if v, err := strconv.Atoi(os.Getenv("CANOPY_MEASURE_N")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	path, cloud := labCloud(t)
	lab := dial(t, ctx, path, cloud)
	compute, cinder, imgc, netc := lab.compute, lab.volume, lab.image, lab.network
	compute.Microversion = "2.52"
	flavorID := findFlavor(t, compute, envOr("CANOPY_OS_FLAVOR", "canopy.tiny"))
	imageID := findImage(t, imgc, labImage())
	netID := findNetwork(t, netc, labNetwork())
	run := fmt.Sprintf("w%d", time.Now().Unix()%100000)

	measure := func(kind string, send func(i int, tag string) (time.Time, error), visible func(tag string) (bool, error)) (dropped, answered, seen windowStats) {
		dropped, answered = windowStats{name: kind + " dropped: written → visible to the look-up"}, windowStats{name: kind + " answered: create latency"}
		seen = windowStats{name: kind + " answered: answer → start of the look-up that saw it"}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				tag := fmt.Sprintf("canopy-token:%s-%d-%s", run, i, uuid.NewString()[:8])
				wrote, err := send(i, tag)
				if err != nil {
					t.Errorf("%s %d: %v", kind, i, err)
					return
				}
				answeredAt := time.Now()
				if i%2 == 1 { // answered creates: send returned after the answer
					mu.Lock()
					answered.values = append(answered.values, answeredAt.Sub(wrote))
					mu.Unlock()
				}
				for deadline := wrote.Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
					lookStart := time.Now()
					ok, err := visible(tag)
					if err != nil {
						t.Errorf("%s %d: look-up: %v", kind, i, err)
						return
					}
					if ok {
						mu.Lock()
						if i%2 == 0 {
							dropped.values = append(dropped.values, time.Since(wrote))
						} else {
							// from the answer to the start of the look-up that saw it
							// (0: the first look-up after the answer did)
							seen.values = append(seen.values, lookStart.Sub(answeredAt))
						}
						mu.Unlock()
						return
					}
				}
				t.Errorf("%s %d: never visible", kind, i)
			}(i)
		}
		wg.Wait()
		return dropped, answered, seen
	}

	// Nova servers.
	sd, sa, ss := measure("server", func(i int, tag string) (time.Time, error) {
		body := map[string]any{"server": map[string]any{"name": fmt.Sprintf("%s-%d", run, i), "flavorRef": flavorID, "imageRef": imageID,
			"networks": []map[string]string{{"uuid": netID}}, "tags": []string{tag}}}
		if i%2 == 0 {
			return sendAndDrop(compute, compute.ServiceURL("servers"), body, map[string]string{"X-OpenStack-Nova-API-Version": "2.52"})
		}
		start := time.Now()
		_, err := compute.Post(ctx, compute.ServiceURL("servers"), body, nil, &gophercloud.RequestOpts{OkCodes: []int{202}})
		return start, err
	}, func(tag string) (bool, error) {
		pages, err := servers.List(compute, servers.ListOpts{Tags: tag}).AllPages(ctx)
		if err != nil {
			return false, err
		}
		list, err := servers.ExtractServers(pages)
		return len(list) > 0, err
	})
	t.Log(sd)
	t.Log(sa)
	t.Log(ss)
	t.Cleanup(func() {
		pages, err := servers.List(compute, servers.ListOpts{Name: "^" + run + "-"}).AllPages(ctx)
		if err != nil {
			return
		}
		list, _ := servers.ExtractServers(pages)
		for _, s := range list {
			_ = servers.Delete(ctx, compute, s.ID).ExtractErr()
		}
	})

	// Cinder volumes.
	vd, va, vs := measure("volume", func(i int, tag string) (time.Time, error) {
		body := map[string]any{"volume": map[string]any{"name": fmt.Sprintf("%s-%d", run, i), "size": 1, "metadata": map[string]string{"canopy-token": tag}}}
		if i%2 == 0 {
			return sendAndDrop(cinder, cinder.ServiceURL("volumes"), body, nil)
		}
		start := time.Now()
		_, err := cinder.Post(ctx, cinder.ServiceURL("volumes"), body, nil, &gophercloud.RequestOpts{OkCodes: []int{202}})
		return start, err
	}, func(tag string) (bool, error) {
		pages, err := volumes.List(cinder, volumes.ListOpts{Metadata: map[string]string{"canopy-token": tag}}).AllPages(ctx)
		if err != nil {
			return false, err
		}
		list, err := volumes.ExtractVolumes(pages)
		return len(list) > 0, err
	})
	t.Log(vd)
	t.Log(va)
	t.Log(vs)
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			pages, err := volumes.List(cinder, volumes.ListOpts{Name: ""}).AllPages(ctx)
			if err != nil {
				return
			}
			list, _ := volumes.ExtractVolumes(pages)
			left := 0
			for _, v := range list {
				if len(v.Name) > len(run) && v.Name[:len(run)+1] == run+"-" {
					left++
					_ = volumes.Delete(ctx, cinder, v.ID, nil).ExtractErr()
				}
			}
			if left == 0 {
				return
			}
			time.Sleep(2 * time.Second)
		}
	})
	for _, w := range []windowStats{sd, sa, ss, vd, va, vs} {
		fmt.Printf("WINDOW n=%d at once: %s\n", n, w)
	}
}

func findFlavor(t *testing.T, sc *gophercloud.ServiceClient, name string) string {
	t.Helper()
	pages, err := flavors.ListDetail(sc, nil).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	list, _ := flavors.ExtractFlavors(pages)
	for _, f := range list {
		if f.Name == name {
			return f.ID
		}
	}
	t.Fatalf("no flavor %q", name)
	return ""
}

func findImage(t *testing.T, sc *gophercloud.ServiceClient, name string) string {
	t.Helper()
	pages, err := images.List(sc, images.ListOpts{Name: name}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	list, _ := images.ExtractImages(pages)
	if len(list) == 0 {
		t.Fatalf("no image %q", name)
	}
	return list[0].ID
}

func findNetwork(t *testing.T, sc *gophercloud.ServiceClient, name string) string {
	t.Helper()
	pages, err := networks.List(sc, networks.ListOpts{Name: name}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	list, _ := networks.ExtractNetworks(pages)
	if len(list) == 0 {
		t.Fatalf("no network %q", name)
	}
	return list[0].ID
}
