package main

import (
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// AuditConfig is torii's audit block: where the audit records go. Without
// the block there is no audit log.
type AuditConfig struct {
	// Output is "stderr", "stdout" or a file path (appended to).
	Output string
	// Format is "json" (the only one).
	Format string
}

func (c *Config) decodeAudit(n *yaml.Node, path string) {
	d := c.d
	d.mapping(n, path, fields{
		"output": func(n *yaml.Node, p string) {
			if c.Audit.Output = d.str(n, p); c.Audit.Output == "" {
				d.errorf(n, p, "is empty (stderr, stdout or a file path)")
			}
		},
		"format": func(n *yaml.Node, p string) { c.Audit.Format = d.oneOf(n, p, "json") },
	}, nil)
	if c.Audit.Output == "" {
		if _, set := d.lines[join(path, "output")]; !set {
			d.at(path, "audit.output is required (stderr, stdout or a file path)")
		}
	}
	if c.Audit.Format == "" {
		c.Audit.Format = "json"
	}
}

// openAudit opens the audit output; close is nil for stdout and stderr.
func (c *Config) openAudit(stdout, stderr io.Writer) (w io.Writer, close func() error, err error) {
	switch c.Audit.Output {
	case "":
		return nil, nil, nil
	case "stdout":
		return stdout, nil, nil
	case "stderr":
		return stderr, nil, nil
	}
	f, err := os.OpenFile(c.Audit.Output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("audit.output: %w", err)
	}
	return f, f.Close, nil
}
