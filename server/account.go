package server

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server/internal/usergrants"
	"github.com/torii-idp/torii/storage"
)

// accountHandler is <issuer>/account: the person logged in to torii's
// pages, the claims applications see for them, their sessions and their
// refresh-token families, each with a button that ends it through the
// code the admin API uses (internal/usergrants; a session through logout's
// sessionEnder, so back-channel notices go out as on a logout).
type accountHandler struct {
	login   *pageLogin
	pages   *pages
	store   storage.Storage
	clients *clientLookup
	minter  *minter
	ender   *sessionEnder
	// revokeFor bounds how long a revoked grant is remembered (the longest
	// access-token lifetime).
	revokeFor time.Duration
	now       func() time.Time
	log       *slog.Logger
	audit     *audit.Logger
}

// accountPage is the account page's own template data (.Account;
// docs/pages.md lists it).
type accountPage struct {
	User *PageUser
	// IDToken is the claims of an ID token for the built-in client, as
	// indented JSON: what an application's ID token for this person holds
	// (less the claims of the scopes it did not ask for).
	IDToken string
	// SessionsOn is false without a sessions block (Sessions is then
	// empty: torii keeps none).
	SessionsOn bool
	Sessions   []accountSession
	Families   []accountFamily
	// Action and CSRF are the end/revoke forms' address and hidden csrf
	// field; LogoutURL is /logout.
	Action, CSRF, LogoutURL string
	// Done is what the last button did: "session_ended", "token_revoked"
	// or "".
	Done string
}

// accountSession is one of the person's sessions.
type accountSession struct {
	ID                         string // the short ID (usergrants.ShortID), the form's id
	Current                    bool   // this browser's
	Started, LastUsed, Expires accountTime
	Clients                    []string // the applications it logged in to (names)
}

// accountFamily is one refresh-token family.
type accountFamily struct {
	ID, Client        string
	Scopes            []string
	Created, LastUsed accountTime
}

// accountTime is a time for <time datetime="{{.ISO}}">{{.Text}}</time>.
type accountTime struct{ ISO, Text string }

func newAccountTime(t time.Time) accountTime {
	t = t.UTC()
	return accountTime{ISO: t.Format(time.RFC3339), Text: t.Format("2006-01-02 15:04 UTC")}
}

func (h *accountHandler) show(w http.ResponseWriter, r *http.Request) {
	u, ok := h.login.user(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	a := &accountPage{User: u, SessionsOn: h.login.sessions != nil, Action: h.pages.base + "/account",
		CSRF: h.login.formToken(r), LogoutURL: h.pages.base + "/logout"}
	switch d := r.URL.Query().Get("done"); d {
	case "session_ended", "token_revoked":
		a.Done = d
	}
	idt := h.minter.baseClaims(grantInfo{
		clientID: BuiltinClientID, scopes: scopeSet(strings.Fields(builtinScopes)), claims: u.claims(),
		connectorID: u.ConnectorID, authTime: u.AuthTime, sessionID: u.SessionID,
	}, h.now(), h.minter.ttl)
	idt.SessionID = u.SessionID
	b, _ := json.MarshalIndent(idt, "", "  ") // plain values: cannot fail
	a.IDToken = string(b)
	if a.SessionsOn {
		ss, err := usergrants.LiveSessions(ctx, h.store, u.ConnectorID, u.UserID, h.now())
		if err != nil {
			h.login.storageError(w, r, err)
			return
		}
		for _, s := range ss {
			as := accountSession{ID: usergrants.ShortID(s.ID), Current: s.ID == u.SessionID,
				Started: newAccountTime(s.CreatedAt), LastUsed: newAccountTime(s.LastUsed), Expires: newAccountTime(s.Expiry())}
			for _, c := range s.Clients {
				as.Clients = append(as.Clients, h.clientName(r, c))
			}
			a.Sessions = append(a.Sessions, as)
		}
	}
	fams, err := usergrants.Families(ctx, h.store, u.UserID, u.ConnectorID)
	if err != nil {
		h.login.storageError(w, r, err)
		return
	}
	for _, f := range fams {
		a.Families = append(a.Families, accountFamily{ID: f.ID, Client: h.clientName(r, f.ClientID), Scopes: f.Scopes,
			Created: newAccountTime(f.Created), LastUsed: newAccountTime(f.LastUsed)})
	}
	h.pages.render(w, r, http.StatusOK, "account.html", pageData{title: tr("account.title"), Account: a})
}

func (h *accountHandler) clientName(r *http.Request, id string) string {
	if c, ok, err := h.clients.get(r.Context(), id); err == nil && ok && c.Name != "" {
		return c.Name
	}
	return id
}

// end is POST /account: the end and revoke buttons. Only the logged-in
// person's own sessions and families are looked at, so an ID of someone
// else's is simply not found.
func (h *accountHandler) end(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_form")
		return
	}
	u, ok := h.login.user(w, r)
	if !ok {
		return
	}
	if !h.login.validForm(r) {
		h.pages.errorPage(w, r, http.StatusForbidden, "err.account_form_expired")
		return
	}
	ctx := r.Context()
	id := r.PostForm.Get("id")
	if id == "" || len(id) > maxParamLen {
		h.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_form")
		return
	}
	switch r.PostForm.Get("action") {
	case "end_session":
		if h.login.sessions == nil {
			h.pages.errorPage(w, r, http.StatusNotFound, "err.account_not_found")
			return
		}
		ss, err := usergrants.LiveSessions(ctx, h.store, u.ConnectorID, u.UserID, h.now())
		if err != nil {
			h.login.storageError(w, r, err)
			return
		}
		for _, s := range ss {
			if !usergrants.SameShortID(s.ID, id) {
				continue
			}
			if _, err := h.ender.end(ctx, s, BuiltinClientID); err != nil {
				h.login.storageError(w, r, err)
				return
			}
			if s.ID == u.SessionID {
				// This browser's own session: that is a logout.
				h.login.sessions.clear(w)
				h.pages.render(w, r, http.StatusOK, "logged_out.html", pageData{title: tr("logout.done_title"), Logout: &logoutPage{Ended: 1}})
				return
			}
			redirect(w, h.pages.base+"/account?done=session_ended")
			return
		}
	case "revoke":
		n, err := usergrants.RevokeFamilies(ctx, h.store, u.UserID, u.ConnectorID,
			func(f usergrants.Family) bool { return subtle.ConstantTimeCompare([]byte(f.ID), []byte(id)) == 1 }, h.now().Add(h.revokeFor))
		if err != nil {
			h.login.storageError(w, r, err)
			return
		}
		if n > 0 {
			h.audit.Log(ctx, audit.Record{Event: audit.FamilyRevoked, Subject: u.Subject, ConnectorID: u.ConnectorID,
				ClientID: BuiltinClientID, Reason: "revoked by the user on the account page"})
			h.log.InfoContext(ctx, "account page: refresh family revoked by its user", "connector", u.ConnectorID)
			redirect(w, h.pages.base+"/account?done=token_revoked")
			return
		}
	default:
		h.pages.errorPage(w, r, http.StatusBadRequest, "err.bad_form")
		return
	}
	h.pages.errorPage(w, r, http.StatusNotFound, "err.account_not_found")
}

// claims are the person's claims as storage keeps them.
func (u *PageUser) claims() storage.Claims {
	return storage.Claims{UserID: u.UserID, Username: u.Name, PreferredUsername: u.PreferredUsername,
		Email: u.Email, EmailVerified: u.EmailVerified, Groups: u.Groups}
}
