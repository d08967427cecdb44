package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func sampleSession(id, userID string, created time.Time) storage.Session {
	c := sampleClaims()
	c.UserID = userID
	return storage.Session{
		ID:             id,
		ConnectorID:    "ldap",
		Claims:         c,
		ConnectorData:  []byte{0, 1, 0xfe},
		AuthTime:       created,
		CreatedAt:      created,
		LastUsed:       created.Add(time.Minute),
		AbsoluteExpiry: created.Add(24 * time.Hour),
		IdleExpiry:     created.Add(time.Hour + time.Minute),
		RememberMe:     true,
		Clients:        []string{"client-a", "client-b"},
		Consents:       map[string][]string{"client-a": {"openid", "email"}},
	}
}

func testSessionCRUD(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := sampleSession("sess-1", "user-1", baseTime())
	if err := s.CreateSession(ctx, want); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if err := s.CreateSession(ctx, want); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("CreateSession twice = %v; want ErrAlreadyExists", err)
	}
	got, err := s.GetSession(ctx, "sess-1")
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	assertEqual(t, "created session", got, want)
	if !got.Expiry().Equal(want.IdleExpiry) {
		t.Errorf("Expiry() = %v; want the idle expiry %v", got.Expiry(), want.IdleExpiry)
	}

	err = s.UpdateSession(ctx, "sess-1", func(ss storage.Session) (storage.Session, error) {
		ss.ID = "ignored"
		ss.LastUsed = ss.LastUsed.Add(time.Minute)
		ss.IdleExpiry = ss.LastUsed.Add(time.Hour)
		ss.Clients = append(ss.Clients, "client-c")
		ss.Consents["client-c"] = []string{"openid"}
		return ss, nil
	})
	if err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	want.LastUsed = want.LastUsed.Add(time.Minute)
	want.IdleExpiry = want.LastUsed.Add(time.Hour)
	want.Clients = append(want.Clients, "client-c")
	want.Consents["client-c"] = []string{"openid"}
	got, err = s.GetSession(ctx, "sess-1")
	if err != nil {
		t.Fatalf("GetSession after update: %v", err)
	}
	assertEqual(t, "updated session", got, want)

	if err := s.UpdateSession(ctx, "sess-1", func(ss storage.Session) (storage.Session, error) {
		ss.Clients = nil
		return ss, errAbort
	}); !errors.Is(err, errAbort) {
		t.Errorf("aborted UpdateSession = %v; want errAbort", err)
	}
	if got, _ := s.GetSession(ctx, "sess-1"); len(got.Clients) != 3 {
		t.Errorf("aborted update was written: %v", got.Clients)
	}
	if err := s.UpdateSession(ctx, "nope", func(ss storage.Session) (storage.Session, error) { return ss, nil }); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UpdateSession(unknown) = %v; want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, "sess-1"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := s.GetSession(ctx, "sess-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetSession after delete = %v; want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, "sess-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("DeleteSession twice = %v; want ErrNotFound", err)
	}
}

func testSessionsPerUser(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	t0 := baseTime()
	for i, ss := range []storage.Session{
		sampleSession("b-second", "jane", t0.Add(time.Minute)),
		sampleSession("a-first", "jane", t0),
		sampleSession("c-other-user", "john", t0),
	} {
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatalf("CreateSession %d: %v", i, err)
		}
	}
	other := sampleSession("d-other-connector", "jane", t0)
	other.ConnectorID = "local"
	if err := s.CreateSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListUserSessions(ctx, "ldap", "jane")
	if err != nil {
		t.Fatalf("ListUserSessions: %v", err)
	}
	var ids []string
	for _, ss := range got {
		ids = append(ids, ss.ID)
	}
	if !slices.Equal(ids, []string{"a-first", "b-second"}) {
		t.Errorf("ListUserSessions(ldap, jane) = %v; want [a-first b-second]", ids)
	}
	if len(got) == 2 {
		assertEqual(t, "listed session", got[0], sampleSession("a-first", "jane", t0))
	}
	if got, err := s.ListUserSessions(ctx, "ldap", "nobody"); err != nil || len(got) != 0 {
		t.Errorf("ListUserSessions(nobody) = %v, %v", got, err)
	}
	n, err := s.DeleteUserSessions(ctx, "ldap", "jane")
	if err != nil || n != 2 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 2", n, err)
	}
	if got, _ := s.ListUserSessions(ctx, "ldap", "jane"); len(got) != 0 {
		t.Errorf("sessions left after DeleteUserSessions: %d", len(got))
	}
	for _, id := range []string{"c-other-user", "d-other-connector"} {
		if _, err := s.GetSession(ctx, id); err != nil {
			t.Errorf("DeleteUserSessions removed %s: %v", id, err)
		}
	}
}

func testSessionConcurrentUpdates(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	ss := sampleSession("sess-c", "jane", baseTime())
	ss.Clients = nil
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.UpdateSession(ctx, "sess-c", func(ss storage.Session) (storage.Session, error) {
				ss.Clients = append(ss.Clients, fmt.Sprint("client-", i))
				return ss, nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent UpdateSession: %v", err)
		}
	}
	got, err := s.GetSession(ctx, "sess-c")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Clients) != concurrency {
		t.Errorf("%d clients recorded after %d concurrent updates: a lost update", len(got.Clients), concurrency)
	}
}

func testSessionGarbageCollect(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := baseTime()
	idle := sampleSession("idle", "jane", now.Add(-2*time.Hour)) // idle expiry 1h ago
	absolute := sampleSession("absolute", "jane", now.Add(-2*time.Hour))
	absolute.IdleExpiry = now.Add(time.Hour)
	absolute.AbsoluteExpiry = now.Add(-time.Second)
	live := sampleSession("live", "jane", now.Add(-time.Minute))
	for _, ss := range []storage.Session{idle, absolute, live} {
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.GarbageCollect(ctx, now)
	if err != nil {
		t.Fatalf("GarbageCollect: %v", err)
	}
	if res.Sessions != 2 {
		t.Errorf("GarbageCollect removed %d sessions; want 2", res.Sessions)
	}
	if _, err := s.GetSession(ctx, "live"); err != nil {
		t.Errorf("live session collected: %v", err)
	}
	for _, id := range []string{"idle", "absolute"} {
		if _, err := s.GetSession(ctx, id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("expired session %s: %v", id, err)
		}
	}
}

func testSessionCount(t *testing.T, s storage.Storage) {
	c, ok := s.(storage.SessionCounter)
	if !ok {
		t.Skip("the backend does not implement storage.SessionCounter: torii_sessions_live is not reported for it")
	}
	ctx := context.Background()
	now := baseTime()
	if n, err := c.CountSessions(ctx, now); err != nil || n != 0 {
		t.Fatalf("CountSessions on an empty store = %d, %v; want 0", n, err)
	}
	idle := sampleSession("idle", "jane", now.Add(-2*time.Hour)) // idle expiry 1h ago
	edge := sampleSession("edge", "jane", now.Add(-time.Hour))
	edge.IdleExpiry = now // expires exactly now: still live
	live := sampleSession("live", "joe", now.Add(-time.Minute))
	other := sampleSession("other", "jane", now)
	other.ConnectorID = "local"
	for _, ss := range []storage.Session{idle, edge, live, other} {
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.CountSessions(ctx, now); err != nil || n != 3 {
		t.Errorf("CountSessions = %d, %v; want 3 (every user and connector, not the expired one)", n, err)
	}
	if n, err := c.CountSessions(ctx, now.Add(time.Millisecond)); err != nil || n != 2 {
		t.Errorf("CountSessions just after the edge expiry = %d, %v; want 2", n, err)
	}
	if err := s.DeleteSession(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if n, err := c.CountSessions(ctx, now); err != nil || n != 2 {
		t.Errorf("CountSessions after a delete = %d, %v; want 2", n, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.CountSessions(cancelled, now); err == nil {
		t.Error("CountSessions with a cancelled context succeeded")
	}
}
