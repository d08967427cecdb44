package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/storage"
)

// introspectHandler is RFC 7662 token introspection at /token/introspect,
// in Dex's response shape. Unlike Dex, the caller authenticates as a client.
type introspectHandler struct {
	auth     clientAuth
	verifier *tokenVerifier
	store    storage.Storage
	refresh  *refreshGrant
	minter   *minter
	now      func() time.Time
	log      *slog.Logger
	audit    *audit.Logger
}

// introspection is an active token; an inactive one is {"active":false}.
type introspection struct {
	Active    bool         `json:"active"`
	ClientID  string       `json:"client_id"`
	Subject   string       `json:"sub"`
	Scope     string       `json:"scope,omitempty"`
	Expiry    int64        `json:"exp,omitempty"`
	IssuedAt  int64        `json:"iat"`
	NotBefore int64        `json:"nbf"`
	Audience  audience     `json:"aud"`
	Issuer    string       `json:"iss"`
	TokenType string       `json:"token_type"`
	TokenUse  string       `json:"token_use"`
	Username  string       `json:"username,omitempty"`
	Extra     scopedClaims `json:"ext"`
}

var inactive = []byte(`{"active":false}`)

func (h *introspectHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := h.serve(r)
	if err != nil {
		writeJSONError(w, r, h.log, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if out == nil {
		w.Write(inactive)
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (h *introspectHandler) serve(r *http.Request) (*introspection, error) {
	client, tok, err := h.auth.clientForm(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	var out *introspection
	if looksLikeJWT(tok) {
		out, err = h.access(ctx, tok)
	} else {
		out, err = h.refreshToken(ctx, tok)
	}
	if err == nil {
		rec := audit.Record{Event: audit.Introspection, ClientID: client.ID, Detail: "inactive"}
		if out != nil {
			rec.Subject, rec.Detail = out.Subject, "active"
		}
		h.audit.Log(ctx, rec)
	}
	return out, err
}

func (h *introspectHandler) access(ctx context.Context, tok string) (*introspection, error) {
	c, ok, err := h.verifier.accessClaims(ctx, tok)
	if err != nil || !ok {
		return nil, err
	}
	return &introspection{
		Active: true, ClientID: c.Audience[0], Subject: c.Subject, Scope: c.Scope,
		Expiry: c.Expiry, IssuedAt: c.IssuedAt, NotBefore: c.IssuedAt, Audience: c.Audience,
		Issuer: c.Issuer, TokenType: "Bearer", TokenUse: "access_token",
		Username: username(c.scopedClaims), Extra: c.scopedClaims,
	}, nil
}

func (h *introspectHandler) refreshToken(ctx context.Context, tok string) (*introspection, error) {
	t, ok, err := lookupRefresh(ctx, h.store, tok)
	if err != nil || !ok {
		return nil, err
	}
	now := h.now()
	// The same rules the refresh grant applies: rotated, idle or past the
	// absolute lifetime is inactive.
	client, known, err := h.minter.clients.get(ctx, t.ClientID)
	if err != nil {
		return nil, err
	}
	if !known || h.refresh.check(t, client, now) != nil {
		return nil, nil
	}
	if !t.Expiry.IsZero() && !now.Before(t.Expiry) {
		return nil, nil
	}
	claims := h.minter.baseClaims(grantInfo{clientID: t.ClientID, scopes: scopeSet(t.Scopes), claims: t.Claims, connectorID: t.ConnectorID}, now, h.minter.ttl)
	out := &introspection{
		Active: true, ClientID: t.ClientID, Subject: subject.Encode(t.Claims.UserID, t.ConnectorID),
		Scope: strings.Join(t.Scopes, " "), IssuedAt: t.CreatedAt.Unix(), NotBefore: t.CreatedAt.Unix(),
		Audience: audience{t.ClientID}, Issuer: h.verifier.issuer.URL, TokenType: "Bearer", TokenUse: "refresh_token",
		Username: username(claims.scopedClaims), Extra: claims.scopedClaims,
	}
	if !t.Expiry.IsZero() {
		out.Expiry = t.Expiry.Unix()
	}
	return out, nil
}

// username is Dex's: the preferred_username the token's scopes released
// (absent without one).
func username(c scopedClaims) string { return c.PreferredName }
