package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/canopy-cloud/canopy/client"
)

func (a *app) loginCmd() *cobra.Command {
	var id, secret, tokenURL string
	cmd := &cobra.Command{
		Use:   "login --client-id ID --client-secret SECRET|- [--token-url URL]",
		Short: "Save a client's credentials for later commands",
		Long: `Check a client's credentials by getting a token with them, then save them
(mode 0600) in the --credentials file, where later commands find them.
--client-secret - reads the secret from stdin. --token-url defaults to
http://HOST:8471/oauth2/token for the --addr host.`,
		Args: args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if id == "" || secret == "" {
				return usageErrorf("--client-id and --client-secret are required")
			}
			if secret == "-" {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read the secret from stdin: %w", err)
				}
				secret = strings.TrimSpace(line)
			}
			if tokenURL == "" {
				tokenURL = a.tokenURL
			}
			if tokenURL == "" {
				host := a.addr
				if i := strings.LastIndex(host, ":"); i >= 0 {
					host = host[:i]
				}
				scheme := "http"
				if a.tls || a.caFile != "" {
					scheme = "https"
				}
				tokenURL = scheme + "://" + host + ":8471/oauth2/token"
			}
			cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInHeader}
			ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
			defer cancel()
			tok, err := cc.Token(ctx)
			if err != nil {
				return fmt.Errorf("login at %s: %w", tokenURL, err)
			}
			if err := client.WriteCredentials(a.credentials, client.Credentials{ClientID: id, ClientSecret: secret, TokenURL: tokenURL, GRPCAddr: a.addr}); err != nil {
				return fmt.Errorf("save credentials: %w", err)
			}
			scope, _ := tok.Extra("scope").(string)
			fmt.Fprintf(a.stdout, "Logged in as %s (scope %q); credentials saved in %s\n", id, scope, a.credentials)
			return nil
		}),
	}
	cmd.Flags().StringVar(&id, "client-id", "", "the client_id")
	cmd.Flags().StringVar(&secret, "client-secret", "", "the client_secret, or - to read it from stdin")
	cmd.Flags().StringVar(&tokenURL, "token-url", "", "the token endpoint (default: canopyd's REST port on the --addr host)")
	return cmd
}
