// Command canopyd is the canopy server: one gRPC API (and REST through
// grpc-gateway) over every configured cloud.
//
// With no flags it is the embedded default: a bbolt store in the user's data
// dir (--store etcd://HOST:PORT,... puts the state in an etcd cluster
// instead), the config in $XDG_CONFIG_HOME/canopy/canopyd.yaml if there is
// one (else one sim cloud named "local"), gRPC on 127.0.0.1:8470 and REST on
// 127.0.0.1:8471. `canopyd admin …` works on the store directly (see
// admin.go).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one canopyd command line and returns the exit status: 0,
// 1 for an error, 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := rootCmd()
	root.SetArgs(legacyFlags(root, args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "canopyd:", err)
	if isUsage(err) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}
