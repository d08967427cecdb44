package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/torii-idp/torii/storage"
)

func logoutArgs(d storage.LogoutDelivery) ([]any, error) {
	data, err := jsonValue(d)
	if err != nil {
		return nil, err
	}
	return []any{d.ID, d.NextAttempt.UnixNano(), data}, nil
}

func scanLogout(row rowScanner) (storage.LogoutDelivery, error) {
	var (
		id, data string
		next     int64
	)
	if err := row.Scan(&id, &next, &data); err != nil {
		return storage.LogoutDelivery{}, err
	}
	var d storage.LogoutDelivery
	if err := jsonFrom(data, &d); err != nil {
		return storage.LogoutDelivery{}, err
	}
	d.ID = id
	return d, nil
}

// CreateLogoutDelivery stores d; storage.ErrAlreadyExists if the id is taken.
func (s *Storage) CreateLogoutDelivery(ctx context.Context, d storage.LogoutDelivery) error {
	return s.kinds.logouts.create(ctx, s, d)
}

// ClaimLogoutDeliveries selects and leases the due deliveries in one write
// transaction (the single writer makes the claim atomic).
func (s *Storage) ClaimLogoutDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.LogoutDelivery, error) {
	var out []storage.LogoutDelivery
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT id, next_attempt, data FROM logout_deliveries
WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`, now.UnixNano(), max(limit, 0))
		if err != nil {
			return fmt.Errorf("sqlite: claim logout deliveries: %w", err)
		}
		for rows.Next() {
			d, err := scanLogout(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: claim logout deliveries: %w", err)
			}
			out = append(out, d)
		}
		if err := errorsJoin(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("sqlite: claim logout deliveries: %w", err)
		}
		upd := tx.StmtContext(ctx, s.kinds.logouts.updateW)
		for i := range out {
			out[i].NextAttempt = leaseUntil
			out[i].Attempts++
			args, err := logoutArgs(out[i])
			if err != nil {
				return err
			}
			if _, err := upd.ExecContext(ctx, append(args[1:], out[i].ID)...); err != nil {
				return fmt.Errorf("sqlite: claim logout deliveries: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RescheduleLogoutDelivery records a failed attempt.
func (s *Storage) RescheduleLogoutDelivery(ctx context.Context, id string, next time.Time, lastError string) error {
	return s.kinds.logouts.update(ctx, s, id, func(d storage.LogoutDelivery) (storage.LogoutDelivery, error) {
		d.NextAttempt, d.LastError = next, lastError
		return d, nil
	})
}

// DeleteLogoutDelivery removes the delivery.
func (s *Storage) DeleteLogoutDelivery(ctx context.Context, id string) error {
	return s.kinds.logouts.delete(ctx, s, id)
}

// ListSessionRefresh returns the session's current refresh tokens (the
// index refresh_tokens_session covers the lookup).
func (s *Storage) ListSessionRefresh(ctx context.Context, sessionID string) ([]storage.RefreshToken, error) {
	if sessionID == "" {
		return nil, ctx.Err()
	}
	q := strings.TrimSuffix(s.kinds.refresh.selectSQL, " WHERE id = ?") + `
WHERE session_id = ? AND rotated_at IS NULL ORDER BY family_id, id`
	return listRows(ctx, s, "refresh_tokens", q, scanRefresh, sessionID)
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
