package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/torii-idp/torii/storage"
)

const (
	sessionColumns = `id, data`
	insertSession  = `INSERT INTO sessions (id, connector_id, user_id, created_at, data, expiry)
VALUES ($1, $2, $3, $4, $5, $6)`
	updateSession = `UPDATE sessions SET connector_id = $2, user_id = $3, created_at = $4, data = $5, expiry = $6
WHERE id = $1`
	selectSession = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = $1`
)

func sessionArgs(id string, ss storage.Session) ([]any, error) {
	data, err := json.Marshal(ss)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode session: %w", err)
	}
	return []any{id, ss.ConnectorID, ss.Claims.UserID, timeArg(ss.CreatedAt), data, timeArg(ss.Expiry())}, nil
}

func scanSession(row pgx.Row) (storage.Session, error) {
	var id string
	var data []byte
	if err := row.Scan(&id, &data); err != nil {
		return storage.Session{}, err
	}
	var ss storage.Session
	if err := json.Unmarshal(data, &ss); err != nil {
		return storage.Session{}, fmt.Errorf("postgres: decode session: %w", err)
	}
	ss.ID = id
	return ss, nil
}

// CreateSession stores a new session.
func (s *Storage) CreateSession(ctx context.Context, ss storage.Session) error {
	args, err := sessionArgs(ss.ID, ss)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, "create session", insertSession, args...)
	return err
}

// GetSession returns the session with the given id (hash).
func (s *Storage) GetSession(ctx context.Context, id string) (storage.Session, error) {
	return get(ctx, s, "get session", scanSession, selectSession, id)
}

// UpdateSession runs fn on the locked row and stores its result.
func (s *Storage) UpdateSession(ctx context.Context, id string, fn func(storage.Session) (storage.Session, error)) error {
	return update(ctx, s, "update session", scanSession, selectSession+" FOR UPDATE", id, fn,
		func(ss storage.Session) (statement, error) {
			args, err := sessionArgs(id, ss)
			return statement{updateSession, args}, err
		})
}

// DeleteSession removes the session; an unknown id is ErrNotFound.
func (s *Storage) DeleteSession(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "delete session", "DELETE FROM sessions WHERE id = $1", id)
}

// ListUserSessions returns the user's sessions, oldest first.
func (s *Storage) ListUserSessions(ctx context.Context, connectorID, userID string) ([]storage.Session, error) {
	out, err := s.querySessions(ctx, `SELECT `+sessionColumns+` FROM sessions
WHERE connector_id = $1 AND user_id = $2 ORDER BY created_at, id`, connectorID, userID)
	return out, wrapErr(ctx, "list sessions", err)
}

// querySessions runs a session query (retried as a whole) and scans every row.
func (s *Storage) querySessions(ctx context.Context, query string, args ...any) ([]storage.Session, error) {
	var out []storage.Session
	err := retry(ctx, func() error {
		out = nil
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ss, err := scanSession(rows)
			if err != nil {
				return err
			}
			out = append(out, ss)
		}
		return rows.Err()
	})
	return out, err
}

// DeleteUserSessions removes the user's sessions.
func (s *Storage) DeleteUserSessions(ctx context.Context, connectorID, userID string) (int64, error) {
	return s.exec(ctx, "delete sessions", "DELETE FROM sessions WHERE connector_id = $1 AND user_id = $2", connectorID, userID)
}

// CountSessions counts the sessions that have not expired at now (an
// index scan of sessions_expiry).
func (s *Storage) CountSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := retry(ctx, func() error {
		return s.pool.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE expiry >= $1", now).Scan(&n)
	})
	return n, wrapErr(ctx, "count sessions", err)
}

// ListSessions pages through every session in ID order (the primary key);
// the page token is the last ID of the previous page.
func (s *Storage) ListSessions(ctx context.Context, pageToken string, limit int) ([]storage.Session, string, error) {
	if err := storage.CheckPageLimit(limit); err != nil {
		return nil, "", err
	}
	// One more than asked says whether a next page exists.
	out, err := s.querySessions(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id > $1 ORDER BY id LIMIT $2`, pageToken, limit+1)
	if err != nil {
		return nil, "", wrapErr(ctx, "list all sessions", err)
	}
	return pageOf(out, limit)
}

// pageOf cuts a page read with one extra row to limit and names the next.
func pageOf(ss []storage.Session, limit int) ([]storage.Session, string, error) {
	if len(ss) <= limit {
		return ss, "", nil
	}
	ss = ss[:limit]
	return ss, ss[limit-1].ID, nil
}
