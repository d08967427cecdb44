package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/torii-idp/torii/storage"
)

var deviceColumns = []string{"id", "user_code", "client_id", "data", "expiry"}

// newDeviceKind is the device_requests kind; its insert does nothing on
// any conflict (the id or the unique user code), which create reports as
// storage.ErrAlreadyExists.
func newDeviceKind() kind[storage.DeviceRequest] {
	k := newKind("device_requests", deviceColumns, deviceArgs, scanDevice)
	k.insertSQL = strings.Replace(k.insertSQL, "ON CONFLICT (id) DO NOTHING", "ON CONFLICT DO NOTHING", 1)
	return k
}

func deviceArgs(d storage.DeviceRequest) ([]any, error) {
	data, err := jsonValue(d)
	if err != nil {
		return nil, err
	}
	return []any{d.ID, d.UserCode, d.ClientID, data, timeValue(d.Expiry)}, nil
}

func scanDevice(row rowScanner) (storage.DeviceRequest, error) {
	var (
		id, userCode, clientID, data string
		expiry                       sql.NullInt64
	)
	if err := row.Scan(&id, &userCode, &clientID, &data, &expiry); err != nil {
		return storage.DeviceRequest{}, err
	}
	var d storage.DeviceRequest
	if err := jsonFrom(data, &d); err != nil {
		return storage.DeviceRequest{}, err
	}
	d.ID, d.UserCode = id, userCode
	return d, nil
}

// CreateDeviceRequest stores d; storage.ErrAlreadyExists if its id or user
// code is taken.
func (s *Storage) CreateDeviceRequest(ctx context.Context, d storage.DeviceRequest) error {
	return s.kinds.devices.create(ctx, s, d)
}

// GetDeviceRequest returns the request with the given id (device-code hash).
func (s *Storage) GetDeviceRequest(ctx context.Context, id string) (storage.DeviceRequest, error) {
	return s.kinds.devices.get(ctx, id)
}

// GetDeviceRequestByUserCode returns the request with the given user-code hash.
func (s *Storage) GetDeviceRequestByUserCode(ctx context.Context, userCode string) (storage.DeviceRequest, error) {
	row := s.reader.QueryRowContext(ctx, "SELECT "+strings.Join(deviceColumns, ", ")+" FROM device_requests WHERE user_code = ?", userCode)
	d, err := scanDevice(row)
	return d, s.kinds.devices.wrap(err)
}

// UpdateDeviceRequest runs update in one write transaction; the id and the
// user code stay.
func (s *Storage) UpdateDeviceRequest(ctx context.Context, id string, update func(storage.DeviceRequest) (storage.DeviceRequest, error)) error {
	return s.kinds.devices.update(ctx, s, id, func(d storage.DeviceRequest) (storage.DeviceRequest, error) {
		userCode := d.UserCode
		d, err := update(d)
		d.ID, d.UserCode = id, userCode
		return d, err
	})
}
