package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/canopy-cloud/canopy/auth"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers/sim"
)

// SOAK: canopyd in this process on a sim cloud, under mixed gRPC and REST
// load for the whole duration — lists and gets, creates and deletes of
// servers, volumes and containers, object uploads and downloads both ways
// — while RSS (VmRSS of this process: canopyd and its load) and the
// goroutine count are sampled. It fails on any error, or when RSS or the
// goroutines are not flat after the warm-up (the first 20 %): the median
// of any eighth of the samples leaving ±10 % of the median of all (what a
// leak would show; single samples swing with the GC cycle, and are
// printed too).

const soakCloud = `
clouds:
  - {name: soak, kind: sim, zones: [soak-a, soak-b], options: {servers: 50}}
`

// soakStats counts one kind of call.
type soakStats struct {
	name  string
	calls atomic.Int64
	errs  atomic.Int64
	mu    sync.Mutex
	first []string // the first few errors
}

func (s *soakStats) fail(err error) {
	s.errs.Add(1)
	s.mu.Lock()
	if len(s.first) < 3 {
		s.first = append(s.first, err.Error())
	}
	s.mu.Unlock()
}

// soakToken is the bearer token of both transports, re-issued before the
// issuer's 10-minute lifetime runs out.
type soakToken struct{ v atomic.Value }

func (t *soakToken) get() string { return t.v.Load().(string) }

func (t *soakToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + t.get()}, nil
}
func (*soakToken) RequireTransportSecurity() bool { return false }

type soakSample struct {
	at         time.Duration
	rssKiB     int64
	goroutines int
}

func soak(ctx context.Context, dur time.Duration) error {
	d, err := start(ctx, soakCloud, 0, 0)
	if err != nil {
		return err
	}
	defer d.stop()
	tok := &soakToken{}
	issue := func() error {
		t, _, err := d.srv.Issuer().Issue("soak", "default", []string{auth.ScopeAdmin})
		if err == nil {
			tok.v.Store(t)
		}
		return err
	}
	if err := issue(); err != nil {
		return err
	}
	cc, err := grpc.NewClient(d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(tok))
	if err != nil {
		return err
	}
	defer cc.Close()
	rest := &soakREST{base: "http://" + d.rest, tok: tok,
		c: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	c := soakClients{
		compute: canopyv1.NewComputeServiceClient(cc), volumes: canopyv1.NewVolumeServiceClient(cc),
		ctrs: canopyv1.NewContainerServiceClient(cc), objects: canopyv1.NewObjectServiceClient(cc),
		ops: canopyv1.NewOperationServiceClient(cc), rest: rest,
	}
	if _, err := c.objects.CreateBucket(ctx, &canopyv1.CreateBucketRequest{Name: "soak"}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}

	loads := []struct {
		name string
		run  func(ctx context.Context, w, n int) error
	}{
		{"grpc list+get servers", c.listGetServers},
		{"rest list+get servers, list volumes", c.restReads},
		{"grpc create+delete server", c.serverCycle},
		{"rest create+delete volume", c.restVolumeCycle},
		{"grpc create+delete container", c.containerCycle},
		{"grpc object put+get+delete", c.grpcObjects},
		{"rest object put+get+delete", c.restObjects},
		{"grpc list volumes, rest list containers", c.mixedLists},
	}
	stats := make([]*soakStats, len(loads))
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i, l := range loads {
		st := &soakStats{name: l.name}
		stats[i] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				cctx, ccancel := context.WithTimeout(lctx, time.Minute)
				err := l.run(cctx, i, n)
				ccancel()
				st.calls.Add(1)
				if err != nil {
					st.fail(err)
				}
			}
		}()
	}

	every := min(max(dur/100, time.Second), 5*time.Second)
	began := time.Now()
	var samples []soakSample
	tick := time.NewTicker(every)
	refresh := time.NewTicker(2 * time.Minute)
	fmt.Printf("SOAK  %s of mixed gRPC + REST load (%d loops), sampling every %s\n", dur, len(loads), every)
	for time.Now().Before(deadline) {
		select {
		case <-tick.C:
			samples = append(samples, soakSample{at: time.Since(began), rssKiB: rssKiB(), goroutines: runtime.NumGoroutine()})
		case <-refresh.C:
			if err := issue(); err != nil {
				return err
			}
		}
	}
	tick.Stop()
	refresh.Stop()
	wg.Wait()

	var total, errs int64
	for _, st := range stats {
		total += st.calls.Load()
		errs += st.errs.Load()
		fmt.Printf("SOAK  %-40s %7d loops %4d errors %s\n", st.name, st.calls.Load(), st.errs.Load(), strings.Join(st.first, " | "))
	}
	warm := len(samples) / 5
	after := samples[warm:]
	if len(after) < 2*soakWindows {
		return fmt.Errorf("only %d samples after warm-up: run longer", len(after))
	}
	rss := make([]float64, len(after))
	gor := make([]float64, len(after))
	for i, s := range after {
		rss[i], gor[i] = float64(s.rssKiB), float64(s.goroutines)
	}
	rMed, rLo, rHi := spread(rss)
	gMed, gLo, gHi := spread(gor)
	rwLo, rwHi := windows(rss, rMed)
	gwLo, gwHi := windows(gor, gMed)
	fmt.Printf("SOAK  %d loops (%.0f/s), %d errors; after warm-up (%s, %d samples):\n", total, float64(total)/dur.Seconds(), errs, after[0].at.Round(time.Second), len(after))
	fmt.Printf("SOAK  RSS        median %.1f MiB, min %.1f (%+.1f %%), max %.1f (%+.1f %%); first sample %.1f MiB\n",
		rMed/1024, rLo/1024, pctOf(rLo, rMed), rHi/1024, pctOf(rHi, rMed), float64(samples[0].rssKiB)/1024)
	fmt.Printf("SOAK  goroutines median %.0f, min %.0f (%+.1f %%), max %.0f (%+.1f %%)\n", gMed, gLo, pctOf(gLo, gMed), gHi, pctOf(gHi, gMed))
	fmt.Printf("SOAK  medians of %d windows vs the median: RSS %+.1f %% … %+.1f %%, goroutines %+.1f %% … %+.1f %%\n",
		soakWindows, rwLo, rwHi, gwLo, gwHi)
	fmt.Printf("SOAK  RSS at 20/40/60/80/100 %%: %s MiB; goroutines %s\n", quintiles(samples, func(s soakSample) string {
		return fmt.Sprintf("%.1f", float64(s.rssKiB)/1024)
	}), quintiles(samples, func(s soakSample) string { return strconv.Itoa(s.goroutines) }))
	var bad []string
	if errs > 0 {
		bad = append(bad, fmt.Sprintf("%d errors", errs))
	}
	if rwLo < -10 || rwHi > 10 {
		bad = append(bad, "RSS not flat: a window's median leaves ±10 % of the median")
	}
	if gwLo < -10 || gwHi > 10 {
		bad = append(bad, "goroutines not flat: a window's median leaves ±10 % of the median")
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	fmt.Println("SOAK  pass: 0 errors, RSS and goroutines flat within ±10 %")
	return nil
}

// soakWindows is how many windows the post-warm-up samples are cut into
// for the flatness check: a single sample swings with the GC cycle (the
// heap is tens of MiB, the payloads in flight some MiB) and with the calls
// in flight; a leak or a stuck goroutine moves the windows' medians.
const soakWindows = 8

// windows returns the least and greatest deviation, in percent of med, of
// the medians of soakWindows consecutive windows of v.
func windows(v []float64, med float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := range soakWindows {
		w := v[i*len(v)/soakWindows : (i+1)*len(v)/soakWindows]
		if len(w) == 0 {
			continue
		}
		m, _, _ := spread(w)
		lo, hi = math.Min(lo, pctOf(m, med)), math.Max(hi, pctOf(m, med))
	}
	return lo, hi
}

func spread(v []float64) (med, lo, hi float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2], s[0], s[len(s)-1]
}

func pctOf(v, ref float64) float64 { return (v - ref) / ref * 100 }

func quintiles(s []soakSample, f func(soakSample) string) string {
	var out []string
	for q := 1; q <= 5; q++ {
		out = append(out, f(s[min(len(s)*q/5, len(s)-1)]))
	}
	return strings.Join(out, " / ")
}

// rssKiB is VmRSS of this process.
func rssKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

type soakClients struct {
	compute canopyv1.ComputeServiceClient
	volumes canopyv1.VolumeServiceClient
	ctrs    canopyv1.ContainerServiceClient
	objects canopyv1.ObjectServiceClient
	ops     canopyv1.OperationServiceClient
	rest    *soakREST
}

func (c soakClients) listGetServers(ctx context.Context, _, _ int) error {
	l, err := c.compute.ListServers(ctx, &canopyv1.ListServersRequest{PageSize: 50})
	if err != nil {
		return fmt.Errorf("ListServers: %w", err)
	}
	if len(l.Servers) == 0 {
		return errors.New("ListServers: none")
	}
	s := l.Servers[rand.IntN(len(l.Servers))]
	if _, err := c.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: s.Id}); err != nil {
		return fmt.Errorf("GetServer %s: %w", s.Id, err)
	}
	return nil
}

func (c soakClients) serverCycle(ctx context.Context, w, n int) error {
	name := fmt.Sprintf("soak-%d-%d", w, n)
	s, err := c.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: name, Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
	if err != nil {
		return fmt.Errorf("CreateServer: %w", err)
	}
	if _, err := c.compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: s.Id, Wait: true}); err != nil {
		return fmt.Errorf("DeleteServer: %w", err)
	}
	return nil
}

func (c soakClients) containerCycle(ctx context.Context, w, n int) error {
	name := fmt.Sprintf("soak-%d-%d", w, n)
	op, err := c.ctrs.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: name, Image: sim.DefaultContainerImage,
		Command: []string{"sleep", "1"}, Labels: map[string]string{"soak": "1"}})
	if err != nil {
		return fmt.Errorf("CreateContainer: %w", err)
	}
	for !op.Done {
		if op, err = c.ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id, Timeout: durationpb.New(10 * time.Second)}); err != nil {
			return fmt.Errorf("WaitOperation: %w", err)
		}
	}
	if e := op.GetError(); e != nil {
		return fmt.Errorf("CreateContainer: %s", e.Message)
	}
	var ctr canopyv1.Container
	if err := op.GetResponse().UnmarshalTo(&ctr); err != nil {
		return err
	}
	if _, err := c.ctrs.ListContainers(ctx, &canopyv1.ListContainersRequest{Labels: map[string]string{"soak": "1"}}); err != nil {
		return fmt.Errorf("ListContainers: %w", err)
	}
	if _, err := c.ctrs.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: ctr.Id, Force: true}); err != nil {
		return fmt.Errorf("DeleteContainer: %w", err)
	}
	return nil
}

// soakPayloads are the object bodies, one per loop and size, made once
// and changed a little per call: the load's own garbage would otherwise
// be most of the process's RSS swings.
var soakPayloads sync.Map

// soakPayload is n bytes for loop w, differing from its last call's.
func soakPayload(w, n int) []byte {
	v, _ := soakPayloads.LoadOrStore([2]int{w, n}, func() []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rand.Uint32())
		}
		return b
	}())
	b := v.([]byte)
	for i := 0; i < len(b); i += 4096 {
		b[i]++
	}
	return b
}

func (c soakClients) grpcObjects(ctx context.Context, w, n int) error {
	key := fmt.Sprintf("grpc/%d/%d", w, n)
	data := soakPayload(w, 256<<10)
	up, err := c.objects.UploadObject(ctx)
	if err != nil {
		return fmt.Errorf("UploadObject: %w", err)
	}
	if err := up.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Header{Header: &canopyv1.ObjectUploadHeader{Bucket: "soak", Key: key}}}); err != nil {
		return fmt.Errorf("UploadObject header: %w", err)
	}
	for off := 0; off < len(data); off += 64 << 10 {
		if err := up.Send(&canopyv1.UploadObjectRequest{Data: &canopyv1.UploadObjectRequest_Chunk{Chunk: data[off : off+64<<10]}}); err != nil {
			return fmt.Errorf("UploadObject chunk: %w", err)
		}
	}
	if _, err := up.CloseAndRecv(); err != nil {
		return fmt.Errorf("UploadObject: %w", err)
	}
	down, err := c.objects.DownloadObject(ctx, &canopyv1.DownloadObjectRequest{Bucket: "soak", Key: key})
	if err != nil {
		return fmt.Errorf("DownloadObject: %w", err)
	}
	got := make([]byte, 0, len(data))
	for {
		m, err := down.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("DownloadObject: %w", err)
		}
		got = append(got, m.GetChunk()...)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("DownloadObject %s: %d bytes back of %d, or different", key, len(got), len(data))
	}
	if _, err := c.objects.DeleteObject(ctx, &canopyv1.DeleteObjectRequest{Bucket: "soak", Key: key}); err != nil {
		return fmt.Errorf("DeleteObject: %w", err)
	}
	return nil
}

func (c soakClients) mixedLists(ctx context.Context, _, _ int) error {
	if _, err := c.volumes.ListVolumes(ctx, &canopyv1.ListVolumesRequest{}); err != nil {
		return fmt.Errorf("ListVolumes: %w", err)
	}
	var l struct {
		Containers []json.RawMessage `json:"containers"`
	}
	return c.rest.do(ctx, http.MethodGet, "/v1/containers", nil, &l)
}

// soakREST calls canopyd's REST side with the same token.
type soakREST struct {
	base string
	tok  *soakToken
	c    *http.Client
}

// do sends body (JSON, or bytes when it is []byte) and decodes a JSON
// answer into out (bytes into *[]byte); a status other than 200 is an
// error.
func (r *soakREST) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.tok.get())
	resp, err := r.c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, bytes.TrimSpace(raw))
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = raw
	default:
		if err := json.Unmarshal(raw, o); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

func (c soakClients) restReads(ctx context.Context, _, _ int) error {
	var l struct {
		Servers []struct {
			ID string `json:"id"`
		} `json:"servers"`
	}
	if err := c.rest.do(ctx, http.MethodGet, "/v1/servers?page_size=50", nil, &l); err != nil {
		return err
	}
	if len(l.Servers) == 0 {
		return errors.New("GET /v1/servers: none")
	}
	if err := c.rest.do(ctx, http.MethodGet, "/v1/servers/"+l.Servers[rand.IntN(len(l.Servers))].ID, nil, nil); err != nil {
		return err
	}
	return c.rest.do(ctx, http.MethodGet, "/v1/volumes", nil, nil)
}

// restOp is the part of an Operation the soak reads.
type restOp struct {
	ID    string `json:"id"`
	Done  bool   `json:"done"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func (c soakClients) restVolumeCycle(ctx context.Context, w, n int) error {
	name := fmt.Sprintf("soak-%d-%d", w, n)
	var op restOp
	if err := c.rest.do(ctx, http.MethodPost, "/v1/volumes", map[string]any{"name": name, "size_gib": 1}, &op); err != nil {
		return err
	}
	for !op.Done {
		if err := c.rest.do(ctx, http.MethodPost, "/v1/operations/"+op.ID+":wait", map[string]any{"timeout": "10s"}, &op); err != nil {
			return err
		}
	}
	if op.Error != nil {
		return fmt.Errorf("create volume %s: %s", name, op.Error.Message)
	}
	if err := c.rest.do(ctx, http.MethodGet, "/v1/volumes/"+name, nil, nil); err != nil {
		return err
	}
	op = restOp{}
	if err := c.rest.do(ctx, http.MethodDelete, "/v1/volumes/"+name+"?wait=true", nil, &op); err != nil {
		return err
	}
	if op.Error != nil {
		return fmt.Errorf("delete volume %s: %s", name, op.Error.Message)
	}
	return nil
}

func (c soakClients) restObjects(ctx context.Context, w, n int) error {
	path := fmt.Sprintf("/v1/buckets/soak/objects/rest/%d/%d", w, n)
	data := soakPayload(w, 64<<10)
	if err := c.rest.do(ctx, http.MethodPut, path, data, nil); err != nil {
		return err
	}
	var got []byte
	if err := c.rest.do(ctx, http.MethodGet, path+"?alt=media", nil, &got); err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("GET %s: %d bytes back of %d, or different", path, len(got), len(data))
	}
	return c.rest.do(ctx, http.MethodDelete, path, nil, nil)
}
