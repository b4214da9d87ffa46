package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/server"
)

// Credentials is the file the CLI reads to authenticate: written by canopyd
// for the admin client on first start, and by `canopy login`.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	TokenURL     string `json:"token_url"`
	GRPCAddr     string `json:"grpc_addr,omitempty"`
}

// credentialsPath is $XDG_CONFIG_HOME/canopy/credentials.json (or the OS's
// user config dir), where `canopy` looks first.
func credentialsPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "canopy", "credentials.json")
}

// firstRun creates an admin client when the store has none and writes its
// credentials (0600) where the CLI finds them. Later starts change nothing.
func firstRun(ctx context.Context, srv *server.Server, path, tokenURL, grpcAddr string, log *slog.Logger) error {
	existing, err := srv.Clients().Store().ListClients(ctx)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		if _, err := os.Stat(path); err != nil {
			log.Info("clients exist but no credentials file; use `canopy login` with a client's id and secret", "path", path)
		}
		return nil
	}
	cl, secret, err := srv.Clients().Create(ctx, "admin", "default", []string{auth.ScopeAdmin})
	if err != nil {
		return fmt.Errorf("first run: create admin client: %w", err)
	}
	raw, _ := json.MarshalIndent(Credentials{ClientID: cl.ID, ClientSecret: secret, TokenURL: tokenURL, GRPCAddr: grpcAddr}, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("first run: write credentials: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	log.Info("first run: created admin client (project default); credentials written for the canopy CLI", "client_id", cl.ID, "path", path)
	return nil
}
