package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

func (a keypairCmds) keypairCmd() *cobra.Command {
	return group("keypair", "SSH keypairs: create, list, get, delete",
		a.keypairCreateCmd(), a.keypairListCmd(), a.keypairGetCmd(), a.keypairDeleteCmd())
}

func (a keypairCmds) keypairCreateCmd() *cobra.Command {
	var (
		loc                    locFlags
		pubFile, privFile, typ string
		requestID              string
	)
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a keypair: import a public key or have canopy generate one",
		Long: `Create a keypair. With --public-key-file the OpenSSH public key is imported.
Otherwise canopy generates a key (--type ssh-ed25519, the default, or
ssh-rsa) and returns its private half once; canopy does not keep it.

With --private-key-file the private key is written to that file (mode 0600;
the file must not exist yet). Without it, the private key goes to stdout: in
table output stdout gets only the key (so '> key.pem' works) and the keypair
is described on stderr; in json/yaml output it is the private_key field.`,
		Example: "  canopy keypair create me --public-key-file ~/.ssh/id_ed25519.pub\n" +
			"  canopy keypair create deploy --private-key-file deploy.pem",
		Args: args(1, 1, "one keypair NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			req := &canopyv1.CreateKeypairRequest{Name: args[0], Location: loc.pb(), Type: typ, RequestId: requestID}
			if pubFile != "" {
				b, err := os.ReadFile(pubFile)
				if err != nil {
					return fmt.Errorf("--public-key-file: %w", err)
				}
				req.PublicKey = strings.TrimSpace(string(b))
			}
			// Claim the private key file before the key exists, so a file
			// that cannot be written never costs the only copy of the key.
			var out *os.File
			if privFile != "" {
				f, err := os.OpenFile(privFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return fmt.Errorf("--private-key-file: %w", err)
				}
				out = f
			}
			kp, err := a.createKeypair(cmd.Context(), req)
			if out != nil {
				if err == nil && kp.GetPrivateKey() == "" {
					err = errors.New("canopyd returned no private key (a retried --request-id does not return it again)")
				}
				if err != nil {
					out.Close()
					os.Remove(privFile)
					return err
				}
				if err := writeKey(out, kp.GetPrivateKey()); err != nil {
					return fmt.Errorf("--private-key-file: %w (the keypair %s was created; delete it and retry)", err, kp.GetId())
				}
				kp.PrivateKey = ""
				fmt.Fprintf(a.stderr, "canopy: private key written to %s\n", privFile)
			}
			if err != nil {
				return err
			}
			if kp.GetPrivateKey() == "" {
				return a.emit(kp, func(w io.Writer) { keypairDetails(w, kp) })
			}
			fmt.Fprintf(a.stderr, "canopy: warning: the private key of keypair %q is printed below and only now; canopy does not keep it (use --private-key-file to write it to a file)\n", kp.GetName())
			if a.output != "table" {
				return a.emit(kp, nil)
			}
			fmt.Fprintf(a.stderr, "canopy: created keypair %s (%s), %s %s\n", kp.GetName(), kp.GetId(), kp.GetType(), kp.GetFingerprint())
			_, err = io.WriteString(a.stdout, strings.TrimRight(kp.GetPrivateKey(), "\n")+"\n")
			return err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&pubFile, "public-key-file", "", "import this OpenSSH public key instead of generating one")
	f.StringVar(&typ, "type", "", "type of generated key: ssh-ed25519 (default) or ssh-rsa")
	f.StringVar(&privFile, "private-key-file", "", "write the generated private key to this new file (mode 0600)")
	f.StringVar(&requestID, "request-id", "", "idempotency key")
	cmd.MarkFlagsMutuallyExclusive("public-key-file", "type")
	cmd.MarkFlagsMutuallyExclusive("public-key-file", "private-key-file")
	loc.add(cmd, "in", false)
	return cmd
}

func (a keypairCmds) createKeypair(ctx context.Context, req *canopyv1.CreateKeypairRequest) (*canopyv1.Keypair, error) {
	c, err := a.compute(ctx)
	if err != nil {
		return nil, err
	}
	rctx, cancel := a.rpcCtx(ctx, false)
	defer cancel()
	return c.CreateKeypair(rctx, req)
}

func writeKey(f *os.File, key string) error {
	if _, err := io.WriteString(f, strings.TrimRight(key, "\n")+"\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (a keypairCmds) keypairListCmd() *cobra.Command {
	var (
		lf   listFlags
		loc  locFlags
		name string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List keypairs in every cloud",
		Long:  "List keypairs in every cloud (or the one selected)." + listHelp,
		Args:  args(0, 0, "no arguments"),
		RunE: a.cmdRun(func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			req := &canopyv1.ListKeypairsRequest{Location: loc.pb(), Name: name}
			all, errs, err := listAll(cmd.Context(), a.app, lf.limit, func(ctx context.Context, size int32, token string) (page[*canopyv1.Keypair], error) {
				req.PageSize, req.PageToken = size, token
				r, err := c.ListKeypairs(ctx, req)
				return page[*canopyv1.Keypair]{items: r.GetKeypairs(), next: r.GetNextPageToken(), errs: r.GetCloudErrors()}, err
			})
			if err != nil {
				return err
			}
			a.warnCloudErrors(errs)
			return a.emit(&canopyv1.ListKeypairsResponse{Keypairs: all, CloudErrors: errs}, func(w io.Writer) { keypairRows(w, all) })
		}),
	}
	lf.add(cmd)
	loc.add(cmd, "only", false)
	cmd.Flags().StringVar(&name, "name", "", "only keypairs with this exact name")
	return cmd
}

func (a keypairCmds) keypairGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show one keypair",
		Args:  args(1, 1, "one keypair ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			kp, err := c.GetKeypair(ctx, &canopyv1.GetKeypairRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(kp, func(w io.Writer) { keypairDetails(w, kp) })
		}),
	}
}

func (a keypairCmds) keypairDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID|NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a keypair",
		Args:    args(1, 1, "one keypair ID|NAME"),
		RunE: a.cmdRun(func(cmd *cobra.Command, args []string) error {
			c, err := a.compute(cmd.Context())
			if err != nil {
				return err
			}
			ctx, cancel := a.rpcCtx(cmd.Context(), false)
			defer cancel()
			r, err := c.DeleteKeypair(ctx, &canopyv1.DeleteKeypairRequest{Id: args[0]})
			if err != nil {
				return err
			}
			return a.emit(r, func(w io.Writer) { fmt.Fprintf(w, "Deleted keypair %s\n", r.GetId()) })
		}),
	}
}

func keypairRows(w io.Writer, kps []*canopyv1.Keypair) {
	rs := make([][]string, len(kps))
	for i, kp := range kps {
		rs[i] = []string{kp.GetId(), kp.GetName(), kp.GetType(), kp.GetFingerprint(), kp.GetLocation().GetCloud()}
	}
	rows(w, []string{"ID", "NAME", "TYPE", "FINGERPRINT", "CLOUD"}, rs)
}

func keypairDetails(w io.Writer, kp *canopyv1.Keypair) {
	details(w, []field{
		{"ID", kp.GetId()}, {"Name", kp.GetName()}, {"Type", kp.GetType()}, {"Fingerprint", kp.GetFingerprint()},
		{"Cloud", kp.GetLocation().GetCloud()}, {"Region", kp.GetLocation().GetRegion()},
		{"Created", when(kp.GetCreateTime())}, {"Native ID", kp.GetNativeId()},
		{"Public key", kp.GetPublicKey()}, {"Labels", kv(kp.GetLabels())},
	})
}
