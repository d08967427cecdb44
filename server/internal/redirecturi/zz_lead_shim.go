// TEMPORARY stand-in written by the lead so the server builds; the redirect/sub/PKCE
// helper replaces this package: delete this file when your real files land.

package redirecturi

import (
	"errors"
	"net/url"
	"slices"
)

func Valid(s string) error {
	u, err := url.Parse(s)
	if err != nil || s == "" || u.Fragment != "" {
		return errors.New("bad")
	}
	return nil
}

func Equivalent(a, b string) bool { return a == b }

func Match(reg []string, got string, public bool) bool {
	if slices.Contains(reg, got) {
		return true
	}
	if public && len(reg) == 0 {
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "http" || u.User != nil {
			return false
		}
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	return false
}
