package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/torii-idp/torii/storage"
)

const (
	deviceColumns = `id, user_code, data`
	// ON CONFLICT DO NOTHING covers both the id and the unique user code.
	insertDevice = `INSERT INTO device_requests (id, user_code, client_id, data, expiry)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`
	updateDevice = `UPDATE device_requests SET client_id = $3, data = $4, expiry = $5 WHERE id = $1 AND user_code = $2`
	selectDevice = `SELECT ` + deviceColumns + ` FROM device_requests WHERE id = $1`
)

func deviceArgs(d storage.DeviceRequest) ([]any, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode device request: %w", err)
	}
	return []any{d.ID, d.UserCode, d.ClientID, data, timeArg(d.Expiry)}, nil
}

func scanDevice(row pgx.Row) (storage.DeviceRequest, error) {
	var id, userCode string
	var data []byte
	if err := row.Scan(&id, &userCode, &data); err != nil {
		return storage.DeviceRequest{}, err
	}
	var d storage.DeviceRequest
	if err := json.Unmarshal(data, &d); err != nil {
		return storage.DeviceRequest{}, fmt.Errorf("postgres: decode device request: %w", err)
	}
	d.ID, d.UserCode = id, userCode
	return d, nil
}

// CreateDeviceRequest stores d; storage.ErrAlreadyExists when its id or
// user code is taken.
func (s *Storage) CreateDeviceRequest(ctx context.Context, d storage.DeviceRequest) error {
	args, err := deviceArgs(d)
	if err != nil {
		return err
	}
	n, err := s.exec(ctx, "create device request", insertDevice, args...)
	if err == nil && n == 0 {
		return fmt.Errorf("postgres: create device request: %w", storage.ErrAlreadyExists)
	}
	return err
}

// GetDeviceRequest returns the request with the given id (device-code hash).
func (s *Storage) GetDeviceRequest(ctx context.Context, id string) (storage.DeviceRequest, error) {
	return get(ctx, s, "get device request", scanDevice, selectDevice, id)
}

// GetDeviceRequestByUserCode returns the request with the given user-code hash.
func (s *Storage) GetDeviceRequestByUserCode(ctx context.Context, userCode string) (storage.DeviceRequest, error) {
	return get(ctx, s, "get device request", scanDevice,
		`SELECT `+deviceColumns+` FROM device_requests WHERE user_code = $1`, userCode)
}

// UpdateDeviceRequest runs fn on the locked row and stores its result; the
// id and user code stay.
func (s *Storage) UpdateDeviceRequest(ctx context.Context, id string, fn func(storage.DeviceRequest) (storage.DeviceRequest, error)) error {
	var userCode string
	return update(ctx, s, "update device request", func(row pgx.Row) (storage.DeviceRequest, error) {
		d, err := scanDevice(row)
		userCode = d.UserCode
		return d, err
	}, selectDevice+" FOR UPDATE", id,
		func(d storage.DeviceRequest) (storage.DeviceRequest, error) {
			d, err := fn(d)
			d.ID, d.UserCode = id, userCode
			return d, err
		},
		func(d storage.DeviceRequest) (statement, error) {
			args, err := deviceArgs(d)
			return statement{updateDevice, args}, err
		})
}
