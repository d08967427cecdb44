package main

import (
	"errors"
	"fmt"
	"strings"
)

// serveFlags are Dex's `serve` flags. Each one that is set and not empty
// replaces the config's value, as in Dex (applyConfigOverrides), before the
// config is validated: Dex's Helm chart passes the addresses only as flags.
type serveFlags struct {
	WebHTTP   string // --web-http-addr: web.http
	WebHTTPS  string // --web-https-addr: web.https
	Telemetry string // --telemetry-addr: telemetry.http
	GRPC      string // --grpc-addr: grpc.addr (the admin API)
}

const serveFlagsUsage = `  --web-http-addr ADDR     replaces web.http
  --web-https-addr ADDR    replaces web.https
  --telemetry-addr ADDR    replaces telemetry.http
  --grpc-addr ADDR         replaces grpc.addr (the admin API)
`

// errHelp is returned by parseServeArgs for -h/--help.
var errHelp = errors.New("help requested")

// parseServeArgs reads `[FLAGS] CONFIG` the way Dex's cobra command does:
// --flag VALUE or --flag=VALUE, flags before or after the file, "--" ends
// the flags. files is every positional argument; the caller checks there
// is one.
func parseServeArgs(args []string) (files []string, f serveFlags, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(files, args[i+1:]...), f, nil
		case a == "-h" || a == "--help":
			return nil, f, errHelp
		case !strings.HasPrefix(a, "-") || a == "-":
			files = append(files, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		var dst *string
		switch name {
		case "web-http-addr":
			dst = &f.WebHTTP
		case "web-https-addr":
			dst = &f.WebHTTPS
		case "telemetry-addr":
			dst = &f.Telemetry
		case "grpc-addr":
			dst = &f.GRPC
		}
		if dst == nil || !strings.HasPrefix(a, "--") {
			return nil, f, fmt.Errorf("unknown flag %s", a)
		}
		if !hasValue {
			if i+1 == len(args) {
				return nil, f, fmt.Errorf("flag --%s needs an address", name)
			}
			i++
			value = args[i]
		}
		*dst = value
	}
	return files, f, nil
}

// apply replaces the config's addresses with the flags that are set.
func (f serveFlags) apply(c *Config) {
	if f.WebHTTP != "" {
		c.Web.HTTP = f.WebHTTP
	}
	if f.WebHTTPS != "" {
		c.Web.HTTPS = f.WebHTTPS
	}
	if f.Telemetry != "" {
		c.Telemetry.HTTP = f.Telemetry
	}
	if f.GRPC != "" {
		c.GRPC.Addr = f.GRPC
	}
}
