package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage"
)

// lossyStore rotates refresh tokens like its backend but, when armed,
// fails the next rotation the way a dropped database connection does:
// after the rotation was stored (the COMMIT went through, its answer did
// not come back) or before anything was written.
type lossyStore struct {
	storage.Storage
	mu     sync.Mutex
	armed  bool
	commit bool // store the rotation before failing
}

func (l *lossyStore) arm(commit bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed, l.commit = true, commit
}

func (l *lossyStore) RotateRefresh(ctx context.Context, id string, next storage.RefreshToken, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	l.mu.Lock()
	armed, commit := l.armed, l.commit
	l.armed = false
	l.mu.Unlock()
	lost := errors.Join(storage.ErrUnavailable, io.ErrUnexpectedEOF)
	if !armed {
		return storage.RotateRefresh(ctx, l.Storage, id, next, update)
	}
	if commit {
		if err := storage.RotateRefresh(ctx, l.Storage, id, next, update); err != nil {
			return err
		}
	}
	return lost
}

var _ storage.RefreshRotator = (*lossyStore)(nil)

// lossy is a store whose next write of a rotation fails as armed.
type lossy interface {
	storage.Storage
	arm(commit bool)
}

// lossyTwoWrites is a backend without an atomic rotation (as Kubernetes'
// is): storage.RotateRefresh creates the successor, then updates the old
// token, and the update's answer is what gets lost.
type lossyTwoWrites struct {
	storage.Storage
	mu     sync.Mutex
	armed  bool
	commit bool
}

func (l *lossyTwoWrites) arm(commit bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed, l.commit = true, commit
}

func (l *lossyTwoWrites) UpdateRefresh(ctx context.Context, id string, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	l.mu.Lock()
	armed, commit := l.armed, l.commit
	l.armed = false
	l.mu.Unlock()
	if !armed {
		return l.Storage.UpdateRefresh(ctx, id, update)
	}
	if commit {
		if err := l.Storage.UpdateRefresh(ctx, id, update); err != nil {
			return err
		}
	}
	return errors.Join(storage.ErrUnavailable, io.ErrUnexpectedEOF)
}

// A refresh whose answer is lost with the database connection (rotation
// stored or not) is a 503, and the client's retry with the same token,
// after an outage longer than the reuse interval, is answered normally:
// with the stored successor when there is one, never with a revoked
// family. A replay once that successor was used still revokes it.
func TestRefreshLostAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		commit bool
		wrap   func(storage.Storage) lossy
	}{
		{"rotation stored, answer lost", true, func(s storage.Storage) lossy {
			return &lossyStore{Storage: s}
		}},
		{"nothing stored", false, func(s storage.Storage) lossy {
			return &lossyStore{Storage: s}
		}},
		{"two writes, update stored, answer lost", true, func(s storage.Storage) lossy {
			return &lossyTwoWrites{Storage: s}
		}},
		{"two writes, nothing stored", false, func(s storage.Storage) lossy {
			return &lossyTwoWrites{Storage: s}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l lossy
			e := newEnv(t, func(c *server.Config) {
				l = tc.wrap(c.Storage)
				c.Storage = l
			})
			old := e.passwordTokens("openid email offline_access")["refresh_token"].(string)
			l.arm(tc.commit)
			st, body, h := e.tokenRequest(map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {old}}, confidentialID, confidentialSecret)
			if st != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || h.Get("Retry-After") == "" {
				t.Fatalf("refresh while the connection drops: %d %v; want 503 temporarily_unavailable with Retry-After", st, body)
			}
			stored, err := e.store.GetRefresh(context.Background(), hashForBench(old))
			if err != nil || stored.RotatedAt.IsZero() != !tc.commit {
				t.Fatalf("old token after the failure: rotated %v, %v; want rotated %v", !stored.RotatedAt.IsZero(), err, tc.commit)
			}

			e.clock.Add(10 * time.Second) // the outage outlasts the reuse interval (3s)
			st, r1 := e.refresh(old)
			if st != http.StatusOK {
				t.Fatalf("retry with the same token after the outage: %d %v; want 200", st, r1)
			}
			succ := r1["refresh_token"].(string)
			if st, r2 := e.refresh(old); st != http.StatusOK || r2["refresh_token"] != succ {
				t.Fatalf("old token again before its successor was used: %d %v; want the same successor", st, r2)
			}
			st, r3 := e.refresh(succ)
			if st != http.StatusOK {
				t.Fatalf("refresh with the successor: %d %v", st, r3)
			}
			// The successor was used: past the reuse interval the old token
			// is a replay.
			e.clock.Add(5 * time.Second)
			if st, body := e.refresh(old); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Fatalf("replay after the successor was used: %d %v; want invalid_grant", st, body)
			}
			if st, body := e.refresh(r3["refresh_token"].(string)); st != http.StatusBadRequest {
				t.Fatalf("the family survived the replay: %d %v", st, body)
			}
		})
	}
}
