package memory

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/storage"
)

// CreateSession stores a copy of ss.
func (s *Storage) CreateSession(ctx context.Context, ss storage.Session) error {
	return create(ctx, s, s.sessions, ss.ID, copySession(ss))
}

// GetSession returns a copy of the stored session.
func (s *Storage) GetSession(ctx context.Context, id string) (storage.Session, error) {
	ss, err := get(ctx, s, s.sessions, id)
	return copySession(ss), err
}

// UpdateSession applies update atomically.
func (s *Storage) UpdateSession(ctx context.Context, id string, update func(storage.Session) (storage.Session, error)) error {
	return updateRecord(ctx, s, s.sessions, id, copySession, func(ss storage.Session) (storage.Session, error) {
		ss, err := update(ss)
		ss.ID = id
		return ss, err
	})
}

// DeleteSession removes the session.
func (s *Storage) DeleteSession(ctx context.Context, id string) error {
	return remove(ctx, s, s.sessions, id)
}

// ListUserSessions returns copies of the user's sessions, oldest first.
func (s *Storage) ListUserSessions(ctx context.Context, connectorID, userID string) ([]storage.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storage.Session
	for _, ss := range s.sessions {
		if ss.ConnectorID == connectorID && ss.Claims.UserID == userID {
			out = append(out, copySession(ss))
		}
	}
	slices.SortFunc(out, func(a, b storage.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeleteUserSessions removes the user's sessions.
func (s *Storage) DeleteUserSessions(ctx context.Context, connectorID, userID string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, ss := range s.sessions {
		if ss.ConnectorID == connectorID && ss.Claims.UserID == userID {
			delete(s.sessions, id)
			n++
		}
	}
	return n, nil
}

func copySession(ss storage.Session) storage.Session {
	ss.Claims = copyClaims(ss.Claims)
	ss.ConnectorData = slices.Clone(ss.ConnectorData)
	ss.Clients = slices.Clone(ss.Clients)
	if ss.Consents != nil {
		c := maps.Clone(ss.Consents)
		for k, v := range c {
			c[k] = slices.Clone(v)
		}
		ss.Consents = c
	}
	return ss
}

// CountSessions counts the sessions that have not expired at now.
func (s *Storage) CountSessions(ctx context.Context, now time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, ss := range s.sessions {
		if e := ss.Expiry(); !e.IsZero() && !e.Before(now) {
			n++
		}
	}
	return n, nil
}

// ListSessions pages through every session by ID; the page token is the
// last ID of the previous page.
func (s *Storage) ListSessions(ctx context.Context, pageToken string, limit int) ([]storage.Session, string, error) {
	if err := storage.CheckPageLimit(limit); err != nil {
		return nil, "", err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.sessions {
		if id > pageToken {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	out := make([]storage.Session, 0, len(ids))
	for _, id := range ids {
		out = append(out, copySession(s.sessions[id]))
	}
	return out, next, nil
}
