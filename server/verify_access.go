package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/torii-idp/torii/server/oauth2"
)

// access verifies an access token: torii's signature, this issuer, not
// expired, its grant not revoked.
func (v *tokenVerifier) access(ctx context.Context, tok string) (idTokenClaims, error) {
	payload, err := v.signer.Verify(ctx, tok)
	if err != nil {
		return idTokenClaims{}, oauth2.InvalidToken("the access token is invalid")
	}
	var c idTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return idTokenClaims{}, oauth2.InvalidToken("the access token is invalid")
	}
	switch {
	case c.TokenUse != tokenUseAccess:
		return idTokenClaims{}, oauth2.InvalidToken("the token is not an access token")
	case c.Issuer != v.issuer.URL:
		return idTokenClaims{}, oauth2.InvalidToken("the access token is from another issuer")
	case !v.now().Before(time.Unix(c.Expiry, 0)):
		return idTokenClaims{}, oauth2.InvalidToken("the access token has expired")
	}
	if c.GrantID != "" {
		revoked, err := v.store.GrantRevoked(ctx, c.GrantID)
		if err != nil {
			return idTokenClaims{}, err
		}
		if revoked {
			return idTokenClaims{}, oauth2.InvalidToken("the access token has been revoked")
		}
	}
	return c, nil
}
