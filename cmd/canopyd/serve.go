package main

import (
	"context"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/canopy-cloud/canopy/server"

	_ "github.com/canopy-cloud/canopy/providers/sim" // adapters register by kind
)

// serve runs the daemon until ctx ends (SIGINT, SIGTERM), then lets
// in-flight calls finish for --grace.
func serve(ctx context.Context, cmd *cobra.Command, f *daemonFlags) error {
	log, err := f.logger()
	if err != nil {
		return err
	}
	cfg, cfgPath, err := f.loadConfig(cmd)
	if err != nil {
		return err
	}
	tlsCfg, err := f.tlsConfig()
	if err != nil {
		return err
	}
	if tlsCfg == nil && !f.insecure {
		for _, fl := range []struct{ name, addr string }{{"--grpc-addr", f.grpcAddr}, {"--rest-addr", f.restAddr}} {
			if !loopback(fl.addr) {
				return fmt.Errorf("%s %s is not a loopback address: serve it with --tls-cert/--tls-key, or pass --insecure to allow plaintext", fl.name, fl.addr)
			}
		}
	}
	f.setIssuer(cfg, tlsCfg != nil)

	st, spec, err := f.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	srv, err := server.New(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	if owner := replicate(st, f.replica, f.leaseTTL); owner != nil {
		srv.Replicated(owner)
		defer owner.Close() // before the store: revoking hands over at once
	}

	gl, err := net.Listen("tcp", f.grpcAddr)
	if err != nil {
		return fmt.Errorf("grpc listen: %w", err)
	}
	rl, err := net.Listen("tcp", f.restAddr)
	if err != nil {
		gl.Close()
		return fmt.Errorf("rest listen: %w", err)
	}
	if err := firstRun(ctx, srv, f.credPath, tokenURL(cfg), f.grpcAddr, log); err != nil {
		return err
	}
	if cfgPath != "" {
		log.Info("config", "path", cfgPath)
	}
	log.Info("store", "store", spec.String())
	return srv.Serve(ctx, server.Listeners{GRPC: gl, REST: rl, TLS: tlsCfg}, f.grace)
}
