package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/torii-idp/torii/server/signer"
	"github.com/torii-idp/torii/storage"
)

// tokenVerifier checks tokens torii signed: the signature against the
// published keys, the issuer, and what kind of token it is. /auth's
// id_token_hint and /logout use it for ID tokens; /userinfo,
// /token/introspect and /token/revoke for access tokens (verify_access.go),
// which also need the grant's revocation state from store.
type tokenVerifier struct {
	issuer issuer
	signer *signer.Signer
	store  storage.Storage
	now    func() time.Time
}

var (
	errNotOurToken = errors.New("token not signed by this issuer")
	errNotIDToken  = errors.New("token is not an ID token")
	errExpired     = errors.New("token expired")
)

// idToken verifies an ID token. With allowExpired (a hint: id_token_hint)
// an expired token is accepted and its claims returned.
func (v *tokenVerifier) idToken(ctx context.Context, raw string, allowExpired bool) (idTokenClaims, error) {
	payload, err := v.signer.Verify(ctx, raw)
	if err != nil {
		return idTokenClaims{}, errors.Join(errNotOurToken, err)
	}
	var c idTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return idTokenClaims{}, errors.Join(errNotOurToken, err)
	}
	if c.Issuer != v.issuer.URL {
		return idTokenClaims{}, errNotOurToken
	}
	var kind struct {
		Events json.RawMessage `json:"events"`
	}
	// An access token, or a Logout Token (it has events), is no ID token.
	if c.TokenUse != "" || json.Unmarshal(payload, &kind) != nil || kind.Events != nil {
		return idTokenClaims{}, errNotIDToken
	}
	if !allowExpired && !v.now().Before(time.Unix(c.Expiry, 0)) {
		return c, errExpired
	}
	return c, nil
}
