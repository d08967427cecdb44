package kubernetes

import (
	"context"
	"errors"
	"time"

	"github.com/torii-idp/torii/storage"
)

// userCodeIndex is a ToriiDeviceUserCode: the index from a user-code hash
// to its device request. Creating it first is what makes a user code
// unique across replicas (the API server refuses a second object of the
// same name). It expires with its request.
type userCodeIndex struct {
	UserCode  string    `json:"userCode"`
	RequestID string    `json:"requestID"`
	Expiry    time.Time `json:"expiry"`
}

func (s *Storage) deviceRequests() resources[storage.DeviceRequest] {
	return resources[storage.DeviceRequest]{s, pluralDeviceRequests}
}

func (s *Storage) deviceUserCodes() resources[userCodeIndex] {
	return resources[userCodeIndex]{s, pluralDeviceUserCodes}
}

// CreateDeviceRequest stores d; a taken ID or user code is
// storage.ErrAlreadyExists. The user-code index is created first; when
// the request itself then cannot be created, the index is removed again.
func (s *Storage) CreateDeviceRequest(ctx context.Context, d storage.DeviceRequest) error {
	if err := s.deviceUserCodes().create(ctx, d.UserCode, userCodeIndex{UserCode: d.UserCode, RequestID: d.ID, Expiry: d.Expiry}, nil); err != nil {
		return err
	}
	if err := s.deviceRequests().create(ctx, d.ID, d, nil); err != nil {
		if derr := s.deviceUserCodes().delete(ctx, d.UserCode); derr != nil && !errors.Is(derr, storage.ErrNotFound) {
			return errors.Join(err, derr)
		}
		return err
	}
	return nil
}

// GetDeviceRequest returns the stored request.
func (s *Storage) GetDeviceRequest(ctx context.Context, id string) (storage.DeviceRequest, error) {
	o, err := s.deviceRequests().get(ctx, id)
	return o.Spec, err
}

// GetDeviceRequestByUserCode follows the user-code index to the request.
func (s *Storage) GetDeviceRequestByUserCode(ctx context.Context, userCode string) (storage.DeviceRequest, error) {
	idx, err := s.deviceUserCodes().get(ctx, userCode)
	if err != nil {
		return storage.DeviceRequest{}, err
	}
	d, err := s.GetDeviceRequest(ctx, idx.Spec.RequestID)
	if err == nil && d.UserCode != userCode {
		return storage.DeviceRequest{}, storage.ErrNotFound
	}
	return d, err
}

// UpdateDeviceRequest applies update optimistically (retried on
// conflict): of two replicas handing out one request's tokens, the second
// sees it issued. ID and user code are kept.
func (s *Storage) UpdateDeviceRequest(ctx context.Context, id string, update func(storage.DeviceRequest) (storage.DeviceRequest, error)) error {
	return s.deviceRequests().update(ctx, id, func(d storage.DeviceRequest) (storage.DeviceRequest, error) {
		code := d.UserCode
		d, err := update(d)
		d.ID, d.UserCode = id, code
		return d, err
	}, nil)
}
