//go:build openstack

package main

// Issue 20's measure on the real lab: canopyd with the lab cloud's
// notification feed on answers CreateServer(wait) and CreateVolume(wait)
// from Nova's and Cinder's events, with no status poll at Nova or Cinder
// while it waits; a canopyd without it (the same run, the same lab) polls.
// The delay from the cloud's own ACTIVE/available (the timestamp of the
// notification saying so, read by the test's own consumer on the bus) to
// canopy's reply is logged for both. When canopy's connection to the bus
// is lost mid-wait, polling resumes at once and every waiter still wakes.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// labBusAddr is the lab's RabbitMQ (test/openstack/lib.sh).
const labBusAddr = "127.0.0.1:5672"

// busObserver is the test's own consumer on the lab's bus: when Nova said
// a server was ACTIVE and Cinder a volume available, by the notification's
// own timestamp, and which servers and volumes the cloud started to
// build. When the broker goes away (TestNotificationsOpenStackBrokerRestart
// restarts it) it notes when and dials again until it is back.
type busObserver struct {
	mu        sync.Mutex
	ready     map[string]time.Time // native id → when the cloud said it was ready
	building  map[string]bool      // display names Nova or Cinder started to build
	restoring map[string]bool      // backups cinder-backup started to restore
	lost      []time.Time          // when the broker closed the observer's connection
	changed   chan struct{}
}

func observeBus(t *testing.T) *busObserver {
	t.Helper()
	o := &busObserver{ready: map[string]time.Time{}, building: map[string]bool{}, restoring: map[string]bool{}, changed: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	conn, ds, err := o.dial()
	if err != nil {
		cancel()
		t.Fatalf("the lab's RabbitMQ (are the lab's notifications on? test/openstack/up.sh): %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
			for d := range ds {
				o.take(d.Body)
			}
			stop()
			_ = conn.Close()
			if ctx.Err() != nil {
				return
			}
			o.mu.Lock()
			o.lost = append(o.lost, time.Now())
			o.mu.Unlock()
			o.poke()
			for conn = nil; conn == nil; {
				select {
				case <-ctx.Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
				conn, ds, _ = o.dial()
			}
		}
	}()
	return o
}

// dial connects and binds the observer's own queue to Nova's and Cinder's
// notifications.
func (o *busObserver) dial() (*amqp.Connection, <-chan amqp.Delivery, error) {
	conn, err := amqp.Dial("amqp://guest:guest@" + labBusAddr + "/")
	if err != nil {
		return nil, nil, err
	}
	ds, err := func() (<-chan amqp.Delivery, error) {
		ch, err := conn.Channel()
		if err != nil {
			return nil, err
		}
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return nil, err
		}
		for ex, topic := range map[string]string{"nova": "versioned_notifications", "cinder": "notifications"} {
			// Declared as oslo.messaging does, in case the service has not
			// yet (a broker just restarted).
			if err := ch.ExchangeDeclare(ex, "topic", false, false, false, false, nil); err != nil {
				return nil, fmt.Errorf("exchange %s: %w", ex, err)
			}
			if err := ch.QueueBind(q.Name, topic+".*", ex, false, nil); err != nil {
				return nil, fmt.Errorf("bind %s on %s: %w", topic, ex, err)
			}
		}
		return ch.Consume(q.Name, "", true, true, false, false, nil)
	}()
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return conn, ds, nil
}

func (o *busObserver) poke() {
	select {
	case o.changed <- struct{}{}:
	default:
	}
}

// lostAfter is the first time after t the broker closed the observer's
// connection.
func (o *busObserver) lostAfter(t time.Time) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range o.lost {
		if l.After(t) {
			return l, true
		}
	}
	return time.Time{}, false
}

func (o *busObserver) take(body []byte) {
	var env struct {
		Message string `json:"oslo.message"`
	}
	var n struct {
		EventType string          `json:"event_type"`
		Timestamp string          `json:"timestamp"`
		Payload   json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(body, &env) != nil || json.Unmarshal([]byte(env.Message), &n) != nil {
		return
	}
	at, err := time.Parse("2006-01-02 15:04:05.999999", n.Timestamp)
	if err != nil {
		return
	}
	var p struct {
		Data struct {
			UUID        string  `json:"uuid"`
			DisplayName string  `json:"display_name"`
			State       string  `json:"state"`
			TaskState   *string `json:"task_state"`
		} `json:"nova_object.data"`
		VolumeID    string `json:"volume_id"`
		BackupID    string `json:"backup_id"`
		SnapshotID  string `json:"snapshot_id"`
		DisplayName string `json:"display_name"`
		Status      string `json:"status"`
	}
	if json.Unmarshal(n.Payload, &p) != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case strings.HasPrefix(n.EventType, "instance."):
		o.building[p.Data.DisplayName] = true
		if p.Data.State == "active" && p.Data.TaskState == nil {
			if _, seen := o.ready[p.Data.UUID]; !seen {
				o.ready[p.Data.UUID] = at
			}
		}
	case n.EventType == "snapshot.create.end" && p.Status == "available":
		o.ready[p.SnapshotID] = at
	case n.EventType == "backup.create.end" && p.Status == "available":
		o.ready[p.BackupID] = at
	case n.EventType == "backup.restore.start":
		o.restoring[p.BackupID] = true
	case n.EventType == "volume.create.start":
		o.building[p.DisplayName] = true
	case n.EventType == "volume.create.end" && p.Status == "available":
		o.ready[p.VolumeID] = at
	}
	o.poke()
}

// isRestoring says whether cinder-backup has started to restore a backup.
func (o *busObserver) isRestoring(backup string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.restoring[backup]
}

// readyAt is when the cloud said id was ready, waiting up to a minute for
// the notification (it may trail canopy's reply when canopy polled).
func (o *busObserver) readyAt(id string) (time.Time, bool) {
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		at, ok := o.ready[id]
		o.mu.Unlock()
		if ok {
			return at, true
		}
		select {
		case <-o.changed:
		case <-deadline.C:
			return time.Time{}, false
		}
	}
}

// isBuilding says whether Nova or Cinder has started to build a server or
// volume of that name.
func (o *busObserver) isBuilding(name string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.building[name]
}

// busProxy stands between canopyd and the lab's RabbitMQ so the test can
// take the bus away from canopyd alone (the lab is shared: its RabbitMQ
// is not restarted) and give it back.
type busProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func startBusProxy(t *testing.T) *busProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &busProxy{ln: ln}
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				_ = c.Close()
				continue
			}
			up, err := net.Dial("tcp", labBusAddr)
			if err != nil {
				p.mu.Unlock()
				_ = c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	return p
}

func (p *busProxy) url() string { return "rabbit://guest:guest@" + p.ln.Addr().String() + "/" }

// cut drops every connection and refuses new ones.
func (p *busProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *busProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// metric reads one sample of a Prometheus text exposition (0 if absent).
func metric(body, name string, labels ...string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		return v
	}
	return 0
}

// statusPolls is how many lists canopyd made of a kind at the lab cloud:
// the batched poller's reads (a handler's own reads, such as the GetServer
// a DeleteServer starts with, are not polls).
func statusPolls(t *testing.T, d *canopydtest.Daemon, kind string) float64 {
	t.Helper()
	_, _, body := getMetrics(t, d, "")
	var n float64
	re := regexp.MustCompile(`^canopy_upstream_calls_total\{cloud="lab",kind="` + kind + `",method="(List)[A-Za-z]*"\} (\S+)$`)
	for _, line := range strings.Split(body, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			n += v
		}
	}
	return n
}

// waitMode waits until canopyd says the lab cloud's statuses come from
// mode ("events" or "polling").
func waitMode(t *testing.T, d *canopydtest.Daemon, mode string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		_, _, body := getMetrics(t, d, "")
		if metric(body, "canopy_status_mode", `cloud="lab"`, `mode="`+mode+`"`) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("canopy_status_mode{cloud=lab} is not %s after %s:\n%s", mode, within, d.Logs())
		}
	}
}

// pct is the p-th percentile of sorted ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(p*float64(len(ds))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(ds) {
		i = len(ds) - 1
	}
	return ds[i]
}

// batchResult is one batch of concurrent creates with wait.
type batchResult struct {
	natives []string
	ids     []string
	delays  []time.Duration // cloud said ready → canopy's reply
	polls   float64         // status calls at the cloud while they waited
}

func (b batchResult) String() string {
	sort.Slice(b.delays, func(i, j int) bool { return b.delays[i] < b.delays[j] })
	return fmt.Sprintf("n=%d status polls=%.0f delay ready→reply p50=%s p99=%s max=%s", len(b.natives), b.polls,
		pct(b.delays, .5).Round(time.Millisecond), pct(b.delays, .99).Round(time.Millisecond), pct(b.delays, 1).Round(time.Millisecond))
}

// createServers makes n servers at once with wait; during (after the
// creates started) runs while they wait.
func createServers(t *testing.T, ctx context.Context, d *canopydtest.Daemon, o *busObserver, prefix string, n int, during func()) batchResult {
	t.Helper()
	type one struct {
		id, native string
		at         time.Time
		err        error
	}
	out := make(chan one, n)
	before := statusPolls(t, d, "servers")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%02d", prefix, i)
		go func() {
			sv, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: name, Flavor: envOr("CANOPY_OS_FLAVOR", "canopy.tiny"),
				Image: envOr("CANOPY_OS_IMAGE", "canopy-test-image"), Networks: []string{envOr("CANOPY_OS_NETWORK", "canopy-net")},
				Location: &canopyv1.Location{Cloud: "lab"}, RequestId: name, Wait: true})
			at := time.Now()
			if err == nil && sv.GetStatus() != canopyv1.Status_STATUS_ACTIVE {
				err = fmt.Errorf("%s: status %s", name, sv.GetStatus())
			}
			out <- one{sv.GetId(), sv.GetNativeId(), at, err}
		}()
	}
	if during != nil {
		during()
	}
	var b batchResult
	var replies []one
	for i := 0; i < n; i++ {
		r := <-out
		if r.err != nil {
			t.Errorf("create: %v", r.err)
			continue
		}
		replies = append(replies, r)
		b.ids, b.natives = append(b.ids, r.id), append(b.natives, r.native)
	}
	b.polls = statusPolls(t, d, "servers") - before
	for _, r := range replies {
		if ready, ok := o.readyAt(r.native); ok {
			b.delays = append(b.delays, r.at.Sub(ready))
		} else {
			t.Errorf("no notification says server %s is ACTIVE", r.native)
		}
	}
	return b
}

// deleteServers deletes through canopy, waiting.
func deleteServers(t *testing.T, ctx context.Context, d *canopydtest.Daemon, ids []string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: id, Wait: true}); err != nil {
				t.Errorf("delete server %s: %v", id, err)
			}
		}()
	}
	wg.Wait()
}

// createVolumes makes n volumes at once with wait.
func createVolumes(t *testing.T, ctx context.Context, d *canopydtest.Daemon, o *busObserver, prefix string, n int) batchResult {
	t.Helper()
	vol := canopyv1.NewVolumeServiceClient(d.Conn)
	type one struct {
		id, native string
		at         time.Time
		err        error
	}
	out := make(chan one, n)
	before := statusPolls(t, d, "volumes")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%02d", prefix, i)
		go func() {
			op, err := vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: name, SizeGib: 1, Location: &canopyv1.Location{Cloud: "lab"}, RequestId: name, Wait: true})
			at := time.Now()
			v := &canopyv1.Volume{}
			if err == nil {
				if op.GetError() != nil {
					err = fmt.Errorf("%s: %v", name, op.GetError())
				} else if err = op.GetResponse().UnmarshalTo(v); err == nil && v.GetStatus() != canopyv1.Status_STATUS_ACTIVE {
					err = fmt.Errorf("%s: status %s", name, v.GetStatus())
				}
			}
			out <- one{v.GetId(), v.GetNativeId(), at, err}
		}()
	}
	var b batchResult
	var replies []one
	for i := 0; i < n; i++ {
		r := <-out
		if r.err != nil {
			t.Errorf("create volume: %v", r.err)
			continue
		}
		replies = append(replies, r)
		b.ids, b.natives = append(b.ids, r.id), append(b.natives, r.native)
	}
	b.polls = statusPolls(t, d, "volumes") - before
	for _, r := range replies {
		if ready, ok := o.readyAt(r.native); ok {
			b.delays = append(b.delays, r.at.Sub(ready))
		} else {
			t.Errorf("no notification says volume %s is available", r.native)
		}
	}
	return b
}

func deleteVolumes(t *testing.T, ctx context.Context, d *canopydtest.Daemon, ids []string) {
	t.Helper()
	vol := canopyv1.NewVolumeServiceClient(d.Conn)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: id, Wait: true}); err != nil {
				t.Errorf("delete volume %s: %v", id, err)
			}
		}()
	}
	wg.Wait()
}

// TestNotificationsOpenStack is issue 20's Done-means on the lab (see the
// file's comment). CANOPY_NOTIFY_N sets the batch size (default 50).
func TestNotificationsOpenStack(t *testing.T) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set: point it at the lab's clouds.yaml (test/openstack/up.sh prints it)")
	}
	cloud := envOr("CANOPY_OS_CLOUD", "canopy-test")
	n, _ := strconv.Atoi(envOr("CANOPY_NOTIFY_N", "50"))
	l := dialLab(t, path, cloud)
	run := fmt.Sprintf("ntf%d", time.Now().Unix()%1000000)
	t.Cleanup(func() { l.remove(t, run+"-") })
	o := observeBus(t)
	bus := startBusProxy(t)

	conf := func(feed string) string {
		return canopydtest.WriteConfig(t, fmt.Sprintf(`
auth: {token_ttl: 2h}
clouds:
  - name: lab
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q%s}
`, path, cloud, feed))
	}
	// The same defaults as any canopyd (min_interval 500ms, max 5s); the
	// feed's reconcile interval is its default (60s).
	ev := canopydtest.Start(t, t.TempDir(), "--config", conf(fmt.Sprintf(`, notifications: {transport_url: %q, exchanges: [nova, cinder, glance, neutron]}`, bus.url())))
	poll := canopydtest.Start(t, t.TempDir(), "--config", conf(""))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	waitMode(t, ev, "events", time.Minute)
	waitMode(t, poll, "polling", time.Minute)

	// The first wait after canopyd starts lists once (the poller syncs its
	// view); from then on the feed speaks.
	warm := createServers(t, ctx, ev, o, run+"-warm", 1, nil)
	deleteServers(t, ctx, ev, warm.ids)

	p := createServers(t, ctx, poll, o, run+"-p", n, nil)
	t.Logf("servers, polling: %s", p)
	deleteServers(t, ctx, poll, p.ids)

	e := createServers(t, ctx, ev, o, run+"-e", n, nil)
	t.Logf("servers, notifications: %s", e)
	if e.polls != 0 {
		t.Errorf("%.0f status polls at Nova while %d waits were answered from notifications, want 0", e.polls, n)
	}
	before := statusPolls(t, ev, "servers")
	deleteServers(t, ctx, ev, e.ids)
	if polls := statusPolls(t, ev, "servers") - before; polls != 0 {
		t.Errorf("%.0f status polls at Nova while %d delete waits were answered from notifications, want 0", polls, n)
	}

	// The bus goes away mid-wait: polling resumes at once, every waiter
	// wakes, and when the bus is back the feed is heard again.
	lost := createServers(t, ctx, ev, o, run+"-l", n/2, func() {
		for deadline := time.Now().Add(2 * time.Minute); !o.isBuilding(fmt.Sprintf("%s-l-%02d", run, 0)); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("Nova did not start building within 2 minutes")
			}
		}
		bus.cut()
		waitMode(t, ev, "polling", 30*time.Second)
	})
	t.Logf("servers, bus lost mid-wait: %s", lost)
	if lost.polls == 0 {
		t.Error("no status poll after the bus was lost")
	}
	bus.restore()
	waitMode(t, ev, "events", time.Minute)
	deleteServers(t, ctx, ev, lost.ids)

	// Volumes, through Cinder's events.
	nv := n / 5
	if nv < 1 {
		nv = 1
	}
	vp := createVolumes(t, ctx, poll, o, run+"-vp", nv)
	t.Logf("volumes, polling: %s", vp)
	deleteVolumes(t, ctx, poll, vp.ids)
	vw := createVolumes(t, ctx, ev, o, run+"-vw", 1) // the first wait syncs
	deleteVolumes(t, ctx, ev, vw.ids)
	ve := createVolumes(t, ctx, ev, o, run+"-ve", nv)
	t.Logf("volumes, notifications: %s", ve)
	if ve.polls != 0 {
		t.Errorf("%.0f status polls at Cinder while %d volume waits were answered from notifications, want 0", ve.polls, nv)
	}
	deleteVolumes(t, ctx, ev, ve.ids)
	_, _, body := getMetrics(t, ev, "")
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "canopy_notifications_total") {
			t.Log(line)
		}
	}
}
