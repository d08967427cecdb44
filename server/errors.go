package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// toOAuth2 maps any error to the protocol error sent to the client. Internal
// causes become server_error (or temporarily_unavailable when storage is
// down) and are logged, never sent.
func toOAuth2(ctx context.Context, log *slog.Logger, err error) *oauth2.Error {
	var oe *oauth2.Error
	if errors.As(err, &oe) {
		if _, plain := err.(*oauth2.Error); !plain {
			log.WarnContext(ctx, "request failed", "err", truncate(err.Error()))
		}
		return oe
	}
	if errors.Is(err, storage.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		log.WarnContext(ctx, "backend unavailable", "err", truncate(err.Error()))
		return oauth2.TemporarilyUnavailable("the service is temporarily unavailable, try again")
	}
	log.ErrorContext(ctx, "internal error", "err", truncate(err.Error()))
	return oauth2.ServerError("internal server error")
}

// writeJSONError renders an error as the RFC 6749 §5.2 JSON body.
func writeJSONError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	oe := toOAuth2(r.Context(), log, err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if oe.Status == http.StatusUnauthorized && oe.Code == "invalid_client" && hasBasicAuth(r) {
		h.Set("WWW-Authenticate", `Basic realm="torii"`)
	}
	if oe.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "5")
	}
	w.WriteHeader(oe.Status)
	json.NewEncoder(w).Encode(oe)
}

func hasBasicAuth(r *http.Request) bool {
	_, _, ok := r.BasicAuth()
	return ok
}

// errorRedirect sends an authorization error back to a redirect URI that
// has already been validated (RFC 6749 §4.1.2.1), with state and iss.
func errorRedirect(w http.ResponseWriter, r *http.Request, log *slog.Logger, issuer, redirectURI, state string, err error) {
	oe := toOAuth2(r.Context(), log, err)
	v := url.Values{"error": {oe.Code}}
	if oe.Description != "" {
		v.Set("error_description", oe.Description)
	}
	if state != "" {
		v.Set("state", state)
	}
	v.Set("iss", issuer)
	redirect(w, appendQuery(redirectURI, v))
}

// redirect sends a 303 to location exactly as given (http.Redirect would
// rewrite a relative redirect URI such as Kubeflow's /oauth2/callback).
func redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", escapeNonASCII(location))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}

// appendQuery adds v to the URI's query, keeping what is already there.
func appendQuery(uri string, v url.Values) string {
	sep := "?"
	for i := 0; i < len(uri); i++ {
		if uri[i] == '?' {
			sep = "&"
			break
		}
	}
	if len(uri) > 0 && (uri[len(uri)-1] == '?' || uri[len(uri)-1] == '&') {
		sep = ""
	}
	return uri + sep + v.Encode()
}

// escapeNonASCII percent-encodes raw non-ASCII bytes (a redirect URI may be
// registered or sent with them) so the Location header is plain ASCII; it
// changes nothing else, so the URI keeps its meaning.
func escapeNonASCII(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(s)+16), s[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return s
	}
	return string(b)
}
