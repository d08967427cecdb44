package kubernetes

import (
	"context"
	"errors"
	"time"

	"github.com/torii-idp/torii/storage"
)

// revokedGrant remembers a revoked grant until Until (zero: forever).
type revokedGrant struct {
	GrantID string    `json:"grantID"`
	Until   time.Time `json:"until"`
}

// RevokeGrant records the grant as revoked (never shortening an earlier
// revocation), then deletes the family's refresh tokens with one
// label-selected deletecollection. The record comes first: a replica
// that still finds a token of the family already sees the grant revoked.
func (s *Storage) RevokeGrant(ctx context.Context, grantID string, until time.Time) error {
	r := s.revokedGrants()
	for {
		err := r.create(ctx, grantID, revokedGrant{GrantID: grantID, Until: until}, nil)
		if !errors.Is(err, storage.ErrAlreadyExists) {
			if err != nil {
				return err
			}
			break
		}
		err = r.update(ctx, grantID, func(g revokedGrant) (revokedGrant, error) {
			if !g.Until.IsZero() && (until.IsZero() || until.After(g.Until)) {
				g.Until = until
			}
			return g, nil
		}, nil)
		if !errors.Is(err, storage.ErrNotFound) { // collected in between: create again
			if err != nil {
				return err
			}
			break
		}
	}
	_, err := s.refreshTokens().deleteAll(ctx, labelFamily+"="+labelValue(grantID))
	return err
}

// GrantRevoked reports whether the grant has a revocation record.
func (s *Storage) GrantRevoked(ctx context.Context, grantID string) (bool, error) {
	_, err := s.revokedGrants().get(ctx, grantID)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	}
	return false, err
}

// keysID names the one object holding the signing keys.
const keysID = "signing-keys"

// GetKeys returns storage.ErrNotFound before the first key is stored.
func (s *Storage) GetKeys(ctx context.Context) (storage.Keys, error) {
	o, err := s.keys().get(ctx, keysID)
	return o.Spec, err
}

// UpdateKeys creates or updates the keys object with resourceVersion
// checks: replicas racing to rotate serialize, and only the first one's
// rotation lands (the others see the rotated keys and retry on them).
func (s *Storage) UpdateKeys(ctx context.Context, update func(storage.Keys) (storage.Keys, error)) error {
	r := s.keys()
	for attempt := 0; ; attempt++ {
		obj, err := r.get(ctx, keysID)
		missing := errors.Is(err, storage.ErrNotFound)
		if err != nil && !missing {
			return err
		}
		next, err := update(obj.Spec)
		if err != nil {
			return err
		}
		if missing {
			err = r.create(ctx, keysID, next, nil)
			if !errors.Is(err, storage.ErrAlreadyExists) {
				return err
			}
		} else {
			obj.Spec = next
			if _, err = r.put(ctx, obj); !isConflict(err) && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}
