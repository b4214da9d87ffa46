package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/client"
	"github.com/canopy-cloud/canopy/server"
)

// firstRun creates an admin client when the store has none and writes its
// credentials (0600) as the default profile of the file where the CLI
// finds them, keeping the file's other profiles. Later starts change
// nothing.
func firstRun(ctx context.Context, srv *server.Server, path, tokenURL, grpcAddr string, log *slog.Logger) error {
	existing, err := srv.Clients().Store().ListClients(ctx)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		if _, err := os.Stat(path); err != nil {
			log.Info("clients exist but no credentials file; use `canopy login` with a client's id and secret, or `canopyd admin reset-credentials`", "path", path)
		}
		return nil
	}
	cl, secret, err := srv.Clients().Create(ctx, "admin", "default", []string{auth.ScopeAdmin})
	if err != nil {
		return fmt.Errorf("first run: create admin client: %w", err)
	}
	if err := client.WriteCredentials(path, client.Credentials{ClientID: cl.ID, ClientSecret: secret, TokenURL: tokenURL, GRPCAddr: grpcAddr}); err != nil {
		return fmt.Errorf("first run: write credentials: %w", err)
	}
	log.Info("first run: created admin client (project default); credentials written for the canopy CLI", "client_id", cl.ID, "path", path)
	return nil
}
