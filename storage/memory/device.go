package memory

import (
	"context"
	"slices"

	"github.com/torii-idp/torii/storage"
)

// CreateDeviceRequest stores a copy of d; the ID and the user code must
// both be free.
func (s *Storage) CreateDeviceRequest(ctx context.Context, d storage.DeviceRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.devices[d.ID]; ok {
		return storage.ErrAlreadyExists
	}
	if _, ok := s.deviceUserCodes[d.UserCode]; ok {
		return storage.ErrAlreadyExists
	}
	s.devices[d.ID] = copyDevice(d)
	s.deviceUserCodes[d.UserCode] = d.ID
	return nil
}

// GetDeviceRequest returns a copy of the stored request.
func (s *Storage) GetDeviceRequest(ctx context.Context, id string) (storage.DeviceRequest, error) {
	d, err := get(ctx, s, s.devices, id)
	return copyDevice(d), err
}

// GetDeviceRequestByUserCode finds the request by its user-code hash.
func (s *Storage) GetDeviceRequestByUserCode(ctx context.Context, userCode string) (storage.DeviceRequest, error) {
	if err := ctx.Err(); err != nil {
		return storage.DeviceRequest{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.deviceUserCodes[userCode]
	if !ok {
		return storage.DeviceRequest{}, storage.ErrNotFound
	}
	return copyDevice(s.devices[id]), nil
}

// UpdateDeviceRequest applies update atomically; the ID and user code stay.
func (s *Storage) UpdateDeviceRequest(ctx context.Context, id string, update func(storage.DeviceRequest) (storage.DeviceRequest, error)) error {
	return updateRecord(ctx, s, s.devices, id, copyDevice, func(d storage.DeviceRequest) (storage.DeviceRequest, error) {
		userCode := d.UserCode
		d, err := update(d)
		d.ID, d.UserCode = id, userCode
		return d, err
	})
}

func copyDevice(d storage.DeviceRequest) storage.DeviceRequest {
	d.Scopes = slices.Clone(d.Scopes)
	d.Claims = copyClaims(d.Claims)
	d.ConnectorData = slices.Clone(d.ConnectorData)
	return d
}
