package storage

import (
	"context"
	"errors"
)

// RefreshRotator is implemented by backends that rotate a refresh token in
// one transaction: the refresh grant's only write.
type RefreshRotator interface {
	// RotateRefresh runs update on the current row of id and, if update
	// succeeds, writes its result and creates next, atomically: either
	// both writes happen or neither does. update's error is returned
	// unchanged; ErrNotFound if id does not exist (revoked meanwhile);
	// ErrAlreadyExists if next.ID is taken. Concurrent rotations of one
	// token serialize: the second update sees what the first wrote.
	RotateRefresh(ctx context.Context, id string, next RefreshToken, update func(RefreshToken) (RefreshToken, error)) error
}

// RotateRefresh rotates the refresh token id into next with s's
// RefreshRotator, or, on a backend without one, with two writes: next is
// created first, then id updated, and next deleted again if the update
// fails. That order keeps the guarantees of the atomic version that
// matter: a token is never handed out for a rotation that did not happen,
// a family revoked between the writes loses next too (RevokeGrant deletes
// the whole family), and a failure between them leaves the old token
// untouched, so the client's retry is not taken for a replay.
func RotateRefresh(ctx context.Context, s Storage, id string, next RefreshToken, update func(RefreshToken) (RefreshToken, error)) error {
	if r, ok := s.(RefreshRotator); ok {
		return r.RotateRefresh(ctx, id, next, update)
	}
	if err := s.CreateRefresh(ctx, next); err != nil {
		return err
	}
	err := s.UpdateRefresh(ctx, id, update)
	if err != nil && !OutcomeUnknown(ctx, err) {
		// If this delete fails too, the row stays until GC removes it at
		// its expiry, unreachable: its token was never handed out and only
		// its hash is stored. The update's error is what the caller needs.
		_ = s.DeleteRefresh(context.WithoutCancel(ctx), next.ID)
	}
	return err
}

// OutcomeUnknown reports whether a failed write may have been applied all
// the same: the backend could not be reached or went away mid-request
// (ErrUnavailable: the connection dropped after COMMIT was sent, say), or
// the caller stopped waiting (a done ctx). Only reading the row again,
// once the backend answers, tells. Here next then stays: if the rotation
// did happen, the old token's successor exists; if it did not, the row is
// unreachable (its value was never handed out) and GC removes it at its
// expiry, unless the refresh grant, retrying, deletes it first.
func OutcomeUnknown(ctx context.Context, err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) || ctx.Err() != nil
}
