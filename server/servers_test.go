package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
)

const oneCloud = `
clouds:
  - name: local
    kind: sim
    zones: [z1, z2]
    options: ` + fastSim + `
`

const twoClouds = `
clouds:
  - name: east
    kind: sim
    regions: [east-1]
    zones: [e1, e2]
    options: ` + fastSim + `
  - name: west
    kind: sim
    regions: [west-1]
    zones: [w1]
    options: {seed: 7, boot_delay: 30ms, action_delay: 20ms, delete_delay: 20ms}
`

func TestServerLifecycle(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{
		Name: "web", Flavor: "m1.small", Image: "debian-12", Labels: map[string]string{"app": "web"}, Wait: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sv.Status != canopyv1.Status_STATUS_ACTIVE || sv.NativeId == "" || sv.Location.GetCloud() != "local" {
		t.Fatalf("created = %v", sv)
	}
	flavor, err := e.compute.GetFlavor(ctx, &canopyv1.GetFlavorRequest{Id: "m1.small"})
	if err != nil || sv.FlavorId != flavor.Id {
		t.Errorf("server flavor_id %s, m1.small is %v (%v)", sv.FlavorId, flavor.GetId(), err)
	}
	m, err := e.st.Get(ctx, sv.Id)
	if err != nil || m.NativeID != sv.NativeId || m.Kind != providers.KindServer {
		t.Errorf("id map entry = %+v, %v", m, err)
	}
	for _, id := range []string{sv.Id, "web"} {
		got, err := e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: id})
		if err != nil || got.Id != sv.Id || got.Labels["app"] != "web" {
			t.Errorf("GetServer(%s) = %v, %v", id, got, err)
		}
	}
	stopped, err := e.compute.StopServer(ctx, &canopyv1.StopServerRequest{Id: sv.Id, Wait: true})
	if err != nil || stopped.Status != canopyv1.Status_STATUS_STOPPED {
		t.Fatalf("stop = %v, %v", stopped, err)
	}
	_, err = e.compute.StopServer(ctx, &canopyv1.StopServerRequest{Id: sv.Id})
	wantErr(t, err, codes.FailedPrecondition, "", `cloud "local"`)
	if got, err := e.compute.StartServer(ctx, &canopyv1.StartServerRequest{Id: "web", Wait: true}); err != nil || got.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Fatalf("start = %v, %v", got, err)
	}
	if got, err := e.compute.RebootServer(ctx, &canopyv1.RebootServerRequest{Id: sv.Id, Hard: true, Wait: true}); err != nil || got.Status != canopyv1.Status_STATUS_ACTIVE {
		t.Fatalf("reboot = %v, %v", got, err)
	}
	del, err := e.compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv.Id, Wait: true})
	if err != nil || del.Status != canopyv1.Status_STATUS_DELETED {
		t.Fatalf("delete = %v, %v", del, err)
	}
	_, err = e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: sv.Id})
	wantErr(t, err, codes.NotFound, "", sv.Id)
	if _, err := e.st.Get(ctx, sv.Id); err == nil {
		t.Errorf("mapping of a deleted server kept")
	}
	_, err = e.compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv.Id})
	wantErr(t, err, codes.NotFound, "")
}

func TestDeleteWithoutWait(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "x", Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	del, err := e.compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: sv.Id})
	if err != nil || del.Status != canopyv1.Status_STATUS_DELETING {
		t.Fatalf("delete = %v, %v; want DELETING", del, err)
	}
	// Once the cloud is done, the id is NOT_FOUND and forgotten.
	eventually(t, "the deleted server NOT_FOUND", func() bool {
		_, err := e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: sv.Id})
		return status.Code(err) == codes.NotFound
	})
	_, err = e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: sv.Id})
	wantErr(t, err, codes.NotFound, "")
	eventually(t, "the deleted server's mapping forgotten", func() bool {
		_, err := e.st.Get(ctx, sv.Id)
		return err != nil
	})
}

func TestCreateErrors(t *testing.T) {
	e := newEnv(t, twoClouds)
	ctx := ctxT(t)
	eastFlavor, err := e.compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{Location: &canopyv1.Location{Cloud: "east"}, Name: "m1.tiny"})
	if err != nil || len(eastFlavor.Flavors) != 1 {
		t.Fatalf("east m1.tiny: %v %v", eastFlavor, err)
	}
	ok := func() *canopyv1.CreateServerRequest {
		return &canopyv1.CreateServerRequest{Name: "ok", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: "west"}}
	}
	cases := []struct {
		name    string
		mutate  func(r *canopyv1.CreateServerRequest)
		code    codes.Code
		field   string
		mention string
	}{
		{"empty name", func(r *canopyv1.CreateServerRequest) { r.Name = "" }, codes.InvalidArgument, "name", "required"},
		{"name with slash", func(r *canopyv1.CreateServerRequest) { r.Name = "a/b" }, codes.InvalidArgument, "name", "/"},
		{"long name", func(r *canopyv1.CreateServerRequest) { r.Name = strings.Repeat("x", 256) }, codes.InvalidArgument, "name", "255"},
		{"no flavor", func(r *canopyv1.CreateServerRequest) { r.Flavor = "" }, codes.InvalidArgument, "flavor", "required"},
		{"unknown flavor", func(r *canopyv1.CreateServerRequest) { r.Flavor = "m9.huge" }, codes.InvalidArgument, "flavor", `no flavor "m9.huge" in cloud "west"`},
		{"flavor of another cloud", func(r *canopyv1.CreateServerRequest) { r.Flavor = eastFlavor.Flavors[0].Id }, codes.InvalidArgument, "flavor", `is in cloud "east"`},
		{"unknown flavor id", func(r *canopyv1.CreateServerRequest) { r.Flavor = "00000000-0000-4000-8000-000000000000" }, codes.InvalidArgument, "flavor", "no flavor with id"},
		{"malformed flavor id", func(r *canopyv1.CreateServerRequest) { r.Flavor = "0000zzzz-0000-4000-8000-000000000000" }, codes.InvalidArgument, "flavor", "malformed id"},
		{"no image", func(r *canopyv1.CreateServerRequest) { r.Image = "" }, codes.InvalidArgument, "image", "required"},
		{"unknown image", func(r *canopyv1.CreateServerRequest) { r.Image = "windows-95" }, codes.InvalidArgument, "image", "windows-95"},
		{"unknown keypair", func(r *canopyv1.CreateServerRequest) { r.Keypair = "nokey" }, codes.InvalidArgument, "keypair", "nokey"},
		{"unknown cloud", func(r *canopyv1.CreateServerRequest) { r.Location.Cloud = "mars" }, codes.InvalidArgument, "location.cloud", "mars"},
		{"unknown zone", func(r *canopyv1.CreateServerRequest) { r.Location = &canopyv1.Location{Zone: "z9"} }, codes.InvalidArgument, "location.zone", "z9"},
		{"zone of another cloud", func(r *canopyv1.CreateServerRequest) { r.Location.Zone = "e1" }, codes.InvalidArgument, "location.zone", `belongs to cloud "east"`},
		{"unknown region", func(r *canopyv1.CreateServerRequest) { r.Location.Region = "east-1" }, codes.InvalidArgument, "location.region", "east-1"},
		{"no location with two clouds", func(r *canopyv1.CreateServerRequest) { r.Location = nil }, codes.InvalidArgument, "location", "2 clouds"},
		{"bad label", func(r *canopyv1.CreateServerRequest) { r.Labels = map[string]string{"Bad Key": "v"} }, codes.InvalidArgument, "labels[Bad Key]", "label keys"},
		{"user data too big", func(r *canopyv1.CreateServerRequest) { r.UserData = make([]byte, 65<<10) }, codes.InvalidArgument, "user_data", "at most"},
		{"request id too long", func(r *canopyv1.CreateServerRequest) { r.RequestId = strings.Repeat("r", 200) }, codes.InvalidArgument, "request_id", "longer"},
	}
	before := e.sim("west").Calls("CreateServer") + e.sim("east").Calls("CreateServer")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ok()
			tc.mutate(r)
			_, err := e.compute.CreateServer(ctx, r)
			wantErr(t, err, tc.code, tc.field, tc.mention)
		})
	}
	if after := e.sim("west").Calls("CreateServer") + e.sim("east").Calls("CreateServer"); after != before {
		t.Errorf("bad requests reached the clouds: %d CreateServer calls", after-before)
	}
	// Routing by zone alone picks the cloud.
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "z", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Zone: "w1"}})
	if err != nil || sv.Location.GetCloud() != "west" || sv.Location.GetZone() != "w1" {
		t.Fatalf("create in zone w1 = %v, %v", sv, err)
	}
	// Nothing half-made is left in the id map by the failures.
	ms, _ := e.st.List(ctx, "west", providers.KindServer)
	if len(ms) != 1 {
		t.Errorf("west has %d server mappings, want 1", len(ms))
	}
}

func TestCloudRefusesCreate(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	e.sim("local").InjectFault("CreateServer", providers.ErrQuota, 1)
	_, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "q", Flavor: "m1.tiny", Image: "cirros-0.6.2"})
	wantErr(t, err, codes.ResourceExhausted, "", `cloud "local"`, "quota")
	if ms, _ := e.st.List(ctx, "local", providers.KindServer); len(ms) != 0 {
		t.Errorf("a refused create left %d mappings", len(ms))
	}
}

func TestGetErrors(t *testing.T) {
	e := newEnv(t, twoClouds)
	ctx := ctxT(t)
	for _, cl := range []string{"east", "west"} {
		if _, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "twin", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: cl}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		id      string
		code    codes.Code
		field   string
		mention string
	}{
		{"", codes.InvalidArgument, "id", "required"},
		{"123e4567-e89b-12d3-a456-42661417400Z", codes.InvalidArgument, "id", "malformed id"},
		{"00000000-0000-4000-8000-000000000000", codes.NotFound, "", "00000000-0000-4000-8000-000000000000"},
		{"nosuch", codes.NotFound, "", "nosuch"},
		{"twin", codes.InvalidArgument, "id", `2 servers are named "twin"`},
		{"bad\x01name", codes.InvalidArgument, "id", "non-printable"},
	} {
		_, err := e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: tc.id})
		wantErr(t, err, tc.code, tc.field, tc.mention)
	}
	// A flavor id is not a server id.
	flavors, err := e.compute.ListFlavors(ctx, &canopyv1.ListFlavorsRequest{})
	if err != nil || len(flavors.Flavors) == 0 {
		t.Fatalf("ListFlavors = %v, %v", flavors, err)
	}
	_, err = e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: flavors.Flavors[0].Id})
	wantErr(t, err, codes.NotFound, "")
}

func TestUnreachableCloud(t *testing.T) {
	e := newEnv(t, twoClouds)
	ctx := ctxT(t)
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "a", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: "west"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "b", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: "east"}}); err != nil {
		t.Fatal(err)
	}
	e.sim("west").SetDown(true)
	_, err = e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: sv.Id})
	wantErr(t, err, codes.Unavailable, "", `cloud "west"`)
	// A name that may live on the unreachable cloud is UNAVAILABLE, not NOT_FOUND.
	_, err = e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: "a"})
	wantErr(t, err, codes.Unavailable, "", "west")
	// The list is partial, with the failing cloud named.
	list, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Servers) != 1 || list.Servers[0].Name != "b" {
		t.Errorf("partial list = %v", list.Servers)
	}
	if len(list.CloudErrors) != 1 || list.CloudErrors[0].Cloud != "west" || codes.Code(list.CloudErrors[0].Code) != codes.Unavailable {
		t.Errorf("cloud errors = %v", list.CloudErrors)
	}
	c, err := e.clouds.GetCloud(ctx, &canopyv1.GetCloudRequest{Name: "west"})
	if err != nil || c.Health != canopyv1.Cloud_HEALTH_UNAVAILABLE || c.HealthMessage == "" {
		t.Errorf("west health = %v, %v", c, err)
	}
}

func TestRequestIDIsIdempotent(t *testing.T) {
	e := newEnv(t, oneCloud)
	ctx := ctxT(t)
	req := &canopyv1.CreateServerRequest{Name: "idem", Flavor: "m1.tiny", Image: "cirros-0.6.2", RequestId: "7d3c0a4e-1111-4222-8333-944455556666"}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sv, err := e.compute.CreateServer(ctx, req)
			errs[i] = err
			if err == nil {
				ids[i] = sv.Id
			}
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("retries gave ids %v errors %v", ids, errs)
		}
	}
	list, _ := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{Name: "idem"})
	if len(list.Servers) != 1 {
		t.Errorf("%d servers exist after %d retries of one request", len(list.Servers), len(ids))
	}
}

func TestWaitOutcomes(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: bad
    kind: sim
    options: {fail_boots: true, boot_delay: 20ms}
  - name: slow
    kind: sim
    options: {boot_delay: 1h}
`)
	ctx := ctxT(t)
	sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "f", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: "bad"}, Wait: true})
	if err != nil || sv.Status != canopyv1.Status_STATUS_ERROR || sv.StatusMessage == "" {
		t.Fatalf("failed boot with wait = %v, %v; want the server in ERROR with its message", sv, err)
	}
	// The boot takes an hour: a deadline ends the wait, and it is long
	// enough (2s) that the create itself reaches the cloud before it even
	// on a loaded machine.
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = e.compute.CreateServer(short, &canopyv1.CreateServerRequest{Name: "s", Flavor: "m1.tiny", Image: "cirros-0.6.2", Location: &canopyv1.Location{Cloud: "slow"}, Wait: true})
	wantErr(t, err, codes.DeadlineExceeded, "")
	// The server was created all the same, and keeps its id.
	list, _ := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{Name: "s"})
	if len(list.Servers) != 1 || list.Servers[0].Status != canopyv1.Status_STATUS_PENDING {
		t.Errorf("after a timed-out wait: %v", list.Servers)
	}
}

func TestWaitersShareOnePoller(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: local
    kind: sim
    options: {boot_delay: 300ms}
`)
	ctx := ctxT(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: fmt.Sprintf("w%d", i), Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
			if err == nil && sv.Status != canopyv1.Status_STATUS_ACTIVE {
				err = fmt.Errorf("%s woke %v", sv.Name, sv.Status)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// One list per poll of the shared poller (plus at most one other list
	// per create, which the cache coalesces), never one GET or list per
	// waiter per interval: counted against the poller's own polls, so a
	// loaded machine that stretches the boot's ~300ms into more polls
	// changes nothing.
	sim := e.sim("local")
	if gets := sim.Calls("GetServer"); gets > n {
		t.Errorf("waits made %d GetServer calls; want waits to go through the poller's lists", gets)
	}
	lists, polls := sim.Calls("ListServers"), e.srv.cloudNamed("local").Servers.Polls()
	if polls == 0 || lists > polls+n {
		t.Errorf("%d waiters made %d list calls over %d polls; want one list per poll", n, lists, polls)
	}
	t.Logf("%d waiters: %d list calls, %d polls, %d GetServer calls", n, lists, polls, sim.Calls("GetServer"))
}

func TestAdoptionIsStable(t *testing.T) {
	dir := t.TempDir()
	cfg := `
clouds:
  - name: local
    kind: sim
    options: {servers: 3, seed: 9}
`
	open := func() *env {
		st := mustBolt(t, dir)
		e := startEnv(t, testConfig(t, cfg), st)
		t.Cleanup(func() { st.Close() })
		return e
	}
	e := open()
	ctx := ctxT(t)
	list, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
	if err != nil || len(list.Servers) != 3 {
		t.Fatalf("list = %v, %v", list, err)
	}
	first := map[string]string{}
	for _, sv := range list.Servers {
		if sv.Id != store.AdoptedID("local", providers.KindServer, sv.NativeId) {
			t.Errorf("adopted %s got id %s, want the stable AdoptedID", sv.NativeId, sv.Id)
		}
		first[sv.NativeId] = sv.Id
	}
	e.stop()
	e.st.Close()
	e2 := open()
	list, err = e2.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sv := range list.Servers {
		if first[sv.NativeId] != sv.Id {
			t.Errorf("after restart %s has id %s, was %s", sv.NativeId, sv.Id, first[sv.NativeId])
		}
	}
}

func TestWaitTimeoutWithoutDeadline(t *testing.T) {
	e := newEnv(t, `
clouds:
  - name: local
    kind: sim
    options: {boot_delay: 1h}
wait: {timeout: 200ms}
`)
	// No client deadline: the configured wait timeout bounds the wait. The
	// default (10 minutes) and the boot (an hour) are far past the bound
	// checked, which is loose enough for a loaded machine.
	start := time.Now()
	_, err := e.compute.CreateServer(context.Background(), &canopyv1.CreateServerRequest{Name: "s", Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
	wantErr(t, err, codes.DeadlineExceeded, "", `cloud "local"`, "not ACTIVE")
	if el := time.Since(start); el < 200*time.Millisecond || el > time.Minute {
		t.Errorf("waited %s with a 200ms wait timeout", el)
	}
	// A client deadline longer than the configured timeout is honored.
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "s2", Flavor: "m1.tiny", Image: "cirros-0.6.2", Wait: true})
	if status.Code(err) != codes.DeadlineExceeded || time.Since(start) < 500*time.Millisecond {
		t.Errorf("with a 600ms deadline: %v after %s; want DEADLINE_EXCEEDED near the client's deadline", err, time.Since(start))
	}
}
