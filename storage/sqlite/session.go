package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/torii-idp/torii/storage"
)

func sessionArgs(ss storage.Session) ([]any, error) {
	data, err := jsonValue(ss)
	if err != nil {
		return nil, err
	}
	return []any{ss.ID, ss.ConnectorID, ss.Claims.UserID, timeValue(ss.CreatedAt), data, timeValue(ss.Expiry())}, nil
}

func scanSession(row rowScanner) (storage.Session, error) {
	var (
		id, connID, userID, data string
		created, expiry          sql.NullInt64
	)
	if err := row.Scan(&id, &connID, &userID, &created, &data, &expiry); err != nil {
		return storage.Session{}, err
	}
	var ss storage.Session
	if err := jsonFrom(data, &ss); err != nil {
		return storage.Session{}, err
	}
	ss.ID = id
	return ss, nil
}

// CreateSession stores ss; storage.ErrAlreadyExists if the id is taken.
func (s *Storage) CreateSession(ctx context.Context, ss storage.Session) error {
	return s.kinds.sessions.create(ctx, s, ss)
}

// GetSession returns the session with the given id (hash).
func (s *Storage) GetSession(ctx context.Context, id string) (storage.Session, error) {
	return s.kinds.sessions.get(ctx, id)
}

// UpdateSession runs update in one write transaction.
func (s *Storage) UpdateSession(ctx context.Context, id string, update func(storage.Session) (storage.Session, error)) error {
	return s.kinds.sessions.update(ctx, s, id, func(ss storage.Session) (storage.Session, error) {
		ss, err := update(ss)
		ss.ID = id
		return ss, err
	})
}

// DeleteSession removes the session.
func (s *Storage) DeleteSession(ctx context.Context, id string) error {
	return s.kinds.sessions.delete(ctx, s, id)
}

// ListUserSessions returns the user's sessions, oldest first.
func (s *Storage) ListUserSessions(ctx context.Context, connectorID, userID string) ([]storage.Session, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, connector_id, user_id, created_at, data, expiry FROM sessions
WHERE connector_id = ? AND user_id = ? ORDER BY created_at, id`, connectorID, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	defer rows.Close()
	var out []storage.Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list sessions: %w", err)
		}
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", err)
	}
	return out, nil
}

// DeleteUserSessions removes the user's sessions.
func (s *Storage) DeleteUserSessions(ctx context.Context, connectorID, userID string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE connector_id = ? AND user_id = ?", connectorID, userID)
		if err != nil {
			return fmt.Errorf("sqlite: delete sessions: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// CountSessions counts the sessions that have not expired at now (an
// index-only scan of sessions_expiry).
func (s *Storage) CountSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	if err := s.reader.QueryRowContext(ctx, "SELECT count(*) FROM sessions WHERE expiry >= ?", timeValue(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count sessions: %w", err)
	}
	return n, nil
}

// ListSessions pages through every session in ID order (the primary key);
// the page token is the last ID of the previous page.
func (s *Storage) ListSessions(ctx context.Context, pageToken string, limit int) ([]storage.Session, string, error) {
	if err := storage.CheckPageLimit(limit); err != nil {
		return nil, "", err
	}
	// One more than asked says whether a next page exists.
	rows, err := s.reader.QueryContext(ctx, `SELECT id, connector_id, user_id, created_at, data, expiry FROM sessions
WHERE id > ? ORDER BY id LIMIT ?`, pageToken, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list all sessions: %w", err)
	}
	defer rows.Close()
	var out []storage.Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list all sessions: %w", err)
		}
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: list all sessions: %w", err)
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	return out, out[limit-1].ID, nil
}
