package main

import (
	"context"
	"fmt"
	"io"

	api "github.com/dexidp/dex/api/v2"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

const userUsage = `usage:
  torii user list
  torii user add EMAIL [--username NAME] [--user-id ID]   (password from the terminal or stdin)
  torii user passwd EMAIL                                  (new password from the terminal or stdin)
  torii user delete EMAIL
connection flags (every command): --addr, --ca, --cert, --key, --server-name, -o table|json`

func userCommand(args []string, getenv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, userUsage)
		return 2
	}
	a := newAdminCLI("user "+args[0], getenv, stdin, stdout, stderr)
	var username, userID string
	if args[0] == "add" {
		a.fs.StringVar(&username, "username", "", "display name (default: the part of EMAIL before @)")
		a.fs.StringVar(&userID, "user-id", "", "stable user ID, part of the sub claim (default: a random UUID)")
	}
	email := func(pos []string) (string, error) {
		if len(pos) != 1 || pos[0] == "" {
			return "", usageError{"usage: torii user " + args[0] + " EMAIL"}
		}
		return pos[0], nil
	}
	hash := func() ([]byte, error) {
		p, err := readPassword(a.stdin, a.stderr)
		if err != nil {
			return nil, fmt.Errorf("password: %w", err)
		}
		return bcrypt.GenerateFromPassword(p, bcrypt.DefaultCost)
	}
	switch args[0] {
	case "list":
		return runAdmin(a, args[1:], func(pos []string) error {
			if len(pos) != 0 {
				return usageError{"usage: torii user list"}
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				resp, err := c.ListPasswords(ctx, &api.ListPasswordReq{})
				if err != nil {
					return err
				}
				if a.output == "json" {
					type user struct {
						Email    string `json:"email"`
						Username string `json:"username"`
						UserID   string `json:"userID"`
					}
					out := []user{}
					for _, p := range resp.GetPasswords() {
						out = append(out, user{p.Email, p.Username, p.UserId})
					}
					a.json(out)
					return nil
				}
				var rows [][]string
				for _, p := range resp.GetPasswords() {
					rows = append(rows, []string{p.Email, orDash(p.Username), p.UserId})
				}
				a.table([]string{"EMAIL", "USERNAME", "USER ID"}, rows)
				return nil
			})
		})
	case "add":
		return runAdmin(a, args[1:], func(pos []string) error {
			em, err := email(pos)
			if err != nil {
				return err
			}
			if username == "" {
				username = em
				for i := range em {
					if em[i] == '@' {
						username = em[:i]
						break
					}
				}
			}
			if userID == "" {
				userID = uuid.NewString()
			}
			h, err := hash()
			if err != nil {
				return err
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				resp, err := c.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{
					Email: em, Hash: h, Username: username, UserId: userID,
				}})
				if err != nil {
					return err
				}
				if resp.GetAlreadyExists() {
					return fmt.Errorf("a user with email %q already exists", em)
				}
				fmt.Fprintf(a.stderr, "user %s added (user ID %s)\n", em, userID)
				return nil
			})
		})
	case "passwd":
		return runAdmin(a, args[1:], func(pos []string) error {
			em, err := email(pos)
			if err != nil {
				return err
			}
			h, err := hash()
			if err != nil {
				return err
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				resp, err := c.UpdatePassword(ctx, &api.UpdatePasswordReq{Email: em, NewHash: h})
				if err != nil {
					return err
				}
				if resp.GetNotFound() {
					return fmt.Errorf("no user with email %q", em)
				}
				fmt.Fprintf(a.stderr, "password of %s changed\n", em)
				return nil
			})
		})
	case "delete":
		return runAdmin(a, args[1:], func(pos []string) error {
			em, err := email(pos)
			if err != nil {
				return err
			}
			return a.call(func(ctx context.Context, c api.DexClient) error {
				resp, err := c.DeletePassword(ctx, &api.DeletePasswordReq{Email: em})
				if err != nil {
					return err
				}
				if resp.GetNotFound() {
					return fmt.Errorf("no user with email %q", em)
				}
				fmt.Fprintf(a.stderr, "user %s deleted\n", em)
				return nil
			})
		})
	}
	fmt.Fprintf(stderr, "torii user: unknown command %q\n%s\n", args[0], userUsage)
	return 2
}
