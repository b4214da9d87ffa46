package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a clientCmds) clientCmd() *cobra.Command {
	return group("client", "OAuth clients of canopyd's authorization server (needs canopy.admin)",
		a.clientCreateCmd(), a.clientListCmd(), a.clientRotateCmd(), a.clientDeleteCmd())
}

func clientRows(w io.Writer, cs ...*canopyv1.Client) {
	var rs [][]string
	for _, c := range cs {
		rs = append(rs, []string{c.Id, c.Name, c.Project, join(c.Scopes), when(c.CreateTime)})
	}
	rows(w, []string{"ID", "NAME", "PROJECT", "SCOPES", "CREATED"}, rs)
}

func (a clientCmds) clientCreateCmd() *cobra.Command {
	var project string
	var scopes []string
	cmd := &cobra.Command{
		Use:     "create NAME --project P --scope canopy.read [--scope canopy.write]",
		Short:   "Create a client; its secret is printed once",
		Example: "  canopy client create ci --project team-a --scope canopy.read --scope canopy.write",
		Args:    args(1, 1, "one client NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.authService(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			resp, err := c.CreateClient(ctx, &canopyv1.CreateClientRequest{Name: args[0], Project: project, Scopes: scopes})
			if err != nil {
				return err
			}
			return a.emit(resp, func(w io.Writer) {
				clientRows(w, resp.Client)
				fmt.Fprintf(w, "\nclient_secret: %s\n(shown once; save it now, e.g. canopy login --client-id %s --client-secret -)\n", resp.ClientSecret, resp.Client.Id)
			})
		}),
	}
	cmd.Flags().StringVar(&project, "project", "", "the project its tokens act in")
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "a scope it may request: canopy.read, canopy.write, canopy.admin (repeatable)")
	return cmd
}

func (a clientCmds) clientListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List clients",
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			c, err := a.authService(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			resp, err := c.ListClients(ctx, &canopyv1.ListClientsRequest{PageSize: 1000})
			if err != nil {
				return err
			}
			return a.emit(resp, func(w io.Writer) { clientRows(w, resp.Clients...) })
		}),
	}
}

func (a clientCmds) clientRotateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate ID",
		Short: "Give a client a new secret (the old one stops working)",
		Args:  args(1, 1, "one client ID"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.authService(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			resp, err := c.RotateClientSecret(ctx, &canopyv1.RotateClientSecretRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(resp, func(w io.Writer) { fmt.Fprintf(w, "client_secret: %s\n", resp.ClientSecret) })
		}),
	}
}

func (a clientCmds) clientDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID",
		Aliases: []string{"rm"},
		Short:   "Delete a client",
		Args:    args(1, 1, "one client ID"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.authService(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			resp, err := c.DeleteClient(ctx, &canopyv1.DeleteClientRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(resp, func(w io.Writer) { fmt.Fprintf(w, "deleted %s\n", resp.Id) })
		}),
	}
}
