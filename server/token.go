package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/oauth2"
)

const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantPassword          = "password"
	grantClientCredentials = "client_credentials"
)

// grant is one grant_type at /token. Client authentication and the
// grant-type allow list run once in tokenHandler before handle.
type grant interface {
	handle(ctx context.Context, r *http.Request, client Client) (*oauth2.TokenResponse, error)
}

type tokenHandler struct {
	auth    clientAuth
	grants  map[string]grant
	log     *slog.Logger
	metrics *Metrics
}

func (h *tokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := h.serve(r)
	if err != nil {
		writeJSONError(w, r, h.log, err)
		return
	}
	// An audit line: who got what, never the tokens themselves.
	h.log.InfoContext(r.Context(), "tokens issued", "grant_type", r.PostForm.Get("grant_type"),
		"client_id", truncate(clientIDOf(r)), "scope", resp.Scope, "refresh_token", resp.RefreshToken != "")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	json.NewEncoder(w).Encode(resp)
}

func (h *tokenHandler) serve(r *http.Request) (*oauth2.TokenResponse, error) {
	if r.Method != http.MethodPost {
		return nil, oauth2.InvalidRequest("the token endpoint accepts only POST")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, oauth2.InvalidRequest("the request body could not be parsed")
	}
	if err := checkParams(r.Form, tokenParams, nil); err != nil {
		return nil, err
	}
	client, err := h.auth.authenticate(r.Context(), r)
	if err != nil {
		return nil, err
	}
	audit.SetClient(r.Context(), client.ID)
	gt := r.PostForm.Get("grant_type")
	if gt == "" {
		return nil, oauth2.InvalidRequest("grant_type is required")
	}
	g, ok := h.grants[gt]
	if !ok {
		return nil, oauth2.UnsupportedGrantType("grant type " + quote(gt) + " is not supported")
	}
	resp, err := g.handle(r.Context(), r, client)
	if err == nil {
		h.metrics.tokenIssued(gt)
	}
	return resp, err
}

// clientIDOf is the client ID of an authenticated token request.
func clientIDOf(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(id); err == nil {
			return u
		}
	}
	return r.PostForm.Get("client_id")
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// enabledGrants keeps the grants the config allows.
func enabledGrants(all map[string]grant, allowed []string) map[string]grant {
	out := map[string]grant{}
	for name, g := range all {
		if g != nil && slices.Contains(allowed, name) {
			out[name] = g
		}
	}
	return out
}
