// Package memory is a storage.Storage kept in maps in the process: for tests
// and development. Nothing survives a restart and replicas do not share it.
package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/torii-idp/torii/storage"
)

// Storage is the in-memory backend. One mutex guards every map: updates are
// short and holding it across an update function is what makes the update
// atomic. Values are deep-copied on the way in and out, so neither the
// caller nor an update function can reach the stored slices. An update
// function must not call the Storage: the lock is not reentrant.
type Storage struct {
	mu            sync.Mutex
	authRequests  map[string]storage.AuthRequest
	authCodes     map[string]storage.AuthCode
	refresh       map[string]storage.RefreshToken
	revokedGrants map[string]time.Time
	sessions      map[string]storage.Session
	logouts       map[string]storage.LogoutDelivery
	keys          *storage.Keys
	clients       map[string]storage.Client
	passwords     map[string]storage.Password // by storage.PasswordKey
	throttle      map[string]storage.ThrottleCounter
	devices       map[string]storage.DeviceRequest
	// deviceUserCodes maps a user-code hash to its request's ID.
	deviceUserCodes map[string]string
}

var _ storage.Storage = (*Storage)(nil)

// New returns an empty store.
func New() *Storage {
	return &Storage{
		authRequests:  map[string]storage.AuthRequest{},
		authCodes:     map[string]storage.AuthCode{},
		refresh:       map[string]storage.RefreshToken{},
		revokedGrants: map[string]time.Time{},
		clients:       map[string]storage.Client{},
		passwords:     map[string]storage.Password{},
		throttle:      map[string]storage.ThrottleCounter{},
		sessions:      map[string]storage.Session{},
		devices:       map[string]storage.DeviceRequest{},

		deviceUserCodes: map[string]string{},
		logouts:         map[string]storage.LogoutDelivery{},
	}
}

// Close does nothing; it exists to satisfy storage.Storage.
func (s *Storage) Close() error { return nil }

// Ping reports only a done context: memory is always reachable.
func (s *Storage) Ping(ctx context.Context) error { return ctx.Err() }

// RevokeGrant deletes the family's refresh tokens and remembers the grant
// until the later of its existing and the new `until`.
func (s *Storage) RevokeGrant(ctx context.Context, grantID string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.refresh {
		if r.FamilyID == grantID {
			delete(s.refresh, id)
		}
	}
	if old, ok := s.revokedGrants[grantID]; !ok || until.After(old) {
		s.revokedGrants[grantID] = until
	}
	return nil
}

// GrantRevoked reports whether a revocation record for the grant exists.
func (s *Storage) GrantRevoked(ctx context.Context, grantID string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.revokedGrants[grantID]
	return ok, nil
}

// GetKeys returns storage.ErrNotFound until keys have been stored.
func (s *Storage) GetKeys(ctx context.Context) (storage.Keys, error) {
	if err := ctx.Err(); err != nil {
		return storage.Keys{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		return storage.Keys{}, storage.ErrNotFound
	}
	return copyKeys(*s.keys), nil
}

// UpdateKeys runs update under the lock; it sees the zero Keys the first time.
func (s *Storage) UpdateKeys(ctx context.Context, update func(storage.Keys) (storage.Keys, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur storage.Keys
	if s.keys != nil {
		cur = copyKeys(*s.keys)
	}
	next, err := update(cur)
	if err != nil {
		return err
	}
	next = copyKeys(next)
	s.keys = &next
	return nil
}

// GarbageCollect removes every record whose Expiry is before now; a refresh
// token with a zero Expiry never expires.
func (s *Storage) GarbageCollect(ctx context.Context, now time.Time) (storage.GCResult, error) {
	if err := ctx.Err(); err != nil {
		return storage.GCResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var res storage.GCResult
	for id, a := range s.authRequests {
		if a.Expiry.Before(now) {
			delete(s.authRequests, id)
			res.AuthRequests++
		}
	}
	for id, c := range s.authCodes {
		if c.Expiry.Before(now) {
			delete(s.authCodes, id)
			res.AuthCodes++
		}
	}
	for id, r := range s.refresh {
		if !r.Expiry.IsZero() && r.Expiry.Before(now) {
			delete(s.refresh, id)
			res.RefreshTokens++
		}
	}
	for id, ss := range s.sessions {
		if ss.Expiry().Before(now) {
			delete(s.sessions, id)
			res.Sessions++
		}
	}
	for id, until := range s.revokedGrants {
		if until.Before(now) {
			delete(s.revokedGrants, id)
			res.RevokedGrants++
		}
	}
	for id, d := range s.devices {
		if d.Expiry.Before(now) {
			delete(s.devices, id)
			delete(s.deviceUserCodes, d.UserCode)
			res.DeviceRequests++
		}
	}
	for k, c := range s.throttle {
		if c.Expiry.Before(now) {
			delete(s.throttle, k)
			res.ThrottleCounters++
		}
	}
	return res, nil
}

func copyClaims(c storage.Claims) storage.Claims {
	c.Groups = slices.Clone(c.Groups)
	return c
}

func copyAuthRequest(a storage.AuthRequest) storage.AuthRequest {
	a.ResponseTypes = slices.Clone(a.ResponseTypes)
	a.Scopes = slices.Clone(a.Scopes)
	a.Claims = copyClaims(a.Claims)
	a.ConnectorData = slices.Clone(a.ConnectorData)
	return a
}

func copyAuthCode(c storage.AuthCode) storage.AuthCode {
	c.Scopes = slices.Clone(c.Scopes)
	c.Claims = copyClaims(c.Claims)
	c.ConnectorData = slices.Clone(c.ConnectorData)
	return c
}

func copyRefresh(r storage.RefreshToken) storage.RefreshToken {
	r.Scopes = slices.Clone(r.Scopes)
	r.Claims = copyClaims(r.Claims)
	r.ConnectorData = slices.Clone(r.ConnectorData)
	r.SuccessorSeed = slices.Clone(r.SuccessorSeed)
	return r
}

func copyKeys(k storage.Keys) storage.Keys {
	k.Active = slices.Clone(k.Active)
	k.Next = slices.Clone(k.Next)
	if k.Retired != nil {
		retired := make([]storage.RetiredKey, len(k.Retired))
		for i, r := range k.Retired {
			retired[i] = storage.RetiredKey{JWK: slices.Clone(r.JWK), Expiry: r.Expiry}
		}
		k.Retired = retired
	}
	return k
}
