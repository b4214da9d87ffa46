package openstack

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/utils"

	"github.com/canopy-cloud/canopy/providers"
)

func isUnavailable(err error) bool { return errors.Is(err, providers.ErrUnavailable) }

func TestServerStatus(t *testing.T) {
	for _, tc := range []struct {
		status, task string
		want         providers.Status
	}{
		{"BUILD", "", providers.StatusPending},
		{"BUILD", "spawning", providers.StatusPending},
		{"ACTIVE", "", providers.StatusActive},
		{"active", "", providers.StatusActive},
		{"SHUTOFF", "", providers.StatusStopped},
		{"ACTIVE", "powering-off", providers.StatusUpdating},
		{"SHUTOFF", "powering-on", providers.StatusUpdating},
		{"REBOOT", "reboot_started", providers.StatusUpdating},
		{"HARD_REBOOT", "rebooting_hard", providers.StatusUpdating},
		{"RESIZE", "resize_prep", providers.StatusUpdating},
		{"VERIFY_RESIZE", "", providers.StatusUpdating},
		{"MIGRATING", "migrating", providers.StatusUpdating},
		{"REBUILD", "rebuilding", providers.StatusUpdating},
		{"ACTIVE", "deleting", providers.StatusDeleting},
		{"ERROR", "deleting", providers.StatusDeleting},
		{"SHUTOFF", "deleting", providers.StatusDeleting},
		{"DELETED", "", providers.StatusDeleted},
		{"SOFT_DELETED", "", providers.StatusDeleted},
		{"ERROR", "", providers.StatusError},
		{"PAUSED", "", providers.StatusStopped},
		{"SHELVED_OFFLOADED", "", providers.StatusStopped},
		{"UNKNOWN", "", providers.StatusUnknown},
		{"RESCUE", "", providers.StatusUnknown},
		{"", "", providers.StatusUnknown},
	} {
		if got := serverStatus(tc.status, tc.task); got != tc.want {
			t.Errorf("serverStatus(%q, %q) = %v, want %v", tc.status, tc.task, got, tc.want)
		}
	}
}

func TestImageStatus(t *testing.T) {
	for status, want := range map[string]providers.Status{
		"queued": providers.StatusPending, "saving": providers.StatusPending, "importing": providers.StatusPending,
		"uploading": providers.StatusPending, "active": providers.StatusActive, "killed": providers.StatusError,
		"deleted": providers.StatusDeleted, "pending_delete": providers.StatusDeleted, "deactivated": providers.StatusStopped,
		"weird": providers.StatusUnknown,
	} {
		if got := imageStatus(status); got != want {
			t.Errorf("imageStatus(%q) = %v, want %v", status, got, want)
		}
	}
}

func TestGPUCount(t *testing.T) {
	for _, tc := range []struct {
		specs map[string]string
		want  int32
	}{
		{nil, 0},
		{map[string]string{"hw:cpu_policy": "dedicated"}, 0},
		{map[string]string{"resources:VGPU": "1"}, 1},
		{map[string]string{"resources1:VGPU": "2", "resources:CUSTOM_NVIDIA_A100_GPU": "1"}, 3},
		{map[string]string{"pci_passthrough:alias": "nvidia-a100:2"}, 2},
		{map[string]string{"pci_passthrough:alias": "gpu"}, 1},
		{map[string]string{"pci_passthrough:alias": "t4:1,sriov-nic:4"}, 1},
		{map[string]string{"pci_passthrough:alias": "qat:2"}, 0},
		{map[string]string{"resources:VGPU": "x"}, 0},
	} {
		if got := gpuCount(tc.specs); got != tc.want {
			t.Errorf("gpuCount(%v) = %d, want %d", tc.specs, got, tc.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	mv := func(max string) utils.SupportedMicroversions {
		maj, min, _ := utils.ParseMicroversion(max)
		return utils.SupportedMicroversions{MinMajor: 2, MinMinor: 1, MaxMajor: maj, MaxMinor: min}
	}
	for _, tc := range []struct{ want, max, got string }{
		{"2.79", "2.93", "2.79"},
		{"2.79", "2.60", "2.60"},
		{"2.79", "2.79", "2.79"},
		{"2.10", "2.93", "2.10"},
	} {
		if got := negotiate(tc.want, mv(tc.max)); got != tc.got {
			t.Errorf("negotiate(%s, max %s) = %q, want %q", tc.want, tc.max, got, tc.got)
		}
	}
	if got := negotiate("2.79", utils.SupportedMicroversions{}); got != "" {
		t.Errorf("no microversions: %q", got)
	}
}

func TestFaultMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"itemNotFound": {"code": 404, "message": "Instance x could not be found."}}`:                                                                                  "Instance x could not be found.",
		`{"NeutronError": {"type": "NetworkNotFound", "message": "Network n could not be found.", "detail": ""}}`:                                                       "Network n could not be found.",
		`{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}`:                                            "The request you have made requires authentication.",
		`{"errors": [{"status": 409, "title": "Conflict", "detail": "There was a conflict"}]}`:                                                                          "There was a conflict",
		"<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  No image found with ID x<br /><br />\n\n\n\n </body>\n</html>": "No image found with ID x",
		"plain words": "plain words",
	} {
		if got := faultMessage([]byte(body)); got != want {
			t.Errorf("faultMessage(%.40q) = %q, want %q", body, got, want)
		}
	}
}

// Every HTTP error a cloud can answer maps to the sentinel canopy turns
// into a gRPC code, through the adapter's real request path.
func TestErrorMapping(t *testing.T) {
	f := newFakeCloud(t, "2.93")
	c := f.open(nil)
	type answer struct {
		code    int
		body    string
		headers map[string]string
	}
	nova := func(kind string, code int, msg string) string {
		return fmt.Sprintf(`{%q: {"code": %d, "message": %q}}`, kind, code, msg)
	}
	for _, tc := range []struct {
		name  string
		ans   answer
		want  error
		after time.Duration
	}{
		{"400", answer{400, nova("badRequest", 400, "Invalid input for field/attribute name."), nil}, providers.ErrInvalid, 0},
		{"401", answer{401, `{"error": {"code": 401, "message": "auth"}}`, nil}, providers.ErrUnauthenticated, 0},
		{"403", answer{403, nova("forbidden", 403, "Policy doesn't allow os_compute_api:servers:show to be performed."), nil}, providers.ErrPermission, 0},
		{"403 quota", answer{403, nova("forbidden", 403, "Quota exceeded for cores: Requested 4, but already used 20 of 20 cores"), nil}, providers.ErrQuota, 0},
		{"404", answer{404, nova("itemNotFound", 404, "Instance x could not be found."), nil}, providers.ErrNotFound, 0},
		{"409", answer{409, nova("conflictingRequest", 409, "Cannot 'stop' instance x while it is in vm_state stopped"), nil}, providers.ErrConflict, 0},
		{"409 exists", answer{409, nova("conflictingRequest", 409, "Key pair 'k' already exists."), nil}, providers.ErrAlreadyExists, 0},
		{"413 quota", answer{413, nova("overLimit", 413, "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"), nil}, providers.ErrQuota, 0},
		{"413 rate", answer{413, nova("overLimit", 413, "This request was rate-limited."), map[string]string{"Retry-After": "7"}}, providers.ErrRateLimited, 7 * time.Second},
		{"429", answer{429, `{"message": "slow down"}`, map[string]string{"Retry-After": "2"}}, providers.ErrRateLimited, 2 * time.Second},
		{"500", answer{500, nova("computeFault", 500, "Unexpected API Error."), nil}, providers.ErrUnavailable, 0},
		{"503 retry", answer{503, "Service Unavailable", map[string]string{"Retry-After": "3"}}, providers.ErrUnavailable, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.route("GET /compute/v2.1/servers/x", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.ans.headers {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.ans.code)
				_, _ = w.Write([]byte(tc.ans.body))
			})
			_, err := c.GetServer(t.Context(), "x")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "openstack: get server x in FakeOne") {
				t.Errorf("err %q lacks context", err)
			}
			var ra *providers.RetryAfterError
			if tc.after > 0 {
				if !errors.As(err, &ra) || ra.After != tc.after {
					t.Errorf("err = %v: want Retry-After %s", err, tc.after)
				}
			} else if errors.As(err, &ra) {
				t.Errorf("unexpected RetryAfterError %v", ra)
			}
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}
	if d, ok := retryAfter(h, now); !ok || d != 90*time.Second {
		t.Errorf("retryAfter(date) = %s, %v", d, ok)
	}
	if _, ok := retryAfter(http.Header{"Retry-After": {"soon"}}, now); ok {
		t.Error("garbage Retry-After parsed")
	}
}

func TestMicroversionNegotiatedAndSent(t *testing.T) {
	for max, want := range map[string]string{"2.93": "2.79", "2.60": "2.60"} {
		f := newFakeCloud(t, max)
		f.route("GET /compute/v2.1/flavors/detail", func(w http.ResponseWriter, r *http.Request) {
			f.json(w, 200, map[string]any{"flavors": []map[string]any{{"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1,
				"extra_specs": map[string]string{"resources:VGPU": "1"}}}})
		})
		c := f.open(nil)
		fl, err := c.ListFlavors(t.Context())
		if err != nil || len(fl) != 1 || fl[0].GPUs != 1 || fl[0].RAMMiB != 512 {
			t.Fatalf("ListFlavors = %+v, %v", fl, err)
		}
		reqs := f.requests("GET /compute/v2.1/flavors/detail")
		if got := reqs[0].Header.Get("X-OpenStack-Nova-API-Version"); got != want {
			t.Errorf("server max %s: sent microversion %q, want %q", max, got, want)
		}
		if mv, _ := c.Microversion(t.Context()); mv != want {
			t.Errorf("Microversion() = %q, want %q", mv, want)
		}
	}
}

// Lists follow the services' next links (Nova servers_links, Glance next)
// with limit and marker, and servers embed flavors by name from 2.47.
func TestPagination(t *testing.T) {
	f := newFakeCloud(t, "2.93")
	server := func(i int) map[string]any {
		return map[string]any{"id": fmt.Sprintf("srv-%d", i), "name": fmt.Sprintf("s%d", i), "status": "ACTIVE",
			"OS-EXT-STS:task_state": nil, "OS-EXT-AZ:availability_zone": "nova", "created": "2024-01-02T03:04:05Z",
			"flavor": map[string]any{"original_name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1},
			"image":  map[string]any{"id": "img-1"}, "metadata": map[string]string{"k": strconv.Itoa(i)},
			"addresses": map[string]any{"net": []map[string]any{{"addr": "10.0.0.1", "version": 4, "OS-EXT-IPS:type": "fixed"}}},
			"tags":      []string{"canopy-token:tok-" + strconv.Itoa(i), "user-tag"},
		}
	}
	f.route("GET /compute/v2.1/servers/detail", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		start := 0
		if m := r.URL.Query().Get("marker"); m != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(m, "srv-"))
			start++
		}
		var page []map[string]any
		for i := start; i < 5 && len(page) < limit; i++ {
			page = append(page, server(i))
		}
		body := map[string]any{"servers": page}
		if len(page) == limit {
			body["servers_links"] = []map[string]string{{"rel": "next", "href": fmt.Sprintf("%s/compute/v2.1/servers/detail?limit=%d&marker=srv-%d", f.srv.URL, limit, start+limit-1)}}
		}
		f.json(w, 200, body)
	})
	f.route("GET /compute/v2.1/flavors/detail", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"flavors": []map[string]any{{"id": "fl-1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1}}})
	})
	f.route("GET /image/v2/images", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("marker") == "" {
			f.json(w, 200, map[string]any{"images": []map[string]any{{"id": "img-1", "name": "a", "status": "active"}, {"id": "img-2", "name": "b", "status": "queued"}},
				"next": "/v2/images?limit=2&marker=img-2"})
			return
		}
		f.json(w, 200, map[string]any{"images": []map[string]any{{"id": "img-3", "name": "c", "status": "deactivated"}}})
	})
	c := f.open(map[string]any{"page_size": 2})
	list, err := c.ListServers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 5 {
		t.Fatalf("ListServers: %d servers, want 5 over 3 pages", len(list))
	}
	if n := len(f.requests("GET /compute/v2.1/servers/detail")); n != 3 {
		t.Errorf("%d server list requests, want 3", n)
	}
	s := list[3]
	if s.NativeID != "srv-3" || s.FlavorID != "fl-1" || s.ImageID != "img-1" || s.Labels["k"] != "3" || s.Zone != "nova" ||
		s.Status != providers.StatusActive || s.ProviderStatus != "ACTIVE" || s.Created.IsZero() || len(s.Addresses) != 1 ||
		s.Properties["client_token"] != "tok-3" || s.Properties["tags"] != "user-tag" || s.Region != "FakeOne" {
		t.Errorf("server = %+v", s)
	}
	images, err := c.ListImages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 3 || images[2].Status != providers.StatusStopped || images[1].Status != providers.StatusPending {
		t.Errorf("ListImages = %+v", images)
	}
}

func TestCreateServerRequest(t *testing.T) {
	f := newFakeCloud(t, "2.93")
	var body map[string]any
	f.route("GET /network/v2.0/networks", func(w http.ResponseWriter, r *http.Request) {
		var nets []map[string]any
		if r.URL.Query().Get("name") == "private" {
			nets = append(nets, map[string]any{"id": "net-uuid-1", "name": "private"})
		}
		f.json(w, 200, map[string]any{"networks": nets})
	})
	f.route("GET /compute/v2.1/servers/detail", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"servers": []any{}})
	})
	f.route("POST /compute/v2.1/servers", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]map[string]any
		_ = jsonDecode(r, &req)
		body = req["server"]
		f.json(w, 202, map[string]any{"server": map[string]any{"id": "new-1"}})
	})
	f.route("GET /compute/v2.1/servers/new-1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, 200, map[string]any{"server": map[string]any{"id": "new-1", "name": "web", "status": "BUILD", "OS-EXT-STS:task_state": "scheduling",
			"flavor": map[string]any{"original_name": "x"}, "image": map[string]any{"id": "img"}}})
	})
	c := f.open(nil)
	s, err := c.CreateServer(t.Context(), providers.ServerSpec{Name: "web", FlavorID: "fl", ImageID: "img", Keypair: "k", Zone: "az1",
		Networks: []string{"private", "11111111-2222-3333-4444-555555555555"}, UserData: []byte("abcd"), Labels: map[string]string{"a": "b"},
		IdempotencyToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if s.NativeID != "new-1" || s.Status != providers.StatusPending {
		t.Errorf("CreateServer = %+v", s)
	}
	want := map[string]string{"name": "web", "imageRef": "img", "flavorRef": "fl", "key_name": "k", "availability_zone": "az1",
		"user_data": "YWJjZA==", "networks": "[map[uuid:net-uuid-1] map[uuid:11111111-2222-3333-4444-555555555555]]",
		"metadata": "map[a:b]", "tags": "[canopy-token:tok]"}
	for k, v := range want {
		if got := fmt.Sprint(body[k]); got != v {
			t.Errorf("request %s = %s, want %s", k, got, v)
		}
	}
	if q := f.requests("GET /compute/v2.1/servers/detail")[0].URL.Query().Get("tags"); q != "canopy-token:tok" {
		t.Errorf("idempotency lookup tags=%q", q)
	}

	// A missing network name is the caller's error, before Nova is asked.
	if _, err := c.CreateServer(t.Context(), providers.ServerSpec{Name: "x", FlavorID: "fl", ImageID: "img", Networks: []string{"nope"}}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("missing network: err = %v, want ErrInvalid", err)
	}
	// No networks: "auto" from 2.37.
	_, _ = c.CreateServer(t.Context(), providers.ServerSpec{Name: "y", FlavorID: "fl", ImageID: "img"})
	if fmt.Sprint(body["networks"]) != "auto" {
		t.Errorf("no networks: sent %v, want auto", body["networks"])
	}
}
