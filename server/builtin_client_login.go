package server

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/server/internal/pkce"
	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/server/signer"
)

// PageUser is the person logged in to torii's own pages, with the claims
// an ID token for the built-in client carries.
type PageUser struct {
	// Subject is sub, encoded as Dex encodes it (UserID and ConnectorID).
	Subject       string
	UserID        string
	ConnectorID   string
	Email         string
	EmailVerified bool
	Groups        []string
	// Name is the profile scope's name claim; PreferredUsername its
	// preferred_username.
	Name              string
	PreferredUsername string
	AuthTime          time.Time
	// SessionID is the torii session (its stored ID, the sid claim); ""
	// when sessions are off.
	SessionID string
}

// pageLogin knows who is logged in to torii's own pages, and logs people
// in through the built-in client when nobody is (see user).
type pageLogin struct {
	iss    issuer
	client Client
	// sessions is nil without a sessions block: the login is then kept in
	// a signed cookie of its own (builtin_client_cookie.go).
	sessions *sessions
	code     *codeGrant
	verify   *tokenVerifier
	signer   *signer.Signer
	pages    *pages
	secure   bool
	// cookieTTL bounds the signed cookie (sessions off); loginTTL the
	// cookie of a login in progress.
	cookieTTL, loginTTL time.Duration
	now                 func() time.Time
	log                 *slog.Logger
}

func newPageLogin(c Config, iss issuer, sess *sessions, code *codeGrant, verify *tokenVerifier, sig *signer.Signer, pg *pages) *pageLogin {
	return &pageLogin{
		iss: iss, client: builtinClient(iss), sessions: sess, code: code, verify: verify, signer: sig, pages: pg,
		secure:    strings.HasPrefix(iss.URL, "https://"),
		cookieTTL: min(time.Hour, c.Expiry.IDTokens), loginTTL: min(time.Hour, c.Expiry.AuthRequests),
		now: c.Now, log: c.Logger,
	}
}

// user returns the person logged in to torii's own pages: the browser's
// torii session when sessions are on, else the signed cookie an earlier
// page login left. When nobody is logged in it sends the browser to log in
// (/auth with the built-in client, then back to the page it asked for)
// and returns false; the handler must then return without writing. It
// also returns false after rendering an error page (storage down).
//
// A handler of one of torii's pages starts with:
//
//	u, ok := h.login.user(w, r)
//	if !ok {
//		return
//	}
func (l *pageLogin) user(w http.ResponseWriter, r *http.Request) (*PageUser, bool) {
	ctx := r.Context()
	if l.sessions != nil {
		ss, ok, err := l.sessions.current(ctx, r)
		if err != nil {
			l.storageError(w, r, err)
			return nil, false
		}
		if ok {
			c := ss.Claims
			return &PageUser{
				Subject: subject.Encode(c.UserID, ss.ConnectorID), UserID: c.UserID, ConnectorID: ss.ConnectorID,
				Email: c.Email, EmailVerified: c.EmailVerified, Groups: c.Groups, Name: c.Username,
				PreferredUsername: c.PreferredUsername, AuthTime: ss.AuthTime, SessionID: ss.ID,
			}, true
		}
	} else if u, ok := l.fromCookie(ctx, r); ok {
		return u, true
	}
	l.startLogin(w, r)
	return nil, false
}

// pendingLogin is what the browser keeps (an HttpOnly cookie named after
// the state) while a page login runs: the PKCE verifier, the nonce and
// where to go afterwards. It binds the login to the browser that started
// it: a callback without it is refused.
type pendingLogin struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
	Return   string `json:"r"`
}

const pendingLoginCookie = "torii_account_login_"

func (l *pageLogin) cookiePath() string {
	if l.iss.Path == "" {
		return "/"
	}
	return l.iss.Path
}

// pendingName is the cookie of one login: one per state, so two tabs
// logging in at once do not overwrite each other's.
func (l *pageLogin) pendingName(state string) string {
	return pendingLoginCookie + state[:16]
}

// startLogin sends the browser to /auth for the built-in client and
// remembers, in the browser, the page to come back to.
func (l *pageLogin) startLogin(w http.ResponseWriter, r *http.Request) {
	back := r.URL.EscapedPath()
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		back = r.URL.RequestURI()
	}
	if !safeReturnPath(l.iss, back) {
		back = l.iss.at("/account")
	}
	p := pendingLogin{State: newToken(), Verifier: newToken(), Nonce: newToken(), Return: back}
	b, _ := json.Marshal(p) // strings only: cannot fail
	http.SetCookie(w, &http.Cookie{
		Name: l.pendingName(p.State), Value: base64.RawURLEncoding.EncodeToString(b), Path: l.cookiePath(),
		MaxAge: int(l.loginTTL / time.Second), HttpOnly: true, Secure: l.secure, SameSite: http.SameSiteLaxMode,
	})
	q := url.Values{
		"client_id": {l.client.ID}, "redirect_uri": {l.client.RedirectURIs[0]}, "response_type": {"code"},
		"scope": {builtinScopes}, "state": {p.State}, "nonce": {p.Nonce},
		"code_challenge": {pkce.Challenge(p.Verifier)}, "code_challenge_method": {"S256"},
	}
	redirect(w, l.iss.at("/auth")+"?"+q.Encode())
}

// callback is GET /account/callback, where /auth sends the browser back
// with the built-in client's code: it redeems the code (PKCE, single use),
// verifies the ID token, keeps the login (the torii session already holds
// it; without sessions a signed cookie) and returns to the page.
func (l *pageLogin) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	p, ok := l.pending(r, q.Get("state"))
	if !ok {
		l.pages.errorPage(w, r, http.StatusBadRequest, "err.login_expired")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: l.pendingName(p.State), Value: "", Path: l.cookiePath(), MaxAge: -1,
		HttpOnly: true, Secure: l.secure, SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		l.log.InfoContext(ctx, "page login failed", "error", truncate(e), "error_description", truncate(q.Get("error_description")))
		l.pages.errorPageMsg(w, r, http.StatusBadRequest, "err.login_failed.title", tr("login.failed"))
		return
	}
	form := url.Values{"code": {q.Get("code")}, "redirect_uri": {l.client.RedirectURIs[0]}, "code_verifier": {p.Verifier}}
	resp, err := l.code.handle(ctx, &http.Request{PostForm: form}, l.client)
	if err != nil {
		if oe := toOAuth2(ctx, l.log, err); oe.Status < 500 {
			l.log.InfoContext(ctx, "page login: code refused", "err", oe.Description)
			l.pages.errorPage(w, r, http.StatusBadRequest, "err.login_expired")
			return
		}
		l.storageError(w, r, err)
		return
	}
	c, err := l.verify.idToken(ctx, resp.IDToken, false)
	if err != nil || !slices.Contains(c.Audience, l.client.ID) || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(p.Nonce)) != 1 {
		l.log.ErrorContext(ctx, "page login: the ID token torii just issued does not verify", "err", err)
		l.pages.errorPage(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	if l.sessions != nil {
		// The session is the login: it must be this browser's.
		ss, ok, err := l.sessions.current(ctx, r)
		if err != nil {
			l.storageError(w, r, err)
			return
		}
		if !ok || ss.ID != c.SessionID {
			l.pages.errorPage(w, r, http.StatusBadRequest, "err.other_browser")
			return
		}
	} else if err := l.setCookie(ctx, w, c); err != nil {
		l.log.ErrorContext(ctx, "page login: keeping the login in a cookie", "err", err)
		l.pages.errorPage(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	back := p.Return
	if !safeReturnPath(l.iss, back) {
		back = l.iss.at("/account")
	}
	redirect(w, back)
}

// pending reads the browser's cookie for the login of state; ok is false
// when this browser did not start it.
func (l *pageLogin) pending(r *http.Request, state string) (pendingLogin, bool) {
	if len(state) != 43 {
		return pendingLogin{}, false
	}
	ck, err := r.Cookie(l.pendingName(state))
	if err != nil || len(ck.Value) > 4096 {
		return pendingLogin{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	var p pendingLogin
	if err != nil || json.Unmarshal(b, &p) != nil || subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) != 1 || p.Verifier == "" {
		return pendingLogin{}, false
	}
	return p, true
}

func (l *pageLogin) storageError(w http.ResponseWriter, r *http.Request, err error) {
	oe := toOAuth2(r.Context(), l.log, err)
	if oe.Status == http.StatusServiceUnavailable || errors.Is(err, context.DeadlineExceeded) {
		w.Header().Set("Retry-After", "5")
		l.pages.errorPage(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	l.pages.errorPage(w, r, http.StatusInternalServerError, "err.internal")
}

// loginCookie is the cookie that holds the browser's page login: the
// session cookie, or the signed cookie without sessions.
func (l *pageLogin) loginCookie(r *http.Request) string {
	name := l.pageCookieName()
	if l.sessions != nil {
		name = l.sessions.cookie
	}
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// formToken is the csrf field of the forms on torii's own pages: bound to
// the cookie of the login, which another site can neither read nor send
// (SameSite=Lax) with a POST.
func (l *pageLogin) formToken(r *http.Request) string {
	return hashToken("page-form\x00" + l.loginCookie(r))
}

// validForm checks a page form's csrf field; unlike the login forms', it
// is never optional.
func (l *pageLogin) validForm(r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return l.loginCookie(r) != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(l.formToken(r))) == 1
}
