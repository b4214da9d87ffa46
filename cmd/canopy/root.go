package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/canopy-cloud/canopy/client"
	"github.com/canopy-cloud/canopy/internal/version"
)

const defaultAddr = "127.0.0.1:8470"

// app holds the global flags and the state of one invocation.
type app struct {
	addr        string
	output      string
	timeout     time.Duration
	waitTimeout time.Duration
	token       string
	credentials string
	profile     string
	tokenURL    string
	tls         bool
	caFile      string

	stdout, stderr io.Writer
	// stderrTerm says stderr is a terminal: progress bars go there only.
	stderrTerm bool
	conn       *grpc.ClientConn
	tgt        *target
	// started is set once a command's own RunE begins: any error cobra
	// returns before that (flags, arguments, unknown command) is a usage
	// error.
	started bool
}

const rootLong = `canopy talks to canopyd, which presents many clouds as one: one id space,
normalized flavors and statuses, and waits that do not hammer the cloud.

Resources are named by their canopy id or by their name; a name that matches
several resources is an error listing their ids.

List commands fetch every page unless --limit is set. When some cloud does not
answer, a list still succeeds: it prints what the other clouds returned, warns
on stderr once per failed cloud, and exits 0 (use -o json and read
"cloud_errors" to detect it in scripts).

Output (-o): table (default), json (protojson with proto field names; every
field present), yaml (the same document as YAML).

Authentication: every call carries an OAuth 2 bearer token: --token (or
$CANOPY_TOKEN) as is, else one obtained with the client credentials of a
profile in the --credentials file, cached on disk until it expires. The file
holds several profiles: the default one (canopyd writes its admin client there
on first start) and named ones ('canopy login --profile NAME'); --profile or
$CANOPY_PROFILE picks one, and 'canopy profile list' shows them. A profile also
says where canopyd is (grpc_addr, token_url) and how to trust it (tls,
ca_file); --addr, --token-url, --tls and --ca-file override it. --ca-file is
trusted for the gRPC channel and the token endpoint alike.

Exit status: 0 success; 1 an error from canopyd or the CLI (also a server that
ends in ERROR during --wait); 2 a usage error.`

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "canopy",
		Short:         "Command-line client for canopyd: one API over many clouds",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version.String("canopy"), // --version
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch a.output {
			case "table", "json", "yaml":
			default:
				return usageErrorf("--output %q: want table, json or yaml", a.output)
			}
			if a.timeout <= 0 {
				return usageErrorf("--timeout must be positive, got %s", a.timeout)
			}
			if a.profile != "" {
				if err := client.CheckProfileName(a.profile); err != nil {
					return usageErrorf("--profile: %v", err)
				}
			}
			return nil
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.addr, "addr", os.Getenv("CANOPY_ADDR"), "canopyd gRPC address host:port (env CANOPY_ADDR; default: the profile's grpc_addr, else "+defaultAddr+")")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table, json or yaml")
	pf.DurationVar(&a.timeout, "timeout", 30*time.Second, "deadline of each call to canopyd (a --wait uses --wait-timeout instead)")
	pf.StringVar(&a.token, "token", os.Getenv("CANOPY_TOKEN"), "a bearer token to send as is (env CANOPY_TOKEN); default: get one with the credentials file")
	pf.StringVar(&a.credentials, "credentials", envOr("CANOPY_CREDENTIALS", client.DefaultCredentialsPath()), "client credentials file (written by canopyd's first run and by 'canopy login'; env CANOPY_CREDENTIALS)")
	pf.StringVar(&a.profile, "profile", os.Getenv(client.ProfileEnv), "the profile of the credentials file to use (env "+client.ProfileEnv+"; default: the default profile)")
	pf.StringVar(&a.tokenURL, "token-url", os.Getenv("CANOPY_TOKEN_URL"), "token endpoint, overriding the credentials file's (env CANOPY_TOKEN_URL)")
	pf.BoolVar(&a.tls, "tls", false, "connect with TLS (system roots; default: as the profile says)")
	pf.StringVar(&a.caFile, "ca-file", os.Getenv("CANOPY_CA_FILE"), "connect with TLS, trusting this PEM CA for gRPC and the token endpoint (env CANOPY_CA_FILE)")

	img := imageCmds{a}.imageCmd()
	img.AddCommand(imageCmds{a}.imageUploadCmd(), imageCmds{a}.imageDownloadCmd(), imageCmds{a}.imageRenderCmd(), imageCmds{a}.imageUpdateCmd(), imageCmds{a}.imageDeleteCmd(),
		imageCmds{a}.imageReplicateCmd(), imageCmds{a}.imagePlacementsCmd())
	root.AddCommand(a.cloudCmd(), flavorCmds{a}.flavorCmd(), img, serverCmds{a}.serverCmd(), keypairCmds{a}.keypairCmd(), a.loginCmd(), a.profileCmd(), clientCmds{a}.clientCmd(),
		objectCmds{a}.bucketCmd(), objectCmds{a}.objectCmd(),
		volumeCmds{a}.volumeCmd(), copyCmds{a}.snapshotCmd(), copyCmds{a}.backupCmd(), operationCmds{a}.operationCmd()) // volumes.go, snapshots.go, operations.go
	root.AddCommand(containerCmds{a}.containerCmd()) // containers*.go
	net := netCmds{a}                                // networks*.go
	root.AddCommand(net.networkCmd(), net.subnetCmd(), net.portCmd(), net.routerCmd(), net.sgCmd(), net.fipCmd())
	a.addCompletion(root) // completion.go: resource names from canopyd
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// group is a command that only holds subcommands. Run with no subcommand it
// prints its help; with an unknown one it is a usage error.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageError{errors.New(msg)}
		},
	}
	c.AddCommand(subs...)
	return c
}

// cmdRun wraps a command's RunE so that errors from here on are not taken
// for usage errors (unless they say so).
func (a *app) cmdRun(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.started = true
		return f(cmd, args)
	}
}

// args checks the number of positional arguments, naming what is expected.
func args(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usageErrorf("%s: missing %s", cmd.CommandPath(), what)
		case max >= 0 && len(args) > max:
			return usageErrorf("%s: want %s, got %d arguments (%s)", cmd.CommandPath(), what, len(args), strings.Join(args, " "))
		}
		return nil
	}
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errReported means the failure was already printed: exit 1, print nothing.
var errReported = errors.New("reported")

// exitCode prints err the way its kind calls for and returns the status.
func (a *app) exitCode(cmd *cobra.Command, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errReported) {
		return 1
	}
	if code, ok := exitStatusOf(err); ok {
		return code // a container's or an exec'd process's own status
	}
	var ue usageError
	if errors.As(err, &ue) || !a.started {
		fmt.Fprintf(a.stderr, "canopy: %v\n", err)
		if cmd != nil {
			fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return 2
	}
	a.printError("", err)
	return 1
}
