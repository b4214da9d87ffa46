package main

// The crash-safety test: canopyd, the real process, is killed with SIGKILL
// at every failpoint a block-storage workload passes through (the steps of
// every operation kind, just before each acts and just after it acted but
// before it was recorded; the RPC handlers between recording an operation
// and answering; a boot from a deferred volume), restarted on the same data
// dir, and the workload driven on with the same request ids. At the end
// every operation must be done without error, every id mapping of what
// survives must be bound to a resource the cloud has, and the cloud must
// hold exactly the resources canopy knows: none duplicated, none leaked.
//
// Failpoints, not sleeps: CANOPY_FAILPOINTS names the point at which the
// process kills itself (internal/failpoint). A first run with
// CANOPY_FAILPOINTS_LOG lists the points the workload passes; then one
// "lineage" (one data dir) arms them one after another, restarting after
// each kill, so N points cost about N restarts. A point a lineage did not
// reach (the workload took another path after an earlier crash) is armed
// again in a fresh lineage.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

const crashDelays = `volume_delay: 15ms, snapshot_delay: 15ms, boot_delay: 15ms, action_delay: 10ms, delete_delay: 10ms, persist: true`

// Two clouds, each driven by its own lineage: "native" has every feature
// (snapshots answered with job ids), "emu" lacks snapshots, backups and
// volume-from-image, so every emulation path runs.
const crashConfig = `
clouds:
  - name: native
    kind: sim
    zones: [n1]
    options: {async_snapshot_ids: true, snapshot_job_delay: 15ms, ` + crashDelays + `}
  - name: emu
    kind: sim
    zones: [m1]
    options: {no_snapshots: true, no_backups: true, no_volume_from_image: true, ` + crashDelays + `}
wait:
  min_interval: 5ms
  max_interval: 20ms
auth:
  # Fixed, so a token outlives restarts on new ports.
  issuer_url: http://canopy.crash.test
`

// errDied means canopyd died during the call (a failpoint fired).
var errDied = errors.New("canopyd died")

// story is one cloud's workload. Every mutating call carries a request id,
// so driving the story again after a crash makes nothing twice: finished
// steps answer with the same operation and ids.
type story struct {
	cloud string
	emu   bool
	ids   map[string]string // step name → canopy id it made
	// real marks a story on a real engine: no backups (canopy emulates
	// them through VolumeData, which real adapters lack), names carry
	// prefix so the cloud's own API can count this lineage's resources,
	// and calls may take as long as the engine needs.
	real   bool
	prefix string
	// fromImage adds a volume made from the image (native, or emulated
	// where the cloud lacks it); boot a server booted from that volume.
	fromImage bool
	boot      bool
	imageGiB  int64
	flavor    string
	image     string
	networks  []string
	timeout   time.Duration
}

func (s *story) req(name string) string { return s.cloud + "-" + name }

// name is the resource name of a step's resource.
func (s *story) name(step string) string { return s.prefix + step }

func (s *story) callTimeout() time.Duration {
	if s.timeout > 0 {
		return s.timeout
	}
	return 30 * time.Second
}

// run drives the whole story; it returns errDied when canopyd died on the
// way, and fails the test on any other error.
func (s *story) run(t *testing.T, d *canopydtest.Daemon) error {
	vol := canopyv1.NewVolumeServiceClient(d.Conn)
	loc := &canopyv1.Location{Cloud: s.cloud}
	call := func(name string, f func(ctx context.Context) (*canopyv1.Operation, error)) error {
		ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout())
		defer cancel()
		op, err := f(ctx)
		if err != nil {
			if _, exited := d.WaitExit(3 * time.Second); exited {
				return errDied
			}
			t.Fatalf("%s: step %s: %v\n%s", s.cloud, name, err, d.Logs())
		}
		if !op.Done || op.GetError() != nil {
			if _, exited := d.WaitExit(3 * time.Second); exited {
				return errDied // it died while the call waited
			}
			t.Fatalf("%s: step %s: operation %v\n%s", s.cloud, name, op, d.Logs())
		}
		s.ids[name] = op.Metadata.TargetId
		return nil
	}
	server := func(name string, req *canopyv1.CreateServerRequest) error {
		ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout())
		defer cancel()
		sv, err := d.Compute.CreateServer(ctx, req)
		if err != nil {
			if _, exited := d.WaitExit(3 * time.Second); exited {
				return errDied
			}
			t.Fatalf("%s: step %s: %v\n%s", s.cloud, name, err, d.Logs())
		}
		s.ids[name] = sv.Id
		return nil
	}
	ops := canopyv1.NewOperationServiceClient(d.Conn)
	// cancelled starts a create, cancels it at once and waits: it ends
	// CANCELLED (rolled back) or, when the cancel came too late, done, and
	// then del removes what it made. Either way nothing is left.
	cancelled := func(name string, create func(ctx context.Context) (*canopyv1.Operation, error), del func(ctx context.Context, id string) (*canopyv1.Operation, error)) error {
		ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout())
		defer cancel()
		died := func(err error) error {
			if _, exited := d.WaitExit(3 * time.Second); exited {
				return errDied
			}
			t.Fatalf("%s: step %s: %v\n%s", s.cloud, name, err, d.Logs())
			return err
		}
		op, err := create(ctx)
		if err != nil {
			return died(err)
		}
		if _, err := ops.CancelOperation(ctx, &canopyv1.CancelOperationRequest{Id: op.Id}); err != nil {
			return died(err)
		}
		if op, err = ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id}); err != nil {
			return died(err)
		}
		if !op.Done {
			return died(fmt.Errorf("operation %s not done", op.Id))
		}
		if e := op.GetError(); e != nil {
			if e.Code != int32(codes.Canceled) {
				return died(fmt.Errorf("operation %s failed: %v", op.Id, e))
			}
			return nil
		}
		if op, err = del(ctx, op.Metadata.TargetId); err != nil || !op.Done || op.GetError() != nil {
			return died(fmt.Errorf("removing what a late-cancelled %s made: %v, %v", name, op, err))
		}
		return nil
	}
	steps := []func() error{
		func() error {
			return call("a", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: s.name("a"), SizeGib: 1, Location: loc, RequestId: s.req("a"), Wait: true})
			})
		},
		func() error {
			return server("s", &canopyv1.CreateServerRequest{Name: s.name("s"), Flavor: s.flavor, Image: s.image, Networks: s.networks, Location: loc, RequestId: s.req("s"), Wait: true})
		},
		func() error {
			return server("t", &canopyv1.CreateServerRequest{Name: s.name("t"), Flavor: s.flavor, Image: s.image, Networks: s.networks, Location: loc, RequestId: s.req("t"), Wait: true})
		},
		func() error {
			// A server delete replayed after a crash: done already is done.
			ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout())
			defer cancel()
			if _, err := d.Compute.DeleteServer(ctx, &canopyv1.DeleteServerRequest{Id: s.ids["t"], Wait: true, AllowMissing: true}); err != nil {
				if _, exited := d.WaitExit(3 * time.Second); exited {
					return errDied
				}
				t.Fatalf("%s: step del-t: %v\n%s", s.cloud, err, d.Logs())
			}
			return nil
		},
		func() error {
			return call("attach", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.AttachVolume(ctx, &canopyv1.AttachVolumeRequest{Id: s.ids["a"], Server: s.ids["s"], RequestId: s.req("attach"), Wait: true})
			})
		},
		func() error {
			return call("sn", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: s.name("sn"), Volume: s.ids["a"], RequestId: s.req("sn"), Wait: true})
			})
		},
		func() error {
			return call("b", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: s.name("b"), Snapshot: s.ids["sn"], RequestId: s.req("b"), Wait: true})
			})
		},
		func() error {
			if s.real {
				return nil
			}
			return call("bk", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.CreateBackup(ctx, &canopyv1.CreateBackupRequest{Name: s.name("bk"), Volume: s.ids["a"], RequestId: s.req("bk"), Wait: true})
			})
		},
		func() error {
			if s.real {
				return nil
			}
			return call("c", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.RestoreBackup(ctx, &canopyv1.RestoreBackupRequest{Id: s.ids["bk"], Name: s.name("c"), RequestId: s.req("c"), Wait: true})
			})
		},
		func() error {
			return call("extend", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.ExtendVolume(ctx, &canopyv1.ExtendVolumeRequest{Id: s.ids["a"], SizeGib: 2, RequestId: s.req("extend"), Wait: true})
			})
		},
		func() error {
			return call("detach", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.DetachVolume(ctx, &canopyv1.DetachVolumeRequest{Id: s.ids["a"], RequestId: s.req("detach"), Wait: true})
			})
		},
		func() error {
			if s.real {
				return nil
			}
			return call("del-c", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: s.ids["c"], RequestId: s.req("del-c"), Wait: true})
			})
		},
		func() error {
			if s.real {
				return nil
			}
			return call("del-bk", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.DeleteBackup(ctx, &canopyv1.DeleteBackupRequest{Id: s.ids["bk"], RequestId: s.req("del-bk"), Wait: true})
			})
		},
		func() error {
			return call("del-b", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: s.ids["b"], RequestId: s.req("del-b"), Wait: true})
			})
		},
		func() error {
			return call("del-sn", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.DeleteSnapshot(ctx, &canopyv1.DeleteSnapshotRequest{Id: s.ids["sn"], RequestId: s.req("del-sn"), Wait: true})
			})
		},
		func() error {
			return cancelled("cancel-vol", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: s.name("x"), SizeGib: 1, Location: loc, RequestId: s.req("cancel-vol")})
			}, func(ctx context.Context, id string) (*canopyv1.Operation, error) {
				return vol.DeleteVolume(ctx, &canopyv1.DeleteVolumeRequest{Id: id, RequestId: s.req("cancel-vol-del"), Wait: true})
			})
		},
		func() error {
			return cancelled("cancel-sn", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.CreateSnapshot(ctx, &canopyv1.CreateSnapshotRequest{Name: s.name("y"), Volume: s.ids["a"], RequestId: s.req("cancel-sn")})
			}, func(ctx context.Context, id string) (*canopyv1.Operation, error) {
				return vol.DeleteSnapshot(ctx, &canopyv1.DeleteSnapshotRequest{Id: id, RequestId: s.req("cancel-sn-del"), Wait: true})
			})
		},
	}
	if s.fromImage {
		steps = append(steps, func() error {
			return call("d", func(ctx context.Context) (*canopyv1.Operation, error) {
				return vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: s.name("d"), Image: s.image, SizeGib: s.imageGiB, Location: loc, RequestId: s.req("d"), Wait: true})
			})
		})
	}
	if s.boot {
		steps = append(steps, func() error {
			return server("s2", &canopyv1.CreateServerRequest{Name: s.name("s2"), Flavor: s.flavor, BootVolume: s.ids["d"], Networks: s.networks, Location: loc, RequestId: s.req("s2"), Wait: true})
		})
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// survivors are the story's resources that must exist at the end, and the
// ones it deleted.
func (s *story) survivors() (volumes, servers, deleted []string) {
	volumes, servers = []string{s.ids["a"]}, []string{s.ids["s"]}
	if s.fromImage {
		volumes = append(volumes, s.ids["d"])
	}
	if s.boot {
		servers = append(servers, s.ids["s2"])
	}
	if s.real {
		return volumes, servers, []string{s.ids["b"], s.ids["sn"], s.ids["t"]}
	}
	return volumes, servers, []string{s.ids["b"], s.ids["c"], s.ids["sn"], s.ids["bk"], s.ids["t"]}
}

// newStory is a sim cloud's story.
func newStory(cloud string, emu bool) *story {
	return &story{cloud: cloud, emu: emu, ids: map[string]string{}, flavor: "m1.tiny", image: "cirros-0.6.2", fromImage: emu, boot: emu}
}

func startWith(t *testing.T, data, cfg string, env ...string) (*canopydtest.Daemon, error) {
	d, err := canopydtest.TryStartEnv(t, data, env, "--config", cfg)
	if errors.Is(err, canopydtest.ErrExited) {
		return d, errDied
	}
	return d, err
}

// crashStory is what the crash machinery drives, one per lineage: the
// block-storage story of this file (through engine.lineages) or the
// networking one (crash_net_test.go).
type crashStory interface {
	// run drives the whole story; it returns errDied when canopyd died on
	// the way, and fails the test on any other error.
	run(t *testing.T, d *canopydtest.Daemon) error
	// settle lets canopy's own reconciliation finish once the story ran
	// to its end (canopyd still up) and returns the crash duplicates
	// canopy found and deleted.
	settle(t *testing.T, d *canopydtest.Daemon, data string) int
	// verify checks, canopyd stopped, that nothing was lost, duplicated or
	// leaked.
	verify(t *testing.T, data string)
	// cleanup removes what a verified lineage left in its cloud.
	cleanup(t *testing.T, data string)
}

// crashRun is one cloud's crash lineages: canopyd's config, the cloud, and
// the story of each lineage (-1: the discovery run).
type crashRun struct {
	cfg, cloud string
	story      func(lineage int) crashStory
	// together arms every point left at each start, so canopyd dies at the
	// first of them it passes: each restart kills at the next point on the
	// story's path, and a lineage ends only when the story passed none —
	// fewer lineages than arming one point at a time, which ends a lineage
	// at the first point the replayed path no longer passes (the rest of
	// an operation whose request a replay answers).
	together bool
}

// volStory is the block-storage story on an engine.
type volStory struct {
	*story
	eng *engine
}

func (v volStory) settle(t *testing.T, d *canopydtest.Daemon, data string) int {
	return settle(t, d, v.eng, data, v.story)
}
func (v volStory) verify(t *testing.T, data string) { verifyCrashInvariants(t, data, v.story, v.eng) }
func (v volStory) cleanup(t *testing.T, _ string) {
	if v.eng.cleanup != nil {
		v.eng.cleanup(t, v.story)
	}
}

// lineages is the engine's block-storage story as crash lineages.
func (e *engine) lineages() crashRun {
	return crashRun{cfg: e.cfg, cloud: e.cloud, story: func(lineage int) crashStory { return volStory{e.story(lineage), e} }}
}

// engine is where crash stories run: a sim cloud of canopyd's config, or a
// real engine (crash_openstack_test.go, crash_aws_test.go).
type engine struct {
	cfg   string // canopyd's config file
	cloud string
	// story makes the story of one lineage (-1: the discovery run).
	story func(lineage int) *story
	// holds counts, with the cloud's own API (or, for the sim, its state
	// file), the live resources of a story's lineage.
	holds func(t *testing.T, data string, s *story) cloudHolds
	// cleanup removes what a verified lineage left in a real cloud.
	cleanup func(t *testing.T, s *story)
}

// cloudHolds is what a cloud holds of one story: native ids of live
// volumes, snapshots (and backups) and servers, sorted.
type cloudHolds struct {
	volumes, snapshots, servers []string
}

func (h cloudHolds) String() string {
	return fmt.Sprintf("volumes %v, snapshots/backups %v, servers %v", h.volumes, h.snapshots, h.servers)
}

func simEngine(cfg, cloud string, emu bool) *engine {
	return &engine{cfg: cfg, cloud: cloud, story: func(int) *story { return newStory(cloud, emu) }, holds: simHolds}
}

// discover runs the story once and lists the failpoints it passes, in the
// order first passed.
func discover(t *testing.T, eng crashRun) []string {
	data := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "failpoints.log")
	d, err := startWith(t, data, eng.cfg, "CANOPY_FAILPOINTS_LOG="+logPath)
	if err != nil {
		t.Fatal(err)
	}
	s := eng.story(-1)
	if err := s.run(t, d); err != nil {
		t.Fatalf("discovery run: %v", err)
	}
	s.settle(t, d, data)
	d.Stop()
	s.verify(t, data)
	s.cleanup(t, data)
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var points []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p := sc.Text(); !seen[p] {
			seen[p] = true
			points = append(points, p)
		}
	}
	if len(points) == 0 {
		t.Fatal("the story passed no failpoint")
	}
	return points
}

// crashResult is what one cloud's crash run covered.
type crashResult struct {
	points, kills, lineages int
	duplicates              int // crash duplicates canopy found and deleted
}

// firedRE finds, in canopyd's log, the failpoint that killed it.
var firedRE = regexp.MustCompile(`failpoint (\S+): SIGKILL`)

// crashCloud kills canopyd at each of points while it drives the cloud's
// story, one lineage after another until every point has fired.
func crashCloud(t *testing.T, eng crashRun, points []string) crashResult {
	cfg, cloud := eng.cfg, eng.cloud
	res := crashResult{points: len(points)}
	began := time.Now()
	killed := map[string]bool{}
	left := func() []string {
		var out []string
		for _, p := range points {
			if !killed[p] {
				out = append(out, p)
			}
		}
		return out
	}
	for lineage := 0; len(left()) > 0; lineage++ {
		if lineage > len(points) {
			t.Fatalf("%s: failpoints never reached from a fresh start: %v", cloud, left())
		}
		res.lineages++
		data := t.TempDir()
		s := eng.story(lineage)
		missed := map[string]bool{} // armed in this lineage without firing
		token := ""
		for {
			var armed []string
			for _, p := range left() {
				if !missed[p] {
					armed = append(armed, p)
					if !eng.together {
						break
					}
				}
			}
			var env []string
			if len(armed) > 0 {
				env = append(env, "CANOPY_FAILPOINTS="+strings.Join(armed, ","))
			}
			if token != "" {
				env = append(env, canopydtest.TokenEnv+"="+token)
			}
			d, err := startWith(t, data, cfg, env...)
			if err == nil {
				token = d.Token
				err = s.run(t, d)
			}
			if errors.Is(err, errDied) {
				fired := ""
				if m := firedRE.FindStringSubmatch(d.Logs()); m != nil && slices.Contains(armed, m[1]) {
					fired = m[1]
				}
				if fired == "" {
					t.Fatalf("%s: canopyd died but not at an armed failpoint %q:\n%s", cloud, armed, d.Logs())
				}
				killed[fired] = true
				res.kills++
				if os.Getenv("CANOPY_CRASH_DEBUG") != "" {
					t.Logf("%s: lineage %d: killed at %s (%s since the test began)", cloud, lineage+1, fired, time.Since(began).Round(time.Millisecond))
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", cloud, err)
			}
			// The story is done. An armed point that did not fire is for a
			// fresh lineage; the invariants hold for this one now.
			for _, p := range armed {
				missed[p] = true
			}
			if os.Getenv("CANOPY_CRASH_DEBUG") != "" {
				t.Logf("%s: lineage %d: story done (%s)", cloud, lineage+1, time.Since(began).Round(time.Millisecond))
			}
			res.duplicates += s.settle(t, d, data)
			d.Stop()
			s.verify(t, data)
			if os.Getenv("CANOPY_CRASH_DEBUG") != "" {
				t.Logf("%s: lineage %d: verified (%s)", cloud, lineage+1, time.Since(began).Round(time.Millisecond))
			}
			s.cleanup(t, data)
			break
		}
	}
	return res
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash-safety test: kills and restarts canopyd many times")
	}
	cfg := canopydtest.WriteConfig(t, crashConfig)
	type cloudCase struct {
		cloud  string
		emu    bool
		points []string
	}
	cases := []*cloudCase{{cloud: "native"}, {cloud: "emu", emu: true}}
	t.Run("discover", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.cloud, func(t *testing.T) {
				t.Parallel()
				tc.points = discover(t, simEngine(cfg, tc.cloud, tc.emu).lineages())
			})
		}
	})
	// A point both stories pass (the same operation kind and step) is
	// killed once, in one cloud's run or the other's (alternately, so the
	// two runs take about as long); the emulating cloud's run also kills
	// the points only its path has (copies, fills, deferred volumes, boots).
	inEmu := map[string]bool{}
	for _, p := range cases[1].points {
		inEmu[p] = true
	}
	mine := map[string]bool{}
	var nat []string
	for _, p := range cases[0].points {
		if !inEmu[p] || len(mine)%2 == 0 {
			nat = append(nat, p)
			if inEmu[p] {
				mine[p] = true
			}
			continue
		}
		mine[p] = false
	}
	var emu []string
	for _, p := range cases[1].points {
		if taken, shared := mine[p]; !shared || !taken {
			emu = append(emu, p)
		}
	}
	cases[0].points, cases[1].points = nat, emu
	results := make([]crashResult, len(cases))
	t.Run("kill", func(t *testing.T) {
		for i, tc := range cases {
			t.Run(tc.cloud, func(t *testing.T) {
				t.Parallel()
				results[i] = crashCloud(t, simEngine(cfg, tc.cloud, tc.emu).lineages(), tc.points)
			})
		}
	})
	total := 0
	for i, tc := range cases {
		total += results[i].kills
		t.Logf("crash safety, cloud %s: %d kill points, %d SIGKILLs, %d lineages", tc.cloud, results[i].points, results[i].kills, results[i].lineages)
	}
	for _, tc := range cases {
		t.Logf("%s kill points: %s", tc.cloud, strings.Join(tc.points, " "))
	}
	t.Logf("crash safety: %d kill points covered (each one SIGKILL, restart, resume, invariants checked)", total)
}

// simState is the part of a sim cloud's state file the test counts.
type simState struct {
	Servers []struct {
		Server struct {
			NativeID string
		} `json:"server"`
		To providers.Status `json:"to"`
	} `json:"servers"`
	Volumes struct {
		Volumes   map[string]struct{ T struct{ To string } } `json:"volumes"`
		Snapshots map[string]struct{ T struct{ To string } } `json:"snapshots"`
		Backups   map[string]struct{ T struct{ To string } } `json:"backups"`
	} `json:"volumes"`
}

func liveKeys(m map[string]struct{ T struct{ To string } }) []string {
	var out []string
	for id, r := range m {
		if r.T.To != "deleted" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// verifyCrashInvariants reads canopyd's store and the sim's state file
// after a stop and checks that nothing was lost, duplicated or leaked.
func verifyCrashInvariants(t *testing.T, data string, s *story, eng *engine) {
	t.Helper()
	holds := eng.holds(t, data, s)
	dir := filepath.Join(data, "canopy")
	st, err := bolt.Open(filepath.Join(dir, "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()

	// Every operation ended, and ended well.
	ops, err := st.ListOperations(ctx, store.OperationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if !op.Done || (op.ErrorCode != 0 && !(op.ErrorCode == int32(codes.Canceled) && strings.Contains(op.RequestID, "cancel"))) {
			t.Errorf("%s: operation %s (%s, step %s) done=%v error %d %s", s.cloud, op.ID, op.Kind, op.Step, op.Done, op.ErrorCode, op.ErrorMessage)
		}
	}

	// What survives is mapped to what the cloud has; what was deleted is
	// forgotten.
	vols, srvs, deleted := s.survivors()
	natives := map[string]string{}
	for _, id := range append(append([]string(nil), vols...), srvs...) {
		m, err := st.Get(ctx, id)
		if err != nil || m.Pending() || m.Cloud != s.cloud {
			t.Errorf("%s: mapping of %s = %+v, %v; want bound in this cloud", s.cloud, id, m, err)
		}
		natives[id] = m.NativeID
	}
	for _, id := range deleted {
		if m, err := st.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: deleted %s still mapped: %+v, %v", s.cloud, id, m, err)
		}
	}

	// The cloud holds exactly what canopy knows: no duplicate, no leak.
	var wantVols, wantSrvs []string
	for _, id := range vols {
		wantVols = append(wantVols, natives[id])
	}
	for _, id := range srvs {
		wantSrvs = append(wantSrvs, natives[id])
	}
	sort.Strings(wantVols)
	sort.Strings(wantSrvs)
	if fmt.Sprint(holds.volumes) != fmt.Sprint(wantVols) {
		t.Errorf("%s: the cloud has volumes %v, canopy's survivors are %v", s.cloud, holds.volumes, wantVols)
	}
	if len(holds.snapshots) != 0 {
		t.Errorf("%s: the cloud still has snapshots/backups %v", s.cloud, holds.snapshots)
	}
	if fmt.Sprint(holds.servers) != fmt.Sprint(wantSrvs) {
		t.Errorf("%s: the cloud has servers %v, canopy's survivors are %v", s.cloud, holds.servers, wantSrvs)
	}
	for _, kind := range []string{providers.KindVolume, providers.KindSnapshot, providers.KindBackup, providers.KindServer} {
		ms, err := st.List(ctx, s.cloud, kind)
		if err != nil {
			t.Fatal(err)
		}
		var bound int
		for _, m := range ms {
			if m.ID == store.AdoptedID(s.cloud, kind, m.NativeID) {
				continue // adopted: made outside this story (a real cloud holds others')
			}
			if m.Pending() {
				t.Errorf("%s: %s %s is still pending", s.cloud, kind, m.ID)
			} else {
				bound++
			}
		}
		want := map[string]int{providers.KindVolume: len(vols), providers.KindServer: len(srvs)}[kind]
		if bound != want {
			t.Errorf("%s: %d %s ids mapped, want %d: %+v", s.cloud, bound, kind, want, ms)
		}
	}
	for _, ns := range []string{"emulated", "emulated-data"} {
		if rs, err := st.ListRecords(ctx, ns, ""); err != nil || len(rs) != 0 {
			t.Errorf("%s: emulation records left in %s: %d, %v", s.cloud, ns, len(rs), err)
		}
	}
}

// simHolds reads a sim cloud's state file.
func simHolds(t *testing.T, data string, s *story) cloudHolds {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, "canopy", "sim-"+s.cloud+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var sim simState
	if err := json.Unmarshal(raw, &sim); err != nil {
		t.Fatal(err)
	}
	h := cloudHolds{volumes: liveKeys(sim.Volumes.Volumes), snapshots: append(liveKeys(sim.Volumes.Snapshots), liveKeys(sim.Volumes.Backups)...)}
	for _, sv := range sim.Servers {
		if sv.To != providers.StatusDeleted {
			h.servers = append(h.servers, sv.Server.NativeID)
		}
	}
	sort.Strings(h.servers)
	return h
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	for _, x := range a {
		if !in[x] {
			return false
		}
	}
	return true
}

// settle lets canopy's own reconciliation finish before the invariants are
// checked: on a real engine a create repeated after a crash may have made a
// second resource the look-up could not see in time (a request the dead
// process sent was still queued in the API past the create window); lists
// through canopy find it and delete it. settle lists until the cloud holds
// nothing canopy does not show (or 3 minutes pass; the check then reports the
// difference) and returns how many duplicates canopy deleted.
func settle(t *testing.T, d *canopydtest.Daemon, eng *engine, data string, s *story) int {
	t.Helper()
	if eng.cleanup == nil {
		return 0 // the sim: creates are atomic, nothing to wait for
	}
	vol := canopyv1.NewVolumeServiceClient(d.Conn)
	loc := &canopyv1.Location{Cloud: s.cloud}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var want cloudHolds
		ls, err := d.Compute.ListServers(ctx, &canopyv1.ListServersRequest{Location: loc, PageSize: 1000})
		if err == nil {
			for _, sv := range ls.Servers {
				if strings.HasPrefix(sv.Name, s.prefix) && sv.Status != canopyv1.Status_STATUS_DELETED && sv.Status != canopyv1.Status_STATUS_DELETING {
					want.servers = append(want.servers, sv.NativeId)
				}
			}
		}
		lv, err2 := vol.ListVolumes(ctx, &canopyv1.ListVolumesRequest{Location: loc, PageSize: 1000})
		if err2 == nil {
			for _, v := range lv.Volumes {
				if strings.HasPrefix(v.Name, s.prefix) && v.Status != canopyv1.Status_STATUS_DELETED && v.Status != canopyv1.Status_STATUS_DELETING {
					want.volumes = append(want.volumes, v.NativeId)
				}
			}
		}
		cancel()
		sort.Strings(want.servers)
		sort.Strings(want.volumes)
		got := eng.holds(t, data, s)
		if err == nil && err2 == nil && subset(got.servers, want.servers) && subset(got.volumes, want.volumes) && len(got.snapshots) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("%s: after 3 minutes the cloud holds %v; canopy shows servers %v, volumes %v (lists: %v, %v)", s.cloud, got, want.servers, want.volumes, err, err2)
			break
		}
		time.Sleep(time.Second)
	}
	n := 0
	for _, line := range strings.Split(d.Logs(), "\n") {
		if strings.Contains(line, "duplicate: ") {
			t.Logf("%s: %s", s.cloud, line)
			if strings.Contains(line, "duplicate: deleted") {
				n++
			}
		}
	}
	return n
}
