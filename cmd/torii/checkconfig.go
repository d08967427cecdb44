package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
)

// checkConfigCommand reports every problem of the config file, one per
// line as FILE:LINE: key.path: message, and exits 1; or prints a summary.
func checkConfigCommand(ctx context.Context, path string, flags serveFlags, stdout, stderr io.Writer) int {
	c, err := checkFile(ctx, path, flags)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	fmt.Fprint(stdout, c.summary())
	return 0
}

// checkFile is the one validator: check-config, serve and a config reload
// accept exactly the files it accepts. It parses and validates the file and
// has every connector check its own config block. The serve flags replace
// the file's addresses, at start and at every reload alike.
func checkFile(ctx context.Context, path string, flags serveFlags) (*Config, error) {
	c, err := loadConfig(path, lookupEnv, flags)
	if c != nil && c.parsed {
		// Connector configs are checked by the connectors themselves.
		err = errors.Join(err, c.checkConnectors(ctx))
	}
	return c, err
}

// checkConnectors opens and closes every connector whose config had no
// problem so far, to report what the connector itself refuses.
func (c *Config) checkConnectors(ctx context.Context) error {
	bad := func(path string) bool {
		return slices.ContainsFunc(c.d.problems, func(err error) bool {
			p, ok := err.(*Problem)
			return ok && (p.Path == path || strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"["))
		})
	}
	check := *c
	check.Connectors = nil
	for _, cc := range c.Connectors {
		// Every factory only decodes and validates (no network), so each
		// connector without a problem so far checks its own block.
		if !bad(cc.Path) && !bad(join(cc.Path, "type")) {
			check.Connectors = append(check.Connectors, cc)
		}
	}
	check.EnablePasswordDB = c.EnablePasswordDB && !bad("staticPasswords")
	logger := slog.New(slog.DiscardHandler)
	conns, err := check.openConnectors(ctx, logger, nil)
	closeConnectors(conns, logger)
	return err
}

// printProblems prints each problem of a joined error on its own line,
// sorted by line.
func printProblems(w io.Writer, err error) {
	errs := flatten(err)
	slices.SortStableFunc(errs, func(a, b error) int {
		return cmp.Compare(problemLine(a), problemLine(b))
	})
	for _, e := range errs {
		fmt.Fprintln(w, e)
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func problemLine(err error) int {
	var p *Problem
	if errors.As(err, &p) {
		return p.Line
	}
	return 0
}
