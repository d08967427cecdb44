package server

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// torii's own pages (the account page, the kubeconfig page) log people in
// like any application would: through /auth with a client of their own,
// so the login, the session, the throttle and the audit trail are the ones
// every client gets. That client is built in: it is never in storage or
// the config, and no one can register one under its ID.
const (
	// BuiltinClientID is the client ID of torii's own pages. A configured
	// client with this ID is refused (Config.validate).
	BuiltinClientID = "torii-account"
	// builtinCallbackPath is the built-in client's one redirect URI,
	// under the issuer.
	builtinCallbackPath = "/account/callback"
	// builtinScopes are what an account page shows: who (sub), email,
	// groups and name. No offline_access: the pages keep no refresh token.
	builtinScopes = "openid email groups profile"
)

// builtinClient is the built-in client of issuer iss: public (PKCE S256,
// no secret), its only redirect URI exactly <issuer>/account/callback, and
// allowed to reuse any torii session (it is torii itself).
func builtinClient(iss issuer) Client {
	return Client{
		ID: BuiltinClientID, Name: "torii", Public: true,
		RedirectURIs:  []string{iss.absolute(builtinCallbackPath)},
		SSOSharedWith: []string{"*"},
	}
}

// withBuiltinClient is the configured clients plus the built-in one
// (validate has refused a configured client of the same ID).
func withBuiltinClient(clients []Client, iss issuer) []Client {
	all := make([]Client, 0, len(clients)+1)
	return append(append(all, clients...), builtinClient(iss))
}

func refuseBuiltinClientID(id string) error {
	if id == BuiltinClientID {
		return fmt.Errorf("client %q: this client ID is reserved for torii's own pages (the account page)", id)
	}
	return nil
}

// safeReturnPath reports whether p may be where a page login sends the
// browser afterwards: a path under the issuer path of this issuer, never
// another host ("//evil", "/\evil", "https://evil") nor a path that
// escapes the issuer path once cleaned ("/dex/../admin").
func safeReturnPath(iss issuer, p string) bool {
	if len(p) > 2048 || !strings.HasPrefix(p, iss.Path+"/") || strings.HasPrefix(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x21 || c == 0x7f || c == '\\' || c >= 0x80 {
			return false
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		return false
	}
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	return clean == u.Path && strings.HasPrefix(clean, iss.Path+"/")
}
