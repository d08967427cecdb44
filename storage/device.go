package storage

import (
	"context"
	"time"
)

// DeviceStatus is where a device authorization request stands.
type DeviceStatus string

const (
	// DevicePending: the person has not finished logging in yet.
	DevicePending DeviceStatus = "pending"
	// DeviceApproved: logged in and approved; the next poll gets tokens.
	DeviceApproved DeviceStatus = "approved"
	// DeviceDenied: the person refused (or said they did not start it).
	DeviceDenied DeviceStatus = "denied"
	// DeviceIssued: the tokens were handed out; the code is spent.
	DeviceIssued DeviceStatus = "issued"
)

// DeviceRequest is one RFC 8628 device authorization: created at
// /device/code, approved in a browser, polled for at /token. ID is the
// SHA-256 hash of the device code and UserCode the hash of the normalized
// user code; neither code itself is stored.
type DeviceRequest struct {
	ID       string
	UserCode string
	ClientID string
	Scopes   []string
	// PKCE, when the device sent a code_challenge (as Dex accepts).
	CodeChallenge       string
	CodeChallengeMethod string
	Status              DeviceStatus
	// Interval is the polling interval the device must keep; LastPoll is
	// when it last polled (zero: not yet).
	Interval time.Duration
	LastPoll time.Time
	// The login, once approved.
	ConnectorID   string
	ConnectorData []byte
	Claims        Claims
	AuthTime      time.Time
	SessionID     string
	// GrantID is the grant the issued tokens belong to (set when issued).
	GrantID   string
	CreatedAt time.Time
	// Expiry ends the request: the codes stop working and GarbageCollect
	// removes it.
	Expiry time.Time
}

// DeviceStore keeps device authorization requests; every replica sees the
// same ones. It is embedded in Storage.
type DeviceStore interface {
	// CreateDeviceRequest returns ErrAlreadyExists when the ID or the user
	// code is taken (by a live or an expired, uncollected request).
	CreateDeviceRequest(ctx context.Context, d DeviceRequest) error
	GetDeviceRequest(ctx context.Context, id string) (DeviceRequest, error)
	// GetDeviceRequestByUserCode finds a request by its user-code hash.
	GetDeviceRequestByUserCode(ctx context.Context, userCode string) (DeviceRequest, error)
	// UpdateDeviceRequest runs update on the current row atomically; the
	// ID and user code of its result are ignored.
	UpdateDeviceRequest(ctx context.Context, id string, update func(DeviceRequest) (DeviceRequest, error)) error
}
