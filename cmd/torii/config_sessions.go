package main

import (
	"encoding/base64"

	"gopkg.in/yaml.v3"

	"github.com/torii-idp/torii/server"
)

// decodeSessions reads the sessions block (Dex master's keys). Any block,
// even `sessions: {}`, turns browser sessions on.
func (c *Config) decodeSessions(n *yaml.Node, path string) {
	d := c.d
	n = resolve(n)
	s := &server.SessionsConfig{}
	c.Sessions = s
	if isNull(n) {
		return
	}
	d.mapping(n, path, fields{
		"cookieName": func(n *yaml.Node, p string) {
			s.CookieName = d.str(n, p)
			if !validCookieName(s.CookieName) {
				d.errorf(n, p, "%q is not a valid cookie name (letters, digits and -_.)", s.CookieName)
			}
		},
		"absoluteLifetime": func(n *yaml.Node, p string) {
			if s.AbsoluteLifetime = d.duration(n, p); s.AbsoluteLifetime < 0 {
				d.errorf(n, p, "must be positive")
			}
		},
		"validIfNotUsedFor": func(n *yaml.Node, p string) {
			if s.ValidIfNotUsedFor = d.duration(n, p); s.ValidIfNotUsedFor < 0 {
				d.errorf(n, p, "must be positive")
			}
		},
		"rememberMeCheckedByDefault": func(n *yaml.Node, p string) { s.RememberMeCheckedByDefault = d.boolean(n, p) },
		"ssoSharedWithDefault": func(n *yaml.Node, p string) {
			s.SSOSharedWithDefault = d.strList(n, p)
			if s.SSOSharedWithDefault == nil {
				s.SSOSharedWithDefault = []string{}
			}
		},
		// torii's cookie holds only a random ID whose hash is the stored key,
		// so there is nothing to encrypt; the key is checked and not needed.
		"cookieEncryptionKey": func(n *yaml.Node, p string) {
			k := d.str(n, p)
			if b, err := base64.StdEncoding.DecodeString(k); (err != nil || len(b) < 16) && len(k) < 16 {
				d.errorf(n, p, "must be at least 16 bytes (or their base64)")
			}
		},
	}, nil)
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
