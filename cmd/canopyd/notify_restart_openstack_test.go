//go:build openstack

package main

// Issue 20's "RabbitMQ restarted mid-wait": the lab's real broker (not a
// proxy in front of it) is stopped and started again while canopyd waits
// on servers and volumes. canopyd must switch to polling at once, wake
// every waiter, and once the broker is back reconnect, declare its queue
// again and be fed by events again; Nova and Cinder must keep working.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

// brokerRestart runs test/openstack/rabbit-restart.sh; down and up are
// closed when it says the broker is stopped and when it is back.
type brokerRestart struct {
	down, up, done chan struct{}
	err            error // once done is closed

	mu  sync.Mutex
	out strings.Builder
}

// output is what the script printed so far.
func (r *brokerRestart) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

func restartBroker(t *testing.T) *brokerRestart {
	t.Helper()
	cmd := exec.Command("../../test/openstack/rabbit-restart.sh")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	r := &brokerRestart{down: make(chan struct{}), up: make(chan struct{}), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("test/openstack/rabbit-restart.sh: %v", err)
	}
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(stdout)
		downSeen, upSeen := false, false
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			r.out.WriteString(line + "\n")
			r.mu.Unlock()
			if !downSeen && strings.HasSuffix(line, "] rabbitmq down") {
				downSeen = true
				close(r.down)
			}
			if !upSeen && strings.Contains(line, "] rabbitmq up again") {
				upSeen = true
				close(r.up)
			}
		}
		r.err = cmd.Wait()
	}()
	return r
}

// ensureBroker starts the lab's RabbitMQ again (up.sh's base phase) if a
// failed test left it down: the lab is shared.
func ensureBroker(t *testing.T) {
	c, err := net.DialTimeout("tcp", labBusAddr, 2*time.Second)
	if err == nil {
		_ = c.Close()
		return
	}
	t.Logf("the lab's RabbitMQ does not answer (%v): starting it (test/openstack/up.sh base)", err)
	out, err := exec.Command("../../test/openstack/up.sh", "base").CombinedOutput()
	if err != nil {
		t.Errorf("test/openstack/up.sh base: %v\n%s", err, out)
	}
}

// waits holds each create's own context, so a wait on a resource the
// cloud lost can be let go.
type waits struct {
	ctx    context.Context
	mu     sync.Mutex
	cancel map[string]context.CancelFunc
}

func (w *waits) start(name string) context.Context {
	ctx, cancel := context.WithCancel(w.ctx)
	w.mu.Lock()
	w.cancel[name] = cancel
	w.mu.Unlock()
	return ctx
}

func (w *waits) stop(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.cancel[name]; ok {
		c()
	}
}

func (w *waits) done(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.cancel[name]; ok {
		c()
		delete(w.cancel, name)
	}
}

func (w *waits) pending() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for name := range w.cancel {
		out = append(out, name)
	}
	return out
}

// state is a server's or volume's status at the lab, by name ("" if none).
func (l *lab) state(t *testing.T, kind, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if kind == "server" {
		pages, err := servers.List(l.compute, servers.ListOpts{Name: "^" + name + "$"}).AllPages(ctx)
		if err != nil {
			return "unknown: " + err.Error()
		}
		ss, _ := servers.ExtractServers(pages)
		for _, s := range ss {
			if s.Name == name {
				return s.Status
			}
		}
		return ""
	}
	pages, err := volumes.List(l.volume, volumes.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return "unknown: " + err.Error()
	}
	vs, _ := volumes.ExtractVolumes(pages)
	for _, v := range vs {
		if v.Name == name {
			return v.Status
		}
	}
	return ""
}

// removeBackups deletes the backups named with prefix that a failed
// test left (one the lab failed to make stays, in error).
func (l *lab) removeBackups(t *testing.T, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pages, err := backups.List(l.volume, backups.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Logf("lab: list backups: %v", err)
		return
	}
	bs, _ := backups.ExtractBackups(pages)
	for _, b := range bs {
		if strings.HasPrefix(b.Name, prefix) {
			if err := backups.Delete(ctx, l.volume, b.ID).ExtractErr(); err != nil {
				t.Logf("lab: delete backup %s (%s): %v", b.Name, b.Status, err)
			}
		}
	}
}

// reply is one create's answer.
type reply struct {
	kind, name, id string
	at             time.Time
	err            error
}

// createAsync starts a server or volume create with wait; its answer goes
// to out.
func createAsync(ctx context.Context, d *canopydtest.Daemon, kind, name string, out chan<- reply) {
	go func() {
		r := reply{kind: kind, name: name}
		switch kind {
		case "server":
			sv, err := d.Compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: name, Flavor: envOr("CANOPY_OS_FLAVOR", "canopy.tiny"),
				Image: envOr("CANOPY_OS_IMAGE", "canopy-test-image"), Networks: []string{envOr("CANOPY_OS_NETWORK", "canopy-net")},
				Location: &canopyv1.Location{Cloud: "lab"}, RequestId: name, Wait: true})
			r.err, r.id = err, sv.GetId()
			if err == nil && sv.GetStatus() != canopyv1.Status_STATUS_ACTIVE {
				r.err = fmt.Errorf("status %s (%s)", sv.GetStatus(), sv.GetStatusMessage())
			}
		case "volume":
			op, err := canopyv1.NewVolumeServiceClient(d.Conn).CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: name, SizeGib: 1,
				Location: &canopyv1.Location{Cloud: "lab"}, RequestId: name, Wait: true})
			v := &canopyv1.Volume{}
			switch {
			case err != nil:
			case op.GetError() != nil:
				err = fmt.Errorf("%v", op.GetError())
			default:
				if err = op.GetResponse().UnmarshalTo(v); err == nil && v.GetStatus() != canopyv1.Status_STATUS_ACTIVE {
					err = fmt.Errorf("status %s (%s)", v.GetStatus(), v.GetStatusMessage())
				}
			}
			r.err, r.id = err, v.GetId()
		}
		r.at = time.Now()
		out <- r
	}()
}

// TestNotificationsOpenStackBrokerRestart restarts the lab's RabbitMQ
// (test/openstack/rabbit-restart.sh) while canopyd waits on
// CANOPY_NOTIFY_N/4 servers (at least 2) and on a volume a backup is
// restored into. Its name extends TestNotificationsOpenStack's so make test's
// filter runs it after that one.
func TestNotificationsOpenStackBrokerRestart(t *testing.T) {
	path := os.Getenv("CANOPY_OS_CLOUDS_YAML")
	if path == "" {
		t.Fatal("CANOPY_OS_CLOUDS_YAML is not set: point it at the lab's clouds.yaml (test/openstack/up.sh prints it)")
	}
	cloud := envOr("CANOPY_OS_CLOUD", "canopy-test")
	n, _ := strconv.Atoi(envOr("CANOPY_NOTIFY_N", "20"))
	ns := max(2, n/4)
	l := dialLab(t, path, cloud)
	run := fmt.Sprintf("nrs%d", time.Now().Unix()%1000000)
	t.Cleanup(func() { l.remove(t, run+"-") })
	t.Cleanup(func() { l.removeBackups(t, run+"-") })
	t.Cleanup(func() { ensureBroker(t) }) // before the removal: Nova deletes over the bus
	o := observeBus(t)

	// reconcile_interval 10m: with the feed back, the creates after the
	// restart are heard from events alone; the default minute's
	// reconciliation list could fall inside their few seconds.
	conf := canopydtest.WriteConfig(t, fmt.Sprintf(`
auth: {token_ttl: 2h}
clouds:
  - name: lab
    kind: openstack
    options: {clouds_yaml: %q, cloud: %q, notifications: {transport_url: "rabbit://guest:guest@%s/", reconcile_interval: 10m}}
`, path, cloud, labBusAddr))
	d := canopydtest.Start(t, t.TempDir(), "--config", conf)
	defer func() {
		if t.Failed() {
			logs := d.Logs()
			t.Logf("canopyd's log, its end:\n%s", logs[max(0, len(logs)-6000):])
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	waitMode(t, d, "events", time.Minute)

	// The first wait after canopyd starts lists once (the poller syncs).
	warm := createServers(t, ctx, d, o, run+"-warm", 1, nil)
	warmV := createVolumes(t, ctx, d, o, run+"-warmv", 1)
	deleteServers(t, ctx, d, warm.ids)
	deleteVolumes(t, ctx, d, warmV.ids)

	// A volume's wait mid-restart: Cinder makes a new volume in well under
	// a second, faster than the broker stops, and a create whose request
	// is in Cinder's API or scheduler while the broker restarts may be lost
	// (its cast published before the next service has bound its queue
	// again: a volume left creating for ever). A backup's restore into a
	// new volume is done by cinder-backup alone once it has begun (tens of
	// seconds for 1 GiB from Swift), so that wait spans the restart with
	// nothing on the bus to lose.
	//
	// Backups need the lab's Swift to take objects. When the lab cannot
	// make one (Swift refuses PUTs once its disk is nearly full), volumes
	// are created one every 200 ms from the restart on until the broker
	// has closed the connections instead: those still being made when it
	// did wait through the restart, at the risk told above.
	vol := canopyv1.NewVolumeServiceClient(d.Conn)
	src := createVolumes(t, ctx, d, o, run+"-src", 1)
	bak := &canopyv1.Backup{}
	bop, err := vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: run + "-bak", Volume: src.ids[0], RequestId: run + "-bak", Wait: true})
	switch {
	case err != nil || !bop.GetDone():
		t.Fatalf("create backup: %v (done %v)", err, bop.GetDone())
	case bop.GetError() != nil:
		t.Logf("the lab could not make a backup (%v): volumes are created around the restart instead", bop.GetError().GetMessage())
		bak = nil
	default:
		if err := bop.GetResponse().UnmarshalTo(bak); err != nil {
			t.Fatal(err)
		}
	}

	// The broker restarts once Nova is building the servers and
	// cinder-backup restoring.
	const maxVolumes = 10
	replies := make(chan reply, ns+maxVolumes)
	polls0 := statusPolls(t, d, "servers") + statusPolls(t, d, "volumes")
	started := time.Now()
	w := &waits{ctx: ctx, cancel: map[string]context.CancelFunc{}}
	for i := 0; i < ns; i++ {
		name := fmt.Sprintf("%s-s-%02d", run, i)
		createAsync(w.start(name), d, "server", name, replies)
	}
	if bak != nil {
		go func() {
			r := reply{kind: "volume", name: run + "-restored"}
			op, err := vol.RestoreBackup(w.start(r.name), &canopyv1.RestoreBackupRequest{Id: bak.GetId(), Name: r.name, RequestId: r.name, Wait: true})
			v := &canopyv1.Volume{}
			switch {
			case err != nil:
			case op.GetError() != nil:
				err = fmt.Errorf("%v", op.GetError())
			default:
				if err = op.GetResponse().UnmarshalTo(v); err == nil && v.GetStatus() != canopyv1.Status_STATUS_ACTIVE {
					err = fmt.Errorf("status %s (%s)", v.GetStatus(), v.GetStatusMessage())
				}
			}
			r.err, r.id, r.at = err, v.GetId(), time.Now()
			replies <- r
		}()
	}
	for deadline := time.Now().Add(2 * time.Minute); !o.isBuilding(run+"-s-00") || (bak != nil && !o.isRestoring(bak.GetNativeId())); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Nova did not start building, or cinder-backup restoring, within 2 minutes")
		}
	}
	restart := restartBroker(t)
	defer func() { <-restart.done }()
	volumesMade := make(chan int, 1)
	if bak != nil {
		volumesMade <- 1
	} else {
		go func() {
			i := 0
			for ; i < maxVolumes; i++ {
				if _, lost := o.lostAfter(started); lost {
					break
				}
				name := fmt.Sprintf("%s-v-%02d", run, i)
				createAsync(w.start(name), d, "volume", name, replies)
				time.Sleep(200 * time.Millisecond)
			}
			volumesMade <- i
		}()
	}

	// Polling at once: canopyd's mode says so as soon as the broker has
	// closed the connections (the observer's tells when).
	waitMode(t, d, "polling", 30*time.Second)
	flipped := time.Now()
	lost, ok := o.lostAfter(started)
	if !ok {
		t.Fatalf("canopyd says polling but the broker never closed the observer's connection:\n%s", restart.output())
	}
	t.Logf("broker closed connections; canopyd polling %s later", flipped.Sub(lost).Round(time.Millisecond))
	if flipped.Sub(lost) > 2*time.Second {
		t.Errorf("canopyd switched to polling %s after the broker closed its connections, want at once (<= 2s)", flipped.Sub(lost))
	}
	select {
	case <-restart.down:
	case <-restart.done:
		t.Fatalf("rabbit-restart.sh ended without stopping the broker (%v):\n%s", restart.err, restart.output())
	}

	// Every waiter wakes (from lists while the broker is away, from events
	// or lists once it is back and Nova and Cinder have reconnected).
	// A create whose message Nova or Cinder lost in the restart (its
	// service had not bound its queue again when it was sent) stays
	// building at the cloud for ever: that is the cloud's loss, told apart
	// from canopy's by asking the lab directly, and its wait is let go.
	// One the lab shows settled must be answered.
	nv := <-volumesMade
	var midWait = map[string]int{}
	var ids = map[string][]string{}
	lostByCloud := map[string]bool{}
	settledAt := map[string]time.Time{}
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for got := 0; got < ns+nv; {
		select {
		case r := <-replies:
			got++
			w.done(r.name)
			if lostByCloud[r.name] {
				continue
			}
			if r.err != nil {
				// A resource the cloud itself failed in the restart (a
				// restore whose cinder-backup lost the bus ends
				// error_restoring): its waiter woke, with the cloud's
				// reason, which is what canopy owes it.
				if st := l.state(t, r.kind, r.name); st == "ERROR" || strings.HasPrefix(st, "error") || strings.Contains(r.err.Error(), "RESOURCE_ERROR") {
					t.Logf("%s %s: the cloud failed it in the restart (%s at the lab); its waiter woke with: %v", r.kind, r.name, st, r.err)
					continue
				}
				t.Errorf("%s %s: %v", r.kind, r.name, r.err)
				continue
			}
			ids[r.kind] = append(ids[r.kind], r.id)
			if r.at.After(lost) {
				midWait[r.kind]++
			}
		case <-tick.C:
			select {
			case <-restart.up:
			default:
				continue
			}
			for _, name := range w.pending() {
				kind := "server"
				if !strings.Contains(name, "-s-") {
					kind = "volume"
				}
				state := l.state(t, kind, name)
				switch {
				case state == "ACTIVE" || state == "ERROR" || state == "available" || strings.HasPrefix(state, "error"):
					if settledAt[name].IsZero() {
						settledAt[name] = time.Now()
					} else if time.Since(settledAt[name]) > time.Minute {
						t.Errorf("%s %s is %s at the lab for a minute and canopy's wait has not woken", kind, name, state)
						w.stop(name)
					}
				case time.Since(lost) > 4*time.Minute:
					t.Logf("%s %s is still %q at the lab 4 minutes after the broker went down: lost by the cloud in the restart; its wait is let go", kind, name, state)
					lostByCloud[name] = true
					w.stop(name)
				}
			}
		case <-ctx.Done():
			t.Fatalf("%d waiters did not wake:\n%s", ns+nv-got, d.Logs())
		}
	}
	polls := statusPolls(t, d, "servers") + statusPolls(t, d, "volumes") - polls0
	t.Logf("broker restart: %d servers and %d volumes waited on, woken after the broker went down: %d servers, %d volumes; %.0f status polls",
		ns, nv, midWait["server"], midWait["volume"], polls)
	lostKind := map[string]int{}
	for name := range lostByCloud {
		if strings.Contains(name, "-s-") {
			lostKind["server"]++
		} else {
			lostKind["volume"]++
		}
	}
	for _, kind := range []string{"server", "volume"} {
		switch {
		case midWait[kind] > 0:
		case kind == "volume" && bak == nil && lostKind[kind] > 0:
			// Plain creates (no backup to restore): Cinder lost every one
			// whose wait crossed the restart. Not canopy's doing; told, as
			// the run then proves nothing of volume waits.
			t.Logf("no volume wait crossed the restart: Cinder lost the %d that did (the lab could not make a backup to restore)", lostKind[kind])
		default:
			t.Errorf("every %s waiter had woken before the broker went down", kind)
		}
	}
	if polls == 0 {
		t.Error("no status poll while the broker was away")
	}

	<-restart.done
	if restart.err != nil {
		t.Fatalf("rabbit-restart.sh: %v\n%s", restart.err, restart.output())
	}
	select {
	case <-restart.up:
	default:
		t.Fatalf("rabbit-restart.sh did not say the broker is up:\n%s", restart.output())
	}
	// canopyd reconnects, declares its queue again, and is fed by events:
	// later creates (which Nova and Cinder, reconnected, carry out) are
	// heard with no poll.
	waitMode(t, d, "events", 2*time.Minute)
	if got := strings.Count(d.Logs(), "notification feed connected"); got < 2 {
		t.Errorf("canopyd logged %d feed connections, want one before the restart and one after", got)
	}
	after := createServers(t, ctx, d, o, run+"-after", 2, nil)
	t.Logf("servers after the restart: %s", after)
	if after.polls != 0 {
		t.Errorf("%.0f status polls at Nova after the feed came back, want 0", after.polls)
	}
	afterV := createVolumes(t, ctx, d, o, run+"-afterv", 2)
	t.Logf("volumes after the restart: %s", afterV)
	if afterV.polls != 0 {
		t.Errorf("%.0f status polls at Cinder after the feed came back, want 0", afterV.polls)
	}
	deleteServers(t, ctx, d, append(ids["server"], after.ids...))
	deleteVolumes(t, ctx, d, append(ids["volume"], afterV.ids...))
	if bak != nil {
		if _, err := vol.DeleteBackup(ctx, &canopyv1.DeleteBackupRequest{Id: bak.GetId(), Wait: true}); err != nil {
			t.Errorf("delete backup: %v", err)
		}
	}
	deleteVolumes(t, ctx, d, src.ids)
}
