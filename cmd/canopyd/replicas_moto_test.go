//go:build etcd && aws

package main

// canopyd replicas on etcd over one shared cloud engine (moto): what the
// cloud sees. Each canopyd's sim cloud lives in its own process, so the
// one-list-per-interval property is measured at moto, through a proxy
// that counts the EC2 calls every replica makes.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// countingProxy forwards to moto and records when each EC2 action was
// called.
type countingProxy struct {
	URL string
	mu  sync.Mutex
	at  map[string][]time.Time
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{at: map[string][]time.Time{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if q, err := url.ParseQuery(string(body)); err == nil && q.Get("Action") != "" {
			now := time.Now()
			p.mu.Lock()
			p.at[q.Get("Action")] = append(p.at[q.Get("Action")], now)
			if !strings.Contains(string(body), "Filter.") && !strings.Contains(string(body), "Id.") {
				// a whole list (a poller's or a cached list), not a look-up
				p.at[q.Get("Action")+"/all"] = append(p.at[q.Get("Action")+"/all"], now)
			}
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.URL = "http://" + ln.Addr().String()
	return p
}

// calls returns when action was called, from since on.
func (p *countingProxy) calls(action string, since time.Time) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []time.Time
	for _, at := range p.at[action] {
		if !at.Before(since) {
			out = append(out, at)
		}
	}
	return out
}

// replicasOnMoto starts n canopyd on one etcd prefix with one AWS cloud
// "aws" on moto behind a counting proxy, and the given status interval;
// cloudExtra is more YAML for the cloud's entry (indented 4 spaces).
func replicasOnMoto(t *testing.T, name string, n int, interval time.Duration, cloudExtra string) ([]*canopydtest.Daemon, *countingProxy, *ec2.Client) {
	t.Helper()
	_, _, storeURL := etcdStore(t, name)
	api, endpoint := motoEC2(t)
	proxy := startCountingProxy(t, endpoint)
	cfg := canopydtest.WriteConfig(t, fmt.Sprintf(`
clouds:
  - name: aws
    kind: aws
    regions: [%s]
    options:
      endpoint: %s
      access_key_id: testing
      secret_access_key: testing
      instance_types: [t3.micro]
      create_window: 2s
%s
wait:
  min_interval: %s
  max_interval: %s
auth:
  issuer_url: http://canopy.replicas.test
`, motoRegion, proxy.URL, cloudExtra, interval, interval))
	var ds []*canopydtest.Daemon
	for i := range n {
		var env []string
		if i > 0 {
			env = []string{canopydtest.TokenEnv + "=" + ds[0].Token}
		}
		ds = append(ds, canopydtest.StartEnv(t, t.TempDir(), env, "--config", cfg, "--store", storeURL,
			"--replica-id", fmt.Sprintf("r%d", i), "--lease-ttl", "2", "--log-level", "debug"))
	}
	return ds, proxy, api
}

// runInstance starts an instance at moto directly (not through canopy),
// named name, and returns its id; it is terminated when the test ends.
func runInstance(t *testing.T, api *ec2.Client, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	imgs, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("moto images: %v (%d)", err, len(imgs.Images))
	}
	out, err := api.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: imgs.Images[0].ImageId, InstanceType: types.InstanceTypeT3Micro, MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{{Key: awssdk.String("Name"), Value: awssdk.String(name)}}}},
	})
	if err != nil {
		t.Fatalf("run instance: %v", err)
	}
	id := awssdk.ToString(out.Instances[0].InstanceId)
	t.Cleanup(func() {
		_, _ = api.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	})
	return id
}

// Three replicas, each with a Watch stream on the AWS cloud's servers:
// moto sees at most one DescribeInstances per interval (the owner's
// poller lists for all three), and an instance that appears at moto
// reaches every replica's stream within interval + 100 ms of the list
// that saw it (bounded here with slack for a loaded machine).
func TestReplicasOneListPerIntervalMoto(t *testing.T) {
	const interval = 300 * time.Millisecond
	ds, proxy, api := replicasOnMoto(t, "relay", 3, interval, "")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	name := fmt.Sprintf("relay%d", time.Now().UnixNano()%1000000)
	type seen struct {
		replica int
		at      time.Time
	}
	added := make(chan seen, 3)
	synced := make(chan int, 3)
	for i, d := range ds {
		stream, err := d.Compute.WatchServers(ctx, &canopyv1.WatchServersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				ev, err := stream.Recv()
				if err != nil {
					return
				}
				switch {
				case ev.GetType() == canopyv1.WatchServersResponse_EVENT_TYPE_SYNCED:
					synced <- i
				case ev.GetType() == canopyv1.WatchServersResponse_EVENT_TYPE_ADDED && ev.GetServer().GetName() == name:
					added <- seen{i, time.Now()}
				}
			}
		}()
	}
	for range ds {
		select {
		case <-synced:
		case <-ctx.Done():
			t.Fatal("a Watch stream never synced")
		}
	}
	// The window starts once every stream runs on its poller.
	start := time.Now()
	time.Sleep(10 * interval) // the window measured: nothing to synchronise on, the cloud is idle
	id := runInstance(t, api, name)
	made := time.Now()
	var worst time.Duration
	for range ds {
		select {
		case s := <-added:
			if d := s.at.Sub(made); d > worst {
				worst = d
			}
		case <-ctx.Done():
			t.Fatalf("instance %s never reached every replica's stream", id)
		}
	}
	elapsed := time.Since(start)
	lists := proxy.calls("DescribeInstances", start)
	t.Logf("%d DescribeInstances at moto in %v with Watch streams on 3 replicas (interval %v); instance seen by every stream %v after it was made",
		len(lists), elapsed, interval, worst)
	if max := int(elapsed/interval) + 2; len(lists) > max {
		t.Errorf("%d DescribeInstances in %v: more than one per interval of %v (max %d)", len(lists), elapsed, interval, max)
	}
	for i := 1; i < len(lists); i++ {
		if gap := lists[i].Sub(lists[i-1]); gap < interval/2 {
			t.Errorf("DescribeInstances %d and %d only %v apart (interval %v)", i-1, i, gap, interval)
		}
	}
	if worst > 2*interval+time.Second {
		t.Errorf("an instance took %v to reach every stream (interval %v)", worst, interval)
	}
}

// hasKeypair lists keypairs through d and reports whether name is there.
func hasKeypair(ctx context.Context, t *testing.T, d *canopydtest.Daemon, name string) bool {
	t.Helper()
	resp, err := d.Compute.ListKeypairs(ctx, &canopyv1.ListKeypairsRequest{})
	if err != nil {
		t.Fatalf("list keypairs: %v", err)
	}
	if len(resp.GetCloudErrors()) > 0 {
		t.Fatalf("list keypairs: %v", resp.GetCloudErrors())
	}
	for _, k := range resp.GetKeypairs() {
		if k.GetName() == name {
			return true
		}
	}
	return false
}

// Coherent caches across replicas: B's keypair list is cached for five
// minutes (and is: listing again costs moto no call), yet right after a
// create or a delete through A answered, B's list shows it.
func TestReplicasCoherentReadsMoto(t *testing.T) {
	ds, proxy, _ := replicasOnMoto(t, "coherent", 2, time.Second, "    cache: {keypairs: 5m}")
	a, b := ds[0], ds[1]
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	run := fmt.Sprintf("coh%d", time.Now().UnixNano()%1000000)
	for i := range 5 {
		name := fmt.Sprintf("%s-%d", run, i)
		if hasKeypair(ctx, t, b, name) {
			t.Fatalf("%s listed through B before it was made", name)
		}
		// B's cache holds the list now: reading again costs moto nothing.
		before := time.Now()
		if hasKeypair(ctx, t, b, name) {
			t.Fatalf("%s listed through B before it was made", name)
		}
		if n := len(proxy.calls("DescribeKeyPairs", before)); n != 0 {
			t.Fatalf("B's second list called DescribeKeyPairs %d times: its cache is not used, the test proves nothing", n)
		}
		k, err := a.Compute.CreateKeypair(ctx, &canopyv1.CreateKeypairRequest{Name: name})
		if err != nil {
			t.Fatalf("create keypair through A: %v", err)
		}
		if !hasKeypair(ctx, t, b, name) {
			t.Fatalf("round %d: B still lists its cached keypairs without %s after A created it", i, name)
		}
		if _, err := a.Compute.DeleteKeypair(ctx, &canopyv1.DeleteKeypairRequest{Id: k.GetId()}); err != nil {
			t.Fatalf("delete keypair through A: %v", err)
		}
		if hasKeypair(ctx, t, b, name) {
			t.Fatalf("round %d: B still lists %s after A deleted it", i, name)
		}
	}
}

// Cached volume lists on replicas come from the owner's polls: a client
// that creates or deletes a volume through A and lists through B and C
// sees the change at once after A answered (coherence), and moto sees
// only the owner's polls, never two whole DescribeVolumes within an
// interval, however many lists the replicas answer.
func TestReplicasPolledReadsMoto(t *testing.T) {
	const interval = 300 * time.Millisecond
	ds, proxy, api := replicasOnMoto(t, "polled", 3, interval, "")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	run := fmt.Sprintf("polled%d", time.Now().UnixNano()%1000000)
	t.Cleanup(func() { motoRemove(t, api, run+"-") })
	began := time.Now()
	vols := func(d *canopydtest.Daemon) canopyv1.VolumeServiceClient {
		return canopyv1.NewVolumeServiceClient(d.Conn)
	}
	listed := func(d *canopydtest.Daemon, id string) bool {
		t.Helper()
		token := ""
		for {
			resp, err := vols(d).ListVolumes(ctx, &canopyv1.ListVolumesRequest{PageToken: token})
			if err != nil || len(resp.GetCloudErrors()) > 0 {
				t.Fatalf("list volumes: %v %v", err, resp.GetCloudErrors())
			}
			for _, v := range resp.GetVolumes() {
				if v.GetId() == id {
					return true
				}
			}
			if token = resp.GetNextPageToken(); token == "" {
				return false
			}
		}
	}
	wait := func(op *canopyv1.Operation, err error) *canopyv1.Operation {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for !op.GetDone() {
			select {
			case <-ctx.Done():
				t.Fatalf("operation %s not done", op.GetId())
			case <-time.After(100 * time.Millisecond):
			}
			if op, err = canopyv1.NewOperationServiceClient(ds[0].Conn).GetOperation(ctx, &canopyv1.GetOperationRequest{Id: op.GetId()}); err != nil {
				t.Fatal(err)
			}
		}
		if op.GetError() != nil {
			t.Fatalf("operation %s: %v", op.GetId(), op.GetError())
		}
		return op
	}
	for i := range 3 {
		a := ds[i%3]
		op := wait(vols(a).CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: fmt.Sprintf("%s-%d", run, i), SizeGib: 1,
			Location: &canopyv1.Location{Cloud: "aws"}}))
		id := op.GetMetadata().GetTargetId()
		for _, d := range ds {
			if !listed(d, id) {
				t.Fatalf("round %d: a list after the create through replica %d lacks volume %s", i, i%3, id)
			}
		}
		wait(vols(a).DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: id}))
		for _, d := range ds {
			if listed(d, id) {
				t.Fatalf("round %d: a list after the delete through replica %d still has volume %s", i, i%3, id)
			}
		}
	}
	lists := proxy.calls("DescribeVolumes/all", began)
	pairs, worst := crowded(lists, interval)
	logged := loggedLists(ds, "aws", "volumes")
	t.Logf("%d whole DescribeVolumes in %v (interval %v): at most %d within one interval; by reason: %v", len(lists), time.Since(began), interval, worst, reasonCounts(logged))
	for _, p := range pairs {
		a, b := lists[p[0]], lists[p[1]]
		t.Errorf("two whole DescribeVolumes %v apart (interval %v): %s | %s", b.Sub(a).Round(time.Millisecond), interval, explain(logged, a), explain(logged, b))
	}
	for reason, n := range reasonCounts(logged) {
		if reason != "poll" && reason != "takeover" && reason != "kick" {
			t.Errorf("%d whole lists made for %s reads: not answered by the owner's polls", n, reason)
		}
	}
}
