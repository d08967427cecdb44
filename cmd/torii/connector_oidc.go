package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/connector/oidc"
	"github.com/torii-idp/torii/server"
)

// openOIDC builds an oidc connector from its config block. It does not
// reach the provider (discovery happens at the first login), so
// check-config runs it too.
func openOIDC(_ context.Context, env connectorEnv) (server.Connector, error) {
	cfg, err := decodeConnectorConfig[oidc.Config](env, "oidc connector needs a config block (issuer, clientID, clientSecret, ...)")
	if err != nil {
		return server.Connector{}, err
	}
	c, err := oidc.Open(env.ID, cfg, env.Callback, env.Logger)
	if err != nil {
		return server.Connector{}, withKeyLines(env.Config, err)
	}
	return server.Connector{ID: env.ID, Type: "oidc", Callback: c, Refresh: c, TokenIdentity: c}, nil
}

// withKeyLines puts "line N: " before each FieldError, the line of its key
// in the block.
func withKeyLines(block *yaml.Node, err error) error {
	var out []error
	for _, e := range flatten(err) {
		var fe *oidc.FieldError
		if errors.As(e, &fe) {
			if line := keyLine(block, fe.Key); line > 0 {
				out = append(out, fmt.Errorf("line %d: %s", line, fe.Error()))
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// keyLine is the line of the key at a dotted path ("a.b", "a[2].b") in n,
// or of the deepest part found.
func keyLine(n *yaml.Node, path string) int {
	line := 0
	n = resolve(n)
	for _, part := range strings.Split(path, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		if n == nil || n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				line, next = n.Content[i].Line, resolve(n.Content[i+1])
				break
			}
		}
		if next == nil {
			return line
		}
		if hasIdx {
			var k int
			fmt.Sscanf(idx, "%d]", &k)
			if next.Kind != yaml.SequenceNode || k >= len(next.Content) {
				return line
			}
			next = resolve(next.Content[k])
			line = next.Line
		}
		n = next
	}
	return line
}
