package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/connector/ldap"
	"github.com/torii-idp/torii/server"
)

// openLDAP builds an ldap connector from its config block (environment
// variables already expanded). check-config calls it too: ldap.Open only
// validates and loads certificate files, it does not dial.
func openLDAP(ctx context.Context, env connectorEnv) (server.Connector, error) {
	cfg, err := decodeConnectorConfig[ldap.Config](env, "ldap connector needs a config block")
	if err != nil {
		return server.Connector{}, err
	}
	c, err := ldap.Open(ctx, cfg, env.Logger)
	if err != nil {
		return server.Connector{}, err
	}
	return server.Connector{ID: env.ID, Type: "ldap", Password: c, Refresh: c}, nil
}

// decodeConnectorConfig decodes a connector's config block strictly into
// T: a missing block is the error missing, and every key T has no field
// for is reported with its line.
func decodeConnectorConfig[T any](env connectorEnv, missing string) (T, error) {
	var cfg T
	config := env.Config
	if config == nil || isNull(resolve(config)) {
		return cfg, errors.New(missing)
	}
	if err := errors.Join(unknownYAMLKeys(config, reflect.TypeFor[T](), "")...); err != nil {
		return cfg, err
	}
	err := config.Decode(&cfg)
	return cfg, err
}

// unknownYAMLKeys reports every mapping key under n that has no field with
// that yaml tag in t, with its line, so that a typo is never ignored.
func unknownYAMLKeys(n *yaml.Node, t reflect.Type, path string) []error {
	n = resolve(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil {
		return nil
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		known := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				known[name] = f.Type
			}
		}
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			ft, ok := known[k.Value]
			if !ok {
				errs = append(errs, fmt.Errorf("line %d: %s: unknown key", k.Line, p))
				continue
			}
			errs = append(errs, unknownYAMLKeys(n.Content[i+1], ft, p)...)
		}
		return errs
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && n.Kind == yaml.SequenceNode:
		var errs []error
		for i, item := range n.Content {
			errs = append(errs, unknownYAMLKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	return nil
}
