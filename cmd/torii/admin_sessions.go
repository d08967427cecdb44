package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	api "github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"

	"github.com/torii-idp/torii/connector/static"
	"github.com/torii-idp/torii/server/adminapi"
)

const sessionsUsage = `usage:
  torii sessions list [USER] [--connector ID]             (without USER: every session)
  torii sessions end USER                                 (every session of USER on every connector)
  torii sessions delete USER [--connector ID] [--id ID]   (without --id: every session of USER on the connector)
  torii sessions terminate USER                           (the same as end)
  torii sessions terminate --connector ID                 (every session of every user on the connector)
USER is a user ID of a connector (as the connector names the user), the sub
claim of the user's ID tokens, or an email of the password database.
Ending a session signs the browser out and revokes the refresh tokens issued
from it without offline_access; offline tokens stay (torii tokens revoke).
connection flags (every command): --addr, --ca, --cert, --key, --server-name, -o table|json`

// sessionUser turns USER into the user ID the session methods expect and
// the connector it implies ("" when USER does not say): a sub names both;
// an email of the password database names a local user.
func sessionUser(ctx context.Context, conn *grpc.ClientConn, user, connFlag string) (userID, connID string, err error) {
	if connFlag == "" && adminapi.IsSubject(user) {
		return adminapi.DecodeSubject(user)
	}
	if strings.Contains(user, "@") && (connFlag == "" || connFlag == static.ID) {
		resp, err := api.NewDexClient(conn).ListPasswords(ctx, &api.ListPasswordReq{})
		if err != nil {
			return "", "", err
		}
		for _, p := range resp.GetPasswords() {
			if static.NormalizeEmail(p.Email) == static.NormalizeEmail(user) {
				return p.UserId, static.ID, nil
			}
		}
		if connFlag == static.ID {
			return "", "", fmt.Errorf("no user with email %q in the password database", user)
		}
	}
	return user, connFlag, nil
}

func sessionsCommand(args []string, getenv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, sessionsUsage)
		return 2
	}
	a := newAdminCLI("sessions "+args[0], getenv, stdin, stdout, stderr)
	var connFlag, id string
	a.fs.StringVar(&connFlag, "connector", "", "connector of USER (default: every connector, or the one a sub or email names)")
	if args[0] == "delete" {
		a.fs.StringVar(&id, "id", "", "the one session to end (the ID column of torii sessions list)")
	}
	one := func(pos []string) (string, error) {
		if len(pos) != 1 || pos[0] == "" {
			return "", usageError{"usage: torii sessions " + args[0] + " USER"}
		}
		return pos[0], nil
	}
	withSessions := func(fn func(ctx context.Context, conn *grpc.ClientConn, sc *adminapi.SessionClient) error) error {
		return a.callConn(func(ctx context.Context, conn *grpc.ClientConn) error {
			sc, err := adminapi.NewSessionClient(conn)
			if err != nil {
				return err
			}
			return fn(ctx, conn, sc)
		})
	}
	switch args[0] {
	case "list":
		return runAdmin(a, args[1:], func(pos []string) error {
			if len(pos) > 1 || (len(pos) == 1 && pos[0] == "") {
				return usageError{"usage: torii sessions list [USER] [--connector ID]"}
			}
			return withSessions(func(ctx context.Context, conn *grpc.ClientConn, sc *adminapi.SessionClient) error {
				// No USER: every session (Dex's ListAuthSessions with an
				// empty user_id), narrowed by --connector if given.
				userID, connID := "", connFlag
				if len(pos) == 1 {
					var err error
					if userID, connID, err = sessionUser(ctx, conn, pos[0], connFlag); err != nil {
						return err
					}
				}
				resp, err := sc.ListAuthSessions(ctx, adminapi.ListAuthSessionsReq{UserID: userID})
				if err != nil {
					return err
				}
				out := []adminapi.AuthSession{}
				for _, s := range resp.Sessions {
					if connID == "" || s.ConnectorID == connID {
						out = append(out, s)
					}
				}
				if a.output == "json" {
					a.json(out)
					return nil
				}
				var rows [][]string
				for _, s := range out {
					var clients []string
					for _, c := range s.ClientStates {
						clients = append(clients, c.ClientID)
					}
					rows = append(rows, []string{s.ToriiID, s.UserID, s.ConnectorID, unixTime(s.CreatedAt), unixTime(s.LastActivity),
						unixTime(sessionEnd(s)), joinList(clients)})
				}
				a.table([]string{"ID", "USER", "CONNECTOR", "CREATED", "LAST USED", "EXPIRES", "CLIENTS"}, rows)
				return nil
			})
		})
	case "delete":
		return runAdmin(a, args[1:], func(pos []string) error {
			user, err := one(pos)
			if err != nil {
				return err
			}
			return withSessions(func(ctx context.Context, conn *grpc.ClientConn, sc *adminapi.SessionClient) error {
				userID, connID, err := sessionUser(ctx, conn, user, connFlag)
				if err != nil {
					return err
				}
				if connID == "" {
					return usageError{"torii sessions delete needs --connector (or USER as a sub or an email of the password database)"}
				}
				resp, err := sc.DeleteAuthSession(ctx, adminapi.DeleteAuthSessionReq{UserID: userID, ConnectorID: connID, ToriiID: id})
				if err != nil {
					return err
				}
				switch {
				case resp.NotFound && id != "":
					return fmt.Errorf("%s has no session %q on connector %s", user, id, connID)
				case resp.NotFound:
					return fmt.Errorf("%s has no session on connector %s", user, connID)
				case id != "":
					fmt.Fprintf(a.stderr, "session %s of %s ended\n", id, user)
				default:
					fmt.Fprintf(a.stderr, "sessions of %s on connector %s ended\n", user, connID)
				}
				return nil
			})
		})
	case "terminate", "end":
		return runAdmin(a, args[1:], func(pos []string) error {
			if args[0] == "terminate" && len(pos) == 0 && connFlag != "" {
				return withSessions(func(ctx context.Context, _ *grpc.ClientConn, sc *adminapi.SessionClient) error {
					resp, err := sc.TerminateSessionsByConnector(ctx, adminapi.TerminateSessionsByConnectorReq{ConnectorID: connFlag})
					if err != nil {
						return err
					}
					if a.output == "json" {
						a.json(map[string]int64{"sessionsTerminated": resp.SessionsTerminated})
						return nil
					}
					fmt.Fprintf(a.stdout, "%d sessions on connector %s ended\n", resp.SessionsTerminated, connFlag)
					return nil
				})
			}
			user, err := one(pos)
			if err != nil {
				return err
			}
			if connFlag != "" {
				return usageError{"torii sessions " + args[0] + " USER ends the user's sessions on every connector; for one, use torii sessions delete USER --connector ID"}
			}
			return withSessions(func(ctx context.Context, conn *grpc.ClientConn, sc *adminapi.SessionClient) error {
				userID, _, err := sessionUser(ctx, conn, user, "")
				if err != nil {
					return err
				}
				resp, err := sc.TerminateSessionsByUser(ctx, adminapi.TerminateSessionsByUserReq{UserID: userID})
				if err != nil {
					return err
				}
				if a.output == "json" {
					a.json(map[string]int64{"sessionsTerminated": resp.SessionsTerminated})
					return nil
				}
				fmt.Fprintf(a.stdout, "%d sessions of %s ended\n", resp.SessionsTerminated, user)
				return nil
			})
		})
	}
	fmt.Fprintf(stderr, "torii sessions: unknown command %q\n%s\n", args[0], sessionsUsage)
	return 2
}

// sessionEnd is the earlier of a session's two expiries (0 for unset).
func sessionEnd(s adminapi.AuthSession) int64 {
	if s.IdleExpiry == 0 || (s.AbsoluteExpiry != 0 && s.AbsoluteExpiry < s.IdleExpiry) {
		return s.AbsoluteExpiry
	}
	return s.IdleExpiry
}
