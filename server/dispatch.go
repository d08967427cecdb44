package server

import (
	"net/http"
	"net/url"

	"github.com/torii-idp/torii/storage"
)

// The login dispatcher. Every browser step (/auth, a connector's page or
// callback, /approval) ends by handing the auth request to next, which is
// the one place that decides what the person sees now; a login that needs
// nothing more ends in complete, the one place that hands the result to
// whatever started it (a code for the client today).

// completion ends an approved login: it redirects the browser to wherever
// the login was for, or renders a page saying it is done.
type completion func(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest)

// next decides the next step of a browser login: the connector chooser,
// the chosen connector's login (its password form or the upstream
// redirect), the approval page, or completion.
func (f *authFlow) next(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest) {
	switch {
	case !ar.LoggedIn && ar.ConnectorID == "" && (len(f.connectors) != 1 || f.alwaysChooser):
		f.chooser(w, r, ar)
	case !ar.LoggedIn:
		id := ar.ConnectorID
		if id == "" {
			id = f.connectors[0].ID
		}
		conn, ok := f.byID[id]
		if !ok {
			f.pages.errorPage(w, r, http.StatusBadRequest, "err.connector_gone")
			return
		}
		f.connectorLogin(w, r, ar, conn)
	case f.needsApproval(r, ar):
		redirect(w, f.issuer.at("/approval")+"?req="+ar.ID)
	default:
		f.complete(w, r, ar)
	}
}

// needsApproval reports whether the person must see the approval page
// before the login completes.
// A login taken from a session skips it when the person already approved
// these scopes for this client in that session.
func (f *authFlow) needsApproval(r *http.Request, ar storage.AuthRequest) bool {
	if ar.ForceApproval {
		return true
	}
	if f.skipApproval || ar.ClientID == BuiltinClientID {
		return false // torii's own pages: the person is logging in to torii itself
	}
	if ar.SessionID == "" || f.sessions == nil {
		return true
	}
	ss, err := f.sessions.store.GetSession(r.Context(), ar.SessionID)
	return err != nil || !consented(ss, ar.ClientID, ar.Scopes)
}

// chooser lists the connectors; each link starts that connector's login.
func (f *authFlow) chooser(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest) {
	d := pageData{title: tr("chooser.title")}
	for _, c := range f.connectors {
		d.Connectors = append(d.Connectors, connectorLink{Name: c.Name, URL: f.connectorURL(c.ID, ar.ID)})
	}
	f.pages.render(w, r, http.StatusOK, "chooser.html", d)
}

// connectorLogin sends the browser to the connector's login: the password
// form at /auth/{connector}, or straight to the upstream provider.
func (f *authFlow) connectorLogin(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest, conn Connector) {
	if conn.Callback != nil {
		f.startUpstream(w, r, ar, conn)
		return
	}
	u := f.connectorURL(conn.ID, ar.ID)
	if h := r.Form.Get("login_hint"); h != "" && len(h) <= 256 {
		u += "&login_hint=" + url.QueryEscape(h)
	}
	redirect(w, u)
}

// reject hands a refused login to the rejection of its kind; false means
// there is none (the code flow redirects access_denied itself).
func (f *authFlow) reject(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest) bool {
	if len(ar.ResponseTypes) != 1 || f.rejections[ar.ResponseTypes[0]] == nil {
		return false
	}
	f.rejections[ar.ResponseTypes[0]](w, r, ar)
	return true
}

// complete hands an approved login to the completion of its kind, chosen
// by the auth request's response type ("code": issue an authorization
// code; the device flow registers its own to approve a device request).
func (f *authFlow) complete(w http.ResponseWriter, r *http.Request, ar storage.AuthRequest) {
	var c completion
	if len(ar.ResponseTypes) == 1 {
		c = f.completions[ar.ResponseTypes[0]]
	}
	if c == nil {
		f.log.ErrorContext(r.Context(), "auth request without a completion", "client_id", ar.ClientID, "response_types", ar.ResponseTypes)
		f.pages.errorPage(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	if ar.SessionID != "" && f.sessions != nil {
		if err := f.sessions.used(r.Context(), ar.SessionID, ar.ClientID, ar.Scopes); err != nil {
			f.log.WarnContext(r.Context(), "recording session use", "client_id", ar.ClientID, "err", err)
		}
	}
	c(w, r, ar)
}
