package openstack

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/canopy-cloud/canopy/providers"
)

// newCinderFake is the fake cloud with a Cinder v3 at /volume/v3/p (given
// as an endpoint override, as openstacksdk's block_storage_endpoint_override).
func newCinderFake(t *testing.T, opts map[string]any) (*fakeCloud, *Cloud) {
	f := newFakeCloud(t, "2.93")
	f.route("GET /volume/v3", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"versions": []map[string]any{{"id": "v3.0", "status": "CURRENT", "version": "3.70", "min_version": "3.0",
			"links": []map[string]string{{"rel": "self", "href": f.srv.URL + "/volume/v3/"}}}}})
	})
	o := map[string]any{"endpoint_override": map[string]any{"volume": f.srv.URL + "/volume/v3/p"}}
	for k, v := range opts {
		o[k] = v
	}
	return f, f.open(o)
}

func cinderVolume(id, status string, size int, extra map[string]any) map[string]any {
	v := map[string]any{"id": id, "name": "vol-" + id, "status": status, "size": size, "availability_zone": "nova",
		"created_at": "2026-01-02T03:04:05.000000", "updated_at": "2026-01-02T03:04:06.000000", "volume_type": "fake",
		"bootable": "false", "attachments": []any{}, "metadata": map[string]string{}}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

func badRequest(msg string) map[string]any {
	return map[string]any{"badRequest": map[string]any{"code": 400, "message": msg}}
}

func TestVolumeStatus(t *testing.T) {
	for raw, want := range map[string]providers.Status{
		"creating": providers.StatusPending, "downloading": providers.StatusPending,
		"available": providers.StatusActive, "in-use": providers.StatusActive,
		"attaching": providers.StatusUpdating, "detaching": providers.StatusUpdating, "extending": providers.StatusUpdating,
		"backing-up": providers.StatusUpdating, "restoring-backup": providers.StatusUpdating, "reserved": providers.StatusUpdating,
		"deleting": providers.StatusDeleting,
		"error":    providers.StatusError, "error_deleting": providers.StatusError, "error_extending": providers.StatusError,
		"error_restoring": providers.StatusError, "error_backing-up": providers.StatusError,
		"something-new": providers.StatusUnknown,
	} {
		if got := volumeStatus(raw); got != want {
			t.Errorf("volumeStatus(%q) = %v, want %v", raw, got, want)
		}
	}
	for raw, want := range map[string]providers.Status{
		"creating": providers.StatusPending, "available": providers.StatusActive, "deleting": providers.StatusDeleting,
		"error": providers.StatusError, "error_deleting": providers.StatusError, "backing-up": providers.StatusUpdating,
	} {
		if got := snapshotStatus(raw); got != want {
			t.Errorf("snapshotStatus(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestTokenValue(t *testing.T) {
	if got := tokenValue("3f1c-abc"); got != "3f1c-abc" {
		t.Errorf("tokenValue(plain) = %q", got)
	}
	for _, tok := range []string{"it's", `a\b`, "{x}", strings.Repeat("x", 300), "é"} {
		if got := tokenValue(tok); !strings.HasPrefix(got, "sha256:") || len(got) != 7+64 {
			t.Errorf("tokenValue(%q) = %q, want a sha256", tok, got)
		}
	}
	// The value is what a replayed create looks its volume up by: distinct
	// tokens must never share one (else a create returns another's volume),
	// and the same token always gives the same one. A plain token that
	// looks like another's digest is hashed too.
	inputs := []string{"3f1c-abc", "3f1c-abd", "it's", "its", "it`s", `a\b`, `a\\b`, "{x}", "{x", "x}",
		strings.Repeat("x", 200), strings.Repeat("x", 201), strings.Repeat("x", 300), "é", "e", "tok\n", "tok", "",
		"sha256:" + strings.TrimPrefix(tokenValue("it's"), "sha256:")}
	seen := map[string]string{}
	for _, tok := range inputs {
		got := tokenValue(tok)
		if again := tokenValue(tok); again != got {
			t.Errorf("tokenValue(%q) = %q, then %q", tok, got, again)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("tokenValue(%q) = tokenValue(%q) = %q: distinct tokens share a value", tok, other, got)
		}
		seen[got] = tok
	}
}

func TestListVolumesPagesAndConverts(t *testing.T) {
	f, c := newCinderFake(t, map[string]any{"page_size": 1})
	f.route("GET /volume/v3/p/volumes/detail", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("limit") != "1" {
			t.Errorf("list without the page size: %s", r.URL.RawQuery)
		}
		if got := r.Header.Get("OpenStack-API-Version"); got != "volume "+CinderMicroversion {
			t.Errorf("OpenStack-API-Version = %q, want volume %s", got, CinderMicroversion)
		}
		if r.URL.Query().Get("marker") == "" {
			f.json(w, 200, map[string]any{
				"volumes": []any{cinderVolume("a", "in-use", 3, map[string]any{
					"metadata":              map[string]string{"env": "dev", volumeTokenKey: "tok-a"},
					"attachments":           []any{map[string]any{"server_id": "srv1", "device": "/dev/vdb", "volume_id": "a", "id": "a"}},
					"bootable":              "true",
					"volume_image_metadata": map[string]string{"image_id": "img1"},
				})},
				"volumes_links": []map[string]string{{"rel": "next", "href": f.srv.URL + "/volume/v3/p/volumes/detail?limit=1&marker=a"}},
			})
			return
		}
		f.json(w, 200, map[string]any{"volumes": []any{cinderVolume("b", "error_extending", 1, map[string]any{"snapshot_id": "s1"})}})
	})
	list, err := c.ListVolumes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("ListVolumes = %d volumes, want 2 (two pages)", len(list))
	}
	a, b := list[0], list[1]
	if a.NativeID != "a" || a.Status != providers.StatusActive || a.ProviderStatus != "in-use" || a.SizeGiB != 3 || a.Zone != "nova" ||
		a.Type != "fake" || !a.Bootable || a.ImageID != "img1" || a.Created.IsZero() || a.Region != "FakeOne" {
		t.Errorf("volume a = %+v", a)
	}
	if len(a.Labels) != 1 || a.Labels["env"] != "dev" || a.Properties["client_token"] != "tok-a" {
		t.Errorf("volume a labels %v properties %v: want the token out of the labels", a.Labels, a.Properties)
	}
	if len(a.Attachments) != 1 || a.Attachments[0] != (providers.Attachment{ServerID: "srv1", Device: "/dev/vdb"}) {
		t.Errorf("volume a attachments = %+v", a.Attachments)
	}
	if b.Status != providers.StatusError || b.ProviderStatus != "error_extending" || b.SnapshotID != "s1" || b.StatusMessage == "" {
		t.Errorf("volume b = %+v", b)
	}
}

func TestCreateVolumeReturnsTheTokensVolume(t *testing.T) {
	f, c := newCinderFake(t, nil)
	f.route("GET /volume/v3/p/volumes/detail", func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get("metadata"); got != "{'canopy-token':'tok1'}" {
			t.Errorf("lookup metadata filter = %q", got)
		}
		f.json(w, 200, map[string]any{"volumes": []any{
			cinderVolume("gone", "deleting", 1, map[string]any{"metadata": map[string]string{volumeTokenKey: "tok1"}}),
			cinderVolume("other", "available", 1, map[string]any{"metadata": map[string]string{volumeTokenKey: "tok2"}}),
			cinderVolume("v1", "creating", 1, map[string]any{"metadata": map[string]string{volumeTokenKey: "tok1"}}),
		}})
	})
	v, err := c.CreateVolume(t.Context(), providers.VolumeSpec{Name: "x", SizeGiB: 1, IdempotencyToken: "tok1"})
	if err != nil || v.NativeID != "v1" || v.Status != providers.StatusPending {
		t.Fatalf("CreateVolume = %+v, %v; want v1 PENDING", v, err)
	}
	if n := len(f.requests("POST /volume/v3/p/volumes")); n != 0 {
		t.Errorf("%d creates sent; want none (the token's volume exists)", n)
	}
}

func TestCreateVolumeSendsSpecAndDedupesARace(t *testing.T) {
	f, c := newCinderFake(t, nil)
	var lists atomic.Int32
	f.route("GET /volume/v3/p/volumes/detail", func(w http.ResponseWriter, r *http.Request) {
		if lists.Add(1) == 1 {
			f.json(w, 200, map[string]any{"volumes": []any{}})
			return
		}
		// Another replica created "older" between our lookup and our create.
		f.json(w, 200, map[string]any{"volumes": []any{
			cinderVolume("older", "creating", 2, map[string]any{"metadata": map[string]string{volumeTokenKey: "tok"}, "created_at": "2026-01-01T00:00:00.000000"}),
			cinderVolume("mine", "creating", 2, map[string]any{"metadata": map[string]string{volumeTokenKey: "tok"}}),
		}})
	})
	var body map[string]map[string]any
	f.route("POST /volume/v3/p/volumes", func(w http.ResponseWriter, r *http.Request) {
		if err := jsonDecode(r, &body); err != nil {
			t.Error(err)
		}
		f.json(w, 202, map[string]any{"volume": cinderVolume("mine", "creating", 2, map[string]any{"metadata": map[string]string{volumeTokenKey: "tok"}})})
	})
	f.route("DELETE /volume/v3/p/volumes/mine", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(202) })
	v, err := c.CreateVolume(t.Context(), providers.VolumeSpec{Name: "n", Zone: "nova", SizeGiB: 2, Type: "fake", Description: "d",
		ImageID: "img", Labels: map[string]string{"k": "v", volumeTokenKey: "forged"}, IdempotencyToken: "tok"})
	if err != nil || v.NativeID != "older" {
		t.Fatalf("CreateVolume = %+v, %v; want the race's winner (older)", v, err)
	}
	if n := len(f.requests("DELETE /volume/v3/p/volumes/mine")); n != 1 {
		t.Errorf("the loser was deleted %d times, want 1", n)
	}
	b := body["volume"]
	md, _ := b["metadata"].(map[string]any)
	if b["name"] != "n" || b["size"] != float64(2) || b["availability_zone"] != "nova" || b["volume_type"] != "fake" ||
		b["imageRef"] != "img" || b["description"] != "d" || md["k"] != "v" || md[volumeTokenKey] != "tok" {
		t.Errorf("create body = %v", b)
	}
}

func TestCreateVolumeInvalid(t *testing.T) {
	f, c := newCinderFake(t, nil)
	for _, spec := range []providers.VolumeSpec{
		{Name: "neg", SizeGiB: -1},
		{Name: "nosize"},
		{Name: "two", SizeGiB: 1, ImageID: "i", SnapshotID: "s"},
	} {
		if _, err := c.CreateVolume(t.Context(), spec); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("CreateVolume(%+v): err = %v, want ErrInvalid", spec, err)
		}
	}
	if n := len(f.requests("POST /volume/v3/p/volumes")); n != 0 {
		t.Errorf("%d creates sent for invalid specs", n)
	}
}

func TestDeleteVolumeStates(t *testing.T) {
	f, c := newCinderFake(t, nil)
	status := "in-use"
	f.route("DELETE /volume/v3/p/volumes/v1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 400, badRequest("Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer."))
	})
	f.route("GET /volume/v3/p/volumes/v1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"volume": cinderVolume("v1", status, 1, nil)})
	})
	err := c.DeleteVolume(t.Context(), "v1")
	if !errors.Is(err, providers.ErrConflict) || !strings.Contains(err.Error(), "must not be migrating, attached") {
		t.Errorf("DeleteVolume(attached) = %v, want ErrConflict with Cinder's message", err)
	}
	status = "deleting"
	if err := c.DeleteVolume(t.Context(), "v1"); err != nil {
		t.Errorf("DeleteVolume(deleting) = %v, want nil", err)
	}
	if err := c.DeleteVolume(t.Context(), "nope"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("DeleteVolume(missing) = %v, want ErrNotFound", err)
	}
}

func TestExtendVolume(t *testing.T) {
	f, c := newCinderFake(t, nil)
	f.route("GET /volume/v3/p/volumes/v1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"volume": cinderVolume("v1", "available", 2, nil)})
	})
	var body map[string]map[string]any
	f.route("POST /volume/v3/p/volumes/v1/action", func(w http.ResponseWriter, r *http.Request) {
		_ = jsonDecode(r, &body)
		w.WriteHeader(202)
	})
	if err := c.ExtendVolume(t.Context(), "v1", 1); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("shrink: %v, want ErrInvalid", err)
	}
	if err := c.ExtendVolume(t.Context(), "v1", 2); err != nil {
		t.Errorf("extend to the current size (a retry): %v, want nil", err)
	}
	if n := len(f.requests("POST /volume/v3/p/volumes/v1/action")); n != 0 {
		t.Errorf("%d actions sent for a shrink and a no-op", n)
	}
	if err := c.ExtendVolume(t.Context(), "v1", 5); err != nil {
		t.Fatal(err)
	}
	if body["os-extend"]["new_size"] != float64(5) {
		t.Errorf("action body = %v", body)
	}
	if err := c.ExtendVolume(t.Context(), "missing", 5); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("extend missing: %v, want ErrNotFound", err)
	}
}

func TestAttachDetach(t *testing.T) {
	f, c := newCinderFake(t, nil)
	vol := cinderVolume("v1", "available", 1, nil)
	f.route("GET /volume/v3/p/volumes/v1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"volume": vol})
	})
	novaAtts := []any{}
	f.route("GET /compute/v2.1/servers/s1/os-volume_attachments", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"volumeAttachments": novaAtts})
	})
	var body map[string]map[string]any
	f.route("POST /compute/v2.1/servers/s1/os-volume_attachments", func(w http.ResponseWriter, r *http.Request) {
		_ = jsonDecode(r, &body)
		f.json(w, 200, map[string]any{"volumeAttachment": map[string]any{"id": "v1", "volumeId": "v1", "serverId": "s1", "device": "/dev/vdb"}})
	})
	f.route("DELETE /compute/v2.1/servers/s1/os-volume_attachments/v1", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(202) })

	if err := c.AttachVolume(t.Context(), "v1", "s1"); err != nil {
		t.Fatal(err)
	}
	if body["volumeAttachment"]["volumeId"] != "v1" {
		t.Errorf("attach body = %v", body)
	}
	// A retry once Nova has the attachment: done, nothing sent.
	novaAtts = []any{map[string]any{"id": "v1", "volumeId": "v1", "serverId": "s1"}}
	if err := c.AttachVolume(t.Context(), "v1", "s1"); err != nil || len(f.requests("POST /compute/v2.1/servers/s1/os-volume_attachments")) != 1 {
		t.Errorf("attach retry: %v, %d posts", err, len(f.requests("POST /compute/v2.1/servers/s1/os-volume_attachments")))
	}
	// Attached to another server: conflict.
	novaAtts = []any{}
	vol = cinderVolume("v1", "in-use", 1, map[string]any{"attachments": []any{map[string]any{"server_id": "s2"}}})
	if err := c.AttachVolume(t.Context(), "v1", "s1"); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("attach while attached elsewhere: %v, want ErrConflict", err)
	}
	if err := c.AttachVolume(t.Context(), "v1", "nosuch"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("attach to a missing server: %v, want ErrNotFound", err)
	}
	// Detach from a server it is not attached to: conflict, nothing sent.
	if err := c.DetachVolume(t.Context(), "v1", "s1"); !errors.Is(err, providers.ErrConflict) {
		t.Errorf("detach when not attached: %v, want ErrConflict", err)
	}
	vol = cinderVolume("v1", "in-use", 1, map[string]any{"attachments": []any{map[string]any{"server_id": "s1"}}})
	if err := c.DetachVolume(t.Context(), "v1", "s1"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests("DELETE /compute/v2.1/servers/s1/os-volume_attachments/v1")); n != 1 {
		t.Errorf("%d detaches sent, want 1", n)
	}
	vol = cinderVolume("v1", "detaching", 1, map[string]any{"attachments": []any{map[string]any{"server_id": "s1"}}})
	if err := c.DetachVolume(t.Context(), "v1", "s1"); err != nil {
		t.Errorf("detach while detaching (a retry): %v, want nil", err)
	}
}

func TestSnapshots(t *testing.T) {
	f, c := newCinderFake(t, nil)
	existing := []any{}
	f.route("GET /volume/v3/p/snapshots/detail", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"snapshots": existing})
	})
	var body map[string]map[string]any
	snap := map[string]any{"id": "sn1", "name": "s", "status": "creating", "size": 1, "volume_id": "v1",
		"created_at": "2026-01-02T03:04:05.000000", "metadata": map[string]string{volumeTokenKey: "t", "k": "v"}}
	f.route("POST /volume/v3/p/snapshots", func(w http.ResponseWriter, r *http.Request) {
		_ = jsonDecode(r, &body)
		f.json(w, 202, map[string]any{"snapshot": snap})
	})
	s, err := c.CreateSnapshot(t.Context(), providers.SnapshotSpec{Name: "s", VolumeID: "v1", Labels: map[string]string{"k": "v"}, IdempotencyToken: "t"})
	if err != nil || s.NativeID != "sn1" || s.Status != providers.StatusPending || s.VolumeID != "v1" || s.Labels["k"] != "v" || s.Labels[volumeTokenKey] != "" {
		t.Fatalf("CreateSnapshot = %+v, %v", s, err)
	}
	if b := body["snapshot"]; b["volume_id"] != "v1" || b["force"] != true || b["metadata"].(map[string]any)[volumeTokenKey] != "t" {
		t.Errorf("create body = %v", b)
	}
	existing = []any{snap}
	if s, err := c.CreateSnapshot(t.Context(), providers.SnapshotSpec{Name: "s", VolumeID: "v1", IdempotencyToken: "t"}); err != nil || s.NativeID != "sn1" {
		t.Errorf("CreateSnapshot retry = %+v, %v", s, err)
	}
	if n := len(f.requests("POST /volume/v3/p/snapshots")); n != 1 {
		t.Errorf("%d snapshot creates, want 1", n)
	}
	if _, err := c.GetSnapshot(t.Context(), "missing"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("GetSnapshot(missing) = %v", err)
	}
}
