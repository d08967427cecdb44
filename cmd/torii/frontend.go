package main

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/web"
)

// decodeFrontend reads Dex's frontend block (docs/pages.md).
func (c *Config) decodeFrontend(n *yaml.Node, path string) {
	d := c.d
	d.mapping(n, path, fields{
		"issuer":  func(n *yaml.Node, p string) { c.Frontend.Issuer = d.str(n, p) },
		"logoURL": func(n *yaml.Node, p string) { c.Frontend.LogoURL = d.str(n, p) },
		"theme": func(n *yaml.Node, p string) {
			t := d.str(n, p)
			switch t {
			case "", "light", "dark", "auto":
				c.Frontend.Theme = t
			default:
				d.errorf(n, p, "theme %q: torii has the themes light, dark and auto (Dex theme directories are not supported; put your own CSS in frontend.dir's static/)", t)
			}
		},
		"dir":             func(n *yaml.Node, p string) { c.Frontend.Dir = d.str(n, p) },
		"defaultLanguage": func(n *yaml.Node, p string) { c.Frontend.DefaultLanguage = d.str(n, p) },
		"extra": func(n *yaml.Node, p string) {
			n = resolve(n)
			if isNull(n) {
				return
			}
			if n.Kind != yaml.MappingNode {
				d.errorf(n, p, "must be a mapping of names to strings")
				return
			}
			c.Frontend.Extra = map[string]string{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				kp := join(p, k.Value)
				if _, dup := c.Frontend.Extra[k.Value]; dup {
					d.errorf(k, kp, "is set twice")
					continue
				}
				d.lines[kp] = k.Line
				c.Frontend.Extra[k.Value] = d.str(v, kp)
			}
		},
	}, nil)
}

// validateFrontend loads frontend.dir as serve would, so check-config
// reports a Dex theme, an unknown template or a broken catalog, and checks
// that defaultLanguage names a catalog.
func (c *Config) validateFrontend() {
	d := c.d
	site, err := web.Load(c.Frontend.Dir)
	if err != nil {
		if c.Frontend.Dir != "" {
			d.at("frontend.dir", "%v", err)
		} else {
			d.at("frontend", "built-in pages: %v", err)
		}
		return
	}
	if l := c.Frontend.DefaultLanguage; l != "" {
		var have []string
		for _, cat := range site.Catalogs {
			have = append(have, cat.Tag.String())
		}
		if !slices.Contains(have, l) {
			d.at("frontend.defaultLanguage", "%q has no catalog (torii has %s; add i18n/%s.json to frontend.dir for another)", l, strings.Join(have, ", "), l)
		}
	}
}
