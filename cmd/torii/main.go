// Command torii is a self-hosted OpenID Connect identity provider that reads
// Dex's config.yaml.
//
//	torii serve CONFIG           run the server
//	torii check-config CONFIG    report every problem of a config file
//	torii hash-password [--cost N]  print a bcrypt hash of a password
//	torii import-dex [--dry-run] DEX_CONFIG TORII_CONFIG  take over Dex's keys and tokens
//	torii seed --families N CONFIG  fill storage for scale measurements
//	torii version                print the version
//	torii client|user|tokens ... manage clients, users and tokens over the admin API
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage:
  torii serve CONFIG               run the server
  torii check-config CONFIG        check a config file and report every problem
  torii hash-password [--cost N]   print a bcrypt hash of a password read from
                                   the terminal or stdin (cost default 10)
  torii import-dex [--dry-run] [--force] DEX_CONFIG TORII_CONFIG
                                   copy Dex's signing keys and refresh tokens
                                   into torii's storage (Dex's is only read)
  torii seed --families N [--rotated K] [--expired] CONFIG
                                   fill the configured storage with refresh-token
                                   families for scale measurements
  torii version                    print the version

admin commands (over the gRPC admin API, grpc.addr; --addr or TORII_ADMIN_ADDR,
TLS with --ca/--cert/--key or TORII_ADMIN_CA/_CERT/_KEY; -o json):
  torii client list|get|create|update|delete
  torii user list|add|passwd|delete
  torii tokens list|revoke USER [CLIENT]
  torii sessions list|end USER
`

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve", "check-config":
		if len(rest) != 1 || rest[0] == "" || rest[0][0] == '-' {
			fmt.Fprintf(stderr, "usage: torii %s CONFIG\n", cmd)
			return 2
		}
		if cmd == "serve" {
			return serveCommand(ctx, rest[0], stderr)
		}
		return checkConfigCommand(ctx, rest[0], stdout, stderr)
	case "seed":
		return seedCommand(ctx, rest, stdout, stderr)
	case "hash-password":
		return hashPasswordCommand(rest, stdin, stdout, stderr)
	case "client":
		return clientCommand(rest, lookupEnv, stdin, stdout, stderr)
	case "user":
		return userCommand(rest, lookupEnv, stdin, stdout, stderr)
	case "tokens":
		return tokensCommand(rest, lookupEnv, stdin, stdout, stderr)
	case "sessions":
		return sessionsCommand(rest, stderr)
	case "import-dex":
		return importDexCommand(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "torii", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "torii: unknown command %q\n%s", cmd, usage)
	return 2
}
