// Command canopy is the command-line client of canopyd: one set of
// commands for servers, flavors, images and keypairs across every cloud
// canopyd fronts.
//
//	canopy server create web-1 --flavor m1.small --image debian-12 --wait
//	canopy flavor find --vcpus 2 --ram 4GiB
//	canopy server list -o json
//
// Exit status: 0 on success, 1 when canopyd (or the CLI) reports an error,
// 2 on a usage error.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one canopy command line and returns the exit status. Tests
// call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, stderrTerm: isTerminal(stderr)}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	a.close()
	return a.exitCode(cmd, err)
}
