// Package seed fills a storage backend with refresh-token families and
// browser sessions for the scale measurements (torii seed, torii-load
// --seed): realistic rows, as fast as the backend takes them.
package seed

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/torii-idp/torii/storage"
)

// Options says what to seed.
type Options struct {
	// Families is how many refresh-token families to create: one current
	// token each (and Rotated rotated predecessors per family).
	Families int
	// Rotated is how many rotated tokens each family keeps beside its
	// current one (a family that was refreshed recently).
	Rotated int
	// Expired makes every seeded row already expired, for GC measurements.
	Expired bool
	// ClientID and ConnectorID are written into the rows (so that they look
	// like the issuer's own; they are never usable: nobody knows the raw
	// token of a seeded hash).
	ClientID, ConnectorID string
	// Writers is how many writes are in flight at once: the SQLite backend
	// commits concurrent writes in one transaction, PostgreSQL spreads them
	// over its pool. Zero means 64.
	Writers int
	// Sessions, when positive, is the number of browser sessions the
	// families were logged in with: family i belongs to session
	// i % Sessions (see Sessions, which creates them with the same ids).
	Sessions int
	// SessionKey makes the seeded session ids unguessable hashes: id i is
	// SHA-256(SessionKey || i), and the cookie that hashes to it is known
	// to no one once the key is dropped. All fills it with random bytes;
	// Refresh and Sessions called separately need the same key.
	SessionKey []byte
	Now        time.Time
	// Progress, if set, is called about every 100,000 rows.
	Progress func(done int)
}

// Refresh creates the families and returns how many rows it wrote.
func Refresh(ctx context.Context, s storage.Storage, o Options) (int, error) {
	if o.Sessions > 0 && len(o.SessionKey) < 16 {
		return 0, errNoKey
	}
	return fill(ctx, &o, o.Families, func(ctx context.Context, i int64, wrote func()) error {
		for _, t := range family(o, i) {
			if err := s.CreateRefresh(ctx, t); err != nil {
				return fmt.Errorf("seed refresh token %d: %w", i, err)
			}
			wrote()
		}
		return nil
	})
}

// errNoKey: without a secret key the session ids could be forged.
var errNoKey = errors.New("seed: sessions need a SessionKey of at least 16 random bytes")

// Counts is what All wrote.
type Counts struct{ RefreshTokens, Sessions int }

// All creates o.Sessions sessions, then o.Families families logged in
// with them, under a fresh random SessionKey.
func All(ctx context.Context, s storage.Storage, o Options) (Counts, error) {
	var c Counts
	o.SessionKey = make([]byte, 32)
	rand.Read(o.SessionKey)
	var err error
	if o.Sessions > 0 {
		if c.Sessions, err = Sessions(ctx, s, o); err != nil {
			return c, err
		}
	}
	if o.Families > 0 {
		c.RefreshTokens, err = Refresh(ctx, s, o)
	}
	return c, err
}

// Sessions creates o.Sessions browser sessions (the users of the families
// Refresh creates with the same options) and returns how many it wrote.
func Sessions(ctx context.Context, s storage.SessionStore, o Options) (int, error) {
	if len(o.SessionKey) < 16 {
		return 0, errNoKey
	}
	return fill(ctx, &o, o.Sessions, func(ctx context.Context, i int64, wrote func()) error {
		if err := s.CreateSession(ctx, session(o, i)); err != nil {
			return fmt.Errorf("seed session %d: %w", i, err)
		}
		wrote()
		return nil
	})
}

// fill runs write for 0..n-1 on o.Writers goroutines and counts the rows.
func fill(ctx context.Context, o *Options, n int, write func(ctx context.Context, i int64, wrote func()) error) (int, error) {
	writers := o.Writers
	if writers <= 0 {
		writers = 64
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var next, rows atomic.Int64
	var firstErr error
	var once sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				err := write(ctx, i, func() {
					if n := rows.Add(1); o.Progress != nil && n%100_000 == 0 {
						o.Progress(int(n))
					}
				})
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return int(rows.Load()), firstErr
}

// family builds the rows of family i: Rotated rotated tokens and the
// current one, with the claims of a typical LDAP user.
func family(o Options, i int64) []storage.RefreshToken {
	now := o.Now.UTC().Truncate(time.Microsecond)
	created := now.Add(-time.Duration(i%(30*24)) * time.Hour) // spread over a month
	fam := randomID()
	user := fmt.Sprintf("user%07d", i)
	base := storage.RefreshToken{
		FamilyID: fam, ClientID: o.ClientID,
		Scopes:        []string{"openid", "email", "groups", "profile", "offline_access"},
		ConnectorID:   o.ConnectorID,
		ConnectorData: fmt.Appendf(nil, `{"dn":"uid=%s,ou=people,dc=example,dc=org"}`, user),
		Claims: storage.Claims{UserID: "uid=" + user + ",ou=people,dc=example,dc=org", Username: user,
			PreferredUsername: user, Email: user + "@example.org", EmailVerified: true,
			Groups: []string{"kubeflow-users", "team-" + fmt.Sprint(i%100)}},
		FamilyCreatedAt: created, CreatedAt: created, LastUsed: created,
		Expiry: now.Add(90 * 24 * time.Hour),
	}
	if o.Expired {
		base.Expiry = now.Add(-time.Hour)
	}
	if o.Sessions > 0 {
		base.SessionID = sessionID(o.SessionKey, i%int64(o.Sessions))
	}
	out := make([]storage.RefreshToken, 0, o.Rotated+1)
	for range o.Rotated {
		r := base
		r.ID = randomID()
		r.RotatedAt = created
		out = append(out, r)
	}
	base.ID = randomID()
	return append(out, base)
}

// session builds session i: the login of user i, with one client and its
// consent, active for a day and kept for a month.
func session(o Options, i int64) storage.Session {
	now := o.Now.UTC().Truncate(time.Microsecond)
	created := now.Add(-time.Duration(i%(30*24)) * time.Minute)
	user := fmt.Sprintf("user%07d", i)
	ss := storage.Session{
		ID:            sessionID(o.SessionKey, i),
		ConnectorID:   o.ConnectorID,
		ConnectorData: fmt.Appendf(nil, `{"dn":"uid=%s,ou=people,dc=example,dc=org"}`, user),
		Claims: storage.Claims{UserID: "uid=" + user + ",ou=people,dc=example,dc=org", Username: user,
			PreferredUsername: user, Email: user + "@example.org", EmailVerified: true,
			Groups: []string{"kubeflow-users", "team-" + fmt.Sprint(i%100)}},
		AuthTime: created, CreatedAt: created, LastUsed: created,
		AbsoluteExpiry: now.Add(30 * 24 * time.Hour), IdleExpiry: now.Add(24 * time.Hour),
		RememberMe: i%2 == 0,
		Clients:    []string{o.ClientID},
		Consents:   map[string][]string{o.ClientID: {"openid", "email", "groups", "profile", "offline_access"}},
	}
	if o.Expired {
		ss.AbsoluteExpiry, ss.IdleExpiry = now.Add(-time.Hour), now.Add(-time.Hour)
	}
	return ss
}

// sessionID is the stored id of seeded session i, shaped like a hashed
// cookie. It is derived from i so that families can name their session,
// and from the secret key so that no one can present a cookie for it.
func sessionID(key []byte, i int64) string {
	h := sha256.New()
	h.Write(key)
	fmt.Fprintf(h, "/%d", i)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// randomID is shaped like a stored token hash (base64url SHA-256).
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
