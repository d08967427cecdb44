// Package seed fills a storage backend with refresh-token families for the
// scale measurements (torii seed, torii-load --seed): realistic rows, as
// fast as the backend takes them.
package seed

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
	Now     time.Time
	// Progress, if set, is called about every 100,000 rows.
	Progress func(done int)
}

// Refresh creates the families and returns how many rows it wrote.
func Refresh(ctx context.Context, s storage.Storage, o Options) (int, error) {
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
				if i >= int64(o.Families) || ctx.Err() != nil {
					return
				}
				for _, t := range family(o, i) {
					if err := s.CreateRefresh(ctx, t); err != nil {
						once.Do(func() { firstErr = fmt.Errorf("seed refresh token %d: %w", i, err); cancel() })
						return
					}
					if n := rows.Add(1); o.Progress != nil && n%100_000 == 0 {
						o.Progress(int(n))
					}
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

// randomID is shaped like a stored token hash (base64url SHA-256).
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
