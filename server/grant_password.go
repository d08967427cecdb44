package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/torii-idp/torii/server/oauth2"
)

// passwordGrant implements grant_type=password (RFC 6749 §4.3) through the
// connector named by oauth2.passwordConnector, for confidential clients.
type passwordGrant struct {
	conn    Connector
	logins  *passwordLogins
	ips     ipResolver
	clients *clientLookup
	minter  *minter
	refresh *refreshIssuer
	now     func() time.Time
}

func (g *passwordGrant) handle(ctx context.Context, r *http.Request, client Client) (*oauth2.TokenResponse, error) {
	if client.Public {
		return nil, oauth2.UnauthorizedClient("the password grant is only for confidential clients")
	}
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if username == "" || password == "" {
		return nil, oauth2.InvalidRequest("username and password are required")
	}
	rawScope := r.PostForm.Get("scope")
	if rawScope == "" {
		rawScope = scopeOpenID
	}
	scopes, err := parseScopes(ctx, rawScope, client, g.clients)
	if err != nil {
		return nil, err
	}
	ident, err := g.logins.login(ctx, g.conn, scopes.connectorScopes(), username, password, g.ips.clientIP(r))
	switch {
	case errors.Is(err, errBadCredentials):
		return nil, oauth2.InvalidGrant("invalid username or password")
	case errors.Is(err, errThrottled):
		return nil, oauth2.InvalidGrant("too many failed login attempts; try again later")
	case err != nil:
		return nil, loginError(err)
	}
	now := g.now()
	gi := grantInfo{
		clientID:    client.ID,
		scopes:      scopes,
		claims:      claimsFromIdentity(ident),
		connectorID: g.conn.ID,
		authTime:    now,
		grantID:     newToken(),
		grantType:   grantPassword,
	}
	return mintWithRefresh(ctx, g.minter, g.refresh, g.conn.Refresh != nil, gi, ident.ConnectorData, now)
}
