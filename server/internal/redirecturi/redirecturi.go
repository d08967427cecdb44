package redirecturi

// Equivalent reports whether two redirect URIs mean the same thing: the one
// sent to /auth (and stored with the code) and the one sent to /token. Two
// valid URIs are equivalent when their canonical forms (see the package
// documentation) are equal; a string that is not Valid is equivalent only to
// itself.
func Equivalent(a, b string) bool {
	if a == b {
		return true
	}
	if Valid(a) != nil || Valid(b) != nil {
		return false
	}
	return canonicalize(a) == canonicalize(b)
}

// Match reports whether got, the redirect_uri of an authorization request,
// may be used by a client with the given registered redirect URIs.
//
//   - got must be Valid, and is accepted when it is Equivalent to a
//     registered URI (registered URIs that are not Valid never match).
//   - For a public client, a registered http loopback URI (host localhost,
//     127.0.0.1 or [::1]) also matches a request that differs from it only in
//     the port, or in having or lacking one (RFC 8252 §7.3: native apps pick
//     a free port at run time).
//   - A public client with no registered URI at all accepts any http loopback
//     URI: http://localhost, http://127.0.0.1 or http://[::1], any port or
//     none, any path and query (RFC 8252 §7.3; kubelogin works this way).
//     Never https, never another host.
func Match(registered []string, got string, public bool) bool {
	if Valid(got) != nil {
		return false
	}
	g := canonicalize(got)
	if public && len(registered) == 0 {
		return loopback(g)
	}
	for _, r := range registered {
		if r == got {
			return true // got is valid, so r is
		}
		if Valid(r) != nil {
			continue
		}
		rc := canonicalize(r)
		if rc == g {
			return true
		}
		if public && loopback(rc) && loopback(g) {
			rc.port, rc.hasPort = g.port, g.hasPort
			if rc == g {
				return true
			}
		}
	}
	return false
}

// loopback reports whether c is an http URI whose host is a loopback name or
// address in the one spelling RFC 8252 uses.
func loopback(c canon) bool {
	if c.scheme != "http" || !c.hasAuthority {
		return false
	}
	switch c.host {
	case "localhost", "127.0.0.1", "[::1]":
		return true
	}
	return false
}
