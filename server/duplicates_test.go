package server

import (
	"context"
	"errors"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// dupCount reads canopy_duplicates_total for one cloud, kind and action.
func (e *env) dupCount(t *testing.T, cloud, kind, action string) float64 {
	t.Helper()
	mfs, err := e.srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "canopy_duplicates_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsAre(m, map[string]string{"cloud": cloud, "kind": kind, "action": action}) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsAre(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}

// eventually polls cond until it holds, or fails the test once
// testDeadline has passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(testDeadline); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: still not so after %s", what, testDeadline)
}

// A second cloud resource carrying the token of an id bound to another —
// what a create repeated after a crash leaves where the look-up missed the
// first — is never listed nor adopted; canopy deletes it, or with
// `duplicates: report` leaves it and reports it.
func TestCrashDuplicates(t *testing.T) {
	for _, mode := range []string{"delete", "report"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, "duplicates: "+mode+"\nclouds: [{name: local, kind: sim, zones: [z1], cache: {servers: 10ms, volumes: 10ms}, options: "+fastSim+"}]")
			ctx := ctxT(t)
			c := e.volumes()
			sim := e.sim("local")

			sv, err := e.compute.CreateServer(ctx, &canopyv1.CreateServerRequest{Name: "web", Flavor: "m1.tiny", Image: "cirros-0.6.2", RequestId: "dup-web", Wait: true})
			if err != nil {
				t.Fatal(err)
			}
			dupSrv, err := sim.DuplicateServer(sv.NativeId)
			if err != nil {
				t.Fatal(err)
			}
			vol := resultOf(t, c.ok(t)(c.vol.CreateVolume(ctx, &canopyv1.CreateVolumeRequest{Name: "data", SizeGib: 1, RequestId: "dup-data", Wait: true})), &canopyv1.Volume{})
			dupVol, err := sim.DuplicateVolume(vol.NativeId)
			if err != nil {
				t.Fatal(err)
			}

			// Never listed, however often canopy looks (lists are what
			// find duplicates: each check below lists first).
			listed := func() {
				t.Helper()
				ls, err := e.compute.ListServers(ctx, &canopyv1.ListServersRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if len(ls.Servers) != 1 || ls.Servers[0].Id != sv.Id || ls.Servers[0].NativeId != sv.NativeId {
					t.Fatalf("servers listed: %v; want only %s (%s)", ls.Servers, sv.Id, sv.NativeId)
				}
				lv, err := c.vol.ListVolumes(ctx, &canopyv1.ListVolumesRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if len(lv.Volumes) != 1 || lv.Volumes[0].Id != vol.Id || lv.Volumes[0].NativeId != vol.NativeId {
					t.Fatalf("volumes listed: %v; want only %s (%s)", lv.Volumes, vol.Id, vol.NativeId)
				}
			}
			listed()
			action := router.DuplicateDeleted
			if mode == "report" {
				action = router.DuplicateReported
			}
			eventually(t, "lists find the duplicates", func() bool {
				listed()
				return e.dupCount(t, "local", providers.KindServer, action) > 0 && e.dupCount(t, "local", providers.KindVolume, action) > 0
			})
			// Never adopted under an id of its own.
			for kind, native := range map[string]string{providers.KindServer: dupSrv, providers.KindVolume: dupVol} {
				if m, err := e.st.Lookup(ctx, "local", kind, native); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("duplicate %s %s is mapped: %+v, %v", kind, native, m, err)
				}
			}
			// The originals keep their ids.
			if got, err := e.compute.GetServer(ctx, &canopyv1.GetServerRequest{Id: sv.Id}); err != nil || got.NativeId != sv.NativeId {
				t.Errorf("GetServer(%s) = %v, %v", sv.Id, got, err)
			}

			serverGone := func() bool {
				listed()
				_, err := sim.GetServer(context.Background(), dupSrv)
				return errors.Is(err, providers.ErrNotFound)
			}
			volumeGone := func() bool {
				listed()
				x, err := sim.GetVolume(context.Background(), dupVol)
				return errors.Is(err, providers.ErrNotFound) || x.Status == providers.StatusDeleting
			}
			if mode == "delete" {
				eventually(t, "the duplicate server is deleted", serverGone)
				eventually(t, "the duplicate volume is deleted", volumeGone)
			}
			eventually(t, "canopy_duplicates_total counts both", func() bool {
				listed()
				return e.dupCount(t, "local", providers.KindServer, action) == 1 && e.dupCount(t, "local", providers.KindVolume, action) == 1
			})
			// Once both were counted, canopy has decided about them: in
			// report mode they are still there.
			if mode != "delete" && (serverGone() || volumeGone()) {
				t.Fatal("report mode deleted a duplicate")
			}
			// The volume's create operation says what was found.
			op, err := c.ops.GetOperation(ctx, &canopyv1.GetOperationRequest{Id: opIDOf(t, e, vol.Id)})
			if err != nil {
				t.Fatal(err)
			}
			if d := op.GetMetadata().GetDuplicates(); len(d) != 1 || d[0].NativeId != dupVol || d[0].Action != action {
				t.Errorf("operation metadata duplicates = %v, want %s %s", d, dupVol, action)
			}
		})
	}
}

func opIDOf(t *testing.T, e *env, target string) string {
	t.Helper()
	ops, err := e.st.ListOperations(context.Background(), store.OperationFilter{TargetID: target})
	if err != nil || len(ops) == 0 {
		t.Fatalf("operations of %s: %v, %v", target, ops, err)
	}
	return ops[0].ID
}
