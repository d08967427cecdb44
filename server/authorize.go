package server

import (
	"context"
	"errors"
	"github.com/torii-idp/torii/audit"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/server/internal/pkce"
	"github.com/torii-idp/torii/server/internal/redirecturi"
	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// authFlow is the browser side of the code flow: /auth, the connector
// pages and callback, and /approval; dispatch.go decides the steps.
type authFlow struct {
	issuer        issuer
	store         storage.Storage
	clients       *clientLookup
	connectors    []Connector
	byID          map[string]Connector
	pages         *pages
	browser       browserBinding
	logins        *passwordLogins
	ips           ipResolver
	responseTypes []string
	skipApproval  bool
	// alwaysChooser shows the connector list even with one connector
	// (Dex's oauth2.alwaysShowLoginScreen).
	alwaysChooser bool
	// completions end an approved login, by response type (see complete).
	completions map[string]completion
	// rejections end a login the person refused, by response type; the
	// code flow has none (access_denied goes to the redirect URI).
	rejections   map[string]completion
	authReqTTL   time.Duration
	unstartedTTL time.Duration
	pkceMethods  []string // nil: S256, and plain for confidential clients
	// sessions is nil without a sessions block (no single sign-on).
	sessions *sessions
	verify   *tokenVerifier
	// promptNone is oauth2.promptNoneWithoutSession.
	promptNone string
	now        func() time.Time
	log        *slog.Logger
	audit      *audit.Logger
}

// codeTTL is how long an authorization code may wait to be redeemed.
const codeTTL = 10 * time.Minute

// authorize handles GET and POST /auth.
func (f *authFlow) authorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_auth_request")
		return
	}
	q := r.Form
	setUILocales(r.Context(), q.Get("ui_locales"))
	// Errors about the client or the redirect URI are never redirected.
	if err := checkParams(q, authorizeParams, []string{"client_id", "redirect_uri"}); err != nil {
		f.pages.render(w, r, http.StatusBadRequest, "error.html", pageData{title: tr("err.invalid_request.title"),
			message: tr("err.invalid_request.body"), Detail: toOAuth2(r.Context(), f.log, err).Description, Status: http.StatusBadRequest})
		return
	}
	client, ok, err := f.clients.get(r.Context(), q.Get("client_id"))
	if err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	if !ok {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.unknown_client", "client", truncate(q.Get("client_id")))
		return
	}
	redirectURI := q.Get("redirect_uri")
	if err := redirecturi.Valid(redirectURI); err != nil {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_redirect_uri")
		return
	}
	if !redirecturi.Match(client.RedirectURIs, redirectURI, client.Public) {
		f.log.InfoContext(r.Context(), "unregistered redirect URI", "client_id", client.ID, "redirect_uri", truncate(redirectURI))
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.unregistered_redirect_uri")
		return
	}
	state := q.Get("state")
	if err := checkParams(q, authorizeParams, nil); err != nil {
		if len(q["state"]) != 1 || len(state) > maxParamLen {
			state = "" // not echoed: the client will not recognize the answer, rightly
		}
		errorRedirect(w, r, f.log, f.issuer.URL, redirectURI, state, err)
		return
	}
	ar, err := f.newAuthRequest(r.Context(), q, client, redirectURI)
	if err != nil {
		errorRedirect(w, r, f.log, f.issuer.URL, redirectURI, state, err)
		return
	}
	if err := f.resumeSession(r, &ar, q, client); err != nil {
		errorRedirect(w, r, f.log, f.issuer.URL, redirectURI, state, err)
		return
	}
	if f.logins.throttle != nil {
		ip := f.ips.clientIP(r)
		if err := f.logins.throttle.startAuthRequest(r.Context(), ip, f.unstartedTTL); errors.Is(err, errTooManyPending) {
			f.log.WarnContext(r.Context(), "auth request refused: too many pending from one address", "client_ip", ip)
			f.pages.errorPage(w, r, http.StatusTooManyRequests, "err.too_many_requests")
			return
		} else if err != nil {
			f.storageErrorPage(w, r, err)
			return
		}
	}
	binding, err := f.browser.ensure(w, r)
	if err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	ar.BrowserHash = hashToken(binding)
	if err := f.store.CreateAuthRequest(r.Context(), ar); err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	f.next(w, r, ar)
}

func (f *authFlow) newAuthRequest(ctx context.Context, q url.Values, client Client, redirectURI string) (storage.AuthRequest, error) {
	rt := q.Get("response_type")
	switch {
	case rt == "":
		return storage.AuthRequest{}, oauth2.InvalidRequest("response_type is required")
	case rt != "code" || !slices.Contains(f.responseTypes, rt):
		return storage.AuthRequest{}, oauth2.UnsupportedResponseType("response_type " + quote(rt) + " is not supported; use code")
	}
	if q.Get("request") != "" || q.Get("request_uri") != "" {
		return storage.AuthRequest{}, &oauth2.Error{Code: "request_not_supported", Description: "request objects are not supported", Status: http.StatusBadRequest}
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return storage.AuthRequest{}, oauth2.InvalidRequest("response_mode " + quote(rm) + " is not supported; use query")
	}
	scopes, err := parseScopes(ctx, q.Get("scope"), client, f.clients)
	if err != nil {
		return storage.AuthRequest{}, err
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge == "" && method != "" {
		return storage.AuthRequest{}, oauth2.InvalidRequest("code_challenge_method without code_challenge")
	}
	if challenge != "" {
		if method == "" {
			method = "plain"
		}
		if err := pkce.ValidChallenge(method, challenge); err != nil {
			return storage.AuthRequest{}, oauth2.InvalidRequest("invalid PKCE code_challenge: " + err.Error())
		}
		if !f.pkceAllowed(client, method) {
			return storage.AuthRequest{}, oauth2.InvalidRequest("code_challenge_method " + quote(method) + " is not allowed for this client; use S256")
		}
	}
	if client.Public && challenge == "" {
		return storage.AuthRequest{}, oauth2.InvalidRequest("PKCE (code_challenge) is required for public clients")
	}
	connID := q.Get("connector_id")
	if _, ok := f.byID[connID]; connID != "" && !ok {
		return storage.AuthRequest{}, oauth2.InvalidRequest("unknown connector_id " + quote(connID))
	}
	now := f.now()
	return storage.AuthRequest{
		ID:                  newToken(),
		ClientID:            client.ID,
		ResponseTypes:       []string{rt},
		Scopes:              scopes,
		RedirectURI:         redirectURI,
		Nonce:               q.Get("nonce"),
		State:               q.Get("state"),
		CodeChallenge:       challenge,
		CodeChallengeMethod: method,
		// Dex ignores prompt=none (Kubeflow relies on that) and keeps no
		// browser session, so only prompt=consent changes anything.
		ForceApproval: slices.Contains(strings.Fields(q.Get("prompt")), "consent"),
		ConnectorID:   connID,
		UILocales:     q.Get("ui_locales"),
		// Short until a login page is shown (see loadRequest): requests
		// nobody follows up do not pile up for a day.
		Expiry: now.Add(f.unstartedTTL),
	}, nil
}

func (f *authFlow) pkceAllowed(client Client, method string) bool {
	if f.pkceMethods == nil {
		return method == "S256" || !client.Public
	}
	return slices.Contains(f.pkceMethods, method)
}

func (f *authFlow) connectorURL(connID, reqID string) string {
	return f.issuer.at("/auth/"+url.PathEscape(connID)) + "?req=" + url.QueryEscape(reqID)
}

// loadRequest finds the auth request of a page and checks it belongs to
// this browser; it renders the error page itself and returns ok=false.
func (f *authFlow) loadRequest(w http.ResponseWriter, r *http.Request, reqID string) (storage.AuthRequest, bool) {
	if reqID == "" {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.login_not_found")
		return storage.AuthRequest{}, false
	}
	ar, err := f.store.GetAuthRequest(r.Context(), reqID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && f.now().After(ar.Expiry)) {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.login_expired")
		return storage.AuthRequest{}, false
	}
	if err != nil {
		f.storageErrorPage(w, r, err)
		return storage.AuthRequest{}, false
	}
	audit.SetClient(r.Context(), ar.ClientID)
	setUILocales(r.Context(), ar.UILocales)
	if !f.browser.owns(r, ar.BrowserHash) {
		f.log.WarnContext(r.Context(), "auth request used from another browser", "client_id", ar.ClientID, "client_ip", f.ips.clientIP(r))
		f.pages.errorPage(w, r, http.StatusForbidden, "err.other_browser")
		return storage.AuthRequest{}, false
	}
	if now := f.now(); ar.Expiry.Sub(now) <= f.unstartedTTL && f.authReqTTL > f.unstartedTTL {
		// Its browser reached a page: the request now gets the full
		// lifetime (expiry.authRequests) to be completed.
		exp := now.Add(f.authReqTTL)
		err := f.store.UpdateAuthRequest(r.Context(), ar.ID, func(a storage.AuthRequest) (storage.AuthRequest, error) {
			a.Expiry = exp
			return a, nil
		})
		if err != nil {
			f.storageErrorPage(w, r, err)
			return storage.AuthRequest{}, false
		}
		ar.Expiry = exp
	}
	return ar, true
}

func (f *authFlow) storageErrorPage(w http.ResponseWriter, r *http.Request, err error) {
	oe := toOAuth2(r.Context(), f.log, err)
	if oe.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
		f.pages.errorPage(w, r, oe.Status, "err.unavailable")
		return
	}
	f.pages.errorPage(w, r, http.StatusInternalServerError, "err.internal")
}
