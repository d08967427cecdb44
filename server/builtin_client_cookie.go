package server

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/torii-idp/torii/server/internal/subject"
)

// Without a sessions block torii keeps no session, so a page login is kept
// in a cookie of its own: the person's claims, signed with torii's signing
// keys (every replica can verify it, and a reload keeps it valid),
// short-lived (an hour at most), HttpOnly, Secure on https, scoped to the
// issuer path. The payload is compressed: long LDAP group lists must fit
// one cookie.

const pageCookie = "torii_account"

// pageTokenUse marks the cookie's token: never an ID token (an ID token a
// client received cannot be planted as the cookie, and this token is no
// id_token_hint) nor an access token (which need token_use "access").
const pageTokenUse = "torii-page"

// pageToken is the signed cookie's payload.
type pageToken struct {
	Issuer   string `json:"iss"`
	Audience string `json:"aud"`
	Use      string `json:"token_use"`
	Subject  string `json:"sub"`
	// ID makes each login's cookie unique (the forms' csrf derives from it).
	ID            string   `json:"jti"`
	Expiry        int64    `json:"exp"`
	IssuedAt      int64    `json:"iat"`
	AuthTime      int64    `json:"auth_time,omitempty"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified,omitempty"`
	Groups        []string `json:"groups,omitempty"`
	Name          string   `json:"name,omitempty"`
	PreferredName string   `json:"preferred_username,omitempty"`
}

// maxCookie is what one cookie may hold in every browser (4096 bytes with
// its name and attributes).
const maxCookie = 3900

func (l *pageLogin) pageCookieName() string {
	if l.secure && l.iss.Path == "" {
		return "__Host-" + pageCookie
	}
	return pageCookie
}

// setCookie keeps the login of the verified ID token c.
func (l *pageLogin) setCookie(ctx context.Context, w http.ResponseWriter, c idTokenClaims) error {
	now := l.now()
	exp := now.Add(l.cookieTTL)
	if idExp := time.Unix(c.Expiry, 0); idExp.Before(exp) {
		exp = idExp
	}
	t := pageToken{
		Issuer: l.iss.URL, Audience: l.client.ID, Use: pageTokenUse, Subject: c.Subject, ID: newToken(),
		Expiry: exp.Unix(), IssuedAt: now.Unix(), AuthTime: c.AuthTime,
		Email: c.Email, Groups: c.Groups, Name: c.Name, PreferredName: c.PreferredName,
	}
	if c.EmailVerified != nil {
		t.EmailVerified = *c.EmailVerified
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression) // the level is valid
	fw.Write(b)
	fw.Close()
	v, err := l.signer.SignTyped(ctx, z.Bytes(), "torii-page+jwt")
	if err != nil {
		return err
	}
	if len(v) > maxCookie {
		return fmt.Errorf("the claims of %d groups do not fit a cookie (%d bytes); turn sessions on to keep page logins server-side", len(t.Groups), len(v))
	}
	http.SetCookie(w, &http.Cookie{Name: l.pageCookieName(), Value: v, Path: l.cookiePath(), Expires: exp,
		HttpOnly: true, Secure: l.secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// forget ends the browser's page login, if it has one (logout).
func (l *pageLogin) forget(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(l.pageCookieName()); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: l.pageCookieName(), Value: "", Path: l.cookiePath(), MaxAge: -1,
		HttpOnly: true, Secure: l.secure, SameSite: http.SameSiteLaxMode})
}

// fromCookie returns the person of a valid signed cookie.
func (l *pageLogin) fromCookie(ctx context.Context, r *http.Request) (*PageUser, bool) {
	ck, err := r.Cookie(l.pageCookieName())
	if err != nil || ck.Value == "" || len(ck.Value) > maxCookie {
		return nil, false
	}
	t, err := l.parseCookie(ctx, ck.Value)
	if err != nil {
		l.log.DebugContext(ctx, "page login cookie refused", "err", err)
		return nil, false
	}
	uid, cid, err := subject.Decode(t.Subject)
	if err != nil {
		return nil, false
	}
	u := &PageUser{Subject: t.Subject, UserID: uid, ConnectorID: cid, Email: t.Email, EmailVerified: t.EmailVerified,
		Groups: t.Groups, Name: t.Name, PreferredUsername: t.PreferredName}
	if t.AuthTime != 0 {
		u.AuthTime = time.Unix(t.AuthTime, 0)
	}
	return u, true
}

func (l *pageLogin) parseCookie(ctx context.Context, v string) (pageToken, error) {
	z, err := l.signer.Verify(ctx, v)
	if err != nil {
		return pageToken{}, err
	}
	b, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), 64<<10))
	if err != nil {
		return pageToken{}, err
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil {
		return pageToken{}, err
	}
	switch {
	case t.Use != pageTokenUse || t.Audience != l.client.ID || t.Issuer != l.iss.URL:
		return pageToken{}, errors.New("not a page login of this issuer")
	case !l.now().Before(time.Unix(t.Expiry, 0)):
		return pageToken{}, errors.New("expired")
	}
	return t, nil
}
