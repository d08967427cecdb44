// Package metered wraps a storage.Storage with Prometheus metrics: the
// latency and the errors of every operation, labelled by backend.
//
// The wrapper embeds the backend, so methods added to storage.Storage later
// (new record types) keep working through it, unmeasured until they are
// listed here. Unwrap returns the backend for optional interfaces.
package metered

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/torii-idp/torii/storage"
)

// Metrics are the storage metrics; build them once per registry.
type Metrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

// NewMetrics registers torii_storage_operation_duration_seconds and
// torii_storage_operation_errors_total on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "torii_storage_operation_duration_seconds",
			Help:    "Latency of storage operations, by backend and operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"backend", "op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "torii_storage_operation_errors_total",
			Help: "Storage operations that failed, by backend and operation (not found, already exists and an update's own refusal are answers, not errors).",
		}, []string{"backend", "op"}),
	}
	reg.MustRegister(m.duration, m.errors)
	return m
}

// Storage is a measured storage.Storage.
type Storage struct {
	storage.Storage
	backend string
	m       *Metrics
}

// New wraps s; backend is the storage type (memory, sqlite3, postgres, kubernetes).
func New(s storage.Storage, backend string, m *Metrics) *Storage {
	return &Storage{Storage: s, backend: backend, m: m}
}

// Unwrap returns the backend.
func (s *Storage) Unwrap() storage.Storage { return s.Storage }

// abortErr marks an update function's own error, which is returned
// unchanged but is not a storage failure.
type abortErr struct{ error }

func (s *Storage) observe(op string, start time.Time, err error) {
	s.m.duration.WithLabelValues(s.backend, op).Observe(time.Since(start).Seconds())
	var ab abortErr
	if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrAlreadyExists) && !errors.As(err, &ab) {
		s.m.errors.WithLabelValues(s.backend, op).Inc()
	}
}

// track wraps an update function so that its own error is told apart from
// a storage failure, and hands that error back unchanged.
func track[T any](update func(T) (T, error), own *error) func(T) (T, error) {
	return func(v T) (T, error) {
		out, err := update(v)
		*own = err
		return out, err
	}
}

func (s *Storage) update(op string, start time.Time, own, err error) error {
	if err != nil && own != nil && errors.Is(err, own) {
		s.observe(op, start, abortErr{err})
	} else {
		s.observe(op, start, err)
	}
	return err
}

func (s *Storage) Ping(ctx context.Context) error {
	t := time.Now()
	err := s.Storage.Ping(ctx)
	s.observe("ping", t, err)
	return err
}

func (s *Storage) CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error {
	t := time.Now()
	err := s.Storage.CreateAuthRequest(ctx, a)
	s.observe("create_auth_request", t, err)
	return err
}

func (s *Storage) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	t := time.Now()
	a, err := s.Storage.GetAuthRequest(ctx, id)
	s.observe("get_auth_request", t, err)
	return a, err
}

func (s *Storage) UpdateAuthRequest(ctx context.Context, id string, update func(storage.AuthRequest) (storage.AuthRequest, error)) error {
	t := time.Now()
	var own error
	err := s.Storage.UpdateAuthRequest(ctx, id, track(update, &own))
	return s.update("update_auth_request", t, own, err)
}

func (s *Storage) DeleteAuthRequest(ctx context.Context, id string) error {
	t := time.Now()
	err := s.Storage.DeleteAuthRequest(ctx, id)
	s.observe("delete_auth_request", t, err)
	return err
}

func (s *Storage) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	t := time.Now()
	err := s.Storage.CreateAuthCode(ctx, c)
	s.observe("create_auth_code", t, err)
	return err
}

func (s *Storage) GetAuthCode(ctx context.Context, id string) (storage.AuthCode, error) {
	t := time.Now()
	c, err := s.Storage.GetAuthCode(ctx, id)
	s.observe("get_auth_code", t, err)
	return c, err
}

func (s *Storage) UpdateAuthCode(ctx context.Context, id string, update func(storage.AuthCode) (storage.AuthCode, error)) error {
	t := time.Now()
	var own error
	err := s.Storage.UpdateAuthCode(ctx, id, track(update, &own))
	return s.update("update_auth_code", t, own, err)
}

func (s *Storage) DeleteAuthCode(ctx context.Context, id string) error {
	t := time.Now()
	err := s.Storage.DeleteAuthCode(ctx, id)
	s.observe("delete_auth_code", t, err)
	return err
}

func (s *Storage) CreateRefresh(ctx context.Context, r storage.RefreshToken) error {
	t := time.Now()
	err := s.Storage.CreateRefresh(ctx, r)
	s.observe("create_refresh", t, err)
	return err
}

func (s *Storage) GetRefresh(ctx context.Context, id string) (storage.RefreshToken, error) {
	t := time.Now()
	r, err := s.Storage.GetRefresh(ctx, id)
	s.observe("get_refresh", t, err)
	return r, err
}

func (s *Storage) UpdateRefresh(ctx context.Context, id string, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	t := time.Now()
	var own error
	err := s.Storage.UpdateRefresh(ctx, id, track(update, &own))
	return s.update("update_refresh", t, own, err)
}

// RotateRefresh is the backend's atomic rotation, or storage.RotateRefresh's
// two writes on a backend without one (measured as one operation).
func (s *Storage) RotateRefresh(ctx context.Context, id string, next storage.RefreshToken, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	t := time.Now()
	var own error
	err := storage.RotateRefresh(ctx, s.Storage, id, next, track(update, &own))
	return s.update("rotate_refresh", t, own, err)
}

func (s *Storage) DeleteRefresh(ctx context.Context, id string) error {
	t := time.Now()
	err := s.Storage.DeleteRefresh(ctx, id)
	s.observe("delete_refresh", t, err)
	return err
}

func (s *Storage) RevokeGrant(ctx context.Context, grantID string, until time.Time) error {
	t := time.Now()
	err := s.Storage.RevokeGrant(ctx, grantID, until)
	s.observe("revoke_grant", t, err)
	return err
}

func (s *Storage) GrantRevoked(ctx context.Context, grantID string) (bool, error) {
	t := time.Now()
	ok, err := s.Storage.GrantRevoked(ctx, grantID)
	s.observe("grant_revoked", t, err)
	return ok, err
}

func (s *Storage) GetKeys(ctx context.Context) (storage.Keys, error) {
	t := time.Now()
	k, err := s.Storage.GetKeys(ctx)
	s.observe("get_keys", t, err)
	return k, err
}

func (s *Storage) UpdateKeys(ctx context.Context, update func(storage.Keys) (storage.Keys, error)) error {
	t := time.Now()
	var own error
	err := s.Storage.UpdateKeys(ctx, track(update, &own))
	return s.update("update_keys", t, own, err)
}

func (s *Storage) GarbageCollect(ctx context.Context, now time.Time) (storage.GCResult, error) {
	t := time.Now()
	r, err := s.Storage.GarbageCollect(ctx, now)
	s.observe("garbage_collect", t, err)
	return r, err
}

// CountSessions counts live sessions when the backend can
// (storage.SessionCounter); otherwise it reports errors.ErrUnsupported.
func (s *Storage) CountSessions(ctx context.Context, now time.Time) (int64, error) {
	c, ok := s.Storage.(storage.SessionCounter)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	t := time.Now()
	n, err := c.CountSessions(ctx, now)
	s.observe("count_sessions", t, err)
	return n, err
}

func (s *Storage) CreateDeviceRequest(ctx context.Context, d storage.DeviceRequest) error {
	t := time.Now()
	err := s.Storage.CreateDeviceRequest(ctx, d)
	s.observe("create_device_request", t, err)
	return err
}

func (s *Storage) GetDeviceRequest(ctx context.Context, id string) (storage.DeviceRequest, error) {
	t := time.Now()
	d, err := s.Storage.GetDeviceRequest(ctx, id)
	s.observe("get_device_request", t, err)
	return d, err
}

func (s *Storage) GetDeviceRequestByUserCode(ctx context.Context, userCode string) (storage.DeviceRequest, error) {
	t := time.Now()
	d, err := s.Storage.GetDeviceRequestByUserCode(ctx, userCode)
	s.observe("get_device_request_by_user_code", t, err)
	return d, err
}

func (s *Storage) UpdateDeviceRequest(ctx context.Context, id string, update func(storage.DeviceRequest) (storage.DeviceRequest, error)) error {
	t := time.Now()
	var own error
	err := s.Storage.UpdateDeviceRequest(ctx, id, track(update, &own))
	return s.update("update_device_request", t, own, err)
}
