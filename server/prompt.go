package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/torii-idp/torii/server/internal/subject"
	"github.com/torii-idp/torii/server/oauth2"
	"github.com/torii-idp/torii/storage"
)

// What prompt=none does without a usable session
// (oauth2.promptNoneWithoutSession, and the same key per client).
const (
	// PromptNoneShowLogin shows the login page, as Dex v2.45.1 does: what
	// Kubeflow's oauth2-proxy, which sends prompt=none on every login, needs.
	PromptNoneShowLogin = "showLogin"
	// PromptNoneLoginRequired answers error=login_required (OIDC Core).
	PromptNoneLoginRequired = "loginRequired"
)

type prompts struct{ none, login, consent bool }

// parsePrompt checks prompt per OIDC Core 3.1.2.1: known values only, and
// none alone.
func parsePrompt(raw string) (prompts, error) {
	var p prompts
	vals := strings.Fields(raw)
	for _, v := range vals {
		switch v {
		case "none":
			p.none = true
		case "login":
			p.login = true
		case "consent":
			p.consent = true
		case "select_account":
			// One account per session: nothing to select.
		default:
			return p, oauth2.InvalidRequest("unknown prompt value " + quote(v))
		}
	}
	if p.none && len(vals) > 1 {
		return p, oauth2.InvalidRequest("prompt=none cannot be combined with other values")
	}
	return p, nil
}

// resumeSession applies the browser's session, prompt, max_age and
// id_token_hint to a new auth request: with a usable session the request
// is logged in already (and the dispatcher skips the login); prompt=none
// without one follows the client's promptNoneWithoutSession rule.
func (f *authFlow) resumeSession(r *http.Request, ar *storage.AuthRequest, q url.Values, client Client) error {
	rule := f.promptNone
	if client.PromptNoneWithoutSession != "" {
		rule = client.PromptNoneWithoutSession
	}
	if f.sessions == nil {
		// Dex v2.45.1: only prompt=consent means anything.
		if rule == PromptNoneLoginRequired && strings.TrimSpace(q.Get("prompt")) == "none" {
			return &oauth2.Error{Code: "login_required", Description: "no login session", Status: http.StatusBadRequest}
		}
		return nil
	}
	p, err := parsePrompt(q.Get("prompt"))
	if err != nil {
		return err
	}
	maxAge := time.Duration(-1)
	if raw := q.Get("max_age"); raw != "" {
		n, err := strconv.ParseUint(raw, 10, 31)
		if err != nil {
			return oauth2.InvalidRequest("max_age must be a number of seconds")
		}
		maxAge = time.Duration(n) * time.Second
	}
	ctx := r.Context()
	hintSub := ""
	if raw := q.Get("id_token_hint"); raw != "" {
		c, err := f.verify.idToken(ctx, raw, true)
		if err != nil {
			return oauth2.InvalidRequest("id_token_hint is not an ID token this issuer signed")
		}
		hintSub = c.Subject
	}
	loginRequired := func(why string) error {
		if p.none && rule == PromptNoneLoginRequired {
			return &oauth2.Error{Code: "login_required", Description: why, Status: http.StatusBadRequest}
		}
		return nil
	}
	if p.login {
		return nil
	}
	ss, ok, err := f.sessions.current(ctx, r)
	if err != nil {
		return err
	}
	now := f.now()
	switch {
	case !ok:
		return loginRequired("no login session")
	case ar.ConnectorID != "" && ar.ConnectorID != ss.ConnectorID:
		return loginRequired("the session is for another login method")
	case f.byID[ss.ConnectorID].ID == "":
		return loginRequired("the session's login method no longer exists")
	case !f.sessions.shared(ctx, ss, ar.ClientID):
		return loginRequired("the session is not shared with this client")
	case maxAge >= 0 && now.Sub(ss.AuthTime) > maxAge:
		return loginRequired("the login is older than max_age")
	case hintSub != "" && hintSub != subject.Encode(ss.Claims.UserID, ss.ConnectorID):
		if p.none { // whatever the rule: the client named someone else
			return &oauth2.Error{Code: "login_required", Description: "the session belongs to another user than id_token_hint", Status: http.StatusBadRequest}
		}
		return nil
	}
	if p.none && (p.consent || (!f.skipApproval && !consented(ss, ar.ClientID, ar.Scopes))) {
		return &oauth2.Error{Code: "consent_required", Description: "the user has not approved this client", Status: http.StatusBadRequest}
	}
	ar.LoggedIn, ar.ConnectorID, ar.Claims, ar.ConnectorData = true, ss.ConnectorID, ss.Claims, ss.ConnectorData
	ar.AuthTime, ar.SessionID = ss.AuthTime, ss.ID
	return nil
}
