package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/canopy-cloud/canopy/client"
)

func (a *app) loginCmd() *cobra.Command {
	var (
		id, secret, tokenURL string
		replace              bool
	)
	cmd := &cobra.Command{
		Use:   "login --client-id ID --client-secret SECRET|- [--profile NAME] [--token-url URL]",
		Short: "Save a client's credentials as a profile for later commands",
		Long: `Check a client's credentials by getting a token with them, then save them
(mode 0600) as a profile of the --credentials file, where later commands find
them (--profile NAME or $CANOPY_PROFILE; default: the default profile).

Other profiles are never touched, and a profile that holds another client is
not replaced unless --replace says so: canopyd's first run keeps its admin
client in the default profile, so log in a second client with --profile NAME.
Logging in again with the same client (a rotated secret) updates its profile.

The profile records canopyd's address (--addr), the token endpoint and how to
trust them (--tls, --ca-file), so 'canopy --profile NAME ...' needs nothing
else. --client-secret - reads the secret from stdin. --token-url defaults to the
token endpoint of a profile for the same canopyd (the first-run admin's), else
http(s)://HOST:8471/oauth2/token for the --addr host.`,
		Example: "  canopy login --profile reader --client-id 3f0c… --client-secret - < secret.txt\n  canopy --profile reader server list",
		Args:    args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if id == "" || secret == "" {
				return usageErrorf("--client-id and --client-secret are required")
			}
			file, err := client.ReadCredentialsFile(a.credentials)
			if err != nil && !isNotExist(err) {
				return err
			}
			existing, _ := file.Profile(a.profile)
			if existing.ClientID != "" && existing.ClientID != id && !replace {
				return fmt.Errorf("profile %q in %s holds client %s: log in with --profile NAME to keep both, or --replace to replace it", a.profileName(), a.credentials, existing.ClientID)
			}
			if existing.ClientID != id {
				existing = client.Credentials{} // nothing of another client is kept
			}
			if secret == "-" {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read the secret from stdin: %w", err)
				}
				secret = strings.TrimSpace(line)
			}
			c := client.Credentials{ClientID: id, ClientSecret: secret, GRPCAddr: firstOf(a.addr, existing.GRPCAddr, defaultAddr)}
			same := sameDaemon(file, c.GRPCAddr)
			c.TLS = a.tls || existing.TLS || same.TLS
			c.CAFile = firstOf(existing.CAFile, same.CAFile)
			if a.caFile != "" {
				if c.CAFile, err = filepath.Abs(a.caFile); err != nil {
					return err
				}
			}
			var tlsCfg *tls.Config
			switch {
			case c.CAFile != "":
				if tlsCfg, err = client.LoadCAFile(c.CAFile); err != nil {
					return err
				}
			case c.TLS:
				tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			c.TokenURL = firstOf(tokenURL, a.tokenURL, existing.TokenURL, same.TokenURL)
			if c.TokenURL == "" {
				host := c.GRPCAddr
				if i := strings.LastIndex(host, ":"); i >= 0 {
					host = host[:i]
				}
				scheme := "http"
				if tlsCfg != nil {
					scheme = "https"
				}
				c.TokenURL = scheme + "://" + host + ":8471/oauth2/token"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			// The token endpoint is trusted as the gRPC channel will be.
			tok, err := c.Token(context.WithValue(ctx, oauth2.HTTPClient, client.HTTPClient(tlsCfg)))
			if err != nil {
				return fmt.Errorf("login at %s: %w", c.TokenURL, err)
			}
			if err := client.WriteProfile(a.credentials, a.profile, c); err != nil {
				return fmt.Errorf("save credentials: %w", err)
			}
			scope, _ := tok.Extra("scope").(string)
			fmt.Fprintf(a.stdout, "Logged in as %s (scope %q); saved as profile %q in %s\n", id, scope, a.profileName(), a.credentials)
			return nil
		}),
	}
	cmd.Flags().StringVar(&id, "client-id", "", "the client_id")
	cmd.Flags().StringVar(&secret, "client-secret", "", "the client_secret, or - to read it from stdin")
	cmd.Flags().StringVar(&tokenURL, "token-url", "", "the token endpoint (default: another profile's for the same canopyd, else port 8471 of the --addr host)")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace the profile even if it holds another client")
	return cmd
}

// sameDaemon is a profile of f for canopyd at grpcAddr (the first-run
// admin's, typically), whose token endpoint and TLS settings a login
// there reuses unless told otherwise.
func sameDaemon(f client.CredentialsFile, grpcAddr string) client.Credentials {
	for _, n := range f.Names() {
		if c, _ := f.Profile(n); c.GRPCAddr == grpcAddr {
			return c
		}
	}
	return client.Credentials{}
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
