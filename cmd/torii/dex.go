package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
)

// dexConfigFiles are where Kubeflow's manifests (/etc/dex/cfg) and Dex's
// Helm chart (/etc/dex) mount config.yaml; `dex serve` with no file uses the
// first that exists.
func dexConfigFiles() []string {
	return []string{"/etc/dex/cfg/config.yaml", "/etc/dex/config.yaml"}
}

const dexUsage = `usage (torii run as dex):
  dex serve [FLAGS] [CONFIG]   run the server (CONFIG defaults to the first of
                               /etc/dex/cfg/config.yaml, /etc/dex/config.yaml)
` + serveFlagsUsage + `  dex version                  print the version
Every torii command works too (check-config, hash-password).
`

// dexCommand runs what Dex's command line would: the program is torii, so
// only the command lines differ. Commands other than Dex's are torii's.
func dexCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, dexUsage)
		return 2
	}
	switch args[0] {
	case "serve":
		files, flags, err := parseServeArgs(args[1:])
		if err == nil && len(files) == 0 {
			files, err = firstExisting(dexConfigFiles())
		}
		if err == nil && (len(files) != 1 || files[0] == "") {
			err = fmt.Errorf("one CONFIG file is needed, got %d", len(files))
		}
		if err != nil {
			if err != errHelp {
				fmt.Fprintf(stderr, "dex serve: %v\n", err)
			}
			fmt.Fprint(stderr, dexUsage)
			return 2
		}
		return serveCommand(ctx, files[0], flags, stdout, stderr)
	case "version":
		if len(args) != 1 {
			fmt.Fprint(stderr, dexUsage)
			return 2
		}
		// Dex's three lines, so that scripts reading them still work.
		fmt.Fprintf(stdout, "dex Version: torii %s\nGo Version: %s\nGo OS/ARCH: %s %s\n",
			buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, dexUsage)
		return 0
	case "dex":
		// `dex dex ...` is never meant; refuse rather than recurse.
		fmt.Fprintf(stderr, "dex: unknown command %q\n%s", args[0], dexUsage)
		return 2
	}
	return run(ctx, args, stdin, stdout, stderr)
}

// firstExisting returns the first of paths that exists, as a one-element
// list, or an error naming them all.
func firstExisting(paths []string) ([]string, error) {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return []string{p}, nil
		}
	}
	return nil, fmt.Errorf("no CONFIG given and none of %v exists", paths)
}
