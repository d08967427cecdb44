package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
)

// Each benchmark runs against memory as the baseline of the same run, so
// the figure to compare is the sqlite/memory ratio, not absolute ns/op.
func benchStores(b *testing.B, fn func(b *testing.B, s storage.Storage)) {
	b.Run("memory", func(b *testing.B) { fn(b, memory.New()) })
	b.Run("sqlite", func(b *testing.B) { fn(b, open(b, filepath.Join(b.TempDir(), "bench.db"))) })
}

func benchToken(id string) storage.RefreshToken {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return storage.RefreshToken{
		ID: id, FamilyID: "fam-" + id, ClientID: "kubeflow",
		Scopes:        []string{"openid", "email", "groups", "offline_access"},
		ConnectorID:   "ldap",
		ConnectorData: []byte(`{"dn":"uid=jane,ou=people,dc=example,dc=org"}`),
		Claims: storage.Claims{UserID: "uid=jane,ou=people,dc=example,dc=org", Username: "jane",
			Email: "jane@example.org", EmailVerified: true, Groups: []string{"admins", "kubeflow-users"}},
		FamilyCreatedAt: now, CreatedAt: now, LastUsed: now, Expiry: now.Add(24 * time.Hour),
	}
}

// BenchmarkCreateGetRefresh is one refresh-token issue and lookup per op.
func BenchmarkCreateGetRefresh(b *testing.B) {
	benchStores(b, func(b *testing.B, s storage.Storage) {
		ctx := context.Background()
		var n atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := fmt.Sprintf("rt-%d", n.Add(1))
				if err := s.CreateRefresh(ctx, benchToken(id)); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.GetRefresh(ctx, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkUpdateRefresh is one atomic read-modify-write per op, each
// goroutine on its own token (the rotation path's LastUsed bump).
func BenchmarkUpdateRefresh(b *testing.B) {
	benchStores(b, func(b *testing.B, s storage.Storage) {
		ctx := context.Background()
		var n atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			id := fmt.Sprintf("rt-%d", n.Add(1))
			if err := s.CreateRefresh(ctx, benchToken(id)); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				err := s.UpdateRefresh(ctx, id, func(r storage.RefreshToken) (storage.RefreshToken, error) {
					r.LastUsed = r.LastUsed.Add(time.Microsecond)
					return r, nil
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkRotate8 is the refresh grant's two writes (create the new token,
// mark the old one rotated) from 8 concurrent sessions, as in the
// torii-load refresh target; on SQLite this is where group commit counts.
func BenchmarkRotate8(b *testing.B) {
	benchStores(b, func(b *testing.B, s storage.Storage) {
		ctx := context.Background()
		var n atomic.Int64
		b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			cur := fmt.Sprintf("rt-%d", n.Add(1))
			if err := s.CreateRefresh(ctx, benchToken(cur)); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				next := fmt.Sprintf("rt-%d", n.Add(1))
				if err := s.CreateRefresh(ctx, benchToken(next)); err != nil {
					b.Error(err)
					return
				}
				err := s.UpdateRefresh(ctx, cur, func(r storage.RefreshToken) (storage.RefreshToken, error) {
					r.RotatedAt = r.LastUsed
					return r, nil
				})
				if err != nil {
					b.Error(err)
					return
				}
				cur = next
			}
		})
		if g, ok := s.(interface{ GroupStats() (int64, int64) }); ok {
			groups, writes := g.GroupStats()
			b.ReportMetric(float64(writes)/float64(max(groups, 1)), "writes/commit")
		}
	})
}

// BenchmarkCountSessions is the torii_sessions_live query on 10,000
// sessions (3,000 expired), next to reading one session by ID (the cost of
// one request's session lookup) as the baseline of the same run.
func BenchmarkCountSessions(b *testing.B) {
	benchStores(b, func(b *testing.B, s storage.Storage) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0)
		for i := range 10_000 {
			created := now.Add(-time.Duration(i%10) * time.Hour)
			ss := storage.Session{ID: fmt.Sprintf("sess-%05d", i), ConnectorID: "local",
				Claims: storage.Claims{UserID: fmt.Sprintf("user-%d", i%500)}, CreatedAt: created,
				AbsoluteExpiry: created.Add(24 * time.Hour), IdleExpiry: created.Add(6 * time.Hour)}
			if err := s.CreateSession(ctx, ss); err != nil {
				b.Fatal(err)
			}
		}
		c := s.(storage.SessionCounter)
		if n, err := c.CountSessions(ctx, now); err != nil || n != 7000 {
			b.Fatalf("CountSessions = %d, %v; want 7000", n, err)
		}
		b.Run("count", func(b *testing.B) {
			for b.Loop() {
				if _, err := c.CountSessions(ctx, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("get-one", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.GetSession(ctx, "sess-04242"); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkRotateOne8 is the refresh grant's rotation as one write
// (storage.RotateRefresh) from 8 concurrent sessions: BenchmarkRotate8's
// work in one group-commit write instead of two.
func BenchmarkRotateOne8(b *testing.B) {
	benchStores(b, func(b *testing.B, s storage.Storage) {
		ctx := context.Background()
		var n atomic.Int64
		b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			cur := fmt.Sprintf("rt-%d", n.Add(1))
			if err := s.CreateRefresh(ctx, benchToken(cur)); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				next := fmt.Sprintf("rt-%d", n.Add(1))
				now := time.Now()
				err := storage.RotateRefresh(ctx, s, cur, benchToken(next), func(r storage.RefreshToken) (storage.RefreshToken, error) {
					r.LastUsed, r.RotatedAt, r.Expiry = now, now, now.Add(time.Hour)
					return r, nil
				})
				if err != nil {
					b.Error(err)
					return
				}
				cur = next
			}
		})
		if g, ok := s.(interface{ GroupStats() (int64, int64) }); ok {
			groups, writes := g.GroupStats()
			b.ReportMetric(float64(writes)/float64(max(groups, 1)), "writes/commit")
		}
	})
}
