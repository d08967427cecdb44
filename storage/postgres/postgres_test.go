package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/torii-idp/torii/internal/testpg"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/storagetest"
)

// openDSN opens a Storage on dsn, closed in t.Cleanup.
func openDSN(t testing.TB, dsn string) *Storage {
	t.Helper()
	s, err := Open(context.Background(), Config{DSN: dsn}, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	admin := testpg.AdminDSN(t)
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		return openDSN(t, testpg.CreateDatabase(t, admin))
	})
}

func exec(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryInt(t *testing.T, dsn, sql string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestMigrations(t *testing.T) {
	dsn := testpg.DSN(t)
	latest := SchemaVersion()
	if latest < 1 {
		t.Fatalf("SchemaVersion() = %d", latest)
	}
	openDSN(t, dsn).Close()
	if got := queryInt(t, dsn, "SELECT max(version) FROM torii_schema_version"); got != latest {
		t.Errorf("schema version after Open = %d, want %d", got, latest)
	}
	// Reopening applies nothing twice.
	openDSN(t, dsn).Close()
	if got := queryInt(t, dsn, "SELECT count(*) FROM torii_schema_version"); got != latest {
		t.Errorf("%d version rows after a second Open, want %d", got, latest)
	}
	for _, table := range []string{"auth_requests", "auth_codes", "refresh_tokens", "revoked_grants", "signing_keys"} {
		if n := queryInt(t, dsn, "SELECT count(*) FROM information_schema.tables WHERE table_name = $1", table); n != 1 {
			t.Errorf("table %s missing after migration", table)
		}
	}
}

func TestConcurrentOpenOnFreshDatabase(t *testing.T) {
	dsn := testpg.DSN(t)
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	start := make(chan struct{})
	for i := range replicas {
		wg.Go(func() {
			<-start
			s, err := Open(context.Background(), Config{DSN: dsn}, nil)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Open: %v", err)
	}
	if got := queryInt(t, dsn, "SELECT count(*) FROM torii_schema_version"); got != SchemaVersion() {
		t.Errorf("%d version rows, want %d", got, SchemaVersion())
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dsn := testpg.DSN(t)
	openDSN(t, dsn).Close()
	newer := SchemaVersion() + 7
	exec(t, dsn, "INSERT INTO torii_schema_version (version, name) VALUES ($1, 'from the future')", newer)
	_, err := Open(context.Background(), Config{DSN: dsn}, nil)
	if err == nil {
		t.Fatal("Open succeeded on a database with a newer schema")
	}
	for _, want := range []string{fmt.Sprint(newer), fmt.Sprint(SchemaVersion())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name version %s", err, want)
		}
	}
}

// TestKeysRotateOnceAcrossReplicas races two stores (two pools, as two
// replicas would have) rotating keys that are due.
func TestKeysRotateOnceAcrossReplicas(t *testing.T) {
	dsn := testpg.DSN(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	ctx := context.Background()
	due := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := a.UpdateKeys(ctx, func(storage.Keys) (storage.Keys, error) {
		return storage.Keys{Active: []byte(`{"kid":"k0"}`), Next: []byte(`{"kid":"k1"}`), NextRotation: due}, nil
	}); err != nil {
		t.Fatal(err)
	}
	const rounds = 10
	var mu sync.Mutex
	rotations := 0
	rotate := func(s *Storage, i int) error {
		return s.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) {
			if k.NextRotation.After(due) { // someone else rotated already
				return k, nil
			}
			mu.Lock()
			rotations++
			mu.Unlock()
			k.Retired = append(k.Retired, storage.RetiredKey{JWK: k.Active, Expiry: due.Add(time.Hour)})
			k.Active, k.Next = k.Next, []byte(fmt.Sprintf(`{"kid":"by-%d"}`, i))
			k.NextRotation = due.Add(24 * time.Hour)
			return k, nil
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, rounds)
	for i := range rounds {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() { errs[i] = rotate(s, i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if rotations != 1 {
		t.Errorf("%d rotations, want exactly 1", rotations)
	}
	k, err := b.GetKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(k.Active) != `{"kid":"k1"}` || len(k.Retired) != 1 {
		t.Errorf("after rotation active=%s retired=%d, want k1 and one retired key", k.Active, len(k.Retired))
	}
}

// TestFirstKeysOnceAcrossReplicas: on an empty database every replica
// wants to create the first key; only one may.
func TestFirstKeysOnceAcrossReplicas(t *testing.T) {
	dsn := testpg.DSN(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	ctx := context.Background()
	var mu sync.Mutex
	created := 0
	var wg sync.WaitGroup
	for i := range 6 {
		s := []*Storage{a, b}[i%2]
		wg.Go(func() {
			err := s.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) {
				if k.Active != nil {
					return k, nil
				}
				mu.Lock()
				created++
				mu.Unlock()
				k.Active = []byte(fmt.Sprintf(`{"kid":"first-%d"}`, i))
				return k, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("first key created %d times, want 1", created)
	}
}

func sampleCode(id string) storage.AuthCode {
	return storage.AuthCode{ID: id, ClientID: "c", RedirectURI: "https://app/cb", Scopes: []string{"openid"},
		Claims: storage.Claims{UserID: "u"}, Expiry: time.Now().Add(time.Minute)}
}

func TestRedeemOnceAcrossReplicas(t *testing.T) {
	dsn := testpg.DSN(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	ctx := context.Background()
	if err := a.CreateAuthCode(ctx, sampleCode("code")); err != nil {
		t.Fatal(err)
	}
	errRedeemed := errors.New("already redeemed")
	const tries = 10
	results := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		s := []*Storage{a, b}[i%2]
		wg.Go(func() {
			results[i] = s.UpdateAuthCode(ctx, "code", func(c storage.AuthCode) (storage.AuthCode, error) {
				if c.Redeemed {
					return c, errRedeemed
				}
				c.Redeemed, c.GrantID = true, fmt.Sprint("grant-", i)
				return c, nil
			})
		})
	}
	wg.Wait()
	winners := 0
	for _, err := range results {
		switch {
		case err == nil:
			winners++
		case err != errRedeemed: //nolint:errorlint // must be returned unchanged
			t.Errorf("unexpected error %v", err)
		}
	}
	if winners != 1 {
		t.Errorf("%d redemptions succeeded, want exactly 1", winners)
	}
}

func TestRefreshUpdatesSerializeAcrossReplicas(t *testing.T) {
	dsn := testpg.DSN(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	ctx := context.Background()
	if err := a.CreateRefresh(ctx, storage.RefreshToken{ID: "rt", FamilyID: "f", ClientID: "c"}); err != nil {
		t.Fatal(err)
	}
	const updates = 20
	errs := make([]error, updates)
	var wg sync.WaitGroup
	for i := range updates {
		s := []*Storage{a, b}[i%2]
		wg.Go(func() {
			errs[i] = s.UpdateRefresh(ctx, "rt", func(r storage.RefreshToken) (storage.RefreshToken, error) {
				r.Scopes = append(r.Scopes, fmt.Sprint(i))
				return r, nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent UpdateRefresh: %v", err)
	}
	r, err := b.GetRefresh(ctx, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Scopes) != updates {
		t.Errorf("%d updates recorded, want %d (an update was lost)", len(r.Scopes), updates)
	}
}

func TestGarbageCollectBatches(t *testing.T) {
	dsn := testpg.DSN(t)
	s := openDSN(t, dsn)
	s.gcPace = storage.GCPace{First: 7, Min: 7, Max: 7, Yield: 0}
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	const expired, live = 50, 5
	for i := range expired + live {
		exp := now.Add(-time.Minute)
		if i >= expired {
			exp = now.Add(time.Minute)
		}
		if err := s.CreateAuthRequest(ctx, storage.AuthRequest{ID: fmt.Sprint("r", i), Expiry: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRefresh(ctx, storage.RefreshToken{ID: fmt.Sprint("t", i), FamilyID: "f", Expiry: exp}); err != nil {
			t.Fatal(err)
		}
	}
	// A refresh token without expiry is never collected.
	if err := s.CreateRefresh(ctx, storage.RefreshToken{ID: "forever", FamilyID: "f"}); err != nil {
		t.Fatal(err)
	}
	res, err := s.GarbageCollect(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.AuthRequests != expired || res.RefreshTokens != expired {
		t.Errorf("GC removed %+v, want %d auth requests and %d refresh tokens", res, expired, expired)
	}
	if n := queryInt(t, dsn, "SELECT count(*) FROM refresh_tokens"); n != live+1 {
		t.Errorf("%d refresh tokens left, want %d", n, live+1)
	}
}

func TestGarbageCollectSingleRunner(t *testing.T) {
	dsn := testpg.DSN(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := a.CreateAuthRequest(ctx, storage.AuthRequest{ID: "old", Expiry: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Another replica is collecting: it holds the GC lock.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockGC); err != nil {
		t.Fatal(err)
	}
	res, err := b.GarbageCollect(ctx, now)
	if err != nil || res != (storage.GCResult{}) {
		t.Errorf("GC while another replica collects = %+v, %v; want zero counts, nil", res, err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockGC); err != nil {
		t.Fatal(err)
	}
	res, err = b.GarbageCollect(ctx, now)
	if err != nil || res.AuthRequests != 1 {
		t.Errorf("GC after the lock was released = %+v, %v; want 1 auth request", res, err)
	}
	// The lock is released after a run: the other store can collect.
	if _, err := a.GarbageCollect(ctx, now); err != nil {
		t.Fatal(err)
	}
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockGC).Scan(&locked); err != nil || !locked {
		t.Errorf("GC lock still held after GarbageCollect returned (%v)", err)
	}
}

// TestLosingTheDatabase stops a private PostgreSQL under an open Storage:
// calls fail fast with ErrUnavailable; once it is back the same Storage
// works again.
func TestLosingTheDatabase(t *testing.T) {
	cluster := testpg.StartCluster(t)
	dsn := testpg.CreateDatabase(t, cluster.AdminDSN())
	s := openDSN(t, dsn)
	ctx := context.Background()
	if err := s.CreateRefresh(ctx, storage.RefreshToken{ID: "before", FamilyID: "f"}); err != nil {
		t.Fatal(err)
	}

	cluster.Stop()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", s.Ping},
		{"GetRefresh", func(ctx context.Context) error { _, err := s.GetRefresh(ctx, "before"); return err }},
		{"CreateRefresh", func(ctx context.Context) error {
			return s.CreateRefresh(ctx, storage.RefreshToken{ID: "during", FamilyID: "f"})
		}},
		{"UpdateRefresh", func(ctx context.Context) error {
			return s.UpdateRefresh(ctx, "before", func(r storage.RefreshToken) (storage.RefreshToken, error) { return r, nil })
		}},
		{"GetKeys", func(ctx context.Context) error { _, err := s.GetKeys(ctx); return err }},
		{"GarbageCollect", func(ctx context.Context) error { _, err := s.GarbageCollect(ctx, time.Now()); return err }},
	}
	for _, c := range calls {
		t.Run("down/"+c.name, func(t *testing.T) {
			// A generous deadline: failing fast means ErrUnavailable comes
			// back, not the deadline.
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := c.call(ctx); !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("got %v, want storage.ErrUnavailable", err)
			}
		})
	}

	cluster.Start()
	for _, c := range calls {
		t.Run("back/"+c.name, func(t *testing.T) {
			if err := c.call(ctx); err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("after restart: %v", err)
			}
		})
	}
	if _, err := s.GetRefresh(ctx, "before"); err != nil {
		t.Errorf("token stored before the outage: %v", err)
	}
}

func TestConfigDSN(t *testing.T) {
	tests := []struct {
		name    string
		c       Config
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "fields", c: Config{Host: "db.example", Database: "dex", User: "dex", Password: "p'w", SSL: SSL{Mode: "disable"}},
			check: func(t *testing.T, c Config) {
				pc, err := c.poolConfig()
				if err != nil {
					t.Fatal(err)
				}
				cc := pc.ConnConfig
				if cc.Host != "db.example" || cc.Port != 5432 || cc.Database != "dex" || cc.User != "dex" || cc.Password != "p'w" || cc.TLSConfig != nil {
					t.Errorf("parsed %s:%d/%s user=%s tls=%v", cc.Host, cc.Port, cc.Database, cc.User, cc.TLSConfig != nil)
				}
				if cc.ConnectTimeout != 5*time.Second {
					t.Errorf("connect timeout %v, want 5s default", cc.ConnectTimeout)
				}
			}},
		{name: "host with port", c: Config{Host: "db:6543", Database: "d", SSL: SSL{Mode: "disable"}},
			check: func(t *testing.T, c Config) {
				pc, err := c.poolConfig()
				if err != nil || pc.ConnConfig.Port != 6543 || pc.ConnConfig.Host != "db" {
					t.Errorf("got %v, %v", pc, err)
				}
			}},
		{name: "verify-full by default", c: Config{Host: "db", Database: "d"},
			check: func(t *testing.T, c Config) {
				pc, err := c.poolConfig()
				if err != nil || pc.ConnConfig.TLSConfig == nil || pc.ConnConfig.TLSConfig.InsecureSkipVerify {
					t.Errorf("default TLS not verifying: %v", err)
				}
			}},
		{name: "server name", c: Config{Host: "10.0.0.1", Database: "d", SSL: SSL{Mode: "verify-full", ServerName: "db.internal"}},
			check: func(t *testing.T, c Config) {
				pc, err := c.poolConfig()
				if err != nil || pc.ConnConfig.TLSConfig.ServerName != "db.internal" {
					t.Errorf("server name not applied: %v", err)
				}
			}},
		{name: "dsn and host", c: Config{DSN: "postgres://x/y", Host: "h"}, wantErr: "either dsn"},
		{name: "no host", c: Config{Database: "d"}, wantErr: "host"},
		{name: "bad mode", c: Config{Host: "h", Database: "d", SSL: SSL{Mode: "sometimes"}}, wantErr: "ssl.mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.poolConfig()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			tt.check(t, tt.c)
		})
	}
}

// The backend keeps torii_sessions_live.
var _ storage.SessionCounter = (*Storage)(nil)
