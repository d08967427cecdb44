package postgres

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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

// BenchmarkUpdateRoundTrips compares the pipelined read-modify-write of
// UpdateRefresh with the same work done statement by statement (BEGIN,
// SELECT ... FOR UPDATE, UPDATE, COMMIT: four round trips), the baseline.
//
// Sub-benchmarks "local" use the database directly; "rtt=1ms" go through a
// proxy that delays each direction by 0.5ms, as a database on another node
// would, which is where round trips dominate.
func BenchmarkUpdateRoundTrips(b *testing.B) {
	dsn := testpg.DSN(b)
	var next atomic.Int64 // token ids, unique across sub-benchmarks sharing dsn
	b.Run("local", func(b *testing.B) { benchRoundTrips(b, openDSN(b, dsn), &next) })
	b.Run("rtt=1ms", func(b *testing.B) {
		u, err := url.Parse(dsn)
		if err != nil {
			b.Fatal(err)
		}
		u.Host = delayProxy(b, u.Host, 500*time.Microsecond)
		benchRoundTrips(b, openDSN(b, u.String()), &next)
	})
}

func benchRoundTrips(b *testing.B, s *Storage, next *atomic.Int64) {
	ctx := context.Background()
	touch := func(r storage.RefreshToken) (storage.RefreshToken, error) {
		r.LastUsed = time.Now()
		return r, nil
	}
	sequential := func(id string) error {
		return s.inTx(ctx, "bench", func(tx pgx.Tx) error {
			r, err := scanRefresh(tx.QueryRow(ctx, selectRefresh+" FOR UPDATE", id))
			if err != nil {
				return err
			}
			r, _ = touch(r)
			_, err = tx.Exec(ctx, updateRefresh, refreshArgs(id, r)...)
			return err
		})
	}
	pipelined := func(id string) error { return s.UpdateRefresh(ctx, id, touch) }
	for _, bm := range []struct {
		name string
		fn   func(id string) error
	}{{"sequential", sequential}, {"pipelined", pipelined}} {
		b.Run(bm.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("rt-", next.Add(1))
				if err := s.CreateRefresh(ctx, benchRefresh(id)); err != nil {
					b.Error(err)
					return
				}
				for pb.Next() {
					if err := bm.fn(id); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// delayProxy listens on a local port and forwards every connection to
// target, delaying each chunk by d in both directions; it returns its
// address.
func delayProxy(b *testing.B, target string, d time.Duration) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				time.Sleep(d)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return l.Addr().String()
}
