package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/storage"
)

// SessionsConfig turns on browser sessions (single sign-on), with Dex
// master's `sessions` keys. Without it torii keeps no session, as Dex
// v2.45.1.
type SessionsConfig struct {
	// CookieName defaults to "torii_session"; it gets the __Host- prefix
	// when the issuer is https with path "/".
	CookieName string
	// AbsoluteLifetime ends a session whatever its use (default 24h).
	AbsoluteLifetime time.Duration
	// ValidIfNotUsedFor ends an idle session (default 1h).
	ValidIfNotUsedFor time.Duration
	// RememberMeCheckedByDefault ticks "remember me" on the login form; only
	// then is the cookie persistent.
	RememberMeCheckedByDefault bool
	// SSOSharedWithDefault lists the clients whose sessions a client may
	// reuse when it sets no SSOSharedWith ("*": all; the default).
	SSOSharedWithDefault []string
}

const defaultSessionCookie = "torii_session"

// sessions keeps the browser's session: its cookie and its row.
type sessions struct {
	cfg     SessionsConfig
	store   storage.Storage
	cookie  string
	path    string
	secure  bool
	clients *clientLookup
	now     func() time.Time
}

func newSessions(c SessionsConfig, store storage.Storage, iss issuer, clients *clientLookup, now func() time.Time) *sessions {
	s := &sessions{cfg: c, store: store, path: iss.Path, secure: strings.HasPrefix(iss.URL, "https://"), clients: clients, now: now}
	if s.path == "" {
		s.path = "/"
	}
	s.cookie = c.CookieName
	if s.cookie == "" {
		s.cookie = defaultSessionCookie
	}
	// __Host- needs Secure, Path=/ and no Domain: only then may it be used.
	if s.secure && s.path == "/" && !strings.HasPrefix(s.cookie, "__Host-") {
		s.cookie = "__Host-" + s.cookie
	}
	return s
}

// current returns the browser's live session, if any.
func (s *sessions) current(ctx context.Context, r *http.Request) (storage.Session, bool, error) {
	c, err := r.Cookie(s.cookie)
	if err != nil || len(c.Value) < 43 || len(c.Value) > 128 {
		return storage.Session{}, false, nil
	}
	ss, err := s.store.GetSession(ctx, hashToken(c.Value))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Session{}, false, nil
	}
	if err != nil {
		return storage.Session{}, false, err
	}
	if !s.now().Before(ss.Expiry()) {
		return storage.Session{}, false, nil
	}
	return ss, true, nil
}

// start creates a session for a login that just happened and sets its
// cookie; a session the browser had before is ended.
func (s *sessions) start(ctx context.Context, w http.ResponseWriter, r *http.Request, ar storage.AuthRequest, remember bool) (string, error) {
	if old, err := r.Cookie(s.cookie); err == nil && old.Value != "" {
		if err := s.store.DeleteSession(ctx, hashToken(old.Value)); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return "", err
		}
	}
	now := s.now()
	v := newToken()
	ss := storage.Session{
		ID: hashToken(v), ConnectorID: ar.ConnectorID, Claims: ar.Claims, ConnectorData: ar.ConnectorData,
		AuthTime: ar.AuthTime, CreatedAt: now, LastUsed: now,
		AbsoluteExpiry: now.Add(s.cfg.AbsoluteLifetime), IdleExpiry: now.Add(s.cfg.ValidIfNotUsedFor),
		RememberMe: remember,
	}
	if err := s.store.CreateSession(ctx, ss); err != nil {
		return "", err
	}
	ck := &http.Cookie{Name: s.cookie, Value: v, Path: s.path, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if remember {
		ck.Expires = ss.AbsoluteExpiry
	}
	http.SetCookie(w, ck)
	return ss.ID, nil
}

// used records that the session completed a login of client for scopes:
// the client joins the session's clients, the scopes its consents, and the
// idle expiry moves.
func (s *sessions) used(ctx context.Context, id, clientID string, scopes []string) error {
	now := s.now()
	err := s.store.UpdateSession(ctx, id, func(ss storage.Session) (storage.Session, error) {
		ss.LastUsed = now
		ss.IdleExpiry = now.Add(s.cfg.ValidIfNotUsedFor)
		if !slices.Contains(ss.Clients, clientID) {
			ss.Clients = append(ss.Clients, clientID)
		}
		if ss.Consents == nil {
			ss.Consents = map[string][]string{}
		}
		granted := ss.Consents[clientID]
		for _, sc := range scopes {
			if !slices.Contains(granted, sc) {
				granted = append(granted, sc)
			}
		}
		ss.Consents[clientID] = granted
		return ss, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil // ended meanwhile (logout elsewhere): the login itself stands
	}
	return err
}

// shared reports whether client may reuse a session first made for the
// session's clients: its ssoSharedWith (or the default) must name one of
// them, or "*".
func (s *sessions) shared(ctx context.Context, ss storage.Session, clientID string) bool {
	if slices.Contains(ss.Clients, clientID) {
		return true
	}
	with := s.cfg.SSOSharedWithDefault
	if c, ok, err := s.clients.get(ctx, clientID); err == nil && ok && c.SSOSharedWith != nil {
		with = c.SSOSharedWith
	}
	if slices.Contains(with, "*") {
		return true
	}
	for _, c := range ss.Clients {
		if slices.Contains(with, c) {
			return true
		}
	}
	return false
}

// consented reports whether the person approved every scope for the
// client in this session.
func consented(ss storage.Session, clientID string, scopes []string) bool {
	granted, ok := ss.Consents[clientID]
	if !ok {
		return false
	}
	for _, sc := range scopes {
		if !slices.Contains(granted, sc) {
			return false
		}
	}
	return true
}

// clear removes the session cookie.
func (s *sessions) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: "", Path: s.path, MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// hasCookie reports whether the browser sent a session cookie at all.
func (s *sessions) hasCookie(r *http.Request) bool {
	c, err := r.Cookie(s.cookie)
	return err == nil && c.Value != ""
}
