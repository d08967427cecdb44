package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// outage is a database that, once armed, fails the next rotation write the
// way a dropped connection does (after the write was stored, or before)
// and then stays unreachable for a number of refresh-token reads (or until
// up), as PostgreSQL does while it restarts.
type outage struct {
	mu       sync.Mutex
	armed    bool
	commit   bool // store the armed write before failing
	downFor  int  // reads failing once the write failed; <0: until up
	left     int  // reads still failing (<0: until up)
	down     bool
	paused   bool // up for a while (another request going through)
	failures int  // reads refused while down
}

var errConnLost = errors.Join(storage.ErrUnavailable, io.ErrUnexpectedEOF)

func (o *outage) arm(commit bool, downFor int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.armed, o.commit, o.downFor = true, commit, downFor
}

// fire takes the armed failure, if any, and starts the outage.
func (o *outage) fire() (armed, commit bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	armed, commit = o.armed, o.commit
	if armed {
		o.armed, o.down, o.left = false, true, o.downFor
	}
	return armed, commit
}

func (o *outage) isDown() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.down && !o.paused
}

// read reports whether a read fails, counting it down.
func (o *outage) read() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down || o.paused {
		return false
	}
	o.failures++
	if o.left > 0 {
		o.left--
		if o.left == 0 {
			o.down = false
		}
	}
	return true
}

func (o *outage) up() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = false
}

func (o *outage) pause(paused bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.paused = paused
}

func (o *outage) refused() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failures
}

// downStore is a store behind an outage: while it is down, refresh-token
// reads and writes fail as unavailable.
type downStore struct {
	storage.Storage
	*outage
}

func (d downStore) GetRefresh(ctx context.Context, id string) (storage.RefreshToken, error) {
	if d.read() {
		return storage.RefreshToken{}, errConnLost
	}
	return d.Storage.GetRefresh(ctx, id)
}

func (d downStore) CreateRefresh(ctx context.Context, r storage.RefreshToken) error {
	if d.isDown() {
		return errConnLost
	}
	return d.Storage.CreateRefresh(ctx, r)
}

func (d downStore) DeleteRefresh(ctx context.Context, id string) error {
	if d.isDown() {
		return errConnLost
	}
	return d.Storage.DeleteRefresh(ctx, id)
}

// lossyStore rotates in one write (storage.RefreshRotator), as PostgreSQL
// does; the armed rotation's answer is what gets lost.
type lossyStore struct{ downStore }

func (l lossyStore) RotateRefresh(ctx context.Context, id string, next storage.RefreshToken, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	armed, commit := l.fire()
	switch {
	case armed && commit:
		if err := storage.RotateRefresh(ctx, l.Storage, id, next, update); err != nil {
			return err
		}
		return errConnLost
	case armed:
		return errConnLost
	case l.isDown():
		return errConnLost
	}
	return storage.RotateRefresh(ctx, l.Storage, id, next, update)
}

var _ storage.RefreshRotator = lossyStore{}

// lossyTwoWrites is a backend without an atomic rotation (as Kubernetes'
// is): storage.RotateRefresh creates the successor, then updates the old
// token, and the update's answer is what gets lost.
type lossyTwoWrites struct{ downStore }

func (l lossyTwoWrites) UpdateRefresh(ctx context.Context, id string, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	armed, commit := l.fire()
	switch {
	case armed && commit:
		if err := l.Storage.UpdateRefresh(ctx, id, update); err != nil {
			return err
		}
		return errConnLost
	case armed:
		return errConnLost
	case l.isDown():
		return errConnLost
	}
	return l.Storage.UpdateRefresh(ctx, id, update)
}

// sleeps is Config.Sleep for tests: it records each wait and returns at
// once, after running hook (if set) on the first.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
	hook  func()
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	hook := s.hook
	s.hook = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return ctx.Err()
}

func (s *sleeps) total() (int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum time.Duration
	for _, d := range s.waits {
		sum += d
	}
	return len(s.waits), sum
}

type lostEnv struct {
	*env
	out    *outage
	sleeps *sleeps
	log    *syncBuffer
}

func newLostEnv(t *testing.T, twoWrites bool) *lostEnv {
	le := &lostEnv{out: &outage{}, sleeps: &sleeps{}, log: &syncBuffer{}}
	le.env = newEnv(t, func(c *server.Config) {
		d := downStore{Storage: c.Storage, outage: le.out}
		if twoWrites {
			c.Storage = lossyTwoWrites{d}
		} else {
			c.Storage = lossyStore{d}
		}
		c.Sleep = le.sleeps.sleep
		c.Logger = slog.New(slog.NewTextHandler(le.log, nil))
	})
	return le
}

func (le *lostEnv) logged(s string) bool {
	le.log.mu.Lock()
	defer le.log.mu.Unlock()
	return strings.Contains(le.log.b.String(), s)
}

var lostBackends = []struct {
	name      string
	twoWrites bool
}{{"one write", false}, {"two writes", true}}

// A refresh whose rotation write fails with the connection (its outcome
// unknown) waits for storage to come back and answers 200 within the same
// request: with the successor it computed if its write was stored, or
// after trying the rotation once more if nothing was. The client never
// holds only the old token, so nothing later looks like a replay; and the
// old token outside the reuse interval still revokes the family.
func TestRefreshLostAnswer(t *testing.T) {
	for _, be := range lostBackends {
		for _, tc := range []struct {
			name   string
			commit bool
		}{
			{"rotation stored, answer lost", true},
			{"nothing stored, retried", false},
		} {
			t.Run(be.name+"/"+tc.name, func(t *testing.T) {
				e := newLostEnv(t, be.twoWrites)
				old := e.passwordTokens("openid email offline_access")["refresh_token"].(string)
				e.out.arm(tc.commit, 3)
				st, r1 := e.refresh(old)
				if st != http.StatusOK || r1["access_token"] == nil || r1["id_token"] == nil {
					t.Fatalf("refresh while the connection drops, storage back after 3 reads: %d %v; want 200 with tokens", st, r1)
				}
				if n := e.out.refused(); n != 3 {
					t.Fatalf("%d reads refused; the request answered before storage came back", n)
				}
				if n, sum := e.sleeps.total(); n != 3 || sum > 10*time.Second {
					t.Fatalf("waited %d times, %v in all; want 3 waits, at most 10s", n, sum)
				}
				stored, err := e.store.GetRefresh(context.Background(), hashForBench(old))
				if err != nil || stored.RotatedAt.IsZero() {
					t.Fatalf("old token after the refresh: %+v, %v; want it rotated", stored, err)
				}
				succ := r1["refresh_token"].(string)
				st, r2 := e.refresh(succ)
				if st != http.StatusOK {
					t.Fatalf("refresh with the successor that was answered: %d %v", st, r2)
				}
				want := "refresh rotation retried"
				if tc.commit {
					want = "refresh rotation stored though its answer was lost"
				}
				if !e.logged(want) {
					t.Errorf("the log does not say %q", want)
				}
				// The old token outside the reuse interval is a replay.
				e.clock.Add(5 * time.Second)
				if st, body := e.refresh(old); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
					t.Fatalf("replay after the reuse interval: %d %v; want invalid_grant", st, body)
				}
				if st, body := e.refresh(r2["refresh_token"].(string)); st != http.StatusBadRequest {
					t.Fatalf("the family survived the replay: %d %v", st, body)
				}
			})
		}
	}
}

// Storage that stays down past the bound: the request gives up after about
// 10 s of waiting, answers 503 and logs that it gave up. If its write was
// stored, the client's retry after the reuse interval is a replay (the
// documented limit): the family is revoked. If nothing was stored, the
// retry is a normal refresh.
func TestRefreshLostAnswerStorageStaysDown(t *testing.T) {
	for _, be := range lostBackends {
		for _, tc := range []struct {
			name   string
			commit bool
		}{
			{"rotation stored", true},
			{"nothing stored", false},
		} {
			t.Run(be.name+"/"+tc.name, func(t *testing.T) {
				e := newLostEnv(t, be.twoWrites)
				old := e.passwordTokens("openid email offline_access")["refresh_token"].(string)
				e.out.arm(tc.commit, -1)
				st, body, h := e.tokenRequest(map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {old}}, confidentialID, confidentialSecret)
				if st != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || h.Get("Retry-After") == "" {
					t.Fatalf("refresh while storage stays down: %d %v; want 503 temporarily_unavailable with Retry-After", st, body)
				}
				if n, sum := e.sleeps.total(); n < 2 || sum != 10*time.Second {
					t.Fatalf("waited %d times, %v in all; want several waits adding up to the 10s bound", n, sum)
				}
				if !e.logged("refresh rotation of unknown outcome not resolved") {
					t.Error("the log does not say the request gave up")
				}
				e.out.up()
				stored, err := e.store.GetRefresh(context.Background(), hashForBench(old))
				if err != nil || stored.RotatedAt.IsZero() == tc.commit {
					t.Fatalf("old token after giving up: rotated %v, %v; want rotated %v", !stored.RotatedAt.IsZero(), err, tc.commit)
				}

				e.clock.Add(10 * time.Second) // the outage outlasted the reuse interval (3s)
				st, r := e.refresh(old)
				if !tc.commit {
					if st != http.StatusOK {
						t.Fatalf("retry after the outage, nothing was stored: %d %v; want 200", st, r)
					}
					return
				}
				if st != http.StatusBadRequest || r["error"] != "invalid_grant" {
					t.Fatalf("retry after the outage, the rotation was stored: %d %v; want invalid_grant (a replay)", st, r)
				}
				if _, err := e.store.GetRefresh(context.Background(), hashForBench(old)); !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("the family survived the replay: %v", err)
				}
			})
		}
	}
}

// A request whose write was lost and not stored finds, once storage is
// back, the token rotated by another request: that request won the race,
// and inside the reuse interval this one gets the winner's successor, as
// any concurrent request does; the family stays.
func TestRefreshLostAnswerConcurrentWinner(t *testing.T) {
	e := newLostEnv(t, false)
	old := e.passwordTokens("openid email offline_access")["refresh_token"].(string)
	e.out.arm(false, 2)
	var winner string
	e.sleeps.hook = func() {
		e.out.pause(true)
		defer e.out.pause(false)
		st, r := e.refresh(old)
		if st != http.StatusOK {
			t.Errorf("the concurrent refresh: %d %v", st, r)
			return
		}
		winner = r["refresh_token"].(string)
	}
	st, r := e.refresh(old)
	if st != http.StatusOK || winner == "" || r["refresh_token"] != winner {
		t.Fatalf("refresh that lost the race while storage was down: %d %v; want 200 with the winner's successor %q", st, r, winner)
	}
	if st, body := e.refresh(winner); st != http.StatusOK {
		t.Fatalf("the winner's successor after the race: %d %v", st, body)
	}
}
