package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/torii-idp/torii/storage"
)

var _ storage.RefreshRotator = (*Storage)(nil)

// RotateRefresh reads id, runs update, writes its result and inserts next
// as one write of the group committer: one savepoint in the group
// transaction instead of two writes, and both rows or neither.
func (s *Storage) RotateRefresh(ctx context.Context, id string, next storage.RefreshToken, update func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	k := &s.kinds.refresh
	nextArgs, err := k.args(next)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := k.scan(tx.StmtContext(ctx, k.selectW).QueryRowContext(ctx, id))
		if err != nil {
			return k.wrap(err)
		}
		upd, err := update(cur)
		if err != nil {
			return err
		}
		st, args, err := s.rotation.statement(k, cur, upd)
		if err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("sqlite: rotate refresh token: %w", err)
		}
		res, err := tx.StmtContext(ctx, k.insert).ExecContext(ctx, nextArgs...)
		if err != nil {
			return fmt.Errorf("sqlite: rotate refresh token: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: rotate refresh token: %w", err)
		} else if n == 0 {
			// The savepoint undoes the update with the failed insert.
			return storage.ErrAlreadyExists
		}
		return nil
	})
}

// rotationStmts are the UPDATEs of a rotation that changes only what a
// refresh changes (last use, rotation, expiry, the successor seed; the claims and connector
// data when the connector's refresh changed them): an UPDATE naming fewer
// columns leaves the indexes on the others (family, session, and the
// user's claims when unchanged) untouched, which is most of a rotation's
// page writes.
type rotationStmts struct {
	// stmts[mask]: bit 0 sets claims, bit 1 connector_data, bit 2
	// successor_seed.
	stmts [8]*sql.Stmt
}

func (r *rotationStmts) prepare(ctx context.Context, writer *sql.DB) error {
	for mask := range r.stmts {
		q := "UPDATE refresh_tokens SET last_used = ?, rotated_at = ?, expiry = ?"
		if mask&1 != 0 {
			q += ", claims = ?"
		}
		if mask&2 != 0 {
			q += ", connector_data = ?"
		}
		if mask&4 != 0 {
			q += ", successor_seed = ?"
		}
		var err error
		if r.stmts[mask], err = writer.PrepareContext(ctx, q+" WHERE id = ?"); err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", q, err)
		}
	}
	return nil
}

func (r *rotationStmts) close() error {
	var errs []error
	for _, st := range r.stmts {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// statement is the UPDATE that turns row cur into upd: a narrow one when
// only the columns a refresh changes differ, else the full one.
func (r *rotationStmts) statement(k *kind[storage.RefreshToken], cur, upd storage.RefreshToken) (*sql.Stmt, []any, error) {
	if upd.FamilyID != cur.FamilyID || upd.ClientID != cur.ClientID || !slices.Equal(upd.Scopes, cur.Scopes) ||
		upd.Nonce != cur.Nonce || upd.ConnectorID != cur.ConnectorID || !upd.FamilyCreatedAt.Equal(cur.FamilyCreatedAt) ||
		!upd.CreatedAt.Equal(cur.CreatedAt) || upd.SessionID != cur.SessionID || !upd.AuthTime.Equal(cur.AuthTime) {
		args, err := k.args(upd)
		if err != nil {
			return nil, nil, err
		}
		return k.updateW, append(args[1:], cur.ID), nil
	}
	args := []any{timeValue(upd.LastUsed), timeValue(upd.RotatedAt), timeValue(upd.Expiry)}
	mask := 0
	if !claimsEqual(upd.Claims, cur.Claims) {
		mask |= 1
		args = append(args, claimsValue(upd.Claims))
	}
	// nil and empty differ in storage (NULL and an empty BLOB).
	if !bytes.Equal(upd.ConnectorData, cur.ConnectorData) || (upd.ConnectorData == nil) != (cur.ConnectorData == nil) {
		mask |= 2
		args = append(args, blobValue(upd.ConnectorData))
	}
	// The first rotation records its successor's seed.
	if !bytes.Equal(upd.SuccessorSeed, cur.SuccessorSeed) || (upd.SuccessorSeed == nil) != (cur.SuccessorSeed == nil) {
		mask |= 4
		args = append(args, blobValue(upd.SuccessorSeed))
	}
	return r.stmts[mask], append(args, cur.ID), nil
}

func claimsEqual(a, b storage.Claims) bool {
	return a.UserID == b.UserID && a.Username == b.Username && a.PreferredUsername == b.PreferredUsername &&
		a.Email == b.Email && a.EmailVerified == b.EmailVerified && slices.Equal(a.Groups, b.Groups) &&
		(a.Groups == nil) == (b.Groups == nil)
}
