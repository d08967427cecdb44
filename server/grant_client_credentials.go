package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// clientCredentialsGrant is RFC 6749 §4.4: a confidential client gets
// tokens for itself. The subject is Dex master's encoding of
// {client_id, ""}; there is no refresh token (the client can always ask
// again).
type clientCredentialsGrant struct {
	minter *minter
}

var clientCredentialsScopes = scopeSet{scopeOpenID, scopeEmail, scopeProfile, scopeGroups}

func (g *clientCredentialsGrant) handle(ctx context.Context, r *http.Request, client Client) (*oauth2.TokenResponse, error) {
	if client.Public {
		return nil, oauth2.UnauthorizedClient("the client credentials grant is only for confidential clients")
	}
	var scopes scopeSet
	for _, s := range strings.Fields(r.PostForm.Get("scope")) {
		if !clientCredentialsScopes.has(s) {
			return nil, oauth2.InvalidScope(fmt.Sprintf("scope %q is not available to the client credentials grant", s))
		}
		if !scopes.has(s) {
			scopes = append(scopes, s)
		}
	}
	name := client.Name
	if name == "" {
		name = client.ID
	}
	return g.minter.mint(ctx, grantInfo{
		clientID: client.ID,
		scopes:   scopes,
		claims: storage.Claims{UserID: client.ID, Username: name, PreferredUsername: client.ID,
			Groups: client.ClientCredentialsGroups},
		grantID:   newToken(),
		grantType: grantClientCredentials,
	})
}
