package containerd

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	tasktypes "github.com/containerd/containerd/api/types/task"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/canopy-cloud/canopy/providers"
)

// The parts that need no containerd: signals, the state mapping, the
// restart decision, spec building, log records, ps output, options.

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"KILL": syscall.SIGKILL, "SIGKILL": syscall.SIGKILL, "sigterm": syscall.SIGTERM, "hup": syscall.SIGHUP,
		"9": syscall.SIGKILL, " 15 ": syscall.SIGTERM, "USR1": syscall.SIGUSR1, "SIGWINCH": syscall.SIGWINCH,
	} {
		got, err := parseSignal(in)
		if err != nil || got != want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "NOSUCHSIGNAL", "SIG", "0", "65", "-1", "KILLL"} {
		if _, err := parseSignal(in); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("parseSignal(%q): err = %v, want ErrInvalid", in, err)
		}
	}
}

func TestStateOf(t *testing.T) {
	exitedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	kept := map[string]string{labelExitCode: "137", labelFinishedAt: formatTime(exitedAt)}
	cases := []struct {
		name   string
		task   taskInfo
		labels map[string]string
		state  providers.ContainerState
		code   int
	}{
		{"never started", taskInfo{}, nil, providers.ContainerCreated, 0},
		{"stopped, task deleted", taskInfo{}, kept, providers.ContainerStopped, 137},
		{"running", taskInfo{Exists: true, Status: tasktypes.Status_RUNNING}, nil, providers.ContainerRunning, 0},
		{"paused", taskInfo{Exists: true, Status: tasktypes.Status_PAUSED}, nil, providers.ContainerPaused, 0},
		{"pausing", taskInfo{Exists: true, Status: tasktypes.Status_PAUSING}, nil, providers.ContainerPaused, 0},
		{"exited, task kept", taskInfo{Exists: true, Status: tasktypes.Status_STOPPED, ExitStatus: 3, ExitedAt: exitedAt}, nil, providers.ContainerStopped, 3},
		{"task created, first start", taskInfo{Exists: true, Status: tasktypes.Status_CREATED}, nil, providers.ContainerCreated, 0},
		{"task created, a restart", taskInfo{Exists: true, Status: tasktypes.Status_CREATED}, kept, providers.ContainerStopped, 137},
		{"unknown", taskInfo{Exists: true, Status: tasktypes.Status_UNKNOWN}, nil, providers.ContainerUnknown, 0},
	}
	for _, c := range cases {
		state, code, finished := stateOf(c.task, c.labels)
		if state != c.state || code != c.code {
			t.Errorf("%s: stateOf = %v exit %d, want %v exit %d", c.name, state, code, c.state, c.code)
		}
		if state == providers.ContainerStopped && !finished.Equal(exitedAt) {
			t.Errorf("%s: finished %v, want %v", c.name, finished, exitedAt)
		}
	}
}

func TestShouldRestart(t *testing.T) {
	p := func(name string, max int) providers.RestartPolicy {
		return providers.RestartPolicy{Name: name, MaxRetries: max}
	}
	cases := []struct {
		policy      providers.RestartPolicy
		code, count int
		byUser      bool
		want        bool
	}{
		{p("no", 0), 1, 0, false, false},
		{p("always", 0), 0, 5, false, true},
		{p("always", 0), 137, 0, true, false},
		{p("unless-stopped", 0), 0, 0, false, true},
		{p("unless-stopped", 0), 0, 0, true, false},
		{p("on-failure", 0), 0, 0, false, false},
		{p("on-failure", 0), 1, 100, false, true},
		{p("on-failure", 2), 1, 1, false, true},
		{p("on-failure", 2), 1, 2, false, false},
	}
	for _, c := range cases {
		if got := shouldRestart(c.policy, c.code, c.count, c.byUser); got != c.want {
			t.Errorf("shouldRestart(%+v, exit %d, count %d, by user %v) = %v, want %v", c.policy, c.code, c.count, c.byUser, got, c.want)
		}
	}
	if restartDelay(0) != 100*time.Millisecond || restartDelay(100) > 10*time.Second || restartDelay(3) != 800*time.Millisecond {
		t.Errorf("restartDelay: %v %v %v", restartDelay(0), restartDelay(3), restartDelay(100))
	}
}

func TestRestartLabel(t *testing.T) {
	for _, p := range []providers.RestartPolicy{{Name: "no"}, {Name: "always"}, {Name: "on-failure"}, {Name: "on-failure", MaxRetries: 3}, {Name: "unless-stopped"}} {
		if got := parseRestart(formatRestart(p)); got != p {
			t.Errorf("restart label round trip of %+v = %+v", p, got)
		}
	}
	if got := parseRestart(formatRestart(providers.RestartPolicy{})); got.Name != "no" {
		t.Errorf("an empty policy reads back as %+v, want no", got)
	}
	for _, bad := range []providers.RestartPolicy{{Name: "sometimes"}, {Name: "always", MaxRetries: 2}, {Name: "on-failure", MaxRetries: -1}} {
		if err := validRestart(bad); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("validRestart(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestHealthcheckLabel(t *testing.T) {
	h := &providers.Healthcheck{Cmd: []string{"sh", "-c", "wget -q -O /dev/null http://127.0.0.1/"}, Interval: time.Second, Timeout: 2 * time.Second, Retries: 3, StartPeriod: 5 * time.Second}
	s, err := formatHealthcheck(h)
	if err != nil {
		t.Fatal(err)
	}
	got := parseHealthcheck(s)
	if got == nil || !slices.Equal(got.Cmd, h.Cmd) || got.Interval != h.Interval || got.Timeout != h.Timeout || got.Retries != h.Retries || got.StartPeriod != h.StartPeriod {
		t.Errorf("healthcheck label round trip = %+v, want %+v", got, h)
	}
	if parseHealthcheck("") != nil || parseHealthcheck("{") != nil {
		t.Errorf("an empty or broken label reads as a healthcheck")
	}
}

func TestProcessArgs(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"default"}}
	cases := []struct {
		ep, cmd                 []string
		wantEP, wantCmd, wantAr []string
	}{
		{nil, nil, []string{"/entry"}, []string{"default"}, []string{"/entry", "default"}},
		{nil, []string{"x"}, []string{"/entry"}, []string{"x"}, []string{"/entry", "x"}},
		{[]string{"/other"}, nil, []string{"/other"}, nil, []string{"/other"}},
		{[]string{"/other"}, []string{"y"}, []string{"/other"}, []string{"y"}, []string{"/other", "y"}},
	}
	for _, c := range cases {
		ep, cmd, args := processArgs(img, c.ep, c.cmd)
		if !slices.Equal(ep, c.wantEP) || !slices.Equal(cmd, c.wantCmd) || !slices.Equal(args, c.wantAr) {
			t.Errorf("processArgs(%q, %q) = %q %q %q, want %q %q %q", c.ep, c.cmd, ep, cmd, args, c.wantEP, c.wantCmd, c.wantAr)
		}
	}
	if _, _, args := processArgs(ocispec.ImageConfig{}, nil, nil); len(args) != 0 {
		t.Errorf("no entrypoint and no command: args %q", args)
	}
}

func TestOCIMounts(t *testing.T) {
	vols := t.TempDir()
	host := t.TempDir()
	got, err := ociMounts(vols, []providers.Mount{
		{Type: "volume", Source: "data", Target: "/data"},
		{Type: "bind", Source: host, Target: "/host/", ReadOnly: true},
		{Type: "tmpfs", Target: "/scratch"},
	})
	if err != nil {
		t.Fatalf("ociMounts: %v", err)
	}
	if len(got) != 3 || got[0].Source != filepath.Join(vols, "data") || got[0].Destination != "/data" || !slices.Contains(got[0].Options, "rw") ||
		got[1].Source != host || got[1].Destination != "/host" || !slices.Contains(got[1].Options, "ro") ||
		got[2].Type != "tmpfs" || got[2].Destination != "/scratch" {
		t.Errorf("ociMounts = %+v", got)
	}
	if fi, err := os.Stat(filepath.Join(vols, "data")); err != nil || !fi.IsDir() {
		t.Errorf("volume directory not made: %v", err)
	}
	for name, m := range map[string]providers.Mount{
		"relative target":  {Type: "tmpfs", Target: "tmp"},
		"root target":      {Type: "tmpfs", Target: "/"},
		"missing bind":     {Type: "bind", Source: filepath.Join(host, "nope"), Target: "/x"},
		"relative bind":    {Type: "bind", Source: "rel", Target: "/x"},
		"volume with path": {Type: "volume", Source: "../escape", Target: "/x"},
		"tmpfs source":     {Type: "tmpfs", Source: "/etc", Target: "/x"},
		"unknown type":     {Type: "nfs", Source: "x", Target: "/x"},
	} {
		if _, err := ociMounts(vols, []providers.Mount{m}); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := ociMounts(vols, []providers.Mount{{Type: "tmpfs", Target: "/a"}, {Type: "tmpfs", Target: "/a/"}}); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("a target mounted twice: err = %v, want ErrInvalid", err)
	}
}

func TestResources(t *testing.T) {
	r := resources(0.5, 64<<20)
	if *r.CPU.Quota != 50000 || *r.CPU.Period != cfsPeriod || *r.Memory.Limit != 64<<20 {
		t.Errorf("resources(0.5, 64 MiB) = quota %d period %d memory %d", *r.CPU.Quota, *r.CPU.Period, *r.Memory.Limit)
	}
	r = resources(0, 0)
	if *r.CPU.Quota != -1 || *r.Memory.Limit != -1 {
		t.Errorf("resources(0, 0) = quota %d memory %d, want -1 (unlimited)", *r.CPU.Quota, *r.Memory.Limit)
	}
}

func TestValidateSpec(t *testing.T) {
	ok := providers.ContainerSpec{Image: "busybox", Command: []string{"true"}}
	if err := validateSpec(ok, false); err != nil {
		t.Fatalf("validateSpec(ok) = %v", err)
	}
	for name, mod := range map[string]func(*providers.ContainerSpec){
		"no image":          func(s *providers.ContainerSpec) { s.Image = "" },
		"negative cpu":      func(s *providers.ContainerSpec) { s.CPU = -1 },
		"tiny memory":       func(s *providers.ContainerSpec) { s.MemoryBytes = 1024 },
		"bad policy":        func(s *providers.ContainerSpec) { s.RestartPolicy.Name = "sometimes" },
		"auto-remove":       func(s *providers.ContainerSpec) { s.AutoRemove, s.RestartPolicy.Name = true, "always" },
		"empty healthcheck": func(s *providers.ContainerSpec) { s.Healthcheck = &providers.Healthcheck{} },
		"canopy label":      func(s *providers.ContainerSpec) { s.Labels = map[string]string{"canopy.name": "x"} },
		"bad env":           func(s *providers.ContainerSpec) { s.Env = map[string]string{"A=B": "c"} },
		"bad port":          func(s *providers.ContainerSpec) { s.Ports = []providers.PortBinding{{ContainerPort: 70000}} },
	} {
		s := ok
		mod(&s)
		if err := validateSpec(s, true); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	ports := ok
	ports.Ports = []providers.PortBinding{{ContainerPort: 80, Protocol: "tcp"}}
	if err := validateSpec(ports, false); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("ports without host networking: err = %v, want ErrUnsupported", err)
	}
	if err := validateSpec(ports, true); err != nil {
		t.Errorf("ports with host networking: %v", err)
	}
}

func TestParseRecord(t *testing.T) {
	e, ok := parseRecord([]byte("1767323045.123456 F hello world"), providers.StreamStderr)
	if !ok || string(e.Data) != "hello world\n" || e.Stream != providers.StreamStderr || !e.Time.Equal(time.Unix(1767323045, 123456000)) {
		t.Errorf("full line = %+v %v", e, ok)
	}
	e, ok = parseRecord([]byte("1767323045.5 P no newline"), providers.StreamStdout)
	if !ok || string(e.Data) != "no newline" || e.Time.Nanosecond() != 500000000 {
		t.Errorf("partial line = %+v %v", e, ok)
	}
	e, ok = parseRecord([]byte("1767323045.000001 F "), providers.StreamStdout)
	if !ok || string(e.Data) != "\n" {
		t.Errorf("empty line = %+v %v", e, ok)
	}
	for _, bad := range []string{"", "garbage", "x F y"} {
		if _, ok := parseRecord([]byte(bad), 1); ok {
			t.Errorf("parseRecord(%q) accepted", bad)
		}
	}
}

func TestLogFileIncremental(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stdout.log")
	f := &logFile{path: path, stream: providers.StreamStdout}
	if es, err := f.read(); err != nil || len(es) != 0 {
		t.Fatalf("missing file: %v %v", es, err)
	}
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, _ = w.WriteString("1.000001 F a\n1.000002 F b")
	es, _ := f.read()
	if len(es) != 1 || string(es[0].Data) != "a\n" {
		t.Fatalf("first read = %+v, want a only (b is unfinished)", es)
	}
	_, _ = w.WriteString("c\n")
	es, _ = f.read()
	if len(es) != 1 || string(es[0].Data) != "bc\n" {
		t.Fatalf("second read = %+v, want the finished record", es)
	}
}

func TestParsePS(t *testing.T) {
	out := "UID          PID    PPID  C STIME TTY          TIME CMD\n" +
		"root           1       0  0 07:00 ?        00:00:01 /sbin/init\n" +
		"root        4242    4200  0 07:01 ?        00:00:00 sleep 300\n" +
		"root        4243    4242  0 07:01 ?        00:00:00 sh -c echo a b\n"
	top, err := parsePS(out, map[string]bool{"4242": true, "4243": true})
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Titles) != 8 || len(top.Processes) != 2 || top.Processes[0][7] != "sleep 300" || top.Processes[1][7] != "sh -c echo a b" {
		t.Errorf("parsePS = %q %q", top.Titles, top.Processes)
	}
	if _, err := parsePS("USER COMMAND\nroot x\n", nil); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("ps output without PID: err = %v, want ErrInvalid", err)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(nil, []string{"eu"}, nil)
	if err != nil || o.Namespace != "canopy" || o.Snapshotter != "overlayfs" || o.NetworkMode != "none" || o.Region != "eu" ||
		o.Address != "/run/containerd/containerd.sock" {
		t.Fatalf("defaults = %+v, %v", o, err)
	}
	o, err = ParseOptions(map[string]any{"address": "unix:///x/c.sock", "namespace": "ns", "network_mode": "host", "timeout": "5s", "zone": "z"}, nil, nil)
	if err != nil || o.Address != "/x/c.sock" || o.Namespace != "ns" || o.NetworkMode != "host" || o.Timeout != 5*time.Second || o.Zone != "z" || o.Region != "local" {
		t.Fatalf("ParseOptions = %+v, %v", o, err)
	}
	for _, bad := range []map[string]any{{"adress": "x"}, {"network_mode": "bridge"}, {"timeout": "soon"}, {"namespace": 3}, {"namespace": ""}} {
		if _, err := ParseOptions(bad, nil, nil); err == nil {
			t.Errorf("ParseOptions(%v) accepted", bad)
		}
	}
}

func TestNativeID(t *testing.T) {
	uuid := "0b7e4c1a-8f2d-4e55-9a1c-3d2f6b7e8a90"
	if nativeID(uuid) != uuid {
		t.Errorf("a UUID token is not the id itself")
	}
	odd := "token with spaces/and slashes"
	if a, b := nativeID(odd), nativeID(odd); a != b || len(a) != 32 || strings.ContainsAny(a, " /") {
		t.Errorf("nativeID(%q) = %q, %q: want one stable 32-hex id", odd, a, b)
	}
	if a, b := nativeID(""), nativeID(""); a == b {
		t.Errorf("two ids without a token are equal: %s", a)
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=1"}, []string{"A=2", "B=3"})
	if !slices.Equal(got, []string{"PATH=/bin", "A=2", "B=3"}) {
		t.Errorf("mergeEnv = %q", got)
	}
}

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	_ = os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	_ = os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"), 0o644)
	_ = os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644)
	for in, want := range map[string][2]uint32{"nobody": {65534, 65534}, "0": {0, 0}, "1000": {1000, 1000}, "nobody:root": {65534, 0}, "0:65534": {0, 65534}, "root:nogroup": {0, 65534}} {
		u, err := resolveUser(root, in)
		if err != nil || u.UID != want[0] || u.GID != want[1] {
			t.Errorf("resolveUser(%q) = %d:%d, %v; want %d:%d", in, u.UID, u.GID, err, want[0], want[1])
		}
	}
	for _, bad := range []string{"nosuch", "root:nosuch"} {
		if _, err := resolveUser(root, bad); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("resolveUser(%q): err = %v, want ErrInvalid", bad, err)
		}
	}
}
