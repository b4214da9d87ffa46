package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// wantUsage checks that err is a usage error (exit 2) that names the flag
// and the bad value.
func wantUsage(t *testing.T, err error, flag, value string) {
	t.Helper()
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v (%T) is not a usage error", err, err)
	}
	if !strings.Contains(err.Error(), "--"+flag) || !strings.Contains(err.Error(), value) {
		t.Errorf("error %q does not name --%s and %q", err, flag, value)
	}
}

func TestParseMemory(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // MiB; -1: an error
	}{
		{"64m", 64}, {"64M", 64}, {"64MiB", 64}, {"64mb", 64}, {"512", 512}, {"0", 0},
		{"1g", 1024}, {"1.5g", 1536}, {"2GiB", 2048}, {"1t", 1 << 20}, {"1048576k", 1024}, {"1048576b", 1},
		{"", -1}, {"m", -1}, {"-1m", -1}, {"10x", -1}, {"1.5", -1}, {"100k", -1}, {"1b", -1}, {"lots", -1},
	} {
		got, err := parseMemory("memory", tc.in)
		if tc.want < 0 {
			if err == nil {
				t.Errorf("parseMemory(%q) = %d, want an error", tc.in, got)
				continue
			}
			wantUsage(t, err, "memory", tc.in)
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRestart(t *testing.T) {
	for _, tc := range []struct {
		in      string
		mode    canopyv1.RestartPolicy_Mode
		retries int32
		bad     bool
	}{
		{in: "no"},
		{in: "always", mode: canopyv1.RestartPolicy_MODE_ALWAYS},
		{in: "unless-stopped", mode: canopyv1.RestartPolicy_MODE_UNLESS_STOPPED},
		{in: "on-failure", mode: canopyv1.RestartPolicy_MODE_ON_FAILURE},
		{in: "on-failure:5", mode: canopyv1.RestartPolicy_MODE_ON_FAILURE, retries: 5},
		{in: "on-failure:0", mode: canopyv1.RestartPolicy_MODE_ON_FAILURE},
		{in: "sometimes", bad: true},
		{in: "always:3", bad: true},
		{in: "on-failure:-1", bad: true},
		{in: "on-failure:x", bad: true},
		{in: "On-Failure", bad: true},
	} {
		got, err := parseRestart("restart", tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseRestart(%q) = %v, want an error", tc.in, got)
				continue
			}
			wantUsage(t, err, "restart", tc.in)
			continue
		}
		if err != nil || got.GetMode() != tc.mode || got.GetMaxRetries() != tc.retries {
			t.Errorf("parseRestart(%q) = %v, %v; want %v:%d", tc.in, got, err, tc.mode, tc.retries)
			continue
		}
		if back := restartWord(got); back != tc.in && !(tc.in == "on-failure:0" && back == "on-failure") {
			t.Errorf("restartWord(parseRestart(%q)) = %q", tc.in, back)
		}
	}
}

func TestParsePort(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *canopyv1.PortBinding // nil: an error
	}{
		{"80", &canopyv1.PortBinding{ContainerPort: 80}},
		{"8080:80", &canopyv1.PortBinding{ContainerPort: 80, HostPort: 8080}},
		{"8080:80/udp", &canopyv1.PortBinding{ContainerPort: 80, HostPort: 8080, Protocol: "udp"}},
		{"53/udp", &canopyv1.PortBinding{ContainerPort: 53, Protocol: "udp"}},
		{"127.0.0.1:8080:80", &canopyv1.PortBinding{ContainerPort: 80, HostPort: 8080, HostIp: "127.0.0.1"}},
		{"127.0.0.1::80/tcp", &canopyv1.PortBinding{ContainerPort: 80, HostIp: "127.0.0.1", Protocol: "tcp"}},
		{"[::1]:8080:80", &canopyv1.PortBinding{ContainerPort: 80, HostPort: 8080, HostIp: "::1"}},
		{"[::1]:80", &canopyv1.PortBinding{ContainerPort: 80, HostIp: "::1"}},
		{"", nil}, {"0", nil}, {"70000", nil}, {"80/sctp", nil}, {"x:80", nil}, {"8080:x", nil},
		{"host:8080:80", nil}, {"1:2:3:4", nil}, {"[::1:80", nil}, {"[nope]:80:80", nil}, {"8000-8010:8000-8010", nil},
	} {
		got, err := parsePort("publish", tc.in)
		if tc.want == nil {
			if err == nil {
				t.Errorf("parsePort(%q) = %v, want an error", tc.in, got)
				continue
			}
			wantUsage(t, err, "publish", tc.in)
			continue
		}
		if err != nil || !proto.Equal(got, tc.want) {
			t.Errorf("parsePort(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseMounts(t *testing.T) {
	for _, tc := range []struct {
		flag, in string
		want     *canopyv1.ContainerMount // nil: an error
	}{
		{"volume", "data:/var/lib/data", &canopyv1.ContainerMount{Type: "volume", Source: "data", Target: "/var/lib/data"}},
		{"volume", "data:/data:ro", &canopyv1.ContainerMount{Type: "volume", Source: "data", Target: "/data", ReadOnly: true}},
		{"volume", "/srv/www:/usr/share/www:rw", &canopyv1.ContainerMount{Type: "bind", Source: "/srv/www", Target: "/usr/share/www"}},
		{"volume", "/etc/hosts:/etc/hosts:ro", &canopyv1.ContainerMount{Type: "bind", Source: "/etc/hosts", Target: "/etc/hosts", ReadOnly: true}},
		{"volume", "/data", nil}, {"volume", ":/data", nil}, {"volume", "data:relative", nil},
		{"volume", "data:/data:rx", nil}, {"volume", "a:/b:ro:z", nil},
		{"tmpfs", "/run", &canopyv1.ContainerMount{Type: "tmpfs", Target: "/run"}},
		{"tmpfs", "/run:ro", &canopyv1.ContainerMount{Type: "tmpfs", Target: "/run", ReadOnly: true}},
		{"tmpfs", "run", nil}, {"tmpfs", "/run:size=64m", nil},
	} {
		parse := parseVolume
		if tc.flag == "tmpfs" {
			parse = parseTmpfs
		}
		got, err := parse(tc.flag, tc.in)
		if tc.want == nil {
			if err == nil {
				t.Errorf("--%s %q = %v, want an error", tc.flag, tc.in, got)
				continue
			}
			wantUsage(t, err, tc.flag, tc.in)
			continue
		}
		if err != nil || !proto.Equal(got, tc.want) {
			t.Errorf("--%s %q = %v, %v; want %v", tc.flag, tc.in, got, err, tc.want)
		}
	}
}

func TestParseDependsOn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *canopyv1.Dependency // nil: an error
	}{
		{"db", &canopyv1.Dependency{Container: "db", Condition: canopyv1.Dependency_CONDITION_STARTED}},
		{"db:started", &canopyv1.Dependency{Container: "db", Condition: canopyv1.Dependency_CONDITION_STARTED}},
		{"db:healthy", &canopyv1.Dependency{Container: "db", Condition: canopyv1.Dependency_CONDITION_HEALTHY}},
		{"migrate:completed", &canopyv1.Dependency{Container: "migrate", Condition: canopyv1.Dependency_CONDITION_COMPLETED_SUCCESSFULLY}},
		{"migrate:completed_successfully", &canopyv1.Dependency{Container: "migrate", Condition: canopyv1.Dependency_CONDITION_COMPLETED_SUCCESSFULLY}},
		{"", nil}, {":healthy", nil}, {"db:alive", nil},
	} {
		got, err := parseDependsOn("depends-on", tc.in)
		if tc.want == nil {
			if err == nil {
				t.Errorf("parseDependsOn(%q) = %v, want an error", tc.in, got)
				continue
			}
			wantUsage(t, err, "depends-on", tc.in)
			continue
		}
		if err != nil || !proto.Equal(got, tc.want) {
			t.Errorf("parseDependsOn(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseEnv(t *testing.T) {
	t.Setenv("CANOPY_TEST_FROM_ENV", "inherited")
	got, err := parseEnv("env", []string{"A=1", "B=", "C=x=y", "CANOPY_TEST_FROM_ENV", "CANOPY_TEST_UNSET_XYZ"})
	want := map[string]string{"A": "1", "B": "", "C": "x=y", "CANOPY_TEST_FROM_ENV": "inherited"}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("parseEnv = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"=1", "", "A B=1"} {
		_, err := parseEnv("env", []string{bad})
		if err == nil {
			t.Errorf("parseEnv(%q): no error", bad)
			continue
		}
		wantUsage(t, err, "env", bad)
	}
}

func TestParseSinceAndTail(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"10m", now.Add(-10 * time.Minute)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"2025-06-01T11:00:00Z", time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)},
		{"2025-06-01T13:00:00+02:00", time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)},
		{"1748775600", time.Unix(1748775600, 0)},
	} {
		got, err := parseSince("since", tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "-5m", "10 minutes"} {
		_, err := parseSince("since", bad, now)
		if err == nil {
			t.Errorf("parseSince(%q): no error", bad)
			continue
		}
		wantUsage(t, err, "since", bad)
	}
	for in, want := range map[string]int32{"all": 0, "": 0, "0": 0, "20": 20} {
		if got, err := parseTail("tail", in); err != nil || got != want {
			t.Errorf("parseTail(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "ten", "1.5"} {
		_, err := parseTail("tail", bad)
		if err == nil {
			t.Errorf("parseTail(%q): no error", bad)
			continue
		}
		wantUsage(t, err, "tail", bad)
	}
}

func TestParseFilters(t *testing.T) {
	f, err := parseFilters("filter", []string{"name=web", "label=app=shop", "label=tier", "status=exited"})
	if err != nil {
		t.Fatal(err)
	}
	if f.name != "web" || f.state != canopyv1.Container_STATE_STOPPED || !cmp.Equal(f.labels, map[string]string{"app": "shop"}) || !cmp.Equal(f.labelKeys, []string{"tier"}) {
		t.Errorf("parseFilters = %+v", f)
	}
	if f.keep(&canopyv1.Container{Labels: map[string]string{"app": "shop"}}) || !f.keep(&canopyv1.Container{Labels: map[string]string{"tier": ""}}) {
		t.Error("keep does not require the label keys")
	}
	for _, bad := range []string{"name", "status=sleeping", "ancestor=busybox", "label="} {
		_, err := parseFilters("filter", []string{bad})
		if err == nil {
			t.Errorf("parseFilters(%q): no error", bad)
			continue
		}
		wantUsage(t, err, "filter", bad)
	}
}

// requestOf parses a `container run` command line into its request.
func requestOf(t *testing.T, run bool, argv ...string) (*canopyv1.CreateContainerRequest, error) {
	t.Helper()
	var f createFlags
	cmd := &cobra.Command{}
	f.add(&app{}, cmd, run)
	if err := cmd.ParseFlags(argv); err != nil {
		return nil, err
	}
	return f.request(cmd, cmd.Flags().Args(), run)
}

func TestRunRequest(t *testing.T) {
	got, err := requestOf(t, true, "--name", "web", "-e", "A=1", "-l", "app=shop", "--cpus", "1.5", "-m", "1g", "--restart", "on-failure:3",
		"--health-cmd", "wget -q -O- http://localhost/", "--health-interval", "2s", "--health-retries", "5",
		"-p", "8080:80", "-v", "data:/data:ro", "-v", "/srv:/srv", "--tmpfs", "/run", "--depends-on", "db:healthy",
		"--ready-tcp", "80", "-w", "/srv", "-u", "1000:1000", "--hostname", "h", "-i", "-t", "--zone", "sim-host",
		"--request-id", "r-1", "busybox:latest", "httpd", "-f", "-p", "80")
	if err != nil {
		t.Fatal(err)
	}
	want := &canopyv1.CreateContainerRequest{
		Name: "web", Location: &canopyv1.Location{Zone: "sim-host"}, Image: "busybox:latest", Command: []string{"httpd", "-f", "-p", "80"},
		Env: map[string]string{"A": "1"}, Labels: map[string]string{"app": "shop"}, Cpu: 1.5, MemoryMib: 1024,
		RestartPolicy: &canopyv1.RestartPolicy{Mode: canopyv1.RestartPolicy_MODE_ON_FAILURE, MaxRetries: 3},
		Healthcheck:   &canopyv1.Healthcheck{Cmd: []string{"sh", "-c", "wget -q -O- http://localhost/"}, Interval: durationpb.New(2 * time.Second), Retries: 5},
		Interactive:   true, Tty: true, Workdir: "/srv", User: "1000:1000", Hostname: "h",
		Ports: []*canopyv1.PortBinding{{ContainerPort: 80, HostPort: 8080}},
		Mounts: []*canopyv1.ContainerMount{{Type: "volume", Source: "data", Target: "/data", ReadOnly: true}, {Type: "bind", Source: "/srv", Target: "/srv"},
			{Type: "tmpfs", Target: "/run"}},
		Run: true, DependsOn: []*canopyv1.Dependency{{Container: "db", Condition: canopyv1.Dependency_CONDITION_HEALTHY}},
		ReadyProbe: &canopyv1.ReadyProbe{Check: &canopyv1.ReadyProbe_TcpPort{TcpPort: 80}}, Wait: true, RequestId: "r-1",
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("request (-want +got):\n%s", d)
	}

	// Without --name: a generated one, the same for the same request id.
	a, _ := requestOf(t, true, "--request-id", "same", "busybox")
	b, _ := requestOf(t, true, "--request-id", "same", "busybox")
	c, _ := requestOf(t, true, "busybox")
	if a.GetName() == "" || a.GetName() != b.GetName() || c.GetName() == a.GetName() {
		t.Errorf("generated names: %q, %q, %q", a.GetName(), b.GetName(), c.GetName())
	}
	if d, _ := requestOf(t, true, "-d", "--ready-cmd", "test -f /ready", "busybox"); d.GetWait() || d.GetReadyProbe().GetCommand() == nil {
		t.Errorf("-d --ready-cmd: %v", d)
	}

	for _, tc := range []struct {
		argv    []string
		mention string
	}{
		{[]string{"-m", "lots", "busybox"}, `--memory "lots"`},
		{[]string{"--restart", "sometimes", "busybox"}, `--restart "sometimes"`},
		{[]string{"-p", "80/sctp", "busybox"}, `--publish "80/sctp"`},
		{[]string{"-v", "/data", "busybox"}, `--volume "/data"`},
		{[]string{"--tmpfs", "run", "busybox"}, `--tmpfs "run"`},
		{[]string{"--depends-on", "db:alive", "busybox"}, `--depends-on "db:alive"`},
		{[]string{"-e", "=x", "busybox"}, `--env "=x"`},
		{[]string{"-l", "novalue", "busybox"}, `--label "novalue"`},
		{[]string{"--cpus", "-1", "busybox"}, "--cpus"},
		{[]string{"--health-interval", "5s", "busybox"}, "--health-interval needs --health-cmd"},
		{[]string{"--health-cmd", "true", "--health-retries", "-2", "busybox"}, "--health-retries"},
		{[]string{"--ready-tcp", "80", "--ready-cmd", "true", "busybox"}, "--ready-tcp and --ready-cmd"},
		{[]string{"--ready-tcp", "70000", "busybox"}, "--ready-tcp 70000"},
		{[]string{"--ready-timeout", "1m", "busybox"}, "--ready-timeout needs"},
		{[]string{"-d", "-a", "busybox"}, "--detach and --attach"},
	} {
		_, err := requestOf(t, true, tc.argv...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("run %s: error %v, want a usage error mentioning %s", strings.Join(tc.argv, " "), err, tc.mention)
		}
	}
	// create has no --depends-on (dependencies decide when canopy starts a
	// container) and no --attach.
	if _, err := requestOf(t, false, "--depends-on", "db", "busybox"); err == nil {
		t.Error("create --depends-on: no error")
	}
}

// TestContainerUsageErrors: bad flag values are usage errors (exit 2)
// naming the flag, found before canopyd is called (no daemon here).
func TestContainerUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		mentions []string
	}{
		{[]string{"container", "run", "-m", "lots", "busybox"}, []string{`--memory "lots"`, "container run --help"}},
		{[]string{"container", "run", "--restart", "never", "busybox"}, []string{`--restart "never"`}},
		{[]string{"container", "run"}, []string{"missing an IMAGE"}},
		{[]string{"container", "create", "--depends-on", "db", "busybox"}, []string{"unknown flag: --depends-on"}},
		{[]string{"container", "update", "web"}, []string{"nothing to change"}},
		{[]string{"container", "update", "-m", "1q", "web"}, []string{`--memory "1q"`}},
		{[]string{"container", "ls", "--filter", "ancestor=busybox"}, []string{`--filter "ancestor=busybox"`}},
		{[]string{"container", "logs", "--since", "yesterday", "web"}, []string{`--since "yesterday"`}},
		{[]string{"container", "logs", "--tail", "-3", "web"}, []string{`--tail "-3"`}},
		{[]string{"container", "wait", "--condition", "gone", "web"}, []string{`--condition "gone"`}},
		{[]string{"container", "exec", "web"}, []string{"missing a CONTAINER and a COMMAND"}},
		{[]string{"container", "rename", "web"}, []string{"CONTAINER and NEW_NAME"}},
		{[]string{"container", "stats", "--stream", "--no-stream"}, []string{"pick one"}},
		{[]string{"container", "frobnicate"}, []string{`unknown command "frobnicate"`}},
	} {
		fails(t, "127.0.0.1:1", 2, tc.args, tc.mentions...)
	}
}
