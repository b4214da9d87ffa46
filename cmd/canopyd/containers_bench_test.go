//go:build containers

package main

// P9 (BENCHMARKS.md): containers through canopyd against the Docker Go
// client on the same dockerd, and the delay from a runtime event to the
// Watch message that reports it. Run with test/docker/up.sh's daemon:
//
//	CANOPY_DOCKER_HOST=$(test/docker/up.sh | tail -1) CANOPY_CONTAINERD_ADDRESS=$(test/containerd/up.sh | tail -1) \
//	  go test -tags containers -run '^$' -bench P9 -benchtime 3x ./cmd/canopyd/

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/internal/canopydtest"
)

const p9Concurrency = 20

func benchDaemon(b *testing.B) (runtimeEnv, *canopydtest.Daemon, *client.Client) {
	b.Helper()
	env := runtimeEnv{dockerHost: os.Getenv("CANOPY_DOCKER_HOST"), containerdAddr: os.Getenv("CANOPY_CONTAINERD_ADDRESS")}
	if env.dockerHost == "" || env.containerdAddr == "" {
		b.Skip("CANOPY_DOCKER_HOST and CANOPY_CONTAINERD_ADDRESS not set: start test/docker/up.sh and test/containerd/up.sh")
	}
	cfg := canopydtest.WriteConfig(b, fmt.Sprintf(`
clouds:
  - name: dock
    kind: docker
    options: {hosts: [%q], region: dock, zone: dock-1}
`, env.dockerHost))
	d := canopydtest.Start(b, b.TempDir(), "--config", cfg)
	cli, err := client.NewClientWithOpts(client.WithHost(env.dockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		b.Fatal(err)
	}
	return env, d, cli
}

// BenchmarkP9CreateStart: 20 containers created and started at once,
// through canopyd (CreateContainer with run and wait) and with the Docker
// Go client directly; reports both wall times and their ratio.
func BenchmarkP9CreateStart(b *testing.B) {
	_, d, cli := benchDaemon(b)
	defer d.Stop()
	defer cli.Close()
	c := canopyv1.NewContainerServiceClient(d.Conn)
	ctx := context.Background()
	var direct, canopy time.Duration
	for i := 0; i < b.N; i++ {
		prefix := fmt.Sprintf("p9-%d-%d", time.Now().UnixNano()%1e6, i)
		// Directly.
		t0 := time.Now()
		ids := make([]string, p9Concurrency)
		parallel(b, func(j int) error {
			r, err := cli.ContainerCreate(ctx, &container.Config{Image: e2eImage, Cmd: []string{"sleep", "600"}},
				&container.HostConfig{NetworkMode: "none"}, nil, nil, fmt.Sprintf("%s-d%d", prefix, j))
			if err != nil {
				return err
			}
			ids[j] = r.ID
			return cli.ContainerStart(ctx, r.ID, container.StartOptions{})
		})
		direct += time.Since(t0)
		// Through canopyd.
		t0 = time.Now()
		cids := make([]string, p9Concurrency)
		parallel(b, func(j int) error {
			op, err := c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: fmt.Sprintf("%s-c%d", prefix, j), Location: loc("dock"),
				Image: e2eImage, Command: []string{"sleep", "600"}, Run: true, Wait: true})
			if err != nil {
				return err
			}
			if !op.Done || op.GetError() != nil {
				return fmt.Errorf("operation %s: done %v, error %v", op.Id, op.Done, op.GetError())
			}
			cids[j] = op.Metadata.TargetId
			return nil
		})
		canopy += time.Since(t0)
		b.StopTimer()
		parallel(b, func(j int) error { return cli.ContainerRemove(ctx, ids[j], container.RemoveOptions{Force: true}) })
		parallel(b, func(j int) error {
			_, err := c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: cids[j], Force: true})
			return err
		})
		b.StartTimer()
	}
	b.ReportMetric(float64(direct.Milliseconds())/float64(b.N), "direct-ms/op")
	b.ReportMetric(float64(canopy.Milliseconds())/float64(b.N), "canopy-ms/op")
	b.ReportMetric(direct.Seconds()/canopy.Seconds(), "ratio")
}

// BenchmarkP9WatchDelay: a container is paused and unpaused directly at
// dockerd; the delay is from the daemon's event time to the Watch message
// that shows the new state (same host, same clock).
func BenchmarkP9WatchDelay(b *testing.B) {
	_, d, cli := benchDaemon(b)
	defer d.Stop()
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := canopyv1.NewContainerServiceClient(d.Conn)
	name := fmt.Sprintf("p9w-%d", time.Now().UnixNano()%1e6)
	r, err := cli.ContainerCreate(ctx, &container.Config{Image: e2eImage, Cmd: []string{"sleep", "600"}}, &container.HostConfig{NetworkMode: "none"}, nil, nil, name)
	if err != nil {
		b.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), r.ID, container.RemoveOptions{Force: true})
	if err := cli.ContainerStart(ctx, r.ID, container.StartOptions{}); err != nil {
		b.Fatal(err)
	}
	w, err := c.WatchContainers(ctx, &canopyv1.WatchContainersRequest{Location: loc("dock"), Name: name})
	if err != nil {
		b.Fatal(err)
	}
	for {
		m, err := w.Recv()
		if err != nil {
			b.Fatal(err)
		}
		if m.Type == canopyv1.WatchContainersResponse_EVENT_TYPE_SYNCED {
			break
		}
	}
	evs, errs := cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("container", r.ID), filters.Arg("event", "pause"), filters.Arg("event", "unpause"))})
	var delays []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		want := canopyv1.Container_STATE_PAUSED
		act := cli.ContainerPause
		if i%2 == 1 {
			want, act = canopyv1.Container_STATE_RUNNING, cli.ContainerUnpause
		}
		if err := act(ctx, r.ID); err != nil {
			b.Fatal(err)
		}
		var evAt time.Time
		select {
		case e := <-evs:
			evAt = time.Unix(0, e.TimeNano)
		case err := <-errs:
			b.Fatal(err)
		}
		for {
			m, err := w.Recv()
			if err != nil {
				b.Fatal(err)
			}
			if m.GetContainer().GetState() == want {
				delays = append(delays, time.Since(evAt))
				break
			}
		}
	}
	b.StopTimer()
	if i := len(delays) - 1; i >= 0 {
		sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
		b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(delays[i].Microseconds())/1000, "max-ms")
	}
}

func parallel(b *testing.B, fn func(i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make([]error, p9Concurrency)
	for i := 0; i < p9Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPullThrough50MiB: a container on containerd whose 50 MiB image
// only the Docker host has: the create pulls it through canopyd (docker
// save → containerd import). Reports the create's wall time and canopyd's
// resident memory before and at its peak.
func BenchmarkPullThrough50MiB(b *testing.B) {
	env, _, cli := benchDaemon(b)
	defer cli.Close()
	cfg := canopydtest.WriteConfig(b, fmt.Sprintf(`
clouds:
  - name: dock
    kind: docker
    options: {hosts: [%q], region: dock, zone: dock-1}
  - name: ctrd
    kind: containerd
    options: {address: %q, region: ctrd, zone: ctrd-1}
`, env.dockerHost, env.containerdAddr))
	d := canopydtest.Start(b, b.TempDir(), "--config", cfg)
	defer d.Stop()
	ctx := context.Background()
	c := canopyv1.NewContainerServiceClient(d.Conn)
	ops := canopyv1.NewOperationServiceClient(d.Conn)
	var wall time.Duration
	var rssBefore, peak int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ref := fmt.Sprintf("canopy-big:v%d", time.Now().UnixNano()%1e9)
		bigDockerImage(b, cli, ref)
		rssBefore = procStatus(b, d.Cmd.Process.Pid, "VmRSS")
		b.StartTimer()
		t0 := time.Now()
		op := runBig(b, c, ops, "big-"+strings.ReplaceAll(ref, ":", "-"), "ctrd", ref, "create from a pulled image")
		wall += time.Since(t0)
		b.StopTimer()
		peak = procStatus(b, d.Cmd.Process.Pid, "VmHWM")
		_, _ = c.DeleteContainer(ctx, &canopyv1.DeleteContainerRequest{Id: op.Metadata.TargetId, Force: true})
		_, _ = cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true})
		_ = exec.Command("ctr", "--address", env.containerdAddr, "-n", "canopy", "images", "rm", "docker.io/library/"+ref).Run()
		b.StartTimer()
	}
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "pull+start-ms")
	b.ReportMetric(float64(rssBefore)/1024, "rss-before-MiB")
	b.ReportMetric(float64(peak)/1024, "rss-peak-MiB")
}

// procStatus reads a kB field of /proc/PID/status.
func procStatus(b *testing.B, pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// bigDockerImage commits ref on the Docker host only: the e2e image with
// 50 MiB of random bytes added.
func bigDockerImage(b *testing.B, cli *client.Client, ref string) {
	b.Helper()
	ctx := context.Background()
	r, err := cli.ContainerCreate(ctx, &container.Config{Image: e2eImage, Cmd: []string{"dd", "if=/dev/urandom", "of=/big", "bs=1048576", "count=50"}},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	if err := cli.ContainerStart(ctx, r.ID, container.StartOptions{}); err != nil {
		b.Fatal(err)
	}
	waitc, errc := cli.ContainerWait(ctx, r.ID, container.WaitConditionNotRunning)
	select {
	case <-waitc:
	case err := <-errc:
		b.Fatal(err)
	}
	if _, err := cli.ContainerCommit(ctx, r.ID, container.CommitOptions{Reference: ref}); err != nil {
		b.Fatal(err)
	}
	_ = cli.ContainerRemove(ctx, r.ID, container.RemoveOptions{Force: true})
}

// runBig creates and runs a container of image in the cloud and waits for
// its operation; what names the create in a failure.
func runBig(b *testing.B, c canopyv1.ContainerServiceClient, ops canopyv1.OperationServiceClient, name, cloud, image, what string) *canopyv1.Operation {
	b.Helper()
	ctx := context.Background()
	op, err := c.CreateContainer(ctx, &canopyv1.CreateContainerRequest{Name: name, Location: loc(cloud),
		Image: image, Command: []string{"sleep", "60"}, Run: true, Wait: true})
	if err == nil && !op.Done {
		op, err = ops.WaitOperation(ctx, &canopyv1.WaitOperationRequest{Id: op.Id})
	}
	if err != nil || op.GetError() != nil {
		b.Fatalf("%s: %v %v", what, err, op.GetError())
	}
	return op
}
