// Command canopyd is the canopy server: one gRPC API (and REST through
// grpc-gateway) over every configured cloud.
//
// With no flags it is the embedded default: a bbolt store in the user's data
// dir (--store etcd://HOST:PORT,... puts the state in an etcd cluster
// instead), one sim cloud named "local", gRPC on 127.0.0.1:8470 and REST on
// 127.0.0.1:8471.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/internal/version"
	"github.com/canopy-cloud/canopy/server"

	_ "github.com/canopy-cloud/canopy/providers/sim" // adapters register by kind
)

// gcPercent is canopyd's GOGC unless the environment sets one. canopyd's
// live heap is small and mostly transfer buffers that turn over quickly;
// with Go's default (100) the heap may grow to twice that between
// collections: a 1 GiB upload took RSS to +54–62 MiB in P5, at 50 to
// +44–53 MiB (BENCHMARKS.md), for collections that stay cheap because
// little is live.
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "canopyd:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// dataDir is where the embedded store lives: $XDG_DATA_HOME/canopy, or
// ~/.local/share/canopy.
func dataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "canopy")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "canopy")
	}
	return filepath.Join(home, ".local", "share", "canopy")
}

func run() error {
	var (
		cfgPath  = flag.String("config", env("CANOPY_CONFIG", ""), "YAML config file (env CANOPY_CONFIG); empty: one sim cloud named local")
		grpcAddr = flag.String("grpc-addr", env("CANOPY_GRPC_ADDR", "127.0.0.1:8470"), "gRPC listen address (env CANOPY_GRPC_ADDR)")
		restAddr = flag.String("rest-addr", env("CANOPY_REST_ADDR", "127.0.0.1:8471"), "REST listen address (env CANOPY_REST_ADDR)")
		storeURL = flag.String("store", env("CANOPY_STORE", ""), "store: a bbolt file path or bolt://PATH, or an etcd cluster etcd://HOST:PORT,...[/ROOT] (env CANOPY_STORE); default DATA_DIR/canopy.db")
		logLevel = flag.String("log-level", env("CANOPY_LOG_LEVEL", "info"), "debug, info, warn or error")
		grace    = flag.Duration("grace", 30*time.Second, "how long in-flight calls may run after SIGINT/SIGTERM")
		tlsCert  = flag.String("tls-cert", env("CANOPY_TLS_CERT", ""), "PEM certificate for gRPC and REST (env CANOPY_TLS_CERT)")
		tlsKey   = flag.String("tls-key", env("CANOPY_TLS_KEY", ""), "PEM private key for --tls-cert (env CANOPY_TLS_KEY)")
		insec    = flag.Bool("insecure", false, "allow plaintext on non-loopback addresses")
		credPath = flag.String("credentials-file", env("CANOPY_CREDENTIALS", credentialsPath()), "where the first run writes the admin client's credentials")
		showVer  = flag.Bool("version", false, "print canopyd's version and build, then exit")
		replica  = flag.String("replica-id", env("CANOPY_REPLICA_ID", ""), "this replica's name in the etcd elections and claims (env CANOPY_REPLICA_ID); default HOST-PID")
		leaseTTL = flag.Int("lease-ttl", 5, "with --store etcd://: seconds a dead replica's clouds and operations wait before another replica takes them")
	)
	flag.Parse()
	if *showVer {
		fmt.Println(version.String("canopyd"))
		return nil
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}

	var tlsCfg *tls.Config
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	} else if !*insec {
		for flagName, addr := range map[string]string{"--grpc-addr": *grpcAddr, "--rest-addr": *restAddr} {
			if !loopback(addr) {
				return fmt.Errorf("%s %s is not a loopback address: serve it with --tls-cert/--tls-key, or pass --insecure to allow plaintext", flagName, addr)
			}
		}
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	if cfg.Auth.IssuerURL == "" {
		cfg.Auth.IssuerURL = scheme + "://" + *restAddr
	}

	spec, err := parseStore(*storeURL, dataDir())
	if err != nil {
		return err
	}
	// Adapters keep local state beside a bbolt file, else in the data dir.
	cfg.DataDir = dataDir()
	if spec.Path != "" {
		cfg.DataDir = filepath.Dir(spec.Path)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := spec.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	srv, err := server.New(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	if owner := replicate(st, *replica, *leaseTTL); owner != nil {
		srv.Replicated(owner)
		defer owner.Close() // before the store: revoking hands over at once
	}

	gl, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		return fmt.Errorf("grpc listen: %w", err)
	}
	rl, err := net.Listen("tcp", *restAddr)
	if err != nil {
		gl.Close()
		return fmt.Errorf("rest listen: %w", err)
	}
	if err := firstRun(ctx, srv, *credPath, strings.TrimSuffix(cfg.Auth.IssuerURL, "/")+"/oauth2/token", *grpcAddr, log); err != nil {
		return err
	}
	log.Info("store", "store", spec.String())
	return srv.Serve(ctx, server.Listeners{GRPC: gl, REST: rl, TLS: tlsCfg}, *grace)
}

// loopback reports whether a listen address stays on this machine.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
