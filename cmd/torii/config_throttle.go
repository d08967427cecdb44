package main

import (
	"time"

	"gopkg.in/yaml.v3"
)

// decodeThrottle reads torii's throttle block (not in Dex): the login
// throttle and the cap on pending auth requests; see docs/security.md.
func (c *Config) decodeThrottle(n *yaml.Node, path string) {
	d := c.d
	t := &c.Throttle
	positive := func(n *yaml.Node, p string) int {
		v := d.integer(n, p)
		if v <= 0 {
			d.errorf(n, p, "must be a positive number")
		}
		return v
	}
	dur := func(n *yaml.Node, p string) (v time.Duration) {
		v = d.duration(n, p)
		if v <= 0 {
			d.errorf(n, p, "must be a positive duration")
		}
		return v
	}
	d.mapping(n, path, fields{
		"disabled":                 func(n *yaml.Node, p string) { t.Disabled = d.boolean(n, p) },
		"window":                   func(n *yaml.Node, p string) { t.Window = dur(n, p) },
		"baseDelay":                func(n *yaml.Node, p string) { t.BaseDelay = dur(n, p) },
		"maxDelay":                 func(n *yaml.Node, p string) { t.MaxDelay = dur(n, p) },
		"knownAddressFor":          func(n *yaml.Node, p string) { t.KnownAddressFor = dur(n, p) },
		"failuresPerUserAndIP":     func(n *yaml.Node, p string) { t.FailuresPerUserAndIP = positive(n, p) },
		"failuresPerUser":          func(n *yaml.Node, p string) { t.FailuresPerUser = positive(n, p) },
		"failuresPerIP":            func(n *yaml.Node, p string) { t.FailuresPerIP = positive(n, p) },
		"errorsPerIP":              func(n *yaml.Node, p string) { t.ErrorsPerIP = positive(n, p) },
		"pendingAuthRequestsPerIP": func(n *yaml.Node, p string) { t.PendingAuthRequestsPerIP = positive(n, p) },
	}, nil)
	if t.BaseDelay > 0 && t.MaxDelay > 0 && t.BaseDelay > t.MaxDelay {
		d.errorf(n, path+".baseDelay", "is longer than maxDelay")
	}
}
