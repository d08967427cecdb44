package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/torii-idp/torii/storage"
)

// retiredKey is how a storage.RetiredKey is kept in the retired jsonb
// array: the JWK bytes as base64, so they round-trip byte for byte.
type retiredKey struct {
	JWK    []byte    `json:"jwk"`
	Expiry time.Time `json:"expiry"`
}

const selectKeys = `SELECT active, next, retired, next_rotation FROM signing_keys WHERE id = 1`

func scanKeys(row pgx.Row) (storage.Keys, error) {
	var k storage.Keys
	var retired []retiredKey
	var next pgtype.Timestamptz
	if err := row.Scan(&k.Active, &k.Next, &retired, &next); err != nil {
		return storage.Keys{}, err
	}
	k.NextRotation = fromTS(next)
	for _, r := range retired {
		k.Retired = append(k.Retired, storage.RetiredKey{JWK: r.JWK, Expiry: r.Expiry.UTC()})
	}
	return k, nil
}

// GetKeys returns the signing keys, or ErrNotFound before the first
// UpdateKeys.
func (s *Storage) GetKeys(ctx context.Context) (storage.Keys, error) {
	return get(ctx, s, "get keys", scanKeys, selectKeys)
}

// UpdateKeys runs fn on the locked keys row. The row is created inside the
// same transaction when missing (and disappears again if fn fails), so
// replicas starting together on an empty database still take turns and the
// first key is generated once.
func (s *Storage) UpdateKeys(ctx context.Context, fn func(storage.Keys) (storage.Keys, error)) error {
	create := statement{sql: "INSERT INTO signing_keys (id) VALUES (1) ON CONFLICT (id) DO NOTHING"}
	return lockedUpdate(ctx, s, "update keys", []statement{create}, statement{sql: selectKeys + " FOR UPDATE"}, scanKeys, fn,
		func(k storage.Keys) (statement, error) {
			var retired []byte // NULL when there are none
			if len(k.Retired) > 0 {
				rs := make([]retiredKey, len(k.Retired))
				for i, r := range k.Retired {
					rs[i] = retiredKey{JWK: r.JWK, Expiry: r.Expiry.UTC()}
				}
				var err error
				if retired, err = json.Marshal(rs); err != nil {
					return statement{}, fmt.Errorf("postgres: encode retired keys: %w", err)
				}
			}
			return statement{`UPDATE signing_keys SET active = $1, next = $2, retired = $3, next_rotation = $4 WHERE id = 1`,
				[]any{k.Active, k.Next, retired, timeArg(k.NextRotation)}}, nil
		})
}
