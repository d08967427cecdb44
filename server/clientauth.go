package server

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/torii-idp/torii/server/oauth2"
)

// clientAuth authenticates the client calling /token, /token/introspect,
// /token/revoke and /device/code, so every endpoint applies the same rules.
type clientAuth struct {
	clients *clientLookup
}

// authenticate reads the client's credentials from a parsed form request:
// client_secret_basic, client_secret_post, or a public client identified by
// client_id alone.
func (a clientAuth) authenticate(ctx context.Context, r *http.Request) (Client, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both parts are form-urlencoded inside Basic.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return Client{}, oauth2.InvalidClient("malformed client credentials")
		}
		if r.PostForm.Get("client_secret") != "" {
			return Client{}, oauth2.InvalidRequest("use only one client authentication method")
		}
		if fid := r.PostForm.Get("client_id"); fid != "" && fid != id {
			return Client{}, oauth2.InvalidRequest("client_id does not match the authenticated client")
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return Client{}, oauth2.InvalidClient("client authentication is required")
	}
	c, ok, err := a.clients.get(ctx, id)
	if err != nil {
		return Client{}, err
	}
	if !ok {
		// Compare anyway so an unknown client costs the same as a bad secret.
		subtle.ConstantTimeCompare([]byte(secret), []byte("unknown-client-placeholder"))
		return Client{}, oauth2.InvalidClient("invalid client credentials")
	}
	if c.Public {
		return c, nil
	}
	if !c.verifySecret(secret) {
		return Client{}, oauth2.InvalidClient("invalid client credentials")
	}
	return c, nil
}
