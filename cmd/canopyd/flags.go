package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/canopy-cloud/canopy/client"
	"github.com/canopy-cloud/canopy/config"
	"github.com/canopy-cloud/canopy/internal/version"
	"github.com/canopy-cloud/canopy/store"
)

// daemonFlags are canopyd's flags. They are persistent: `canopyd admin …`
// reads the same --store, --config and addresses as the daemon it
// administers.
type daemonFlags struct {
	cfgPath  string
	grpcAddr string
	restAddr string
	storeURL string
	logLevel string
	grace    time.Duration
	tlsCert  string
	tlsKey   string
	insecure bool
	credPath string
	replica  string
	leaseTTL int
}

const rootLong = `canopyd serves one gRPC API (and REST through grpc-gateway) over every
configured cloud.

With no flags it is the embedded default: a bbolt store in the user's data dir,
the config in $XDG_CONFIG_HOME/canopy/canopyd.yaml if there is one (else one
sim cloud named "local"), gRPC on 127.0.0.1:8470 and REST on 127.0.0.1:8471.
On its first start it makes an admin client and writes its credentials where
the canopy CLI finds them; 'canopyd admin reset-credentials' makes another.`

func rootCmd() *cobra.Command {
	var f daemonFlags
	root := &cobra.Command{
		Use:           "canopyd",
		Short:         "The canopy server: one API over many clouds",
		Long:          rootLong,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version.String("canopyd"), // --version
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), cmd, &f)
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&f.cfgPath, "config", env("CANOPY_CONFIG", ""), "YAML config file (env CANOPY_CONFIG); default "+defaultConfigPath()+" if it exists, else one sim cloud named local; --config= for none")
	pf.StringVar(&f.grpcAddr, "grpc-addr", env("CANOPY_GRPC_ADDR", "127.0.0.1:8470"), "gRPC listen address (env CANOPY_GRPC_ADDR)")
	pf.StringVar(&f.restAddr, "rest-addr", env("CANOPY_REST_ADDR", "127.0.0.1:8471"), "REST listen address (env CANOPY_REST_ADDR)")
	pf.StringVar(&f.storeURL, "store", env("CANOPY_STORE", ""), "store: a bbolt file path or bolt://PATH, or an etcd cluster etcd://HOST:PORT,...[/ROOT] (env CANOPY_STORE); default DATA_DIR/canopy.db")
	pf.StringVar(&f.logLevel, "log-level", env("CANOPY_LOG_LEVEL", "info"), "debug, info, warn or error (env CANOPY_LOG_LEVEL)")
	pf.StringVar(&f.tlsCert, "tls-cert", env("CANOPY_TLS_CERT", ""), "PEM certificate for gRPC and REST (env CANOPY_TLS_CERT)")
	pf.StringVar(&f.tlsKey, "tls-key", env("CANOPY_TLS_KEY", ""), "PEM private key for --tls-cert (env CANOPY_TLS_KEY)")
	pf.StringVar(&f.credPath, "credentials-file", env("CANOPY_CREDENTIALS", client.DefaultCredentialsPath()), "where the first run (and admin reset-credentials) writes the admin client's credentials (env CANOPY_CREDENTIALS)")
	root.Flags().DurationVar(&f.grace, "grace", 30*time.Second, "how long in-flight calls may run after SIGINT/SIGTERM")
	root.Flags().BoolVar(&f.insecure, "insecure", false, "allow plaintext on non-loopback addresses")
	root.Flags().StringVar(&f.replica, "replica-id", env("CANOPY_REPLICA_ID", ""), "this replica's name in the etcd elections and claims (env CANOPY_REPLICA_ID); default HOST-PID")
	root.Flags().IntVar(&f.leaseTTL, "lease-ttl", 5, "with --store etcd://: seconds a dead replica's clouds and operations wait before another replica takes them")
	root.AddCommand(adminCmd(&f))
	return root
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// legacyFlags lets the single-dash long flags of Go's flag package, which
// canopyd used before cobra (-grpc-addr :8470, -version), keep working:
// each becomes its double-dash form. Short flags (-h) and arguments after
// "--" are left as they are.
func legacyFlags(root *cobra.Command, args []string) []string {
	long := map[string]bool{"help": true, "version": true}
	var collect func(c *cobra.Command)
	collect = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		}
		for _, s := range c.Commands() {
			collect(s)
		}
	}
	collect(root)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		if name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "="); len(a) > 2 && a[0] == '-' && a[1] != '-' && len(name) > 1 && long[name] {
			out[i] = "-" + a
		}
	}
	return out
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "accepts ")
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

// defaultConfigPath is where canopyd looks for its config when neither
// --config nor $CANOPY_CONFIG names one: $XDG_CONFIG_HOME/canopy/canopyd.yaml
// (the OS's user config dir), beside the CLI's credentials.
func defaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "canopy", "canopyd.yaml")
}

// loadConfig reads the config --config names, else the one at
// defaultConfigPath if there is one, else the embedded default; path is
// the file read ("" for none).
func (f *daemonFlags) loadConfig(cmd *cobra.Command) (cfg *config.Config, path string, err error) {
	path = f.cfgPath
	if path == "" && !cmd.Flags().Changed("config") {
		if p := defaultConfigPath(); p != "" {
			if _, err := os.Stat(p); err == nil {
				path = p
			}
		}
	}
	if path == "" {
		return config.Default(), "", nil
	}
	cfg, err = config.Load(path)
	return cfg, path, err
}

// logger is the daemon's logger at --log-level.
func (f *daemonFlags) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level: %w", err)}
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}

// tlsConfig is the server's TLS configuration from --tls-cert/--tls-key
// (nil: plaintext).
func (f *daemonFlags) tlsConfig() (*tls.Config, error) {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	if f.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// tokenURL is the built-in issuer's token endpoint as clients reach it.
func tokenURL(cfg *config.Config) string {
	return strings.TrimSuffix(cfg.Auth.IssuerURL, "/") + "/oauth2/token"
}

// setIssuer defaults the issuer to the REST address, https with TLS.
func (f *daemonFlags) setIssuer(cfg *config.Config, withTLS bool) {
	scheme := "http"
	if withTLS {
		scheme = "https"
	}
	if cfg.Auth.IssuerURL == "" {
		cfg.Auth.IssuerURL = scheme + "://" + f.restAddr
	}
}

// openStore opens the --store and sets the config's data dir beside it.
func (f *daemonFlags) openStore(ctx context.Context, cfg *config.Config) (store.Store, storeSpec, error) {
	spec, err := parseStore(f.storeURL, dataDir())
	if err != nil {
		return nil, spec, usageError{err}
	}
	// Adapters keep local state beside a bbolt file, else in the data dir.
	cfg.DataDir = dataDir()
	if spec.Path != "" {
		cfg.DataDir = filepath.Dir(spec.Path)
	}
	st, err := spec.open(ctx)
	return st, spec, err
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
