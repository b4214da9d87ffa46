package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/canopy-cloud/canopy/providers"
	"github.com/canopy-cloud/canopy/providers/sim"
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
)

// TestClaimed: a listed resource whose token names a pending id is bound
// to it (the answer a crashed create lost); a second resource with the
// token of an id bound to another is a crash duplicate: not listed, never
// given an id, deleted (duplicates: delete) or only reported (report), and
// recorded for the creating operation.
func TestClaimed(t *testing.T) {
	for _, mode := range []string{"delete", "report"} {
		t.Run(mode, func(t *testing.T) {
			r, st := openRouter(t, "duplicates: "+mode+"\nclouds: [{name: s1, kind: sim}]")
			cl, _ := r.Cloud("s1")
			c := cl.Provider.(*sim.Cloud)
			ctx := context.Background()

			// canopy reserved an id, the cloud made the volume, canopy
			// crashed before binding it.
			m, _, err := st.Reserve(ctx, store.Mapping{Cloud: "s1", Kind: providers.KindVolume, Project: "default"})
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "v", SizeGiB: 1, IdempotencyToken: m.ID})
			if err != nil {
				t.Fatal(err)
			}
			deleted := make(chan string, 4)
			del := func(ctx context.Context, native string) error {
				deleted <- native
				return c.DeleteVolume(ctx, native)
			}
			list := func() ([]providers.Volume, map[string]store.Mapping) {
				t.Helper()
				return claimedVolumes(t, r, cl, del)
			}
			got, ids := list()
			if len(got) != 1 || ids[v.NativeID].ID != m.ID {
				t.Fatalf("Claimed = %d volumes, id %q for %s; want the one volume under the reserved id %s", len(got), ids[v.NativeID].ID, v.NativeID, m.ID)
			}
			if b, err := st.Get(ctx, m.ID); err != nil || b.NativeID != v.NativeID {
				t.Errorf("the pending id is %+v, %v; want it bound to %s", b, err, v.NativeID)
			}

			// The create ran again after the crash and made a second one.
			dup, err := c.DuplicateVolume(v.NativeID)
			if err != nil {
				t.Fatal(err)
			}
			got, ids = list()
			if len(got) != 1 || got[0].NativeID != v.NativeID {
				t.Errorf("Claimed lists %v; want only %s", got, v.NativeID)
			}
			if _, ok := ids[dup]; ok {
				t.Errorf("the duplicate %s got an id: %+v", dup, ids[dup])
			}
			if _, err := st.Lookup(ctx, "s1", providers.KindVolume, dup); err == nil {
				t.Errorf("the duplicate %s is in the id map", dup)
			}
			action := router.DuplicateReported
			if mode == "delete" {
				action = router.DuplicateDeleted
				select {
				case n := <-deleted:
					if n != dup {
						t.Errorf("deleted %s, want the duplicate %s", n, dup)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the duplicate was not deleted")
				}
			}
			r.WaitDuplicates() // handled in the background: wait for it
			if ds := router.DuplicatesOf(ctx, st, m.ID); len(ds) != 1 || ds[0].NativeId != dup || ds[0].Action != action {
				t.Errorf("recorded duplicates %v; want %s, %q", ds, dup, action)
			}
			if n := testutil.ToFloat64(r.DuplicatesCollector()); n != 1 {
				t.Errorf("canopy_duplicates_total = %v, want 1", n)
			}
			if mode == "report" {
				if _, err := c.GetVolume(ctx, dup); err != nil {
					t.Errorf("report mode: the duplicate is gone from the cloud: %v", err)
				}
				if len(deleted) != 0 {
					t.Errorf("report mode deleted %s", <-deleted)
				}
				// Reported once per process, not at every list.
				list()
				r.WaitDuplicates()
				if n := testutil.ToFloat64(r.DuplicatesCollector()); n != 1 {
					t.Errorf("after another list, canopy_duplicates_total = %v, want 1", n)
				}
			}
		})
	}
}

// A resource canopy bound to an id of its own is never a crash duplicate,
// whatever token it carries: Cinder's backup restore writes the source
// volume's metadata — its canopy token — over the restored volume's, and
// canopy must not delete the user's restored volume for it.
func TestClaimedKeepsAResourceBoundToItsOwnID(t *testing.T) {
	r, st := openRouter(t, "duplicates: delete\nclouds: [{name: s1, kind: sim}]")
	cl, _ := r.Cloud("s1")
	c := cl.Provider.(*sim.Cloud)
	ctx := context.Background()
	src, _, err := st.Reserve(ctx, store.Mapping{Cloud: "s1", Kind: providers.KindVolume, Project: "default"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.CreateVolume(ctx, providers.VolumeSpec{Name: "src", SizeGiB: 1, IdempotencyToken: src.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Bind(ctx, src.ID, v.NativeID); err != nil {
		t.Fatal(err)
	}
	// The restored volume: canopy's own id, bound at the create's answer;
	// the cloud then copied the source's token onto it.
	restored, err := c.DuplicateVolume(v.NativeID)
	if err != nil {
		t.Fatal(err)
	}
	own, _, err := st.Reserve(ctx, store.Mapping{Cloud: "s1", Kind: providers.KindVolume, Project: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Bind(ctx, own.ID, restored); err != nil {
		t.Fatal(err)
	}
	del := func(ctx context.Context, native string) error {
		t.Errorf("deleted %s", native)
		return nil
	}
	got, ids := claimedVolumes(t, r, cl, del)
	r.WaitDuplicates()
	if len(got) != 2 || ids[restored].ID != own.ID || ids[v.NativeID].ID != src.ID {
		t.Fatalf("Claimed = %d volumes, ids %v; want both, the restored one under %s", len(got), ids, own.ID)
	}
	if n := testutil.CollectAndCount(r.DuplicatesCollector()); n != 0 {
		t.Errorf("canopy_duplicates_total has %d series, want none", n)
	}
}

// claimedVolumes lists the cloud's volumes afresh through router.Claimed.
func claimedVolumes(t *testing.T, r *router.Router, cl *router.Cloud, del func(context.Context, string) error) ([]providers.Volume, map[string]store.Mapping) {
	t.Helper()
	ctx := context.Background()
	cl.StorageCache.InvalidateVolumes()
	vols, err := cl.StorageCache.ListVolumes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, ids, err := router.Claimed(ctx, r, cl, providers.KindVolume, vols, func(x providers.Volume) providers.Common { return x.Common }, del)
	if err != nil {
		t.Fatal(err)
	}
	return got, ids
}
