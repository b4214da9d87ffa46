package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/canopy-cloud/canopy/auth"
	"github.com/canopy-cloud/canopy/client"
	"github.com/canopy-cloud/canopy/config"
)

// adminCmd holds what an operator does with local access to canopyd's
// store rather than through its API: the way back in when no working
// admin credentials are left.
func adminCmd(f *daemonFlags) *cobra.Command {
	admin := &cobra.Command{
		Use:   "admin",
		Short: "Operate on canopyd's store directly (local access, no token needed)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	admin.AddCommand(resetCredentialsCmd(f))
	return admin
}

func resetCredentialsCmd(f *daemonFlags) *cobra.Command {
	var profile, name, project string
	cmd := &cobra.Command{
		Use:   "reset-credentials",
		Short: "Make a new admin client and write its credentials for the canopy CLI",
		Long: `Make a new admin client directly in canopyd's store and write its credentials
as a profile of the --credentials-file (default: the default profile), for
when the first run's credentials are lost or were replaced. Other profiles and
other clients stay as they are: delete an old client with 'canopy client
delete ID' once you are back in.

It needs local access to the store: for the embedded bbolt store, canopyd must
be stopped (the file is locked while it runs); an etcd store may be shared
with running replicas. Pass the same --store, --config, --rest-addr and
--grpc-addr as canopyd's, so the credentials name its addresses.`,
		Example: "  canopyd admin reset-credentials\n  canopyd admin reset-credentials --store etcd://10.0.0.5:2379 --profile ops",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if profile != client.DefaultProfile {
				if err := client.CheckProfileName(profile); err != nil {
					return usageError{fmt.Errorf("--profile: %w", err)}
				}
			}
			cfg, _, err := f.loadConfig(cmd)
			if err != nil {
				return err
			}
			f.setIssuer(cfg, f.tlsCert != "")
			st, spec, err := f.openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			if name == "" {
				name = "admin-" + time.Now().UTC().Format("20060102-150405")
			}
			if project == "" {
				project = config.DefaultProject
			}
			cl, secret, err := auth.NewClients(st).Create(cmd.Context(), name, project, []string{auth.ScopeAdmin})
			if err != nil {
				return fmt.Errorf("create admin client in %s: %w", spec, err)
			}
			c := client.Credentials{ClientID: cl.ID, ClientSecret: secret, TokenURL: tokenURL(cfg), GRPCAddr: f.grpcAddr, TLS: f.tlsCert != ""}
			if err := client.WriteProfile(f.credPath, profile, c); err != nil {
				return fmt.Errorf("admin client %s made, but its credentials were not written: %w", cl.ID, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created admin client %s (%s, project %s); credentials saved as profile %q in %s\n", cl.ID, name, project, profile, f.credPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", client.DefaultProfile, "the profile of the credentials file to write")
	cmd.Flags().StringVar(&name, "name", "", "the new client's name (default admin-DATE-TIME)")
	cmd.Flags().StringVar(&project, "project", config.DefaultProject, "the project of its tokens")
	return cmd
}
