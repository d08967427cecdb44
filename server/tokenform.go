package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// clientForm checks and parses a client's POST to /token/introspect or
// /token/revoke and authenticates the client as /token does.
func (a clientAuth) clientForm(r *http.Request) (Client, string, error) {
	if r.Method != http.MethodPost {
		return Client{}, "", oauth2.InvalidRequest("this endpoint accepts only POST")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return Client{}, "", oauth2.InvalidRequest("the request body could not be parsed")
	}
	for _, k := range []string{"token", "token_type_hint", "client_id", "client_secret"} {
		if len(r.PostForm[k]) > 1 {
			return Client{}, "", oauth2.InvalidRequest(k + " is given more than once")
		}
	}
	client, err := a.authenticate(r.Context(), r)
	if err != nil {
		return Client{}, "", err
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		return Client{}, "", oauth2.InvalidRequest("token is required")
	}
	return client, tok, nil
}

// looksLikeJWT tells torii's signed access tokens (three dot-separated
// parts) from its opaque refresh tokens, so token_type_hint is only an
// ordering and never needed.
func looksLikeJWT(tok string) bool { return strings.Count(tok, ".") == 2 }

// accessClaims verifies an access token; ok is false for every token that
// is not (or no longer) good, err only for a storage failure.
func (v *tokenVerifier) accessClaims(ctx context.Context, tok string) (idTokenClaims, bool, error) {
	c, err := v.access(ctx, tok)
	var oe *oauth2.Error
	if errors.As(err, &oe) {
		return idTokenClaims{}, false, nil
	}
	if err != nil {
		return idTokenClaims{}, false, err
	}
	return c, true, nil
}

// refreshToken looks a refresh token up by its hash; ok is false when
// torii does not know it (never issued, revoked, garbage collected).
func lookupRefresh(ctx context.Context, store storage.Storage, tok string) (storage.RefreshToken, bool, error) {
	t, err := store.GetRefresh(ctx, hashToken(tok))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.RefreshToken{}, false, nil
	}
	if err != nil {
		return storage.RefreshToken{}, false, err
	}
	return t, true, nil
}
