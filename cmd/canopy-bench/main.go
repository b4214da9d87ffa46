// Command canopy-bench measures canopy's protection of the clouds and its
// overhead, printing one line per figure (see BENCHMARKS.md):
//
//	P1  N concurrent identical ListServers on a cold cache → upstream calls
//	P2  N servers with one waiter each → list calls per poll interval, and
//	    the delay from the change in the cloud to the waiter waking
//	P3  cached GetServer / ListServers(100) throughput through gRPC, against
//	    a bare grpc-go server returning the same payload
//	P4  uncached GetServer latency through canopyd vs the adapter in-process
//	P5  1 GiB (+1 byte) up and down through canopyd vs the S3 SDK straight
//	    to the same engine (moto): throughput ratio, canopyd's RSS growth
//	SOAK -duration of mixed gRPC + REST load (make soak): 0 errors, RSS and
//	    goroutines within ±10 % of their median after the first 20 %
//
// Upstream calls are counted at the provider boundary (the sim counts every
// call), never estimated. Everything runs on loopback in this process.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/config"
	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
	"github.com/canopy-cloud/canopy/providers/sim"
	"github.com/canopy-cloud/canopy/server"
	"github.com/canopy-cloud/canopy/store/bolt"
)

func main() {
	var (
		only      = flag.String("only", "P1,P2,P3,P4", "which figures to measure")
		callers   = flag.Int("callers", 1000, "P1: concurrent callers")
		servers   = flag.Int("servers", 1000, "P2: servers, one waiter each")
		interval  = flag.Duration("interval", time.Second, "P2: poll interval")
		dur       = flag.Duration("duration", 3*time.Second, "P3: duration of each throughput run")
		conc      = flag.Int("concurrency", 32, "P3/P4: concurrent clients")
		samples   = flag.Int("samples", 400, "P4: calls per latency run")
		latency   = flag.Duration("cloud-latency", 80*time.Millisecond, "P1/P4: simulated latency of one cloud API call")
		moto      = flag.String("moto", os.Getenv("CANOPY_MOTO_ENDPOINT"), "P5: the S3 engine (moto) endpoint (env CANOPY_MOTO_ENDPOINT)")
		objSize   = flag.Int64("object-size", 1<<30+1, "P5: bytes to upload and download")
		daemonBin = flag.String("canopyd", "", "P5: the canopyd binary to run (default: go build it)")
		rounds    = flag.Int("rounds", 3, "P5: rounds (medians are reported)")
		ghzBin    = flag.String("ghz", "", "GHZ: the ghz binary (make bench-p3 installs it)")
		protoset  = flag.String("protoset", "", "GHZ: canopy's descriptor set (buf build -o FILE)")
		tailRate  = flag.Int("tail-rate", 2000, "GHZ: calls per second of the tail run")
		tailDur   = flag.Duration("tail-duration", 0, "GHZ: duration of the tail run (0: none)")
		slow      = flag.Duration("slow", 50*time.Millisecond, "GHZ: a tail-run call at least this long counts as a stall")
	)
	flag.Parse()
	ctx := context.Background()
	run := func(name string, f func() error) {
		if !strings.Contains(*only, name) {
			return
		}
		if err := f(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
	}
	run("P1", func() error { return p1(ctx, *callers, *latency) })
	run("P2", func() error { return p2(ctx, *servers, *interval) })
	run("P3", func() error { return p3(ctx, *dur, *conc) })
	run("P4", func() error { return p4(ctx, *samples, *conc, *latency) })
	run("P5", func() error { return p5(ctx, *moto, *daemonBin, *objSize, *rounds) })
	run("GHZ", func() error { return p3ghz(ctx, *ghzBin, *protoset, *dur, *conc, *tailRate, *tailDur, *slow) })
	run("SOAK", func() error { return soak(ctx, *dur) })
}

// daemon is a canopyd served in-process on loopback.
type daemon struct {
	srv   *server.Server
	addr  string
	rest  string // the REST listener's address
	token string // an admin token, for clients outside the process
	conns []*grpc.ClientConn
	stop  func()
}

// start serves the YAML config; conns client connections are opened (many
// waiters from many clients, as in production).
func start(ctx context.Context, yaml string, wait time.Duration, conns int) (*daemon, error) {
	cfg, err := config.Parse([]byte(yaml), "bench")
	if err != nil {
		return nil, err
	}
	cfg.Auth.IssuerURL = "http://canopy-bench"
	if wait > 0 {
		cfg.Wait.MinInterval, cfg.Wait.MaxInterval = config.Duration(wait), config.Duration(wait)
	}
	dir, err := os.MkdirTemp("", "canopy-bench")
	if err != nil {
		return nil, err
	}
	st, err := bolt.Open(dir + "/canopy.db")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	srv, err := server.New(ctx, cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		return nil, err
	}
	gl, _ := net.Listen("tcp", "127.0.0.1:0")
	rl, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, server.Listeners{GRPC: gl, REST: rl}, time.Second); close(done) }()
	d := &daemon{srv: srv, addr: gl.Addr().String(), rest: rl.Addr().String()}
	tok, _, err := srv.Issuer().Issue("bench", "default", []string{auth.ScopeAdmin})
	if err != nil {
		cancel()
		return nil, err
	}
	d.token = tok
	for i := 0; i < conns; i++ {
		cc, err := grpc.NewClient(d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(tok)))
		if err != nil {
			cancel()
			return nil, err
		}
		d.conns = append(d.conns, cc)
	}
	d.stop = func() {
		for _, cc := range d.conns {
			cc.Close()
		}
		cancel()
		<-done
		srv.Close()
		st.Close()
		os.RemoveAll(dir)
	}
	return d, nil
}

func (d *daemon) compute(i int) canopyv1.ComputeServiceClient {
	return canopyv1.NewComputeServiceClient(d.conns[i%len(d.conns)])
}

func (d *daemon) sim(cloud string) *sim.Cloud { return d.srv.Provider(cloud).(*sim.Cloud) }

// bearer sends the bench's admin token: authentication is part of what
// every real call pays, so the figures include it.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// pct returns the p-th percentile of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[i]
}

func sortDur(d []time.Duration) []time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
