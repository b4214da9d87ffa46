package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/canopy-cloud/canopy/client"
)

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// profileCmd lists the credentials file's profiles (never their secrets).
func (a *app) profileCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List the profiles of the credentials file (the one in use marked *)",
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			f, err := client.ReadCredentialsFile(a.credentials)
			if err != nil && !isNotExist(err) {
				return err
			}
			type row struct {
				Name     string `json:"name" yaml:"name"`
				Current  bool   `json:"current" yaml:"current"`
				ClientID string `json:"client_id" yaml:"client_id"`
				GRPCAddr string `json:"grpc_addr" yaml:"grpc_addr"`
				TokenURL string `json:"token_url" yaml:"token_url"`
				CAFile   string `json:"ca_file,omitempty" yaml:"ca_file,omitempty"`
			}
			var rs []row
			for _, n := range f.Names() {
				c, _ := f.Profile(n)
				rs = append(rs, row{Name: n, Current: n == a.profileName(), ClientID: c.ClientID, GRPCAddr: c.GRPCAddr, TokenURL: c.TokenURL, CAFile: c.CAFile})
			}
			switch a.output {
			case "json":
				raw, _ := json.MarshalIndent(map[string]any{"profiles": rs}, "", "  ")
				_, err := fmt.Fprintf(a.stdout, "%s\n", raw)
				return err
			case "yaml":
				return yaml.NewEncoder(a.stdout).Encode(map[string]any{"profiles": rs})
			}
			var table [][]string
			for _, r := range rs {
				name := "  " + r.Name
				if r.Current {
					name = "* " + r.Name
				}
				table = append(table, []string{name, r.ClientID, r.GRPCAddr, r.TokenURL})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 8, 2, ' ', 0)
			rows(tw, []string{"  PROFILE", "CLIENT", "GRPC_ADDR", "TOKEN_URL"}, table)
			return tw.Flush()
		}),
	}
	return group("profile", "Profiles of the credentials file: "+strings.Join([]string{"list"}, ", "), list)
}
