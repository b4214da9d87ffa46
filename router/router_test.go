package router_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	_ "github.com/canopy-cloud/canopy/providers/sim" // the "sim" adapter
	"github.com/canopy-cloud/canopy/router"
	"github.com/canopy-cloud/canopy/store"
	"github.com/canopy-cloud/canopy/store/bolt"
)

// openRouter opens a router over the config in yaml (sim clouds), with
// its own store.
func openRouter(t *testing.T, yaml string) (*router.Router, store.Store) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "canopy.db"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.Open(context.Background(), cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); _ = st.Close() })
	return r, st
}

// Three clouds: a declares its zones in the config, b and c discover
// theirs (the sim's Info) and both report zone "shared"; zone "mapped" is
// mapped to a by the config's zones:.
const threeClouds = `
clouds:
  - {name: a, kind: sim, regions: [ra], zones: [a1, a2]}
  - {name: b, kind: sim, regions: [rb], options: {zones: [b1, shared]}}
  - {name: c, kind: sim, regions: [rc], options: {zones: [c1, shared]}}
zones: {mapped: a}
`

func TestRouteCreate(t *testing.T) {
	r, _ := openRouter(t, threeClouds)
	for _, tc := range []struct {
		name string
		loc  *canopyv1.Location
		want string // the cloud, or "" for an error
		// field and msg: the INVALID_ARGUMENT's field and a part of its message
		field, msg string
	}{
		{"by cloud", &canopyv1.Location{Cloud: "b"}, "b", "", ""},
		{"by declared zone", &canopyv1.Location{Zone: "a2"}, "a", "", ""},
		{"by discovered zone", &canopyv1.Location{Zone: "c1"}, "c", "", ""},
		{"by mapped zone", &canopyv1.Location{Zone: "mapped"}, "a", "", ""},
		{"cloud and its zone", &canopyv1.Location{Cloud: "b", Zone: "b1"}, "b", "", ""},
		{"cloud and its region", &canopyv1.Location{Cloud: "c", Region: "rc"}, "c", "", ""},
		{"unknown cloud", &canopyv1.Location{Cloud: "z"}, "", "location.cloud", `unknown cloud "z"`},
		{"unknown zone", &canopyv1.Location{Zone: "nowhere"}, "", "location.zone", `unknown zone "nowhere"`},
		{"zone of two clouds", &canopyv1.Location{Zone: "shared"}, "", "location.zone", `offered by clouds [b c]`},
		{"zone of another cloud", &canopyv1.Location{Cloud: "a", Zone: "b1"}, "", "location.zone", `belongs to cloud "b", not "a"`},
		{"region the cloud lacks", &canopyv1.Location{Cloud: "a", Region: "rb"}, "", "location.region", `has no region "rb"`},
		{"nothing, with three clouds", nil, "", "location", "3 clouds are configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := r.RouteCreate(tc.loc)
			if tc.want != "" {
				if err != nil || cl.Name != tc.want {
					t.Fatalf("RouteCreate = %v, %v; want cloud %s", cl, err, tc.want)
				}
				return
			}
			checkBadRequest(t, err, tc.field, tc.msg)
		})
	}
}

func TestRouteCreateOneCloud(t *testing.T) {
	r, _ := openRouter(t, "clouds: [{name: only, kind: sim}]")
	if cl, err := r.RouteCreate(nil); err != nil || cl.Name != "only" {
		t.Errorf("RouteCreate(no location) = %v, %v; want the only cloud", cl, err)
	}
}

func TestListTargets(t *testing.T) {
	r, _ := openRouter(t, threeClouds)
	for _, tc := range []struct {
		name       string
		loc        *canopyv1.Location
		want       []string
		field, msg string
	}{
		{"everywhere", nil, []string{"a", "b", "c"}, "", ""},
		{"region alone does not narrow", &canopyv1.Location{Region: "rb"}, []string{"a", "b", "c"}, "", ""},
		{"one cloud", &canopyv1.Location{Cloud: "c"}, []string{"c"}, "", ""},
		{"the cloud of a zone", &canopyv1.Location{Zone: "b1"}, []string{"b"}, "", ""},
		{"unknown cloud", &canopyv1.Location{Cloud: "z"}, nil, "location.cloud", "known: [a b c]"},
		{"ambiguous zone", &canopyv1.Location{Zone: "shared"}, nil, "location.zone", "set location.cloud"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cls, err := r.ListTargets(tc.loc)
			if tc.field != "" {
				checkBadRequest(t, err, tc.field, tc.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, cl := range cls {
				got = append(got, cl.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("ListTargets = %v, want %v", got, tc.want)
			}
		})
	}
}

// checkBadRequest checks err is INVALID_ARGUMENT about field, saying msg.
func checkBadRequest(t *testing.T, err error, field, msg string) {
	t.Helper()
	st := status.Convert(err)
	if err == nil || st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), field+": ") || !strings.Contains(st.Message(), msg) {
		t.Fatalf("err = %v; want INVALID_ARGUMENT on %s saying %q", err, field, msg)
	}
}

func TestLookupIDHidesOtherKindsAndProjects(t *testing.T) {
	r, st := openRouter(t, threeClouds)
	ctx := auth.NewContext(context.Background(), auth.Principal{Project: "default"})
	m, _, err := st.Reserve(ctx, store.Mapping{Cloud: "b", Kind: "volume", NativeID: "vol-1", Project: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if cl, got, err := r.LookupID(ctx, "volume", m.ID); err != nil || cl.Name != "b" || got.NativeID != "vol-1" {
		t.Errorf("LookupID = %v, %+v, %v; want cloud b, vol-1", cl, got, err)
	}
	for _, tc := range []struct {
		name, kind, id string
	}{
		{"another kind", "snapshot", m.ID},
		{"an unknown id", "volume", store.NewID()},
	} {
		if _, _, err := r.LookupID(ctx, tc.kind, tc.id); status.Code(err) != codes.NotFound {
			t.Errorf("%s: err = %v, want NOT_FOUND", tc.name, err)
		}
	}
	other, _, err := st.Reserve(ctx, store.Mapping{Cloud: "b", Kind: "volume", NativeID: "vol-2", Project: "someone-else"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.LookupID(ctx, "volume", other.ID); status.Code(err) != codes.NotFound {
		t.Errorf("another project's id: err = %v, want NOT_FOUND", err)
	}
}
