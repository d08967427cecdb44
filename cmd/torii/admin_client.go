package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	api "github.com/dexidp/dex/api/v2"
)

// listFlag is a flag that may be given several times (or comma-separated).
type listFlag struct {
	v   []string
	set bool
}

func (l *listFlag) String() string { return strings.Join(l.v, ",") }

func (l *listFlag) Set(s string) error {
	l.set = true
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			l.v = append(l.v, p)
		}
	}
	return nil
}

const clientUsage = `usage:
  torii client list
  torii client get ID
  torii client create [--id ID] [--name NAME] [--redirect-uri URI]... [--trusted-peer ID]... [--public] [--logo-url URL] [--secret-stdin]
  torii client update ID [--name NAME] [--redirect-uri URI]... [--trusted-peer ID]... [--logo-url URL]
  torii client delete ID
connection flags (every command): --addr, --ca, --cert, --key, --server-name, -o table|json`

// clientJSON is the -o json form of a client.
type clientJSON struct {
	ID           string   `json:"id"`
	Secret       string   `json:"secret,omitempty"`
	Name         string   `json:"name,omitempty"`
	RedirectURIs []string `json:"redirectURIs"`
	TrustedPeers []string `json:"trustedPeers,omitempty"`
	Public       bool     `json:"public"`
	LogoURL      string   `json:"logoURL,omitempty"`
}

func toClientJSON(id, secret, name string, redirects, peers []string, public bool, logo string) clientJSON {
	if redirects == nil {
		redirects = []string{}
	}
	return clientJSON{ID: id, Secret: secret, Name: name, RedirectURIs: redirects, TrustedPeers: peers, Public: public, LogoURL: logo}
}

func clientCommand(args []string, getenv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, clientUsage)
		return 2
	}
	a := newAdminCLI("client "+args[0], getenv, stdin, stdout, stderr)
	var (
		redirects, peers    listFlag
		id, name, logo      string
		public, secretStdin bool
	)
	switch args[0] {
	case "create", "update":
		a.fs.Var(&redirects, "redirect-uri", "redirect URI (repeat for several)")
		a.fs.Var(&peers, "trusted-peer", "ID of a client allowed to ask for tokens for this one (repeat for several)")
		a.fs.StringVar(&name, "name", "", "display name")
		a.fs.StringVar(&logo, "logo-url", "", "logo URL")
		if args[0] == "create" {
			a.fs.StringVar(&id, "id", "", "client ID (default: generated)")
			a.fs.BoolVar(&public, "public", false, "a public client (no secret; PKCE)")
			a.fs.BoolVar(&secretStdin, "secret-stdin", false, "read the secret from stdin instead of generating one")
		}
	}
	arg := func(pos []string) (string, error) {
		if len(pos) != 1 || pos[0] == "" {
			return "", usageError{"usage: torii client " + args[0] + " ID"}
		}
		return pos[0], nil
	}
	switch args[0] {
	case "list":
		return runAdmin(a, args[1:], func(pos []string) error {
			if len(pos) != 0 {
				return usageError{"usage: torii client list"}
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				resp, err := c.ListClients(ctx, &api.ListClientReq{})
				if err != nil {
					return err
				}
				if a.output == "json" {
					out := []clientJSON{}
					for _, cl := range resp.GetClients() {
						out = append(out, toClientJSON(cl.Id, "", cl.Name, cl.RedirectUris, cl.TrustedPeers, cl.Public, cl.LogoUrl))
					}
					a.json(out)
					return nil
				}
				var rows [][]string
				for _, cl := range resp.GetClients() {
					rows = append(rows, []string{cl.Id, orDash(cl.Name), strconv.FormatBool(cl.Public), joinList(cl.RedirectUris), joinList(cl.TrustedPeers)})
				}
				a.table([]string{"ID", "NAME", "PUBLIC", "REDIRECT URIS", "TRUSTED PEERS"}, rows)
				return nil
			})
		})
	case "get":
		return runAdmin(a, args[1:], func(pos []string) error {
			id, err := arg(pos)
			if err != nil {
				return err
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				resp, err := c.GetClient(ctx, &api.GetClientReq{Id: id})
				if err != nil {
					if strings.Contains(err.Error(), "not found") {
						return fmt.Errorf("no client %q", id)
					}
					return err
				}
				cl := resp.GetClient()
				// A static client's secret is in the config file; do not echo it.
				j := toClientJSON(cl.Id, "", cl.Name, cl.RedirectUris, cl.TrustedPeers, cl.Public, cl.LogoUrl)
				if a.output == "json" {
					a.json(j)
					return nil
				}
				a.table([]string{"FIELD", "VALUE"}, [][]string{
					{"id", j.ID}, {"name", orDash(j.Name)}, {"public", strconv.FormatBool(j.Public)},
					{"redirect URIs", joinList(j.RedirectURIs)}, {"trusted peers", joinList(j.TrustedPeers)}, {"logo URL", orDash(j.LogoURL)},
				})
				return nil
			})
		})
	case "create":
		return runAdmin(a, args[1:], func(pos []string) error {
			if len(pos) != 0 {
				return usageError{"torii client create takes flags only (--id, --redirect-uri, ...)"}
			}
			if !public && len(redirects.v) == 0 {
				return usageError{"--redirect-uri is required for a confidential client"}
			}
			var sec string
			if secretStdin {
				if public {
					return usageError{"a public client has no secret (--secret-stdin with --public)"}
				}
				b, err := readPassword(a.stdin, a.stderr)
				if err != nil {
					return fmt.Errorf("secret: %w", err)
				}
				sec = string(b)
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				resp, err := c.CreateClient(ctx, &api.CreateClientReq{Client: &api.Client{
					Id: id, Secret: sec, RedirectUris: redirects.v, TrustedPeers: peers.v, Public: public, Name: name, LogoUrl: logo,
				}})
				if err != nil {
					return err
				}
				if resp.GetAlreadyExists() {
					return fmt.Errorf("a client %q already exists", id)
				}
				cl := resp.GetClient()
				shown := cl.Secret
				if secretStdin {
					shown = "" // the caller knows it
				}
				if a.output == "json" {
					a.json(toClientJSON(cl.Id, shown, cl.Name, cl.RedirectUris, cl.TrustedPeers, cl.Public, cl.LogoUrl))
					return nil
				}
				fmt.Fprintf(a.stdout, "client %s created\n", cl.Id)
				if shown != "" {
					fmt.Fprintf(a.stdout, "secret: %s\n", shown)
					fmt.Fprintln(a.stderr, "The secret is shown only now: torii keeps only its hash.")
				}
				return nil
			})
		})
	case "update":
		return runAdmin(a, args[1:], func(pos []string) error {
			id, err := arg(pos)
			if err != nil {
				return err
			}
			req := &api.UpdateClientReq{Id: id, Name: name, LogoUrl: logo}
			if redirects.set {
				req.RedirectUris = redirects.v
			}
			if peers.set {
				req.TrustedPeers = append([]string{}, peers.v...)
			}
			if !redirects.set && !peers.set && name == "" && logo == "" {
				return usageError{"nothing to update: give --name, --redirect-uri, --trusted-peer or --logo-url"}
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				resp, err := c.UpdateClient(ctx, req)
				if err != nil {
					return err
				}
				if resp.GetNotFound() {
					return fmt.Errorf("no client %q", id)
				}
				fmt.Fprintf(a.stderr, "client %s updated\n", id)
				return nil
			})
		})
	case "delete":
		return runAdmin(a, args[1:], func(pos []string) error {
			id, err := arg(pos)
			if err != nil {
				return err
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				resp, err := c.DeleteClient(ctx, &api.DeleteClientReq{Id: id})
				if err != nil {
					return err
				}
				if resp.GetNotFound() {
					return fmt.Errorf("no client %q", id)
				}
				fmt.Fprintf(a.stderr, "client %s deleted\n", id)
				return nil
			})
		})
	}
	fmt.Fprintf(stderr, "torii client: unknown command %q\n%s\n", args[0], clientUsage)
	return 2
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
