package server

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/torii-idp/torii/storage"
)

// The browser binding: /auth gives the browser a random cookie and stores
// its hash in the auth request; login and approval pages are only served to
// that browser, and their forms carry a token derived from the cookie and
// the request, so a login cannot be completed from another browser or by a
// cross-site form post (Dex CVE-2022-39222).
//
// Only values torii minted are adopted (each is remembered in storage,
// hashed, for the auth-request lifetime), and the binding is renewed when
// a login succeeds, so a value planted in the victim's browser (cookie
// fixation) never lets the planter act on the victim's login.
const csrfCookie = "torii_csrf"

// hostCookie is the name on an https issuer at the root of its host: the
// __Host- prefix makes browsers refuse it from a sibling subdomain or
// over http, the usual ways to plant a cookie.
const hostCookie = "__Host-" + csrfCookie

type browserBinding struct {
	path   string // cookie path: the issuer path
	secure bool
	store  storage.ThrottleStore
	ttl    time.Duration // how long a minted value is remembered
	now    func() time.Time
}

func (b browserBinding) name() string {
	if b.secure && b.path == "" {
		return hostCookie
	}
	return csrfCookie
}

func mintedKey(v string) string { return "b:" + hashToken(v) }

// ensure returns the browser's cookie value if torii minted it (renewing
// the record), else sets a new one.
func (b browserBinding) ensure(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(b.name()); err == nil && len(c.Value) >= 43 {
		minted, err := b.remember(r.Context(), c.Value, false)
		if err != nil || minted {
			return c.Value, err
		}
	}
	return b.mint(w, r)
}

// mint sets a new cookie value and remembers it.
func (b browserBinding) mint(w http.ResponseWriter, r *http.Request) (string, error) {
	v := newToken()
	if _, err := b.remember(r.Context(), v, true); err != nil {
		return "", err
	}
	path := b.path
	if path == "" {
		path = "/"
	}
	http.SetCookie(w, &http.Cookie{
		Name: b.name(), Value: v, Path: path, HttpOnly: true, Secure: b.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return v, nil
}

// remember renews the record of v (creating it when create) and reports
// whether it existed.
func (b browserBinding) remember(ctx context.Context, v string, create bool) (bool, error) {
	now := b.now()
	var existed bool
	err := b.store.UpdateThrottle(ctx, now, []string{mintedKey(v)}, func(cs []storage.ThrottleCounter) ([]storage.ThrottleCounter, error) {
		existed = cs[0].Count > 0
		if !existed && !create {
			return nil, nil
		}
		return []storage.ThrottleCounter{{Key: cs[0].Key, Count: 1, WindowStart: now, Expiry: now.Add(b.ttl)}}, nil
	})
	return existed, err
}

func (b browserBinding) cookie(r *http.Request) string {
	c, err := r.Cookie(b.name())
	if err != nil {
		return ""
	}
	return c.Value
}

// owns reports whether this browser started the auth request.
func (b browserBinding) owns(r *http.Request, browserHash string) bool {
	v := b.cookie(r)
	return v != "" && subtle.ConstantTimeCompare([]byte(hashToken(v)), []byte(browserHash)) == 1
}

// formToken is the CSRF field of the forms of one auth request.
func (b browserBinding) formToken(r *http.Request, reqID string) string {
	return hashToken("form\x00" + b.cookie(r) + "\x00" + reqID)
}

// A POST without the field is accepted only from a client that is not a
// browser (no Origin and no Sec-Fetch-Site header, which every current
// browser sends with a form POST) and that holds the binding cookie: the
// scripts Kubeflow users run against Dex post just login and password.
// Cross-site request forgery needs a browser, and a browser's cross-site
// POST carries neither the SameSite=Lax cookie nor the token.
func (b browserBinding) validForm(r *http.Request, reqID string) bool {
	if b.cookie(r) == "" {
		return false
	}
	got := r.PostFormValue("csrf")
	if got == "" {
		return r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") == ""
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(b.formToken(r, reqID))) == 1
}
