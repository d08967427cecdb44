package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/torii-idp/torii/server/oauth2"
)

// userinfoHandler answers OIDC UserInfo requests for torii's access tokens.
type userinfoHandler struct {
	verifier *tokenVerifier
	log      *slog.Logger
}

type userinfo struct {
	Subject string `json:"sub"`
	scopedClaims
}

func (h *userinfoHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	claims, err := h.authenticate(r)
	if err != nil {
		oe := toOAuth2(r.Context(), h.log, err)
		if oe.Status == http.StatusUnauthorized {
			// RFC 6750 §3.
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description=`+quote(oe.Description))
		}
		writeJSONError(w, r, h.log, oe)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(userinfo{
		Subject: claims.Subject, scopedClaims: claims.scopedClaims,
	})
}

func (h *userinfoHandler) authenticate(r *http.Request) (idTokenClaims, error) {
	tok, err := bearerToken(r)
	if err != nil {
		return idTokenClaims{}, err
	}
	return h.verifier.access(r.Context(), tok)
}

// bearerToken reads the token from the Authorization header or, for POST,
// from the access_token form field (RFC 6750 §2.1, §2.2).
func bearerToken(r *http.Request) (string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return "", oauth2.InvalidToken("the Authorization header must be a Bearer token")
		}
		return strings.TrimSpace(tok), nil
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		if tok := r.PostFormValue("access_token"); tok != "" {
			return tok, nil
		}
	}
	return "", oauth2.InvalidToken("an access token is required")
}
