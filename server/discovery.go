package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/torii-idp/torii/server/oauth2"
)

// cachedDocument serves pre-serialized JSON with a strong ETag.
type cachedDocument struct {
	body         []byte
	etag         string
	cacheControl string
}

func newCachedDocument(v any, cacheControl string) (*cachedDocument, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &cachedDocument{body: b, etag: etagOf(b), cacheControl: cacheControl}, nil
}

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

func (d *cachedDocument) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serveJSONBytes(w, r, d.body, d.etag, d.cacheControl)
}

// serveJSONBytes writes body, or 304 when the client already has it.
func serveJSONBytes(w http.ResponseWriter, r *http.Request, body []byte, etag, cacheControl string) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", cacheControl)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	w.Write(body)
}

func etagMatches(header, etag string) bool {
	for len(header) > 0 {
		var tok string
		tok, header, _ = strings.Cut(header, ",")
		tok = strings.TrimSpace(tok)
		if tok == "*" || tok == etag || tok == "W/"+etag {
			return true
		}
	}
	return false
}

func discoveryDocument(iss issuer, algs []string, grants []string, pkceMethods []string) oauth2.Discovery {
	if pkceMethods == nil {
		pkceMethods = []string{"S256", "plain"} // plain for confidential clients
	}
	device := ""
	if slices.Contains(grants, grantDeviceCode) {
		device = iss.absolute("/device/code")
	}
	return oauth2.Discovery{
		DeviceAuthorizationEndpoint:       device,
		Issuer:                            iss.URL,
		AuthorizationEndpoint:             iss.absolute("/auth"),
		TokenEndpoint:                     iss.absolute("/token"),
		JWKSURI:                           iss.absolute("/keys"),
		UserinfoEndpoint:                  iss.absolute("/userinfo"),
		RevocationEndpoint:                iss.absolute("/token/revoke"),
		IntrospectionEndpoint:             iss.absolute("/token/introspect"),
		EndSessionEndpoint:                iss.absolute("/logout"),
		BackchannelLogoutSupported:        true,
		BackchannelLogoutSessionSupported: true,
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  algs,
		ScopesSupported:                   []string{"openid", "email", "profile", "groups", "offline_access"},
		ClaimsSupported:                   []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "c_hash", "sid", "email", "email_verified", "groups", "name", "preferred_username"},
		GrantTypesSupported:               grants,
		CodeChallengeMethodsSupported:     pkceMethods,
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
		AuthorizationResponseISSSupported: true,
	}
}
