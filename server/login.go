package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/storage"
)

// login handles GET and POST /auth/{connector}: the password form, or the
// start of an upstream login for a callback connector.
func (f *authFlow) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		f.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_form")
		return
	}
	conn, ok := f.byID[chi.URLParam(r, "connector")]
	if !ok {
		f.pages.errorPage(w, r, http.StatusNotFound, "err.unknown_connector")
		return
	}
	reqID := r.Form.Get("req")
	if reqID == "" {
		reqID = r.Form.Get("state") // Dex's /auth/{connector}/login?state=...
	}
	ar, ok := f.loadRequest(w, r, reqID)
	if !ok {
		return
	}
	if ar.ConnectorID != "" && ar.ConnectorID != conn.ID {
		f.wrongConnectorPage(w, r)
		return
	}
	if conn.Callback != nil {
		f.startUpstream(w, r, ar, conn)
		return
	}
	d := pageData{
		title:  tr("login.title", "brand", f.pages.brand),
		Action: f.issuer.at("/auth/" + conn.ID),
		ReqID:  ar.ID,
		CSRF:   f.browser.formToken(r, ar.ID),
		prompt: promptMessage(conn.Password.Prompt()),
	}
	if f.sessions != nil {
		d.ShowRememberMe = true
		d.RememberMe = f.sessions.cfg.RememberMeCheckedByDefault
	}
	if r.Method != http.MethodPost {
		if h := r.Form.Get("login_hint"); len(h) <= 256 {
			d.Username = strings.TrimSpace(h)
		}
		f.pages.render(w, r, http.StatusOK, "login.html", d)
		return
	}
	if !f.browser.validForm(r, ar.ID) {
		f.pages.errorPage(w, r, http.StatusForbidden, "err.form_expired")
		return
	}
	username, password := r.PostForm.Get("login"), r.PostForm.Get("password")
	d.Username = strings.TrimSpace(username)
	d.RememberMe = r.PostForm.Get("remember_me") != ""
	ident, err := f.logins.login(r.Context(), conn, scopeSet(ar.Scopes).connectorScopes(), username, password, f.ips.clientIP(r))
	switch {
	case errors.Is(err, errBadCredentials):
		d.err = tr("login.bad_credentials")
		f.pages.render(w, r, http.StatusUnauthorized, "login.html", d)
		return
	case errors.Is(err, errThrottled):
		d.err = tr("login.throttled")
		f.pages.render(w, r, http.StatusTooManyRequests, "login.html", d)
		return
	case err != nil:
		status, msg := f.loginFailure(r.Context(), err)
		d.err = msg
		f.pages.render(w, r, status, "login.html", d)
		return
	}
	f.loggedIn(w, r, ar, conn, ident)
}

// loggedIn records who logged in with which connector and moves on.
func (f *authFlow) loggedIn(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest, conn Connector, ident connector.Identity) {
	now := f.now()
	claims := claimsFromIdentity(ident)
	// A new binding from here on: whoever else holds the old cookie value
	// (one planted in this browser) cannot act on the logged-in request.
	browserHash := ar.BrowserHash
	if f.needsApproval(r, ar) {
		v, err := f.browser.mint(w, r)
		if err != nil {
			f.storageErrorPage(w, r, err)
			return
		}
		browserHash = hashToken(v)
	}
	sessionID := ""
	if f.sessions != nil {
		remember := f.sessions.cfg.RememberMeCheckedByDefault
		if r.Method == http.MethodPost && conn.Password != nil {
			remember = r.PostForm.Get("remember_me") != ""
		}
		started := ar
		started.ConnectorID, started.Claims, started.ConnectorData, started.AuthTime = conn.ID, claims, ident.ConnectorData, now
		id, err := f.sessions.start(r.Context(), w, r, started, remember)
		if err != nil {
			f.storageErrorPage(w, r, err)
			return
		}
		sessionID = id
	}
	err := f.store.UpdateAuthRequest(r.Context(), ar.ID, func(a storage.AuthRequest) (storage.AuthRequest, error) {
		if a.ConnectorID != "" && a.ConnectorID != conn.ID {
			return a, errWrongConnector
		}
		a.BrowserHash = browserHash
		a.LoggedIn = true
		a.ConnectorID = conn.ID
		a.Claims = claims
		a.ConnectorData = ident.ConnectorData
		a.AuthTime = now
		a.SessionID = sessionID
		return a, nil
	})
	if errors.Is(err, errWrongConnector) {
		f.wrongConnectorPage(w, r)
		return
	}
	if err != nil {
		f.storageErrorPage(w, r, err)
		return
	}
	ar.LoggedIn, ar.ConnectorID, ar.Claims, ar.ConnectorData, ar.AuthTime = true, conn.ID, claims, ident.ConnectorData, now
	ar.BrowserHash, ar.SessionID = browserHash, sessionID
	f.next(w, r, ar)
}

// issueCode is the completion of the code flow: it turns the approved auth
// request into a code and sends the browser back to the client.
func (f *authFlow) issueCode(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest) {
	ctx := r.Context()
	// Deleting first makes the request single use even if two tabs race.
	if err := f.store.DeleteAuthRequest(ctx, ar.ID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			f.pages.errorPage(w, r, http.StatusBadRequest, "err.login_used")
			return
		}
		f.storageErrorPage(w, r, err)
		return
	}
	now := f.now()
	code := newToken()
	err := f.store.CreateAuthCode(ctx, storage.AuthCode{
		ID:                  hashToken(code),
		ClientID:            ar.ClientID,
		RedirectURI:         ar.RedirectURI,
		Nonce:               ar.Nonce,
		Scopes:              ar.Scopes,
		ConnectorID:         ar.ConnectorID,
		ConnectorData:       ar.ConnectorData,
		Claims:              ar.Claims,
		CodeChallenge:       ar.CodeChallenge,
		CodeChallengeMethod: ar.CodeChallengeMethod,
		AuthTime:            ar.AuthTime,
		Expiry:              now.Add(codeTTL),
		SessionID:           ar.SessionID,
	})
	if err != nil {
		errorRedirect(w, r, f.log, f.issuer.URL, ar.RedirectURI, ar.State, err)
		return
	}
	f.audit.Log(ctx, audit.Record{Event: audit.CodeIssued, Subject: subject.Encode(ar.Claims.UserID, ar.ConnectorID),
		ConnectorID: ar.ConnectorID, ClientID: ar.ClientID, Scopes: ar.Scopes})
	v := map[string][]string{"code": {code}, "iss": {f.issuer.URL}}
	if ar.State != "" {
		v["state"] = []string{ar.State}
	}
	redirect(w, appendQuery(ar.RedirectURI, v))
}
