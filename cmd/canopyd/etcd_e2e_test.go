//go:build etcd

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// canopyd --store etcd://… keeps its state in the cluster: the id of a
// server created through one canopyd is in etcd under the given root, and a
// canopyd started again on that store answers with the same id. (The sim
// cloud's own state is in the data dir, which the restart keeps.)
// test/etcd/test.sh runs it with CANOPY_ETCD_ENDPOINTS set.
func TestCanopydOnEtcd(t *testing.T) {
	cli, root, storeURL := etcdStore(t, "canopyd")

	data := t.TempDir()
	cfg := canopydtest.WriteConfig(t, `
clouds:
  - name: local
    kind: sim
    zones: [local-1a]
    options: {boot_delay: 100ms, action_delay: 50ms, delete_delay: 50ms, persist: true}
`)
	d := canopydtest.Start(t, data, "--config", cfg, "--store", storeURL)
	if !strings.Contains(d.Logs(), storeURL) {
		t.Errorf("the log does not name the store %s:\n%s", storeURL, d.Logs())
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	code, created := d.REST("POST", "/v1/servers", map[string]any{"name": "web1", "flavor": "m1.small", "image": "debian-12", "wait": true})
	if code != 200 || created["status"] != "STATUS_ACTIVE" {
		t.Fatalf("REST create = %d %v\n%s", code, created, d.Logs())
	}
	id := created["id"].(string)
	resp, err := cli.Get(ctx, root+"/v1/map/"+id)
	if err != nil || len(resp.Kvs) != 1 || !strings.Contains(string(resp.Kvs[0].Value), `"kind":"server"`) {
		t.Fatalf("mapping of %s in etcd = %v, %v", id, resp, err)
	}
	clients, err := cli.Get(ctx, root+"/v1/client/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || clients.Count != 1 {
		t.Errorf("first-run admin client in etcd: %d, %v; want 1", clients.Count, err)
	}
	d.Stop()

	d = canopydtest.Start(t, data, "--config", cfg, "--store", storeURL)
	sv, err := d.Compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
	if err != nil || sv.Id != id || sv.Name != "web1" {
		t.Fatalf("after a restart on the same store: %v, %v\n%s", sv, err, d.Logs())
	}
	d.Stop()
}

// etcdStore gives a test its own key prefix in the cluster test/etcd/test.sh
// started (CANOPY_ETCD_ENDPOINTS; the test skips without it): a client on
// it, the prefix, and the --store URL naming it. The prefix is deleted, and
// then the client closed, when the test ends.
func etcdStore(t testing.TB, name string) (*clientv3.Client, string, string) {
	t.Helper()
	env := os.Getenv("CANOPY_ETCD_ENDPOINTS")
	if env == "" {
		t.Skip("CANOPY_ETCD_ENDPOINTS is not set: run test/etcd/test.sh")
	}
	eps := strings.Split(env, ",")
	root := fmt.Sprintf("/canopy-test/%s-%x", name, time.Now().UnixNano())
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	t.Cleanup(func() { _, _ = cli.Delete(context.Background(), root+"/", clientv3.WithPrefix()) })
	hosts := make([]string, len(eps))
	for i, ep := range eps {
		hosts[i] = strings.TrimPrefix(ep, "http://")
	}
	return cli, root, "etcd://" + strings.Join(hosts, ",") + root
}
