package server

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/storage"
)

// callbackPath is where upstream providers send the browser back; the auth
// request's ID travels as the OAuth2 state, as in Dex.
const callbackPath = "/callback"

// startUpstream sends the browser to a callback connector's provider,
// keeping the connector's login state with the auth request.
func (f *authFlow) startUpstream(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest, conn Connector) {
	ctx := r.Context()
	target, loginState, err := conn.Callback.LoginURL(ctx, scopeSet(ar.Scopes).connectorScopes(), f.issuer.absolute(callbackPath), ar.ID)
	if err != nil {
		f.upstreamErrorPage(w, r, err)
		return
	}
	err = f.store.UpdateAuthRequest(ctx, ar.ID, func(a storage.AuthRequest) (storage.AuthRequest, error) {
		if a.LoggedIn {
			return a, errAlreadyLoggedIn
		}
		a.ConnectorID = conn.ID
		a.ConnectorData = loginState
		// Off to the upstream login page: the full lifetime from now on.
		a.Expiry = later(a.Expiry, f.now().Add(f.authReqTTL))
		return a, nil
	})
	if errors.Is(err, errAlreadyLoggedIn) {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.already_logged_in")
		return
	}
	if err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	redirect(w, target)
}

var errAlreadyLoggedIn = errors.New("auth request already logged in")

// callback handles GET /callback: the browser back from an upstream
// provider, with the auth request's ID as state.
func (f *authFlow) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ar, ok := f.loadRequest(w, r, q.Get("state"))
	if !ok {
		return
	}
	conn, ok := f.byID[ar.ConnectorID]
	if !ok || conn.Callback == nil || ar.LoggedIn {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.unexpected_callback")
		return
	}
	params := url.Values{}
	for k, v := range q {
		if k != "state" {
			params[k] = v
		}
	}
	ident, err := conn.Callback.HandleCallback(r.Context(), scopeSet(ar.Scopes).connectorScopes(), ar.ConnectorData, params)
	if err != nil {
		f.auditUpstreamFailure(r, conn, err)
		f.upstreamErrorPage(w, r, err)
		return
	}
	f.logins.metrics.login(conn.ID, loginSuccess)
	f.audit.Log(r.Context(), audit.Record{Event: audit.LoginSucceeded, Subject: subject.Encode(ident.UserID, conn.ID), ConnectorID: conn.ID})
	f.loggedIn(w, r, ar, conn, ident)
}

// auditUpstreamFailure records a login the provider refused (denied) or
// that could not complete (error), as password logins are recorded.
func (f *authFlow) auditUpstreamFailure(r *http.Request, conn Connector, err error) {
	var le *connector.LoginError
	rec := audit.Record{Event: audit.LoginFailed, ConnectorID: conn.ID}
	if errors.As(err, &le) {
		rec.Result, rec.Reason = audit.ResultDenied, "refused by the upstream provider"
		f.logins.metrics.login(conn.ID, loginRefused)
	} else {
		rec.Result, rec.Reason = audit.ResultError, "connector error"
		f.logins.metrics.login(conn.ID, loginFailedError)
	}
	f.audit.Log(r.Context(), rec)
}

// upstreamErrorPage shows why an upstream login failed, without the cause.
func (f *authFlow) upstreamErrorPage(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := f.loginFailure(r.Context(), err)
	f.pages.errorPageMsg(w, r, status, "err.login_failed.title", msg)
}
