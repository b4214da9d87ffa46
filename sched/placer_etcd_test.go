//go:build etcd

package sched_test

// tenant_isolation across replicas: two Placers, as two canopyd replicas
// on one etcd store (test/etcd/up.sh's 3-member cluster) would have, each
// with its own replica lease (ownership.Etcd), place containers of four
// projects on three hosts at once. The hosts here are in memory (Docker's
// and containerd's reports are tested on the engines): a host counts a
// container in its report only once its create returned, as a runtime
// does, which is the window two replicas could both take an empty host
// in. The shared placement lock (ownership.Etcd.Lock) closes it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/canopy-cloud/canopy/ownership"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/sched"
	"github.com/canopy-cloud/canopy/store/etcd"
)

// hosts is a container cloud of three in-memory hosts.
type hosts struct {
	providers.Containers // only the calls below are made
	mu                   sync.Mutex
	on                   map[string][]string // host → projects of its containers
	n                    int
}

func (h *hosts) HostReports(ctx context.Context) ([]providers.HostReport, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []providers.HostReport
	for _, name := range []string{"h1", "h2", "h3"} {
		r := providers.HostReport{Name: name, CPUs: 64, MemoryBytes: 1 << 40, Runtimes: []string{"runc"}, Containers: len(h.on[name])}
		seen := map[string]bool{}
		for _, p := range h.on[name] {
			if !seen[p] {
				seen[p] = true
				r.Projects = append(r.Projects, p)
			}
		}
		sort.Strings(r.Projects)
		out = append(out, r)
	}
	return out, nil
}

// CreateContainer takes a runtime's time, then the container exists.
func (h *hosts) CreateContainer(ctx context.Context, spec providers.ContainerSpec) (providers.Container, error) {
	time.Sleep(20 * time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.on[spec.Host] = append(h.on[spec.Host], spec.Project)
	h.n++
	return providers.Container{Common: providers.Common{NativeID: fmt.Sprintf("c%d", h.n)}, Host: spec.Host}, nil
}

func endpoints(t *testing.T) []string {
	v := os.Getenv("CANOPY_ETCD_ENDPOINTS")
	if v == "" {
		t.Skip("CANOPY_ETCD_ENDPOINTS is not set: run test/etcd/up.sh")
	}
	return strings.Split(v, ",")
}

// replica is one canopyd's placer over the shared store and hosts.
func replica(t *testing.T, prefix, name string, h *hosts, shared bool) *sched.Placer {
	ctx := context.Background()
	st, err := etcd.Open(ctx, endpoints(t), etcd.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	p := sched.NewPlacer("pool", h, h, st, sched.Options{TenantIsolation: true})
	if shared {
		owner := ownership.NewEtcd(st.Client(), st.Prefix(), name, 5)
		t.Cleanup(func() { _ = owner.Close() })
		p.SetMutex(owner)
	}
	return p
}

// race has two replicas create 2×12 containers of four projects at once;
// it returns the hosts' projects and the refusals' filters.
func race(t *testing.T, shared bool) (map[string][]string, map[string]int) {
	prefix := fmt.Sprintf("/canopy-test/sched-%s-%x", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	t.Cleanup(func() {
		cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints(t), DialTimeout: 5 * time.Second})
		if err == nil {
			_, _ = cli.Delete(context.Background(), prefix+"/", clientv3.WithPrefix())
			cli.Close()
		}
	})
	h := &hosts{on: map[string][]string{}}
	rs := []*sched.Placer{replica(t, prefix, "r1", h, shared), replica(t, prefix, "r2", h, shared)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	refused := map[string]int{}
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec := providers.ContainerSpec{Name: fmt.Sprintf("c%d", i), Project: fmt.Sprintf("p%d", i%4), IdempotencyToken: fmt.Sprintf("tok-%d", i)}
			_, err := rs[i%2].CreateContainer(ctx, spec)
			var r *sched.Refusal
			switch {
			case errors.As(err, &r):
				mu.Lock()
				for _, x := range r.Rejections {
					refused[x.Filter]++
				}
				mu.Unlock()
			case err != nil:
				t.Errorf("create %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	return h.on, refused
}

func sharing(on map[string][]string) []string {
	var bad []string
	for host, ps := range on {
		for _, p := range ps {
			if p != ps[0] {
				bad = append(bad, fmt.Sprintf("%s runs %v", host, ps))
				break
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// TestTenantIsolationAcrossReplicas: with the shared lock, no host ever
// runs two projects' containers, every host is used, and the fourth
// project's containers are refused by tenant_isolation.
func TestTenantIsolationAcrossReplicas(t *testing.T) {
	on, refused := race(t, true)
	if bad := sharing(on); len(bad) > 0 {
		t.Errorf("two replicas put different projects on one host: %s", strings.Join(bad, "; "))
	}
	if len(on) != 3 || refused[sched.FilterTenantIsolation] == 0 {
		t.Errorf("hosts used %v, refusals %v: want all three hosts used and the fourth project refused by tenant_isolation", on, refused)
	}
	for f := range refused {
		if f != sched.FilterTenantIsolation {
			t.Errorf("a refusal by %s: only tenant_isolation stands in the way here", f)
		}
	}
}

// TestTenantIsolationWithoutSharedLock is the control: each replica
// serialising only its own creates lets the two share hosts. It reports
// what it saw (a race, so it may be lucky) rather than failing.
func TestTenantIsolationWithoutSharedLock(t *testing.T) {
	on, _ := race(t, false)
	t.Logf("without the shared lock: %d hosts shared: %s", len(sharing(on)), strings.Join(sharing(on), "; "))
}
