package server

import (
	"crypto/subtle"
	"net/http"
)

// The browser binding: /auth gives the browser a random cookie and stores
// its hash in the auth request; login and approval pages are only served to
// that browser, and their forms carry a token derived from the cookie and
// the request, so a login cannot be completed from another browser or by a
// cross-site form post (Dex CVE-2022-39222).
const csrfCookie = "torii_csrf"

type browserBinding struct {
	path   string // cookie path: the issuer path
	secure bool
}

// ensure returns the browser's cookie value, setting a new one if needed.
func (b browserBinding) ensure(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 43 {
		return c.Value
	}
	v := newToken()
	path := b.path
	if path == "" {
		path = "/"
	}
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: v, Path: path, HttpOnly: true, Secure: b.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return v
}

func (b browserBinding) cookie(r *http.Request) string {
	c, err := r.Cookie(csrfCookie)
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
