package metered

import (
	"context"
	"time"

	"github.com/torii-idp/torii/storage"
)

func (s *Storage) CreateLogoutDelivery(ctx context.Context, d storage.LogoutDelivery) error {
	t := time.Now()
	err := s.Storage.CreateLogoutDelivery(ctx, d)
	s.observe("create_logout_delivery", t, err)
	return err
}

func (s *Storage) ClaimLogoutDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.LogoutDelivery, error) {
	t := time.Now()
	ds, err := s.Storage.ClaimLogoutDeliveries(ctx, now, leaseUntil, limit)
	s.observe("claim_logout_deliveries", t, err)
	return ds, err
}

func (s *Storage) RescheduleLogoutDelivery(ctx context.Context, id string, next time.Time, lastError string) error {
	t := time.Now()
	err := s.Storage.RescheduleLogoutDelivery(ctx, id, next, lastError)
	s.observe("reschedule_logout_delivery", t, err)
	return err
}

func (s *Storage) DeleteLogoutDelivery(ctx context.Context, id string) error {
	t := time.Now()
	err := s.Storage.DeleteLogoutDelivery(ctx, id)
	s.observe("delete_logout_delivery", t, err)
	return err
}

func (s *Storage) ListSessionRefresh(ctx context.Context, sessionID string) ([]storage.RefreshToken, error) {
	t := time.Now()
	rs, err := s.Storage.ListSessionRefresh(ctx, sessionID)
	s.observe("list_session_refresh", t, err)
	return rs, err
}
