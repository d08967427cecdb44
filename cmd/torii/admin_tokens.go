package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	api "github.com/dexidp/dex/api/v2"

	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server/adminapi"
)

const tokensUsage = `usage:
  torii tokens list USER [--connector ID]
  torii tokens revoke USER [CLIENT] [--connector ID]   (without CLIENT: every client)
USER is the sub claim of the user's ID tokens, an email of the password
database, or a user ID of --connector (default local).
connection flags (every command): --addr, --ca, --cert, --key, --server-name, -o table|json`

// subjectOf turns USER into the sub the API expects: a sub as is; an email
// of the password database via ListPasswords; otherwise a user ID of conn.
func subjectOf(ctx context.Context, c api.DexClient, user, conn string, connSet bool) (string, error) {
	if !connSet && adminapi.IsSubject(user) {
		return user, nil
	}
	if strings.Contains(user, "@") && (!connSet || conn == static.ID) {
		resp, err := c.ListPasswords(ctx, &api.ListPasswordReq{})
		if err != nil {
			return "", err
		}
		for _, p := range resp.GetPasswords() {
			if static.NormalizeEmail(p.Email) == static.NormalizeEmail(user) {
				return adminapi.Subject(p.UserId, static.ID), nil
			}
		}
		return "", fmt.Errorf("no user with email %q in the password database (give the sub, or a user ID with --connector)", user)
	}
	return adminapi.Subject(user, conn), nil
}

func tokensCommand(args []string, getenv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, tokensUsage)
		return 2
	}
	a := newAdminCLI("tokens "+args[0], getenv, stdin, stdout, stderr)
	var conn string
	a.fs.StringVar(&conn, "connector", static.ID, "connector of a USER given as a user ID")
	connSet := func() bool {
		set := false
		a.fs.Visit(func(f *flag.Flag) {
			if f.Name == "connector" {
				set = true
			}
		})
		return set
	}
	list := func(ctx context.Context, c api.DexClient, sub string) ([]*api.RefreshTokenRef, error) {
		resp, err := c.ListRefresh(ctx, &api.ListRefreshReq{UserId: sub})
		if err != nil {
			return nil, err
		}
		return resp.GetRefreshTokens(), nil
	}
	switch args[0] {
	case "list":
		return runAdmin(a, args[1:], func(pos []string) error {
			if len(pos) != 1 {
				return usageError{"usage: torii tokens list USER"}
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				sub, err := subjectOf(ctx, c, pos[0], conn, connSet())
				if err != nil {
					return err
				}
				refs, err := list(ctx, c, sub)
				if err != nil {
					return err
				}
				if a.output == "json" {
					type family struct {
						ID        string `json:"id"`
						ClientID  string `json:"clientID"`
						CreatedAt int64  `json:"createdAt"`
						LastUsed  int64  `json:"lastUsed"`
					}
					out := []family{}
					for _, r := range refs {
						out = append(out, family{r.Id, r.ClientId, r.CreatedAt, r.LastUsed})
					}
					a.json(out)
					return nil
				}
				var rows [][]string
				for _, r := range refs {
					rows = append(rows, []string{r.Id, r.ClientId, unixTime(r.CreatedAt), unixTime(r.LastUsed)})
				}
				a.table([]string{"FAMILY", "CLIENT", "CREATED", "LAST USED"}, rows)
				return nil
			})
		})
	case "revoke":
		return runAdmin(a, args[1:], func(pos []string) error {
			if len(pos) < 1 || len(pos) > 2 {
				return usageError{"usage: torii tokens revoke USER [CLIENT]"}
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				sub, err := subjectOf(ctx, c, pos[0], conn, connSet())
				if err != nil {
					return err
				}
				var clients []string
				if len(pos) == 2 {
					clients = []string{pos[1]}
				} else {
					refs, err := list(ctx, c, sub)
					if err != nil {
						return err
					}
					seen := map[string]bool{}
					for _, r := range refs {
						if !seen[r.ClientId] {
							seen[r.ClientId] = true
							clients = append(clients, r.ClientId)
						}
					}
					if len(clients) == 0 {
						return fmt.Errorf("%s has no refresh tokens", pos[0])
					}
				}
				for _, cl := range clients {
					resp, err := c.RevokeRefresh(ctx, &api.RevokeRefreshReq{UserId: sub, ClientId: cl})
					if err != nil {
						return err
					}
					if resp.GetNotFound() {
						return fmt.Errorf("%s has no refresh tokens for client %q", pos[0], cl)
					}
					fmt.Fprintf(a.stderr, "refresh tokens of %s for client %s revoked\n", pos[0], cl)
				}
				return nil
			})
		})
	}
	fmt.Fprintf(stderr, "torii tokens: unknown command %q\n%s\n", args[0], tokensUsage)
	return 2
}
