package server

import (
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/storage"
)

// revokeHandler is RFC 7009 token revocation at /token/revoke. Revoking
// either kind of token revokes its grant: the refresh-token family and
// every access token issued from it.
type revokeHandler struct {
	auth     clientAuth
	verifier *tokenVerifier
	store    storage.Storage
	now      func() time.Time
	// accessTTL is how long access tokens live: the revocation is
	// remembered at least that long.
	accessTTL time.Duration
	log       *slog.Logger
	audit     *audit.Logger
}

func (h *revokeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(r); err != nil {
		writeJSONError(w, r, h.log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (h *revokeHandler) serve(r *http.Request) error {
	client, tok, err := h.auth.clientForm(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	// RFC 7009 §2.2: an unknown, expired or foreign token is answered 200
	// and nothing changes, so the client learns nothing about it.
	if looksLikeJWT(tok) {
		c, ok, err := h.verifier.accessClaims(ctx, tok)
		if err != nil || !ok || !slices.Contains(c.Audience, client.ID) || c.GrantID == "" {
			return err
		}
		until := time.Unix(c.Expiry, 0)
		if min := h.now().Add(h.accessTTL); until.Before(min) {
			until = min
		}
		h.log.InfoContext(ctx, "grant revoked by its client (access token)", "client_id", client.ID)
		if err := h.store.RevokeGrant(ctx, c.GrantID, until); err != nil {
			return err
		}
		h.audit.Log(ctx, audit.Record{Event: audit.TokenRevoked, Subject: c.Subject, ClientID: client.ID, Detail: "access token"})
		return nil
	}
	t, ok, err := lookupRefresh(ctx, h.store, tok)
	if err != nil || !ok || t.ClientID != client.ID {
		return err
	}
	h.log.InfoContext(ctx, "grant revoked by its client (refresh token)", "client_id", client.ID)
	if err := h.store.RevokeGrant(ctx, t.FamilyID, h.now().Add(h.accessTTL)); err != nil {
		return err
	}
	h.audit.Log(ctx, audit.Record{Event: audit.TokenRevoked, Subject: subject.Encode(t.Claims.UserID, t.ConnectorID),
		ConnectorID: t.ConnectorID, ClientID: client.ID, Detail: "refresh token"})
	return nil
}
