package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torii-idp/torii/internal/testpg"
	"github.com/torii-idp/torii/storage"
)

func benchStorage(b *testing.B) *Storage {
	b.Helper()
	return openDSN(b, testpg.DSN(b))
}

func benchRefresh(id string) storage.RefreshToken {
	now := time.Now().UTC()
	return storage.RefreshToken{ID: id, FamilyID: "fam-" + id, ClientID: "client", Scopes: []string{"openid", "offline_access"},
		Claims:          storage.Claims{UserID: "u", Username: "user", Email: "u@example.org", Groups: []string{"a", "b"}},
		FamilyCreatedAt: now, CreatedAt: now, LastUsed: now, Expiry: now.Add(time.Hour)}
}

// BenchmarkRefreshUpdate: every goroutine rotates its own token (the
// common case: many users refreshing at once).
func BenchmarkRefreshUpdate(b *testing.B) {
	s := benchStorage(b)
	ctx := context.Background()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprint("rt-", next.Add(1))
		if err := s.CreateRefresh(ctx, benchRefresh(id)); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			err := s.UpdateRefresh(ctx, id, func(r storage.RefreshToken) (storage.RefreshToken, error) {
				r.LastUsed = time.Now()
				return r, nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRefreshUpdateContended: every goroutine updates the same row.
func BenchmarkRefreshUpdateContended(b *testing.B) {
	s := benchStorage(b)
	ctx := context.Background()
	if err := s.CreateRefresh(ctx, benchRefresh("hot")); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := s.UpdateRefresh(ctx, "hot", func(r storage.RefreshToken) (storage.RefreshToken, error) {
				r.LastUsed = time.Now()
				return r, nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRefreshCreate(b *testing.B) {
	s := benchStorage(b)
	ctx := context.Background()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.CreateRefresh(ctx, benchRefresh(fmt.Sprint("rt-", next.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRefreshGet(b *testing.B) {
	s := benchStorage(b)
	ctx := context.Background()
	if err := s.CreateRefresh(ctx, benchRefresh("rt")); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetRefresh(ctx, "rt"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCodeRedeem creates and redeems one code per iteration, as the
// code exchange does.
func BenchmarkCodeRedeem(b *testing.B) {
	s := benchStorage(b)
	ctx := context.Background()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint("code-", next.Add(1))
			if err := s.CreateAuthCode(ctx, sampleCode(id)); err != nil {
				b.Error(err)
				return
			}
			err := s.UpdateAuthCode(ctx, id, func(c storage.AuthCode) (storage.AuthCode, error) {
				c.Redeemed, c.GrantID = true, "g"
				return c, nil
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
