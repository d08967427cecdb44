package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/torii-idp/torii/internal/seed"
)

// seedCommand fills the configured storage with refresh-token families and
// browser sessions for scale measurements (docs/performance.md). The rows
// are realistic but no client or browser can use them: only their hashes
// exist.
func seedCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("torii seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	families := fs.Int("families", 0, "refresh-token families to create")
	sessions := fs.Int("sessions", 0, "browser sessions to create (the families are spread over them)")
	rotated := fs.Int("rotated", 0, "rotated tokens kept per family beside the current one")
	expired := fs.Bool("expired", false, "create the rows already expired (for garbage-collection runs)")
	clientID := fs.String("client-id", "example-app", "client_id written into the rows")
	connectorID := fs.String("connector-id", "local", "connector id written into the rows")
	writers := fs.Int("writers", 64, "writes in flight at once")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *families < 0 || *sessions < 0 || *families+*sessions == 0 || *rotated < 0 || *writers <= 0 {
		fmt.Fprintln(stderr, "usage: torii seed [--families N] [--sessions M] [--rotated K] [--expired] CONFIG (N or M positive)")
		return 2
	}
	c, err := LoadConfig(fs.Arg(0), lookupEnv)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	if c.Storage.Type == "memory" {
		fmt.Fprintln(stderr, "torii seed: memory storage does not outlive this command; seed sqlite3 or postgres")
		return 1
	}
	logger := c.newLogger(stderr, new(slog.LevelVar))
	store, err := c.openStorage(ctx, logger)
	if err != nil {
		fmt.Fprintf(stderr, "torii seed: open storage: %v\n", err)
		return 1
	}
	defer store.Close()
	start := time.Now()
	n, err := seed.All(ctx, store, seed.Options{
		Families: *families, Sessions: *sessions, Rotated: *rotated, Expired: *expired,
		ClientID: *clientID, ConnectorID: *connectorID, Writers: *writers,
		Progress: func(done int) {
			fmt.Fprintf(stderr, "torii seed: %d rows (%.0f rows/s)\n", done, float64(done)/time.Since(start).Seconds())
		},
	})
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintf(stderr, "torii seed: %v (after %d sessions and %d refresh tokens)\n", err, n.Sessions, n.RefreshTokens)
		return 1
	}
	rows := n.Sessions + n.RefreshTokens
	fmt.Fprintf(stdout, "seeded %d sessions and %d refresh tokens in %d families into %s storage in %s (%.0f rows/s)\n",
		n.Sessions, n.RefreshTokens, *families, c.Storage.Type, elapsed.Round(time.Millisecond), float64(rows)/elapsed.Seconds())
	return 0
}
