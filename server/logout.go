package server

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/storage"
)

// logoutHandler is /logout, OpenID Connect RP-Initiated Logout 1.0. With
// an id_token_hint torii signed (expired ones too) it logs out at once:
// the session the hint's sid names, and the browser's own session when
// it is the same person's. That also serves oauth2-proxy's
// backend_logout_url, which calls from the server without the browser's
// cookie. Without a valid hint, a browser that has a session is asked to
// confirm (a form bound to its cookie and to the session), and
// post_logout_redirect_uri and state survive the confirmation.
type logoutHandler struct {
	clients  *clientLookup
	verify   *tokenVerifier
	sessions *sessions // nil without a sessions block
	ender    *sessionEnder
	browser  browserBinding
	pages    *pages
	// pageLogin's cookie keeps a login to torii's own pages when sessions
	// are off; logout forgets it too.
	pageLogin *pageLogin
	log       *slog.Logger
}

// logoutParams are RP-Initiated Logout 1.0 §2's parameters.
var logoutParams = []string{"id_token_hint", "logout_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"}

// maxHintLen bounds id_token_hint: an ID token with many groups is larger
// than the other parameters' bound.
const maxHintLen = 64 << 10

type logoutRequest struct {
	hint                                           *idTokenClaims
	clientID, redirect, state, logoutHint, locales string
}

func (h *logoutHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		h.bad(w, r, tr("logout.unparsable"))
		return
	}
	// GET carries the parameters in the query, POST in the form body only.
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		q = r.PostForm
	}
	for _, k := range append(logoutParams, "csrf", "confirm") {
		vs := q[k]
		if len(vs) > 1 {
			h.bad(w, r, tr("logout.repeated", "param", quote(k)))
			return
		}
		limit := maxParamLen
		if k == "id_token_hint" {
			limit = maxHintLen
		}
		if len(vs) == 1 && len(vs[0]) > limit {
			h.bad(w, r, tr("logout.too_long", "param", quote(k), "limit", strconv.Itoa(limit)))
			return
		}
	}
	ctx := r.Context()
	lr := logoutRequest{clientID: q.Get("client_id"), state: q.Get("state"), logoutHint: q.Get("logout_hint"), locales: q.Get("ui_locales")}
	if raw := q.Get("id_token_hint"); raw != "" {
		c, err := h.verify.idToken(ctx, raw, true)
		if err == nil {
			lr.hint = &c
		} else {
			h.log.InfoContext(ctx, "logout: id_token_hint refused", "err", err)
		}
	}
	if lr.hint != nil {
		switch {
		case lr.clientID != "" && !slices.Contains(lr.hint.Audience, lr.clientID):
			h.bad(w, r, tr("logout.hint_other_client"))
			return
		case lr.clientID == "" && lr.hint.AuthorizedParty != "":
			lr.clientID = lr.hint.AuthorizedParty
		case lr.clientID == "" && len(lr.hint.Audience) == 1:
			lr.clientID = lr.hint.Audience[0]
		}
	}
	if uri := q.Get("post_logout_redirect_uri"); uri != "" {
		problem, err := h.checkRedirect(r, lr.clientID, uri)
		if err != nil {
			h.storageError(w, r, err)
			return
		}
		if problem.key != "" {
			h.pages.render(w, r, http.StatusBadRequest, "logout_no_redirect.html", pageData{
				title: tr("logout.no_redirect_title"), message: problem, Logout: &logoutPage{RedirectURI: uri}})
			return
		}
		lr.redirect = uri
	}

	var cur storage.Session
	var hasCur bool
	if h.sessions != nil {
		var err error
		if cur, hasCur, err = h.sessions.current(ctx, r); err != nil {
			h.storageError(w, r, err)
			return
		}
	}
	var end []storage.Session
	switch {
	case lr.hint != nil:
		if sid := lr.hint.SessionID; sid != "" && (!hasCur || cur.ID != sid) {
			ss, err := h.ender.store.GetSession(ctx, sid)
			switch {
			case errors.Is(err, storage.ErrNotFound):
			case err != nil:
				h.storageError(w, r, err)
				return
			case subject.Encode(ss.Claims.UserID, ss.ConnectorID) == lr.hint.Subject:
				end = append(end, ss)
			}
		}
		// The browser's own session, when it is the hinted person's: they
		// asked the application to sign them out.
		if hasCur && subject.Encode(cur.Claims.UserID, cur.ConnectorID) == lr.hint.Subject {
			end = append(end, cur)
		}
	case hasCur && r.Method == http.MethodPost && q.Get("confirm") != "":
		if !h.validConfirm(r, q.Get("csrf"), cur.ID) {
			h.pages.errorPage(w, r, http.StatusForbidden, "err.logout_not_confirmed")
			return
		}
		end = append(end, cur)
	case hasCur:
		h.confirm(w, r, lr, cur)
		return
	}
	for _, ss := range end {
		if _, err := h.ender.end(ctx, ss, lr.clientID); err != nil {
			h.storageError(w, r, err)
			return
		}
	}
	if h.sessions != nil && (hasCur && slices.ContainsFunc(end, func(s storage.Session) bool { return s.ID == cur.ID }) || !hasCur && h.sessions.hasCookie(r)) {
		h.sessions.clear(w)
	}
	if h.sessions == nil && h.pageLogin != nil {
		h.pageLogin.forget(w, r)
	}
	if lr.redirect != "" {
		u, _ := url.Parse(lr.redirect) // registered, so it parses
		if lr.state != "" {
			v := u.Query()
			v.Set("state", lr.state)
			u.RawQuery = v.Encode()
		}
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u.String(), status)
		return
	}
	h.pages.render(w, r, http.StatusOK, "logged_out.html", pageData{title: tr("logout.done_title"),
		Logout: &logoutPage{Ended: len(end)}})
}

// checkRedirect returns why uri may not be used (no key when it may): it
// must equal one of the client's postLogoutRedirectURIs exactly.
func (h *logoutHandler) checkRedirect(r *http.Request, clientID, uri string) (message, error) {
	if clientID == "" {
		return tr("logout.redirect_no_client"), nil
	}
	c, ok, err := h.clients.get(r.Context(), clientID)
	if err != nil {
		return message{}, err
	}
	if !ok {
		return tr("logout.unknown_client", "client", quote(clientID)), nil
	}
	if !slices.Contains(c.PostLogoutRedirectURIs, uri) {
		return tr("logout.unregistered_redirect"), nil
	}
	return message{}, nil
}

// confirmToken binds the confirmation form to the browser's binding cookie
// and to the session it ends, so another site cannot post it.
func (h *logoutHandler) confirmToken(cookie, sessionID string) string {
	return hashToken("logout\x00" + cookie + "\x00" + sessionID)
}

func (h *logoutHandler) validConfirm(r *http.Request, got, sessionID string) bool {
	c := h.browser.cookie(r)
	return c != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(h.confirmToken(c, sessionID))) == 1
}

func (h *logoutHandler) confirm(w http.ResponseWriter, r *http.Request, lr logoutRequest, cur storage.Session) {
	v, err := h.browser.ensure(w, r)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	who := cur.Claims.Email
	if who == "" {
		who = cur.Claims.Username
	}
	p := &logoutPage{User: who, ClientID: lr.clientID, RedirectURI: lr.redirect, State: lr.state, Locales: lr.locales, LogoutHint: lr.logoutHint}
	if lr.logoutHint != "" && !matchesUser(cur.Claims, lr.logoutHint) {
		p.HintMismatch = true
	}
	if lr.clientID != "" {
		if c, ok, _ := h.clients.get(r.Context(), lr.clientID); ok {
			p.ClientName = c.Name
		}
	}
	h.pages.render(w, r, http.StatusOK, "logout_confirm.html", pageData{title: tr("logout.confirm_title"),
		Action: h.pages.base + "/logout", CSRF: h.confirmToken(v, cur.ID), Logout: p})
}

// matchesUser reports whether a logout_hint names the session's person.
func matchesUser(c storage.Claims, hint string) bool {
	for _, v := range []string{c.Email, c.Username, c.PreferredUsername, c.UserID} {
		if v != "" && strings.EqualFold(v, hint) {
			return true
		}
	}
	return false
}

func (h *logoutHandler) bad(w http.ResponseWriter, r *http.Request, msg message) {
	h.pages.errorPageMsg(w, r, http.StatusBadRequest, "err.bad_logout.title", msg)
}

func (h *logoutHandler) storageError(w http.ResponseWriter, r *http.Request, err error) {
	oe := toOAuth2(r.Context(), h.log, err)
	if oe.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
		h.pages.errorPage(w, r, oe.Status, "err.logout_unavailable")
		return
	}
	h.pages.errorPage(w, r, http.StatusInternalServerError, "err.internal")
}

// logoutPage is what the logout pages show.
type logoutPage struct {
	User, ClientID, ClientName, RedirectURI, State, Locales, LogoutHint string
	HintMismatch                                                        bool
	Ended                                                               int
}
