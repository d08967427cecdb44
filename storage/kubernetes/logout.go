package kubernetes

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/torii-idp/torii/storage"
)

func (s *Storage) logouts() resources[storage.LogoutDelivery] {
	return resources[storage.LogoutDelivery]{s, pluralLogouts}
}

// CreateLogoutDelivery stores d; a taken ID is storage.ErrAlreadyExists.
func (s *Storage) CreateLogoutDelivery(ctx context.Context, d storage.LogoutDelivery) error {
	return s.logouts().create(ctx, d.ID, d, nil)
}

// ClaimLogoutDeliveries lists the due deliveries, earliest first, and
// claims each with a write conditional on the resourceVersion it read: of
// two replicas claiming one delivery, the second's write conflicts and it
// skips that delivery, so no two callers get the same one.
func (s *Storage) ClaimLogoutDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.LogoutDelivery, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	r := s.logouts()
	var due []object[storage.LogoutDelivery]
	err := r.each(ctx, "", func(o object[storage.LogoutDelivery]) error {
		if !o.Spec.NextAttempt.After(now) {
			due = append(due, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(due, func(a, b object[storage.LogoutDelivery]) int {
		return cmp.Or(a.Spec.NextAttempt.Compare(b.Spec.NextAttempt), strings.Compare(a.Spec.ID, b.Spec.ID))
	})
	var out []storage.LogoutDelivery
	for _, o := range due {
		if len(out) == limit {
			break
		}
		o.Spec.NextAttempt = leaseUntil
		o.Spec.Attempts++
		claimed, err := r.put(ctx, o)
		switch {
		case err == nil:
			out = append(out, claimed.Spec)
		case isConflict(err) || errors.Is(err, storage.ErrNotFound):
			// another replica claimed or finished it
		default:
			return out, err
		}
	}
	return out, nil
}

// RescheduleLogoutDelivery records a failed attempt.
func (s *Storage) RescheduleLogoutDelivery(ctx context.Context, id string, next time.Time, lastError string) error {
	return s.logouts().update(ctx, id, func(d storage.LogoutDelivery) (storage.LogoutDelivery, error) {
		d.NextAttempt, d.LastError = next, lastError
		return d, nil
	}, nil)
}

// DeleteLogoutDelivery removes a delivery.
func (s *Storage) DeleteLogoutDelivery(ctx context.Context, id string) error {
	return s.logouts().delete(ctx, id)
}

// ListSessionRefresh returns the current refresh tokens issued from the
// session (one labelled list), by family and id.
func (s *Storage) ListSessionRefresh(ctx context.Context, sessionID string) ([]storage.RefreshToken, error) {
	var out []storage.RefreshToken
	err := s.refreshTokens().each(ctx, labelSession+"="+labelValue(sessionID), func(o object[storage.RefreshToken]) error {
		if r := o.Spec; r.SessionID == sessionID && r.RotatedAt.IsZero() {
			out = append(out, r)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b storage.RefreshToken) int {
		return cmp.Or(cmp.Compare(a.FamilyID, b.FamilyID), cmp.Compare(a.ID, b.ID))
	})
	return out, err
}
