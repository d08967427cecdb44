package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	api "github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// defaultAdminAddr is where Dex's examples put the gRPC API.
const defaultAdminAddr = "127.0.0.1:5557"

// adminTimeout bounds one call to the admin API.
const adminTimeout = 15 * time.Second

// adminCLI is what every admin subcommand shares: the connection flags
// (each with an environment variable), the output format and the streams.
type adminCLI struct {
	fs                       *flag.FlagSet
	addr, ca, cert, key, sni string
	output                   string
	stdin                    io.Reader
	stdout, stderr           io.Writer
}

// newAdminCLI makes the flag set of "torii NAME"; getenv supplies defaults.
func newAdminCLI(name string, getenv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) *adminCLI {
	a := &adminCLI{fs: flag.NewFlagSet("torii "+name, flag.ContinueOnError), stdin: stdin, stdout: stdout, stderr: stderr}
	a.fs.SetOutput(stderr)
	env := func(k, def string) string {
		if v, ok := getenv(k); ok && v != "" {
			return v
		}
		return def
	}
	a.fs.StringVar(&a.addr, "addr", env("TORII_ADMIN_ADDR", defaultAdminAddr), "admin API address: host:port or unix:/path (env TORII_ADMIN_ADDR)")
	a.fs.StringVar(&a.ca, "ca", env("TORII_ADMIN_CA", ""), "PEM file of the CA that signed the server's certificate; enables TLS (env TORII_ADMIN_CA)")
	a.fs.StringVar(&a.cert, "cert", env("TORII_ADMIN_CERT", ""), "client certificate for mutual TLS (env TORII_ADMIN_CERT)")
	a.fs.StringVar(&a.key, "key", env("TORII_ADMIN_KEY", ""), "client certificate's key (env TORII_ADMIN_KEY)")
	a.fs.StringVar(&a.sni, "server-name", env("TORII_ADMIN_SERVER_NAME", ""), "name to check the server's certificate against (default: the host of --addr)")
	a.fs.StringVar(&a.output, "o", "table", "output: table or json")
	return a
}

// parse parses flags placed anywhere among the arguments and returns the
// positional ones.
func (a *adminCLI) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := a.fs.Parse(args); err != nil {
			return nil, err
		}
		args = a.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if a.output != "table" && a.output != "json" {
		return nil, fmt.Errorf("-o must be table or json, not %q", a.output)
	}
	if (a.cert == "") != (a.key == "") {
		return nil, errors.New("--cert and --key go together")
	}
	return pos, nil
}

// dial returns a client of the admin API (the connection is made on the
// first call).
func (a *adminCLI) dial() (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if a.ca != "" || a.cert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: a.sni}
		if a.ca != "" {
			pem, err := os.ReadFile(a.ca)
			if err != nil {
				return nil, fmt.Errorf("--ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca: %s holds no PEM certificate", a.ca)
			}
		}
		if a.cert != "" {
			kp, err := tls.LoadX509KeyPair(a.cert, a.key)
			if err != nil {
				return nil, fmt.Errorf("--cert/--key: %w", err)
			}
			tc.Certificates = []tls.Certificate{kp}
		}
		creds = credentials.NewTLS(tc)
	}
	target := a.addr
	if !strings.HasPrefix(target, "unix:") {
		target = "passthrough:///" + target
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("admin API address %q: %w", a.addr, err)
	}
	return conn, nil
}

// call runs fn with a deadline and turns transport failures into advice.
func (a *adminCLI) call(fn func(ctx context.Context, c api.DexClient) error) error {
	return a.callConn(func(ctx context.Context, conn *grpc.ClientConn) error {
		return fn(ctx, api.NewDexClient(conn))
	})
}

// callConn is call with the connection itself (for methods the published
// api/v2 module does not generate).
func (a *adminCLI) callConn(fn func(ctx context.Context, conn *grpc.ClientConn) error) error {
	conn, err := a.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	err = fn(ctx, conn)
	if st, ok := status.FromError(err); ok && err != nil {
		switch st.Code() {
		case codes.Unavailable, codes.DeadlineExceeded:
			return fmt.Errorf("cannot reach the torii admin API at %s: %s\n"+
				"Is grpc.addr set in the server's config? Point --addr (or TORII_ADMIN_ADDR) at it; "+
				"with TLS, give --ca, and --cert/--key when the server requires client certificates", a.addr, st.Message())
		case codes.Unimplemented:
			return fmt.Errorf("the server does not implement this call: %s", st.Message())
		default:
			return errors.New(st.Message())
		}
	}
	return err
}

// table writes rows as aligned columns.
func (a *adminCLI) table(header []string, rows [][]string) {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
}

// json writes v indented.
func (a *adminCLI) json(v any) {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// fail prints err and returns the exit status: 2 for usage errors.
func (a *adminCLI) fail(err error, usage bool) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(a.stderr, "torii:", err)
	if usage {
		return 2
	}
	return 1
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// runAdmin runs one admin subcommand: parse, then do (which gets the
// positional arguments and returns an error; a usageError exits with 2).
func runAdmin(a *adminCLI, args []string, do func(pos []string) error) int {
	pos, err := a.parse(args)
	if err != nil {
		return a.fail(err, true)
	}
	if err := do(pos); err != nil {
		var ue usageError
		return a.fail(err, errors.As(err, &ue))
	}
	return 0
}

func joinList(v []string) string {
	if len(v) == 0 {
		return "-"
	}
	return strings.Join(v, ",")
}

func unixTime(sec int64) string {
	if sec == 0 {
		return "-"
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}
