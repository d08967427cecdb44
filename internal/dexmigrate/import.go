package dexmigrate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// Options is what the import needs to know about the two sides.
type Options struct {
	Now func() time.Time
	// DexIDTokens is Dex's expiry.idTokens: how long a token Dex signed
	// stays valid (default 24h).
	DexIDTokens time.Duration
	// Refresh is torii's expiry.refreshTokens: imported tokens get the
	// lifetimes torii will enforce.
	Refresh server.RefreshExpiry
	// Connectors and Clients are the IDs torii knows; a token for another
	// one could never be refreshed and is skipped.
	Connectors map[string]bool
	Clients    map[string]bool
	// PasswordConnector is the ID of torii's password database connector
	// ("local"); StaticUsers are its config users by PasswordKey.
	PasswordConnector string
	StaticUsers       map[string]bool
	// DryRun reads torii's storage to report what would change and writes
	// nothing.
	DryRun bool
	// Force imports refresh tokens into a torii storage that is in use
	// without Dex's signing key (see stale).
	Force bool
	// Workers is how many refresh tokens are imported at once (default
	// 1). More keep several requests in flight, which can hide a store's
	// round trips; on the test API server (CPU-bound, in process) 8 were
	// no faster than 1 (BenchmarkImportDex in test/kubernetes), so the
	// command keeps one.
	Workers int
}

const defaultWorkers = 1

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return defaultWorkers
}

// forEach runs fn(0..n-1) on up to workers goroutines; the first error
// stops the rest (they see a cancelled ctx) and is returned.
func forEach(ctx context.Context, n, workers int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// retireMargin is added to a Dex key's lifetime, as torii's signer does
// for its own retired keys (clock skew between replicas and clients).
const retireMargin = 5 * time.Minute

// rotatedRetention is how long an imported previous (obsolete) Dex token
// is kept to recognise its replay, as torii keeps its own rotated tokens.
const rotatedRetention = 7 * 24 * time.Hour

// FamilyPrefix starts the family ID of every imported token: the family is
// "dex:" and Dex's refresh ID, so a second run finds what the first wrote.
const FamilyPrefix = "dex:"

// Import writes what torii needs of snap into store and reports every item.
// It is idempotent: what is already there is reported as unchanged and
// left alone.
func Import(ctx context.Context, snap Snapshot, store storage.Storage, o Options) (*Report, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DexIDTokens <= 0 {
		o.DexIDTokens = 24 * time.Hour
	}
	if o.Refresh.ReuseInterval <= 0 {
		o.Refresh.ReuseInterval = 3 * time.Second
	}
	rep := &Report{DryRun: o.DryRun}
	now := o.Now()
	stale, err := staleImport(ctx, snap.Keys, store)
	if err != nil {
		return rep, err
	}
	if err := importKeys(ctx, snap.Keys, store, o, now, rep); err != nil {
		return rep, err
	}
	stored, err := importClients(ctx, snap.Clients, store, o, rep)
	if err != nil {
		return rep, err
	}
	if err := importPasswords(ctx, snap.Passwords, store, o, rep); err != nil {
		return rep, err
	}
	known := func(ctx context.Context, id string) (bool, error) {
		if o.Clients[id] || stored[id] {
			return true, nil
		}
		_, err := store.GetClient(ctx, id) // created through torii's admin API
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	// Tokens are independent (see Options.Workers). Each token reports
	// into its own slot, so the report keeps Dex's order.
	results := make([]Report, len(snap.RefreshTokens))
	err = forEach(ctx, len(snap.RefreshTokens), o.workers(), func(ctx context.Context, i int) error {
		t, r := snap.RefreshTokens[i], &results[i]
		if stale && !o.Force {
			r.add(Item{Kind: KindRefreshToken, ID: t.ID, Detail: fmt.Sprintf("user %q, client %q, connector %q", t.Email, t.ClientID, t.ConnectorID)}, Skipped,
				"torii's storage is in use and no longer holds Dex's signing key: a first import older than Dex's tokens could be revived (tokens torii rotated or revoked since); --force imports anyway")
			return nil
		}
		ok, err := known(ctx, t.ClientID)
		if err != nil {
			return fmt.Errorf("torii storage: %w", err)
		}
		return importRefresh(ctx, t, store, o, ok, now, r)
	})
	for i := range results {
		rep.Items = append(rep.Items, results[i].Items...)
	}
	if err != nil {
		return rep, err
	}
	noteUnsupported(snap, o, rep)
	return rep, nil
}

// staleImport reports whether torii's storage is in use (it has keys) but
// does not hold Dex's current signing key. Then either the first import is
// so old that torii dropped that key — its rotated and revoked records of
// Dex's tokens may be gone too, and importing again would bring those
// tokens back — or torii started without importing.
func staleImport(ctx context.Context, k *Keys, store storage.Storage) (bool, error) {
	stored, err := store.GetKeys(ctx)
	if errors.Is(err, storage.ErrNotFound) || k == nil {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("torii storage: %w", err)
	}
	_, kid, err := publicKey(k.SigningKeyPub)
	if err != nil {
		return false, nil
	}
	return !hasKid(stored, kid), nil
}

// importRefresh turns one Dex refresh token into a torii family holding
// its current token and, if Dex still remembers it, the previous one as a
// rotated token (a replay of it then revokes the family, as in torii).
func importRefresh(ctx context.Context, t RefreshToken, store storage.Storage, o Options, clientKnown bool, now time.Time, rep *Report) error {
	item := Item{Kind: KindRefreshToken, ID: t.ID, Detail: fmt.Sprintf("user %q, client %q, connector %q", t.Email, t.ClientID, t.ConnectorID)}
	if reason := skipRefresh(t, o, clientKnown, now); reason != "" {
		rep.add(item, Skipped, reason)
		return nil
	}
	family := FamilyPrefix + t.ID
	revoked, err := store.GrantRevoked(ctx, family)
	if err != nil {
		return fmt.Errorf("torii storage: %w", err)
	}
	if revoked {
		rep.add(item, Skipped, "its torii family was revoked (a replay); it stays revoked")
		return nil
	}
	cur := refreshRow(t, family, t.Token, o.Refresh, now)
	if _, err := store.GetRefresh(ctx, cur.ID); err == nil {
		rep.add(item, Unchanged, "already imported")
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("torii storage: %w", err)
	}
	if o.DryRun {
		rep.add(item, Imported, "")
		return nil
	}
	// The previous token first: the current one is the marker of a
	// finished import, so an interrupted run is completed by the next.
	if t.ObsoleteToken != "" && t.ObsoleteToken != t.Token {
		old := refreshRow(t, family, t.ObsoleteToken, o.Refresh, now)
		old.RotatedAt = t.LastUsed
		old.Expiry = rotatedExpiry(o.Refresh, t, now)
		if err := store.CreateRefresh(ctx, old); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("torii storage: %w", err)
		}
	}
	if err := store.CreateRefresh(ctx, cur); errors.Is(err, storage.ErrAlreadyExists) {
		rep.add(item, Unchanged, "already imported")
		return nil
	} else if err != nil {
		return fmt.Errorf("torii storage: %w", err)
	}
	rep.add(item, Imported, "")
	return nil
}

// skipRefresh says why a Dex token cannot become a working torii token,
// or "" if it can.
func skipRefresh(t RefreshToken, o Options, clientKnown bool, now time.Time) string {
	switch {
	case t.Token == "":
		return "a pre-rotation Dex token (no token secret stored); its user logs in again"
	case !o.Connectors[t.ConnectorID]:
		return fmt.Sprintf("connector %q is not configured in torii", t.ConnectorID)
	case !clientKnown:
		return fmt.Sprintf("client %q is not configured in torii", t.ClientID)
	case o.Refresh.AbsoluteLifetime > 0 && now.Sub(t.CreatedAt) > o.Refresh.AbsoluteLifetime:
		return "expired (older than expiry.refreshTokens.absoluteLifetime)"
	case o.Refresh.ValidIfNotUsedFor > 0 && now.Sub(t.LastUsed) > o.Refresh.ValidIfNotUsedFor:
		return "expired (unused for longer than expiry.refreshTokens.validIfNotUsedFor)"
	}
	return ""
}

func refreshRow(t RefreshToken, family, secret string, p server.RefreshExpiry, now time.Time) storage.RefreshToken {
	return storage.RefreshToken{
		ID:            server.TokenID(RefreshTokenString(t.ID, secret)),
		FamilyID:      family,
		ClientID:      t.ClientID,
		Scopes:        t.Scopes,
		Nonce:         t.Nonce,
		ConnectorID:   t.ConnectorID,
		ConnectorData: t.ConnectorData,
		Claims: storage.Claims{
			UserID: t.UserID, Username: t.Username, PreferredUsername: t.PreferredUsername,
			Email: t.Email, EmailVerified: t.EmailVerified, Groups: t.Groups,
		},
		FamilyCreatedAt: t.CreatedAt,
		CreatedAt:       t.LastUsed,
		LastUsed:        t.LastUsed,
		Expiry:          familyExpiry(p, t.CreatedAt, t.LastUsed),
	}
}

// familyExpiry is when a token of a family started at start and last used
// at used stops being valid under p (zero: never), as torii computes it.
func familyExpiry(p server.RefreshExpiry, start, used time.Time) time.Time {
	var exp time.Time
	if p.AbsoluteLifetime > 0 {
		exp = start.Add(p.AbsoluteLifetime)
	}
	if p.ValidIfNotUsedFor > 0 {
		if idle := used.Add(p.ValidIfNotUsedFor); exp.IsZero() || idle.Before(exp) {
			exp = idle
		}
	}
	return exp
}

// rotatedExpiry keeps Dex's previous token long enough to catch a replay.
func rotatedExpiry(p server.RefreshExpiry, t RefreshToken, now time.Time) time.Time {
	keep := now.Add(rotatedRetention)
	if exp := familyExpiry(p, t.CreatedAt, now); !exp.IsZero() && exp.Before(keep) {
		keep = exp
	}
	return keep
}

// noteUnsupported reports what Dex keeps that torii does not need, and
// the connectors Dex keeps in storage, which torii cannot take over: it
// reads connectors from its config file only.
func noteUnsupported(snap Snapshot, o Options, rep *Report) {
	for _, c := range snap.Connectors {
		item := Item{Kind: KindConnector, ID: c.ID, Detail: fmt.Sprintf("type %s, %q", c.Type, c.Name)}
		if o.Connectors[c.ID] {
			rep.add(item, Unchanged, "torii's config has a connector with this ID")
			continue
		}
		rep.add(item, Skipped, "created through Dex's API: torii reads connectors from its config only; add it there (its users' tokens were skipped above)")
	}
	if snap.OfflineSessions > 0 {
		rep.add(Item{Kind: KindOfflineSessions, ID: fmt.Sprint(snap.OfflineSessions)}, Skipped, "not needed: torii keeps connector data with each token family")
	}
}
