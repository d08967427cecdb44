// Package usergrants is what a person holds at torii — browser sessions
// and refresh-token families — and how one is ended. The admin API
// (server/adminapi), logout and the account page all end them through
// here, so "end a session" and "revoke a family" mean one thing whoever
// asks.
package usergrants

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"time"

	"github.com/torii-idp/torii/storage"
)

// offlineAccess is the scope whose refresh tokens outlive the browser
// session they came from (OpenID Connect Core §11, Back-Channel Logout
// 1.0 §2.7).
const offlineAccess = "offline_access"

// ShortIDLen is how much of a session's ID (itself the hash of the
// cookie) names it outside the server (admin API torii_id, the account
// page's forms): 64 bits tell a user's sessions apart and the full hash
// never leaves the server.
const ShortIDLen = 16

// ShortID is the name of a session outside the server.
func ShortID(id string) string {
	if len(id) > ShortIDLen {
		return id[:ShortIDLen]
	}
	return id
}

// SameShortID reports whether the session id is the one short names.
func SameShortID(id, short string) bool {
	return subtle.ConstantTimeCompare([]byte(ShortID(id)), []byte(short)) == 1
}

// LiveSessions are the user's sessions on conn that have not expired
// (expired ones wait for the garbage collector and log no one in).
func LiveSessions(ctx context.Context, store storage.Storage, conn, userID string, now time.Time) ([]storage.Session, error) {
	ss, err := store.ListUserSessions(ctx, conn, userID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ss, func(x storage.Session) bool { return !now.Before(x.Expiry()) }), nil
}

// EndSession deletes the session and revokes the refresh-token families
// issued from it without offline_access (those, kubectl's, outlive the
// browser session); revoked grants are remembered until until. ended is
// false when the session was already gone (another replica or request
// ended it, and revoked what it had).
func EndSession(ctx context.Context, store storage.Storage, ss storage.Session, until time.Time) (ended bool, revokedFamilies int, err error) {
	err = store.DeleteSession(ctx, ss.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	rs, err := store.ListSessionRefresh(ctx, ss.ID)
	if err != nil {
		return true, 0, err
	}
	revoked := map[string]bool{}
	for _, r := range rs {
		if slices.Contains(r.Scopes, offlineAccess) || revoked[r.FamilyID] {
			continue
		}
		if err := store.RevokeGrant(ctx, r.FamilyID, until); err != nil {
			return true, len(revoked), err
		}
		revoked[r.FamilyID] = true
	}
	return true, len(revoked), nil
}

// Family is one refresh-token family of a user: what one login with a
// refresh token started.
type Family struct {
	ID       string
	ClientID string
	Scopes   []string
	Created  time.Time
	LastUsed time.Time
}

// Families returns the user's families, in storage order.
func Families(ctx context.Context, store storage.Storage, userID, connID string) ([]Family, error) {
	tokens, err := store.ListUserRefresh(ctx, userID, connID)
	if err != nil {
		return nil, err
	}
	var out []Family
	for _, t := range tokens {
		last := t.LastUsed
		if last.IsZero() {
			last = t.CreatedAt
		}
		if n := len(out); n > 0 && out[n-1].ID == t.FamilyID {
			// Two current tokens of one family (a reuse in the grace window).
			if last.After(out[n-1].LastUsed) {
				out[n-1].LastUsed = last
			}
			continue
		}
		created := t.FamilyCreatedAt
		if created.IsZero() {
			created = t.CreatedAt
		}
		out = append(out, Family{ID: t.FamilyID, ClientID: t.ClientID, Scopes: t.Scopes, Created: created, LastUsed: last})
	}
	return out, nil
}

// RevokeFamilies revokes the user's families that match: their refresh
// tokens stop working at once, and so do the access tokens they issued
// (the grant is remembered as revoked until until). Only the user's own
// families are ever looked at. It returns how many it revoked.
func RevokeFamilies(ctx context.Context, store storage.Storage, userID, connID string, match func(Family) bool, until time.Time) (int, error) {
	fams, err := Families(ctx, store, userID, connID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range fams {
		if !match(f) {
			continue
		}
		if err := store.RevokeGrant(ctx, f.ID, until); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
