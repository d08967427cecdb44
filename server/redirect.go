package server

import "github.com/torii-idp/torii/server/internal/redirecturi"

// ValidRedirectURI reports why a redirect URI can never be used (a
// fragment, userinfo, an unescaped space, ...), so config loading can refuse
// a registration that would silently never match. The rules are in
// docs/redirect-uris.md.
func ValidRedirectURI(uri string) error { return redirecturi.Valid(uri) }
