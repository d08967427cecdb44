package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/sqlite"
	"github.com/torii-idp/torii/storage/storagetest"
)

func open(t testing.TB, file string) *sqlite.Storage {
	t.Helper()
	s, err := sqlite.Open(context.Background(), file, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", file, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawDB opens the file directly, bypassing the backend, to inspect or
// tamper with it.
func rawDB(t *testing.T, file string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		// A missing parent directory is created.
		return open(t, filepath.Join(t.TempDir(), "state", "torii.db"))
	})
}

func TestMigrationsRecorded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "torii.db")
	open(t, file)
	db := rawDB(t, file)

	rows, err := db.Query(`SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, fmt.Sprintf("%04d_", v)) {
			t.Errorf("migration %d recorded with name %q", v, name)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := sqlite.SchemaVersion(); len(versions) != want || want < 1 || versions[len(versions)-1] != want {
		t.Errorf("recorded versions %v, want 1..%d", versions, want)
	}

	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}

	// Opening again applies nothing twice.
	s2, err := sqlite.Open(context.Background(), file, nil)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	_ = s2.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(versions) {
		t.Errorf("after reopening, %d migrations recorded, want %d", n, len(versions))
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	file := filepath.Join(t.TempDir(), "torii.db")
	s := open(t, file)
	_ = s.Close()

	newer := sqlite.SchemaVersion() + 1
	db := rawDB(t, file)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)`, newer); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(context.Background(), file, nil)
	if err == nil {
		t.Fatal("Open accepted a database with a newer schema")
	}
	for _, want := range []string{strconv.Itoa(newer), strconv.Itoa(sqlite.SchemaVersion()), "newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOpenRejectsNonFiles(t *testing.T) {
	for _, file := range []string{"", ":memory:", "file:x.db?mode=memory", filepath.Join(t.TempDir(), "a?b.db")} {
		t.Run(file, func(t *testing.T) {
			if s, err := sqlite.Open(context.Background(), file, nil); err == nil {
				_ = s.Close()
				t.Errorf("Open(%q) succeeded, want an error", file)
			}
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "torii.db")
	s, err := sqlite.Open(ctx, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := storage.RefreshToken{ID: "rt", FamilyID: "fam", ClientID: "c", Scopes: []string{"openid"},
		CreatedAt: time.UnixMicro(1_700_000_000_123_456).UTC()}
	keys := storage.Keys{Active: []byte(`{"kid":"a"}`), NextRotation: time.UnixMicro(1_800_000_000_000_000).UTC()}
	if err := s.CreateRefresh(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateKeys(ctx, func(storage.Keys) (storage.Keys, error) { return keys, nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx, "other", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, file)
	got, err := s.GetRefresh(ctx, "rt")
	if err != nil || got.ClientID != "c" || !got.CreatedAt.Equal(rt.CreatedAt) || len(got.Scopes) != 1 {
		t.Errorf("refresh token after reopen = %+v, %v", got, err)
	}
	k, err := s.GetKeys(ctx)
	if err != nil || string(k.Active) != `{"kid":"a"}` || !k.NextRotation.Equal(keys.NextRotation) {
		t.Errorf("keys after reopen = %+v, %v", k, err)
	}
	if revoked, err := s.GrantRevoked(ctx, "other"); err != nil || !revoked {
		t.Errorf("GrantRevoked after reopen = %v, %v", revoked, err)
	}
}

// TestTwoStoresRotateOnce models two processes sharing one file: each has
// its own writer connection, and the file lock must still serialize them.
func TestTwoStoresRotateOnce(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "torii.db")
	stores := []*sqlite.Storage{open(t, file), open(t, file)}
	now := time.Now().UTC().Truncate(time.Microsecond)
	initial := storage.Keys{Active: []byte("k0"), Next: []byte("k1"), NextRotation: now.Add(-time.Second)}
	if err := stores[0].UpdateKeys(ctx, func(storage.Keys) (storage.Keys, error) { return initial, nil }); err != nil {
		t.Fatal(err)
	}

	const perStore = 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStore)
	for i, s := range stores {
		for j := range perStore {
			wg.Go(func() {
				errs <- s.UpdateKeys(ctx, func(k storage.Keys) (storage.Keys, error) {
					if k.NextRotation.After(now) {
						return k, nil
					}
					k.Retired = append(k.Retired, storage.RetiredKey{JWK: k.Active, Expiry: now.Add(time.Hour)})
					k.Active, k.Next = k.Next, fmt.Appendf(nil, "store%d-%d", i, j)
					k.NextRotation = now.Add(time.Hour)
					return k, nil
				})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("UpdateKeys: %v", err)
		}
	}
	for i, s := range stores {
		k, err := s.GetKeys(ctx)
		if err != nil {
			t.Fatalf("store %d GetKeys: %v", i, err)
		}
		if len(k.Retired) != 1 || string(k.Active) != "k1" {
			t.Errorf("store %d sees %d rotations (active %q), want exactly 1 (active k1)", i, len(k.Retired), k.Active)
		}
	}
}

// TestGarbageCollectBatches removes more rows than one batch holds.
func TestGarbageCollectBatches(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "torii.db"))
	now := time.Now().UTC().Truncate(time.Microsecond)
	const expired = 2345
	for i := range expired + 7 {
		exp := now.Add(-time.Minute)
		if i >= expired {
			exp = now.Add(time.Minute)
		}
		r := storage.RefreshToken{ID: fmt.Sprintf("rt-%05d", i), FamilyID: "f", CreatedAt: now, Expiry: exp}
		if err := s.CreateRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.GarbageCollect(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.RefreshTokens != expired {
		t.Errorf("GarbageCollect removed %d refresh tokens, want %d", res.RefreshTokens, expired)
	}
	if _, err := s.GetRefresh(ctx, fmt.Sprintf("rt-%05d", expired)); err != nil {
		t.Errorf("live token removed: %v", err)
	}
	if _, err := s.GetRefresh(ctx, "rt-00000"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired token kept: %v", err)
	}
}

// The backend keeps torii_sessions_live.
var _ storage.SessionCounter = (*sqlite.Storage)(nil)
