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
//
// Run as dex (a link named dex, or `torii dex ...`), it takes the command
// lines Dex's image, Kubeflow's manifests and Dex's Helm chart use:
// `dex serve [--web-http-addr A] [--web-https-addr A] [--telemetry-addr A]
// FILE` and `dex version`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	args := os.Args[1:]
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == "dex" {
		args = append([]string{"dex"}, args...)
	}
	os.Exit(run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage:
  torii serve [FLAGS] CONFIG       run the server; FLAGS replace the config's
                                   addresses as Dex's do:
` + serveFlagsUsage + `  torii check-config [FLAGS] CONFIG  check a config file and report every problem
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
  torii sessions list|delete|terminate USER
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
		files, flags, err := parseServeArgs(rest)
		if err == nil && (len(files) != 1 || files[0] == "") {
			err = fmt.Errorf("one CONFIG file is needed")
		}
		if err != nil {
			if err != errHelp {
				fmt.Fprintf(stderr, "torii %s: %v\n", cmd, err)
			}
			fmt.Fprintf(stderr, "usage: torii %s [FLAGS] CONFIG\n%s", cmd, serveFlagsUsage)
			return 2
		}
		if cmd == "serve" {
			return serveCommand(ctx, files[0], flags, stdout, stderr)
		}
		return checkConfigCommand(ctx, files[0], flags, stdout, stderr)
	case "seed":
		return seedCommand(ctx, rest, stdout, stderr)
	case "dex":
		return dexCommand(ctx, rest, stdin, stdout, stderr)
	case "hash-password":
		return hashPasswordCommand(rest, stdin, stdout, stderr)
	case "client":
		return clientCommand(rest, lookupEnv, stdin, stdout, stderr)
	case "user":
		return userCommand(rest, lookupEnv, stdin, stdout, stderr)
	case "tokens":
		return tokensCommand(rest, lookupEnv, stdin, stdout, stderr)
	case "sessions":
		return sessionsCommand(rest, lookupEnv, stdin, stdout, stderr)
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
