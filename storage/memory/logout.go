package memory

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/storage"
)

// CreateLogoutDelivery stores d.
func (s *Storage) CreateLogoutDelivery(ctx context.Context, d storage.LogoutDelivery) error {
	return create(ctx, s, s.logouts, d.ID, d)
}

// ClaimLogoutDeliveries takes the due deliveries under the one lock.
func (s *Storage) ClaimLogoutDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.LogoutDelivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []storage.LogoutDelivery
	for _, d := range s.logouts {
		if !d.NextAttempt.After(now) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b storage.LogoutDelivery) int {
		return cmp.Or(a.NextAttempt.Compare(b.NextAttempt), strings.Compare(a.ID, b.ID))
	})
	if len(due) > limit {
		due = due[:max(limit, 0)]
	}
	for i := range due {
		due[i].NextAttempt = leaseUntil
		due[i].Attempts++
		s.logouts[due[i].ID] = due[i]
	}
	return due, nil
}

// RescheduleLogoutDelivery records a failed attempt.
func (s *Storage) RescheduleLogoutDelivery(ctx context.Context, id string, next time.Time, lastError string) error {
	return updateRecord(ctx, s, s.logouts, id, func(d storage.LogoutDelivery) storage.LogoutDelivery { return d },
		func(d storage.LogoutDelivery) (storage.LogoutDelivery, error) {
			d.NextAttempt, d.LastError = next, lastError
			return d, nil
		})
}

// DeleteLogoutDelivery removes the delivery.
func (s *Storage) DeleteLogoutDelivery(ctx context.Context, id string) error {
	return remove(ctx, s, s.logouts, id)
}

// ListSessionRefresh returns copies of the session's current refresh tokens.
func (s *Storage) ListSessionRefresh(ctx context.Context, sessionID string) ([]storage.RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storage.RefreshToken
	for _, r := range s.refresh {
		if sessionID != "" && r.SessionID == sessionID && r.RotatedAt.IsZero() {
			out = append(out, copyRefresh(r))
		}
	}
	slices.SortFunc(out, func(a, b storage.RefreshToken) int {
		return cmp.Or(strings.Compare(a.FamilyID, b.FamilyID), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}
