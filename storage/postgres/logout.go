package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/torii-idp/torii/storage"
)

const (
	logoutColumns = `id, next_attempt, attempts, data`
	insertLogout  = `INSERT INTO logout_deliveries (` + logoutColumns + `) VALUES ($1, $2, $3, $4)`
	updateLogout  = `UPDATE logout_deliveries SET next_attempt = $2, attempts = $3, data = $4 WHERE id = $1`
	selectLogout  = `SELECT ` + logoutColumns + ` FROM logout_deliveries WHERE id = $1`
	// claimLogouts leases the due rows in one statement; SKIP LOCKED lets
	// replicas claiming at once take disjoint rows instead of waiting.
	claimLogouts = `UPDATE logout_deliveries SET next_attempt = $2, attempts = attempts + 1
WHERE id IN (SELECT id FROM logout_deliveries WHERE next_attempt <= $1
             ORDER BY next_attempt, id LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING ` + logoutColumns
)

func logoutArgs(d storage.LogoutDelivery) ([]any, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode logout delivery: %w", err)
	}
	return []any{d.ID, d.NextAttempt, d.Attempts, data}, nil
}

// scanLogout reads a row; the columns win over the JSON copy of the
// fields a claim changes.
func scanLogout(row pgx.Row) (storage.LogoutDelivery, error) {
	var (
		id       string
		next     time.Time
		attempts int
		data     []byte
	)
	if err := row.Scan(&id, &next, &attempts, &data); err != nil {
		return storage.LogoutDelivery{}, err
	}
	var d storage.LogoutDelivery
	if err := json.Unmarshal(data, &d); err != nil {
		return storage.LogoutDelivery{}, fmt.Errorf("postgres: decode logout delivery: %w", err)
	}
	d.ID, d.NextAttempt, d.Attempts = id, next, attempts
	return d, nil
}

// CreateLogoutDelivery stores d; a taken id is storage.ErrAlreadyExists.
func (s *Storage) CreateLogoutDelivery(ctx context.Context, d storage.LogoutDelivery) error {
	args, err := logoutArgs(d)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, "create logout delivery", insertLogout, args...)
	return err
}

// ClaimLogoutDeliveries leases the due deliveries.
func (s *Storage) ClaimLogoutDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.LogoutDelivery, error) {
	out, err := list(ctx, s, "claim logout deliveries", scanLogout, claimLogouts, now, leaseUntil, max(limit, 0))
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order; claim order is due order.
	sortDue(out)
	return out, nil
}

// RescheduleLogoutDelivery records a failed attempt.
func (s *Storage) RescheduleLogoutDelivery(ctx context.Context, id string, next time.Time, lastError string) error {
	return update(ctx, s, "reschedule logout delivery", scanLogout, selectLogout+" FOR UPDATE", id,
		func(d storage.LogoutDelivery) (storage.LogoutDelivery, error) {
			d.NextAttempt, d.LastError = next, lastError
			return d, nil
		},
		func(d storage.LogoutDelivery) (statement, error) {
			args, err := logoutArgs(d)
			return statement{updateLogout, args}, err
		})
}

// DeleteLogoutDelivery removes the delivery; an unknown id is ErrNotFound.
func (s *Storage) DeleteLogoutDelivery(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "delete logout delivery", "DELETE FROM logout_deliveries WHERE id = $1", id)
}

// ListSessionRefresh returns the session's current refresh tokens (the
// index refresh_tokens_session covers the lookup).
func (s *Storage) ListSessionRefresh(ctx context.Context, sessionID string) ([]storage.RefreshToken, error) {
	if sessionID == "" {
		return nil, ctx.Err()
	}
	return list(ctx, s, "list session refresh tokens", scanRefresh, `SELECT `+refreshColumns+` FROM refresh_tokens
WHERE session_id = $1 AND rotated_at IS NULL ORDER BY family_id, id`, sessionID)
}

func sortDue(ds []storage.LogoutDelivery) {
	slices.SortFunc(ds, func(a, b storage.LogoutDelivery) int {
		return cmp.Or(a.NextAttempt.Compare(b.NextAttempt), strings.Compare(a.ID, b.ID))
	})
}
